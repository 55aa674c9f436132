"""``evictl rollback KIND/NAME --to VERSION``: one new version equal to an old one.

Hume has no "restore": a rollback is a new version that repeats an old one's settings, its
description, and (for a config) its exact prompt and tool pins, even where newer versions of
those exist. It goes through the pipeline every write takes: the old version becomes a desired
resource (``export``'s conversion, references pinned by id and version), the pure planner plans
it against the live account (``--target`` that one resource), and the applier writes it, with
its re-read before and conflict check after the write. The I/O is here, at the edge, as in
``workflow``; the words are in ``render.rollback``.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from reconciler import addresses
from reconciler.applier import Outcome, apply
from reconciler.client import ApiError, HumeClient
from reconciler.errors import UserError
from reconciler.export import References, entry_node
from reconciler.kinds import KINDS, Kind, LiveVersion, Ref, address
from reconciler.lookup import check_versions, find_live
from reconciler.manifest import Manifests, Resource, Source, load_manifests
from reconciler.planner.plan import Plan
from reconciler.planner.planner import PlanError, plan
from reconciler.snapshot import Snapshot
from reconciler.workflow import Connection, Traffic, guarded, snapshot_for
from reconciler.yamlwrite import round_trip_yaml

Status = Literal["latest", "unchanged", "cancelled", "applied"]
"""``latest``: the version asked for is the latest (nothing to do); ``unchanged``: the latest
already has its content; ``cancelled``: not confirmed; ``applied``: apply ran (see outcomes)."""


class Rollback(BaseModel):
    """What a rollback found and did, as values for the renderers."""

    model_config = ConfigDict(frozen=True)

    kind: str
    name: str
    to_version: int
    live_version: int
    status: Status
    plan: Plan | None = None
    outcomes: tuple[Outcome, ...] = ()
    manifest: str | None = None
    """The resource's manifest entry (YAML, as ``evictl export`` writes it) once it is done."""
    defined_at: str | None = None
    """``file:line`` of the entry in the user's manifests (PATH) for the resource, if any."""
    described: bool = False
    """Whether that entry already describes the restored version (no drift to fix)."""

    @property
    def address(self) -> str:
        """``prompts/greeter``."""
        return address(self.kind, self.name)

    @property
    def done(self) -> Outcome | None:
        """The outcome that made the new version, if apply made it without a conflict."""
        return next((o for o in self.outcomes if o.status == "done"), None)


async def rollback(
    target: str,
    version: int,
    connection: Connection,
    *,
    manifests: Path | None = None,
    variables: dict[str, str] | None = None,
    approve: Callable[[Manifests, Plan], bool],
    report: Callable[[Outcome], None],
) -> tuple[Manifests, Rollback]:
    """Plan a new version of ``target`` equal to ``version``, ask ``approve``, apply it; the
    ``manifests`` (their ``redact`` masks outputs) and what happened.

    ``manifests`` (optional) are read only for their secrets, the names they define (the
    printed entry refers to those by name, as export does) and where they describe the
    resource.
    """
    kind_name, name = addresses.split(target, "rollback")
    known = load_manifests(manifests, variables) if manifests is not None else Manifests()
    connection.use_facts(manifests or Path.cwd())
    async with connection.client() as client:
        result = await restore(
            client, KINDS[kind_name], name, version, known, approve=approve, report=report
        )
    return known, result


async def restore(
    client: HumeClient,
    kind: Kind,
    name: str,
    version: int,
    known: Manifests,
    *,
    approve: Callable[[Manifests, Plan], bool],
    report: Callable[[Outcome], None],
) -> Rollback:
    """``rollback`` on an open client, ``known`` being the user's manifests (maybe none)."""
    current = await find_live(client, kind, name, "rollback")
    check_versions(kind, name, await client.list_versions(kind.name, current.id), [version])
    old = await client.get_version(kind.name, current.id, version)
    found = Rollback(
        kind=kind.name,
        name=current.name,
        to_version=version,
        live_version=current.version,
        status="latest",
        defined_at=_where(_entry_in(kind, current.name, known)),
    )
    if version == current.version:
        return found
    desired = _desired(kind, old, current.name, known)
    live = await snapshot_for(desired, client, every=True)
    result = await _plan(client, kind, old, desired, live)
    if "new_version" not in result.changes[0].actions:
        return found.model_copy(update={"status": "unchanged", "plan": result})
    if not approve(desired, result):
        return found.model_copy(update={"status": "cancelled", "plan": result})
    outcomes = tuple(await apply(result, client, parallelism=1, report=report))
    applied = found.model_copy(update={"status": "applied", "plan": result, "outcomes": outcomes})
    made = applied.done
    if made is None or made.version is None:
        return applied
    new = await client.get_version(kind.name, current.id, made.version)
    described = await _describes(client, kind, _entry_in(kind, current.name, known), known)
    return applied.model_copy(
        update={"manifest": manifest_entry(kind, new, live, known), "described": described}
    )


