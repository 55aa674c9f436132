"""Located manifest errors: every problem names its file, line, column and field path.

The loader collects all of them before failing, so one ``evictl validate`` run shows everything.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from reconciler.errors import UserError
from reconciler.terminal import safe_line

Path = tuple[str | int, ...]
"""A field path inside a document, e.g. ``("configs", 0, "language_model", "temperature")``."""


def format_path(path: Path) -> str:
    """``configs[0].language_model.temperature``: the way users see a field path."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


@dataclass(frozen=True, order=True)
class ManifestError:
    """One problem, at 1-based ``line``:``column`` of ``file`` (relative to the manifest root).

    Shown as one line with control and bidi characters escaped: file names, keys and values come
    from the input, which may be hostile.
    """

    file: str
    line: int
    column: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        text = f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"
        return safe_line(text)


class ManifestErrors(UserError):
    """All problems found in one load, sorted by file and position."""

    def __init__(self, errors: Iterable[ManifestError]) -> None:
        self.errors = sorted(errors, key=lambda e: (e.file, e.line, e.column))
        count = len(self.errors)
        lines = [str(error) for error in self.errors]
        lines.append(f"{count} error{'s' if count != 1 else ''}: the manifests are not valid")
        super().__init__("\n".join(lines))
