"""History: what changed from one live version of a resource to the next (pure, no words).

``evictl history`` reads a resource's versions (``reconciler.cli.history``); this module turns
them into typed entries, newest first, and ``reconciler.render.history`` puts them in words.
Versions are compared through the one canonicaliser and the planner's own field comparison
(``planner.setting_changes``), so "changed" here means what plan means by it: a version that only
reorders a config's tools, or spells out a server default, shows no change.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from reconciler.chats import MILLISECONDS_FROM
from reconciler.kinds import Kind, LiveVersion, Ref, RefField
from reconciler.planner import canonical
from reconciler.planner.plan import FieldChange
from reconciler.planner.planner import setting_changes
from reconciler.secrets import SecretSpan, mask_value

FORMAT_VERSION = 1
"""The version of the ``--format json`` document (``History``); bumped on any breaking change."""


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True)


class Pin(_Value):
    """A reference of a version: the target's id, its current name, the pinned version."""

    kind: str
    id: str
    name: str | None = None
    """None: no resource of ``kind`` has this id any more (deleted)."""
    version: int | None = None
    """None: the reference follows the latest version."""


class PinChange(_Value):
    """One reference that differs between two versions (None: added, or removed)."""

    field: str
    before: Pin | None = None
    after: Pin | None = None


class Entry(_Value):
    """One version, and how it differs from the version it is compared with."""

    version: int
    time: datetime | None = None
    """When the version was last written (``modified_on``, else ``created_on``), in UTC."""
    description: str | None = None
    compared_with: int | None = None
    """The version the changes are relative to; None for a resource's first version."""
    fields: tuple[FieldChange, ...] = ()
    """Changed settings, ``before`` and ``after`` canonical (a tool's ``parameters`` parsed)."""
    pins: tuple[PinChange, ...] = ()


class History(_Value):
    """The ``evictl history --format json`` document, ``format_version`` 1.

    ``mode`` is ``history`` (``entries``: versions newest first, each compared with the version
    before it) or ``diff`` (one entry: ``--diff A B``, version B compared with A).
    """

    format_version: Literal[1] = FORMAT_VERSION
    mode: Literal["history", "diff"]
    address: str
    kind: str
    name: str
    id: str
    total_versions: int
    entries: tuple[Entry, ...]


def needed(versions: Sequence[LiveVersion], limit: int | None) -> list[int]:
    """The version numbers a history of ``limit`` entries shows or compares with (the newest
    ``limit``, and the one before the oldest of them)."""
    numbers = sorted((v.version for v in versions), reverse=True)
    return numbers if limit is None else numbers[: limit + 1]


def history(
    kind: Kind, versions: Sequence[LiveVersion], names: Mapping[str, str], limit: int | None
) -> History:
    """Each version (newest first, at most ``limit``) compared with the one before it.

    ``names`` maps the ids of referenced resources to their names (their kinds' listings).
    """
    ordered = sorted(versions, key=lambda v: v.version, reverse=True)
    shown = ordered if limit is None else ordered[:limit]
    entries = [
        _entry(kind, version, ordered[index + 1] if index + 1 < len(ordered) else None, names)
        for index, version in enumerate(shown)
    ]
    return _document(kind, "history", ordered, entries)


def compare(
    kind: Kind, versions: Sequence[LiveVersion], names: Mapping[str, str], first: int, second: int
) -> History:
    """Version ``second`` compared with version ``first`` (both among ``versions``)."""
    by_number = {v.version: v for v in versions}
    entry = _entry(kind, by_number[second], by_number[first], names)
    return _document(kind, "diff", versions, [entry])


def _document(
    kind: Kind,
    mode: Literal["history", "diff"],
    versions: Sequence[LiveVersion],
    entries: list[Entry],
) -> History:
    newest = max(versions, key=lambda v: v.version)
    return History(
        mode=mode,
        address=kind.address(newest.name),
        kind=kind.name,
        name=newest.name,
        id=newest.id,
        total_versions=len(versions),
        entries=tuple(entries),
    )


def masked(document: History, spans: Sequence[SecretSpan], redact: Callable[[str], str]) -> History:
    """``document`` with every value masked where the manifests' entry for the resource
    substitutes a secret (``spans``). Every version is a live value, so each is matched against
    the entry's template, as a plan's live side is: a slot that does not hold the secret's
    current value reads ``(secret; differs)``, and no old value of a rotated secret shows."""
    if not spans:
        return document

    def live(span: SecretSpan, text: str) -> str:
        return span.mask_live(text, redact)

    def hidden(field: FieldChange) -> FieldChange:
        before = mask_value(field.path, field.before, spans, live)
        after = mask_value(field.path, field.after, spans, live)
        return field.model_copy(update={"before": before, "after": after})

    entries = tuple(
        entry.model_copy(update={"fields": tuple(hidden(field) for field in entry.fields)})
        for entry in document.entries
    )
    return document.model_copy(update={"entries": entries})


def instant(stamp: int | None) -> datetime | None:
    """A server timestamp as a UTC time; seconds or milliseconds (the spec says one, Hume sends
    both)."""
    if stamp is None:
        return None
    return datetime.fromtimestamp(stamp / 1000 if stamp >= MILLISECONDS_FROM else stamp, UTC)


def _entry(
    kind: Kind, version: LiveVersion, previous: LiveVersion | None, names: Mapping[str, str]
) -> Entry:
    base = Entry(
        version=version.version,
        time=instant(version.modified_on or version.created_on),
        description=version.version_description,
    )
    if previous is None:
        return base
    before = canonical.content(kind.name, kind.live_body(previous))
    after = canonical.content(kind.name, kind.live_body(version))
    fields = setting_changes(kind, _settings(kind, before), _settings(kind, after))
    pins = [
        change
        for ref_field in kind.refs
        if canonical.differences(after.get(ref_field.field), before.get(ref_field.field))
        for change in _pin_changes(kind, ref_field, previous, version, names)
    ]
    return base.model_copy(
        update={"compared_with": previous.version, "fields": tuple(fields), "pins": tuple(pins)}
    )


def _settings(kind: Kind, content: dict[str, Any]) -> dict[str, Any]:
    """A canonical content without its references (compared as pins, not as fields)."""
    return {key: value for key, value in content.items() if key not in kind.ref_fields}


def _pin_changes(
    kind: Kind,
    ref_field: RefField,
    previous: LiveVersion,
    version: LiveVersion,
    names: Mapping[str, str],
) -> list[PinChange]:
    """The references of one field that differ, matched by target id (a single reference that
    moves to another resource is one change)."""
    old = [
        _pin(ref, names) for ref in kind.live_references(previous) if ref.field == ref_field.field
    ]
    new = [
        _pin(ref, names) for ref in kind.live_references(version) if ref.field == ref_field.field
    ]
    if not ref_field.many:
        return [
            PinChange(
                field=ref_field.field, before=next(iter(old), None), after=next(iter(new), None)
            )
        ]
    was = {pin.id: pin for pin in old}
    now = {pin.id: pin for pin in new}
    return [
        PinChange(field=ref_field.field, before=was.get(id_), after=now.get(id_))
        for id_ in dict.fromkeys([*was, *now])
        if was.get(id_) != now.get(id_)
    ]


def _pin(ref: Ref, names: Mapping[str, str]) -> Pin:
    identity = str(ref.id)
    return Pin(kind=ref.kind, id=identity, name=names.get(identity), version=ref.version)
