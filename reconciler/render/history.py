"""A resource's history as people and machines read it: text (a terminal) and JSON.

Values are shown as Hume stores them (made terminal-safe), redacted with ``redact``: with the
manifests (PATH), their secrets' values; without, nothing is known to be a ``${secret:...}``. The
API key is never part of them.
"""

from __future__ import annotations

from collections.abc import Iterator

import click

from reconciler.history import Entry, History, Pin, PinChange
from reconciler.kinds import KINDS
from reconciler.render import Redact, _show, _version, field_lines, json_document, redacted
from reconciler.terminal import safe_line


def _pin(pin: Pin) -> str:
    """``prompt greeter v3``; a target that no longer exists by its id."""
    name = pin.name if pin.name is not None else f"{pin.id} (deleted)"
    return f"{KINDS[pin.kind].singular} {safe_line(name)} {_version(pin.version)}"


def pin_line(change: PinChange) -> str:
    """``~ prompt greeter v3 → v4``, ``+ tool weather v0``, ``- tool lookup v1``."""
    before, after = change.before, change.after
    if before is None:
        assert after is not None
        return f"+ {_pin(after)}"
    if after is None:
        return f"- {_pin(before)}"
    if before.id == after.id:
        return f"~ {_pin(before)} → {_version(after.version)}"
    return f"~ {_pin(before)} → {_pin(after)}"


def entry_lines(kind: str, entry: Entry, *, gaps: bool = True) -> Iterator[str]:
    """What changed in one version, indented under its headline; ``gaps``: say so when the
    version before it was deleted (so the changes are from an older one)."""
    if entry.compared_with is None:
        yield "first version"
        return
    if gaps and entry.compared_with != entry.version - 1:
        yield f"compared with v{entry.compared_with}"
    if not entry.fields and not entry.pins:
        yield f"no changes from v{entry.compared_with}"
    for field in entry.fields:
        yield from field_lines(kind, field, f"v{entry.compared_with}", f"v{entry.version}")
    for change in entry.pins:
        yield pin_line(change)


def _headline(entry: Entry) -> str:
    """``v3  2026-11-30T14:05:31Z  "warmer greeting"``."""
    time = entry.time.strftime("%Y-%m-%dT%H:%M:%SZ") if entry.time else "time unknown"
    description = _show(entry.description) if entry.description else "(no description)"
    return f"v{entry.version}  {time}  {description}"


def _title(document: History) -> str:
    subject = f"{KINDS[document.kind].singular} {_show(document.name)} (id {document.id})"
    if document.mode == "diff":
        (entry,) = document.entries
        return f"{subject}: v{entry.version} compared with v{entry.compared_with}"
    shown, total = len(document.entries), document.total_versions
    count = f"{shown} of {total}" if shown < total else str(total)
    return f"{subject}: {count} version{'' if total == 1 else 's'}, newest first"


def as_text(document: History, redact: Redact = str) -> str:
    """The history for a terminal; colour is added here and stripped by click off a TTY."""
    document = redacted(document, redact)
    out = [click.style(_title(document), bold=True), ""]
    for entry in document.entries:
        out.append(click.style(_headline(entry), fg="yellow", bold=True))
        lines = entry_lines(document.kind, entry, gaps=document.mode == "history")
        out.extend(f"    {line}" for line in lines)
    return "\n".join(out)


_NOT_SHOWN = {"entries": {"__all__": {"fields": {"__all__": {"reference"}}}}}
"""A history's settings changes are never references (those are ``pins``)."""


def as_json(document: History, redact: Redact = str) -> str:
    """The history document, ``format_version`` 1 (``reconciler.history.History``)."""
    return json_document(document.model_dump(mode="json", exclude=_NOT_SHOWN), redact)
