"""Files under a root that evictl reads (manifests, text files) or writes (export's output).

A path is refused before it is opened when it leads outside the root through a symlink (a
manifest tree from a pull request must not read ``~/.ssh`` into an error message, nor export write
into it), or when it is not a regular file: opening a FIFO blocks forever, a device never ends.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from reconciler.manifest.limits import MAX_FILE_BYTES

_SPECIAL = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


class Refused(Exception):
    """Why a path may not be read or written, worded to follow its name ("is a FIFO, ...")."""


def refusal(path: Path, root: Path, root_name: str) -> str | None:
    """Why ``path`` may not be used under ``root`` (None: it may, or it does not exist yet)."""
    if not path.resolve().is_relative_to(root.resolve()):
        if Path(os.path.abspath(path)).is_relative_to(os.path.abspath(root)):
            return f"leads outside {root_name} through a symlink"
        return f"is outside {root_name}"
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    if stat.S_ISREG(mode):
        return None
    kind = next((name for test, name in _SPECIAL if test(mode)), "a special file")
    return f"is {kind}, not a regular file"


def read_bytes(path: Path, root: Path, root_name: str) -> bytes:
    """The contents of ``path``: raises ``Refused`` (see ``refusal``, or larger than
    ``MAX_FILE_BYTES``) or ``OSError``."""
    problem = refusal(path, root, root_name)
    if problem is not None:
        raise Refused(problem)
    with path.open("rb") as file:
        data = file.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise Refused(f"is too large: more than {MAX_FILE_BYTES} bytes")
    return data
