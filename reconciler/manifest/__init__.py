"""Manifests: the YAML desired-state format, its loader, and its offline validation.

``load_manifests(path, variables)`` returns a ``Manifests`` value (prompts, tools, configs, secrets)
or raises ``ManifestErrors`` listing every located problem.
"""

from reconciler.manifest.errors import ManifestError, ManifestErrors
from reconciler.manifest.loader import load_manifests
from reconciler.manifest.model import (
    Config,
    ManifestDocument,
    Manifests,
    Prompt,
    Reference,
    Source,
    Tool,
    redact,
)

__all__ = [
    "Config",
    "ManifestDocument",
    "ManifestError",
    "ManifestErrors",
    "Manifests",
    "Prompt",
    "Reference",
    "Source",
    "Tool",
    "load_manifests",
    "redact",
]
