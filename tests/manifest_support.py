"""Helpers for the manifest tests: write a manifest tree, load it, get the error lines."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path

import pytest

from reconciler.manifest import ManifestErrors, Manifests, load_manifests

PROMPT = "prompts:\n  - name: p\n    text: hello\n"


def write(root: Path, files: Mapping[str, str | bytes]) -> Path:
    """Write ``files`` (dedented text, or raw bytes) under ``root``; return ``root``."""
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content), encoding="utf-8")
    return root


def load(root: Path, files: Mapping[str, str | bytes], **variables: str) -> Manifests:
    return load_manifests(write(root, files), variables)


def errors(root: Path, files: Mapping[str, str | bytes], **variables: str) -> list[str]:
    """The error lines a load of ``files`` reports (it must fail)."""
    with pytest.raises(ManifestErrors) as caught:
        load(root, files, **variables)
    return [str(error) for error in caught.value.errors]
