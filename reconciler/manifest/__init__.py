"""Manifests: the YAML desired-state format, its loader, and its offline validation.

``load_manifests(path, variables)`` returns a ``Manifests`` value (the resources of each kind,
and the secrets) or raises ``ManifestErrors`` listing every located problem.
"""

from reconciler.kinds.configs import Config
from reconciler.kinds.fields import Reference, Resource, Source
from reconciler.kinds.prompts import Prompt
from reconciler.kinds.tools import Tool
from reconciler.manifest.errors import ManifestError, ManifestErrors
from reconciler.manifest.loader import load_manifests
from reconciler.manifest.model import ManifestDocument, Manifests, redact

__all__ = [
    "Config",
    "ManifestDocument",
    "ManifestError",
    "ManifestErrors",
    "Manifests",
    "Prompt",
    "Reference",
    "Resource",
    "Source",
    "Tool",
    "load_manifests",
    "redact",
]
