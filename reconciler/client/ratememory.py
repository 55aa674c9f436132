"""Rate limits learnt by earlier commands, so that the next one starts paced instead of meeting the
limit again with every request in flight.

``evictl plan`` then ``evictl apply`` are two processes; without a memory each pays its own first
contact (``limiter``). A command that was answered 429 writes the rate it ended at, keyed by the
API's URL and the name of the variable holding the key (so two environments on one URL stay apart,
and the key itself is never written); a command within ``FRESH_S`` of that 429 starts from it.

Only a rate learnt from a 429 is written, with that 429's time, so a limit that has since been
raised holds commands back for at most ``FRESH_S``. This is a cache: a file that cannot be read or
written is ignored, never an error. It lives in ``$EVICTL_CACHE_DIR``, else
``$XDG_CACHE_HOME/evictl``, else ``~/.cache/evictl``.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
import time
from pathlib import Path
from typing import NamedTuple, TypedDict

FRESH_S = 600.0
"""How long a learnt rate is trusted: ten minutes covers a plan and its apply."""
FILE = "rate-limits.json"


def cache_dir() -> Path | None:
    """Where evictl keeps what it learns between commands (None: no home folder to put it in)."""
    if chosen := os.environ.get("EVICTL_CACHE_DIR"):
        return Path(chosen)
    if base := os.environ.get("XDG_CACHE_HOME"):
        return Path(base) / "evictl"
    try:
        return Path.home() / ".cache" / "evictl"
    except (RuntimeError, KeyError):
        return None


def cache_file() -> Path | None:
    """The file that holds the rates learnt (whether or not it exists yet)."""
    folder = cache_dir()
    return None if folder is None else folder / FILE


class Entry(TypedDict):
    """One account's line of the file."""

    rate: float
    limit: float | None
    at: float


def _entries(folder: Path | None) -> dict[str, Entry]:
    if folder is None:
        return {}
    try:
        found = json.loads((folder / FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(found, dict):
        return {}
    return {
        where: Entry(rate=entry["rate"], limit=entry.get("limit"), at=entry["at"])
        for where, entry in found.items()
        if isinstance(entry, dict) and _numbers(entry)
    }


def _numbers(entry: dict[str, object]) -> bool:
    """Whether ``entry`` holds a positive ``rate``, an ``at`` and a positive ``limit`` or null,
    all finite: anything else (NaN, infinity, a hand edit) is ignored."""
    limit = entry.get("limit")
    return (
        _number(entry.get("rate"), positive=True)
        and _number(entry.get("at"), positive=False)
        and (limit is None or _number(limit, positive=True))
    )


def _number(value: object, *, positive: bool) -> bool:
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        return False
    return value > 0 or not positive


class Learnt(NamedTuple):
    """What a command learnt: the rate it ended at, and the limit it measured (if it did)."""

    rate: float
    limit: float | None


def recall(where: str, now: float | None = None) -> Learnt | None:
    """What was learnt for ``where`` within ``FRESH_S`` of ``now`` (Unix seconds), if anything."""
    now = time.time() if now is None else now
    entry = _entries(cache_dir()).get(where)
    if entry is None or not 0 <= now - entry["at"] <= FRESH_S or entry["rate"] <= 0:
        return None
    limit = entry["limit"]
    return Learnt(float(entry["rate"]), float(limit) if limit else None)


def remember(where: str, learnt: Learnt, at: float) -> None:
    """Keep what was learnt from a 429 at ``at`` (Unix seconds) for ``where``; drop stale ones.

    Written to a temporary file and renamed over the old one, so two commands ending together
    leave one whole file (the last one's), never a torn one; an entry learnt later than ``at``
    (by a command that ended first) is kept, not overwritten.
    """
    folder = cache_dir()
    if folder is None:
        return
    entries = {
        other: entry
        for other, entry in _entries(folder).items()
        if at - FRESH_S <= entry["at"] <= max(at, time.time())  # not stale, not from the future
    }
    if where in entries and entries[where]["at"] > at:
        return
    entries[where] = Entry(rate=round(learnt.rate, 3), limit=learnt.limit, at=at)
    with contextlib.suppress(OSError, ValueError):
        folder.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=folder, prefix=".rate-limits.", suffix=".json")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(entries, out, indent=1, sort_keys=True, allow_nan=False)
            os.replace(name, folder / FILE)
        except BaseException:
            os.unlink(name)
            raise
