"""Did-you-mean hints for a mistyped word: the one closest spelling among the choices.

Standard library only: manifest validation, the project file and ``--target`` all use it, and
``evictl validate`` must stay cheap to start.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

CUTOFF = 0.6
"""How alike a choice must be to be suggested (``difflib``'s default)."""


def closest(word: str, choices: Iterable[str], *, cutoff: float = CUTOFF) -> str | None:
    """The choice spelled most like ``word``, if one is alike enough, else None."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=cutoff)
    return close[0] if close else None


def suggest(word: str, choices: Iterable[str], *, cutoff: float = CUTOFF) -> str:
    """``; did you mean 'X'?`` for the closest choice, else nothing."""
    hint = closest(word, choices, cutoff=cutoff)
    return f"; did you mean {hint!r}?" if hint is not None else ""