async def _plan(
    client: HumeClient, kind: Kind, old: LiveVersion, desired: Manifests, live: Snapshot
) -> Plan:
    """The one-change plan that restores ``old``, after checking it still can be restored."""
    (resource,) = desired.of_kind(kind.name)
    label = f"{_label(kind, resource.name)} v{old.version}"
    await _check_pins(client, label, kind.live_references(old), live)
    problem = kind.voice_problem(resource, live.voices)
    if problem is not None:
        raise UserError(f"{label} cannot be restored: {problem}")
    result = plan(desired, live, targets=[kind.address(resource.name)])
    changes = tuple(change.model_copy(update={"source": None}) for change in result.changes)
    if changes[0].unreadable:
        raise UserError(f"Hume did not answer for {label}: {changes[0].unreadable}")
    result = result.model_copy(update={"changes": changes, "targets": (changes[0].address,)})
    return await guarded(client, result, Traffic())  # chats on a config: a note, never a stop


def _label(kind: Kind, name: str) -> str:
    return f"{kind.singular} {name!r}"


def _desired(kind: Kind, old: LiveVersion, name: str, known: Manifests) -> Manifests:
    """``old`` as the desired state: export's entry, under the current name, every reference
    by id and the exact version it pins (no live resource is known to name it by)."""
    ids_only = References(Snapshot(), {ref.target: set() for ref in kind.refs})
    entry, _ = ids_only.entry(kind, old)
    source = Source(file=kind.address(name), line=1, column=1)
    try:
        resource = kind.resource.model_validate({**entry, "name": name, "source": source})
    except ValidationError as exc:
        fields = ", ".join(".".join(map(str, e["loc"])) for e in exc.errors()[:3])
        raise UserError(
            f"{_label(kind, name)} v{old.version} cannot be written as a manifest ({fields}), "
            "so evictl cannot restore it"
        ) from exc
    return Manifests(resources={kind.name: (resource,)}, secrets=known.secrets)


async def _check_pins(client: HumeClient, label: str, refs: Iterable[Ref], live: Snapshot) -> None:
    """Every prompt and tool version the old version pins must still exist, or the rollback is
    refused: the restored version could not pin it.

    Only the pins Hume's answer shows can be checked: Hume (and the emulator) leave a reference
    to a version deleted since out of a config's answer, so the plan shows it dropped
    (``render.rollback.intro`` warns about that).
    """
    refs = list(refs)
    exists = await asyncio.gather(*(_exists(client, live, ref) for ref in refs))
    gone = [ref for ref, found in zip(refs, exists, strict=True) if not found]
    if gone:
        names = {item.id: item.name for ref in gone for item in live.of_kind(ref.kind)}
        missing = ", ".join(
            f"{KINDS[ref.kind].singular} {names.get(str(ref.id), ref.id)!r}"
            + ("" if ref.version is None else f" v{ref.version}")
            for ref in gone
        )
        raise UserError(
            f"{label} pins {missing}, deleted from Hume since: it cannot be restored exactly; "
            "roll back to another version"
        )


async def _exists(client: HumeClient, live: Snapshot, ref: Ref) -> bool:
    """Whether the resource (and the version) a reference pins is still in Hume."""
    if not any(item.id == ref.id for item in live.of_kind(ref.kind)):
        return False
    if ref.version is None:
        return True
    try:
        await client.get_version(ref.kind, str(ref.id), ref.version)
    except ApiError as exc:
        if exc.status == 404:
            return False
        raise
    return True


def manifest_entry(kind: Kind, made: LiveVersion, live: Snapshot, known: Manifests) -> str:
    """The YAML that describes ``made`` (a ``{kind: [entry]}`` document), as export writes it:
    references by name where ``known`` manifests define that name and the pin is the latest
    version, else by id and version with a comment naming the target."""
    defined = {
        ref.target: {r.name for r in known.of_kind(ref.target) if not r.absent} for ref in kind.refs
    }
    entry, comments = References(live, defined).entry(kind, made)
    stream = io.StringIO()
    round_trip_yaml().dump({kind.name: [entry_node(kind.name, entry, comments)]}, stream)
    return stream.getvalue()


def _entry_in(kind: Kind, name: str, known: Manifests) -> Resource | None:
    """The entry of ``known`` manifests for the live resource ``name`` (by a previous name too)."""
    return next((r for r in known.of_kind(kind.name) if name in (r.name, *r.previous_names)), None)


def _where(resource: Resource | None) -> str | None:
    return None if resource is None else str(resource.source)


async def _describes(
    client: HumeClient, kind: Kind, resource: Resource | None, known: Manifests
) -> bool:
    """Whether ``known`` manifests already say what the resource now is (a rollback to what they
    describe): planned against the account, their entry has nothing to change."""
    if resource is None or resource.absent:
        return False
    target = kind.address(resource.name)
    try:
        result = plan(known, await snapshot_for(known, client), targets=[target])
    except PlanError:
        return False  # they cannot be planned as they stand: not a description of it either
    return not any(change.actions for change in result.changes if change.address == target)
