"""Drift: where the account no longer matches the manifests, and which live version did it.

Read-only by construction: the client gets a request hook that refuses any method but GET before
it is sent, so the nightly job can hold a key with write access without being able to use it.
Drift is the plan's pending changes, classified (pure, like the planner: the workflow reads the
version histories ``needs_history`` asks for, and ``classify`` decides; words are made in
``reconciler.render.drift``):

- ``missing``: in the manifests, not in Hume (the plan's ``possible_rename`` note names an
  unmanaged resource with the same content: probably renamed in the portal);
- ``renamed``: still under one of its ``previous_names`` in Hume;
- ``ahead``: a live version newer than the last one that matched the manifests (someone edited
  the portal); ``introduced_by`` is the first such version and its time;
- ``changed``: no live version ever matched (the manifests changed and were not applied);
- ``description``: only a version description differs;
- ``stale_pin``: a config pins an older version of a prompt or tool than the latest;
- ``should_be_absent``: marked ``absent: true`` but still there;
- ``unmanaged``: in the scope the project file's ``[ownership]`` globs own, but described by no
  manifest (apply would delete it).

A config that differs only because a prompt or tool it uses drifted (its plan reasons are all
typed dependency reasons) is not reported on its own: its dependency's item lists it under
``used_by``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

from reconciler.errors import UserError
from reconciler.history import instant
from reconciler.kinds import KINDS, REGISTRY, Kind, LiveVersion
from reconciler.manifest import Manifests
from reconciler.planner import canonical
from reconciler.planner.plan import DEPENDENCY_REASONS, Change, OwnedNotDescribed, Plan
from reconciler.snapshot import Snapshot

if TYPE_CHECKING:
    from reconciler.client import HumeClient

Category = Literal[
    "missing",
    "renamed",
    "ahead",
    "changed",
    "description",
    "stale_pin",
    "should_be_absent",
    "unmanaged",
]
TITLES: dict[str, str] = {
    "missing": "missing in Hume",
    "renamed": "renamed",
    "ahead": "live version ahead of the manifests",
    "changed": "differs from the manifests",
    "description": "version description differs",
    "stale_pin": "pinned to an older version",
    "should_be_absent": "should be absent",
    "unmanaged": "owned by these manifests, not in them",
}


class Introduced(BaseModel):
    """The live version that first departed from the manifests."""

    model_config = ConfigDict(frozen=True)

    version: int
    modified_on: int | None = None

    def describe(self) -> str:
        """``live version 7, 2026-11-20 14:03 UTC``."""
        return f"live version {self.version}, {when(self.modified_on)}"


class DriftItem(BaseModel):
    """One drifted resource: the change that would fix it, and what kind of drift it is."""

    model_config = ConfigDict(frozen=True)

    category: Category
    change: Change
    introduced_by: Introduced | None = None
    matched_version: int | None = None
    notes: tuple[str, ...] = ()
    used_by: tuple[str, ...] = ()

    def headline(self) -> str:
        """``config "support": live version ahead of the manifests``."""
        return f"{self.change.singular} {self.change.name!r}: {TITLES[self.category]}"


class DriftReport(BaseModel):
    """Every drifted resource of one run, and what was deliberately ignored."""

    model_config = ConfigDict(frozen=True)

    format_version: Literal[1] = 1
    fingerprint: str
    items: tuple[DriftItem, ...] = ()
    ignored: tuple[str, ...] = ()
    unreadable: tuple[str, ...] = ()
    """Addresses Hume did not answer for: not classified, so the report is incomplete."""

    @property
    def has_drift(self) -> bool:
        """Exit code 2 when true."""
        return bool(self.items)

    def summary(self) -> str:
        """``Drift: 2 resources differ from the manifests.`` (or that none do, or that the report
        is incomplete)."""
        count = len(self.items)
        found = (
            "1 resource differs from the manifests"
            if count == 1
            else f"{count} resources differ from the manifests"
        )
        if self.unreadable:
            return f"Drift (incomplete: {len(self.unreadable)} not read): {found}."
        if not self.items:
            return "No drift: the Hume account matches the manifests."
        return f"Drift: {found}."


def when(stamp: int | None) -> str:
    """A server timestamp as UTC; seconds or milliseconds (the spec says one, Hume sends both)."""
    moment = instant(stamp)
    return "time unknown" if moment is None else moment.strftime("%Y-%m-%d %H:%M UTC")


def read_only(client: HumeClient, command: str = "drift") -> HumeClient:
    """The client, refusing before sending any request that could write (for ``command``)."""

    async def refuse_writes(request: Any) -> None:
        if request.method not in ("GET", "HEAD"):
            raise UserError(f"{command} is read-only: refused {request.method} {request.url.path}")

    client.http.event_hooks["request"].append(refuse_writes)
    return client


def _stale_pins(kind: Kind, change: Change, live: Snapshot) -> list[str]:
    """Where the live resource pins an older version than the latest of what it uses."""
    current = live.by_id.get(str(change.id))
    if current is None:
        return []
    notes = []
    for ref in kind.live_references(current):
        newest = live.by_id.get(str(ref.id))
        if ref.version is not None and newest and ref.version < newest.version:
            notes.append(f"pins {newest.name!r} at v{ref.version}; the latest is v{newest.version}")
    return notes


Targets = tuple[tuple[str, str | None], ...]


def _comparable(kind: Kind, body: dict[str, Any], like: dict[str, Any], targets: Targets) -> Any:
    """Content, description and what it references (by id: which version is ``stale_pin``'s
    business), so that a config re-pointed in the portal is ahead like any other edit."""
    trimmed = {key: value for key, value in body.items() if key not in kind.ref_fields}
    return (
        canonical.content(kind.name, trimmed, like=like),
        canonical.description(body.get("version_description")),
        targets,
    )


def _live_targets(kind: Kind, version: LiveVersion) -> Targets:
    return tuple(sorted((ref.field, ref.id) for ref in kind.live_references(version)))


def _history(
    kind: Kind, body: dict[str, Any], targets: Targets, versions: Sequence[LiveVersion]
) -> tuple[int | None, Introduced | None]:
    """The newest live version matching the manifests, and the first version after it."""
    wanted = _comparable(kind, body, body, targets)
    matched = None
    for version in sorted(versions, key=lambda v: v.version):
        live = _comparable(kind, kind.live_body(version), body, _live_targets(kind, version))
        if live == wanted:
            matched = version.version
    after = [v for v in versions if matched is None or v.version > matched]
    first = min(after, key=lambda v: v.version) if after else None
    introduced = Introduced(version=first.version, modified_on=first.modified_on) if first else None
    return matched, introduced


def _only_cascade(change: Change) -> bool:
    """Whether the change comes only from what the resource uses (dependency reasons)."""
    own_fields = [f for f in change.fields if not f.reference]
    cascade = change.reasons and all(isinstance(r, DEPENDENCY_REASONS) for r in change.reasons)
    return bool(cascade) and not own_fields and change.description is None


def _needs_versions(change: Change, live: Snapshot) -> bool:
    """Whether classifying ``change`` reads its version history (ahead, changed, description):
    not for a missing, absent or renamed resource, nor for one that only pins older versions."""
    if {"create", "delete", "rename"} & set(change.actions) or _only_cascade(change):
        return False
    own_fields = [f for f in change.fields if not f.reference]
    stale = _stale_pins(KINDS[change.kind], change, live)
    return not (stale and not own_fields and change.description is None)


def needs_history(plan: Plan, live: Snapshot, ignore: Sequence[str] = ()) -> list[Change]:
    """The changes whose version list ``classify`` needs, for the workflow to read.

    ``ignore`` holds addresses already checked by ``addresses.resolve``."""
    ignored = set(ignore)
    return [c for c in plan.pending if c.address not in ignored and _needs_versions(c, live)]


def classify(
    manifests: Manifests,
    live: Snapshot,
    plan: Plan,
    histories: Mapping[str, Sequence[LiveVersion]],
    *,
    ignore: Sequence[str] = (),
) -> DriftReport:
    """Classify every pending change of ``plan``; ``histories`` maps addresses to versions."""
    ignored = set(ignore)
    desired = {kind.address(r.name): r for kind in REGISTRY for r in manifests.of_kind(kind.name)}
    ids = {change.address: change.id for change in plan.changes}
    used_by: dict[str, list[str]] = {}
    items: list[DriftItem] = []
    for change in plan.pending:
        if change.address in ignored:
            continue
        if _only_cascade(change):
            for reason in change.reasons:
                used_by.setdefault(reason.subject, []).append(change.name)
            continue
        if any(isinstance(reason, OwnedNotDescribed) for reason in change.reasons):
            items.append(DriftItem(category="unmanaged", change=change))
            continue
        resource = desired[change.address]
        targets = tuple(
            sorted((ref.field, ref.id or ids.get(str(ref.target))) for ref in change.refs)
        )
        items.append(_classify(live, change, resource, targets, histories))
    report_items = tuple(
        item.model_copy(update={"used_by": tuple(used_by.get(item.change.address, ()))})
        for item in items
    )
    return DriftReport(
        fingerprint=plan.fingerprint,
        items=report_items,
        ignored=tuple(sorted(ignored)),
        unreadable=tuple(change.address for change in plan.unreadable),
    )


def _classify(
    live: Snapshot,
    change: Change,
    resource: Any,
    targets: Targets,
    histories: Mapping[str, Sequence[LiveVersion]],
) -> DriftItem:
    kind = KINDS[change.kind]
    if "create" in change.actions:
        return DriftItem(category="missing", change=change)
    if "delete" in change.actions:
        return DriftItem(category="should_be_absent", change=change)
    if "rename" in change.actions:
        return DriftItem(category="renamed", change=change)
    pins = _stale_pins(kind, change, live)
    if change.address not in histories:
        return DriftItem(category="stale_pin", change=change, notes=tuple(pins))
    body = kind.settings_body(resource)
    matched, introduced = _history(kind, body, targets, histories[change.address])
    if matched is not None:
        category: Category = "ahead"
    else:
        category = "description" if not change.fields else "changed"
    return DriftItem(
        category=category,
        change=change,
        introduced_by=introduced if matched is not None else None,
        matched_version=matched,
        notes=tuple(pins),
    )
