"""Print ``hash=<digest>`` of what ``pip install`` takes from the action's checkout.

The action caches its venv under this key. evictl is installed as a copy, not in editable mode,
so the key covers the source files as well as ``pyproject.toml``: a moved tag (``v1``) with the
same dependencies must not reuse a venv holding the old code. Runs before anything is installed,
so it is a standalone script using only the standard library.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

SOURCES = (".py", ".yaml", ".json", ".toml")


def digest(root: Path) -> str:
    """sha256 over the relative path and content of every installed file, in a stable order."""
    package = (root / "reconciler").rglob("*")
    sources = (p for p in package if p.suffix in SOURCES and "__pycache__" not in p.parts)
    files = [root / "pyproject.toml", *sorted(sources)]
    sha = hashlib.sha256()
    for path in files:
        sha.update(path.relative_to(root).as_posix().encode() + b"\0")
        sha.update(path.read_bytes() + b"\0")
    return sha.hexdigest()[:32]


if __name__ == "__main__":
    print(f"hash={digest(Path(sys.argv[1]))}")
