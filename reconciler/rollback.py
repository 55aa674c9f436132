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
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError
from ruamel.yaml.comments import CommentedMap

from reconciler import addresses, yamlwrite
from reconciler.applier import Outcome, apply
from reconciler.client import ApiError, HumeClient
from reconciler.errors import UserError
from reconciler.export import (
    References,
    YamlFile,
    entry_node,
    kept_paths,
    merge_entry,
    read_manifest,
)
from reconciler.kinds import KINDS, REGISTRY, Kind, LiveVersion, Ref, address
from reconciler.lookup import check_versions, described_by, find_live
from reconciler.manifest import Manifests, Resource, Source, load_manifests
from reconciler.planner.plan import Plan
from reconciler.planner.planner import PlanError, plan
from reconciler.reexport import Notice, hide_secrets, loaded, secret_values
from reconciler.secrets import SecretSpan, desired_mask, mask_at
from reconciler.snapshot import Snapshot
from reconciler.workflow import Connection, Traffic, guarded, snapshot_for

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
    notices: tuple[Notice, ...] = ()
    """What ``manifest`` could not simply say: a ``${secret:...}`` kept where the restored
    version holds another value, say (as re-export reports it; never a value)."""

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
    traffic: Traffic | None = None,
) -> tuple[Manifests, Rollback]:
    """Plan a new version of ``target`` equal to ``version``, ask ``approve``, apply it; the
    ``manifests`` (their ``redact`` masks outputs) and what happened.

    ``manifests`` (optional) are read only for their secrets, the names they define (the
    printed entry refers to those by name, as export does) and their entry for the resource
    (where it is, which of its values are secrets, and the entry the printed one edits).
    """
    kind_name, name = addresses.split(target, "rollback")
    known = load_manifests(manifests, variables) if manifests is not None else Manifests()
    connection.use_facts(manifests or Path.cwd())
    async with connection.client() as client:
        result = await restore(
            client, KINDS[kind_name], name, version, known,
            approve=approve, report=report, traffic=traffic, root=manifests,
            variables=os.environ if variables is None else variables,
        )  # fmt: skip
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
    traffic: Traffic | None = None,
    root: Path | None = None,
    variables: Mapping[str, str] | None = None,
) -> Rollback:
    """``rollback`` on an open client, ``known`` being the user's manifests (maybe none), read
    from ``root`` with ``variables``."""
    current = await find_live(client, kind, name, "rollback")
    check_versions(kind, name, await client.list_versions(kind.name, current.id), [version])
    old = await client.get_version(kind.name, current.id, version)
    entry = described_by(known, kind, current.name)
    found = Rollback(
        kind=kind.name,
        name=current.name,
        to_version=version,
        live_version=current.version,
        status="latest",
        defined_at=None if entry is None else str(entry.source),
    )
    if version == current.version:
        return found
    desired = _desired(kind, old, current.name, known, entry)
    live = await snapshot_for(desired, client, every=True)
    result = await _plan(client, kind, old, desired, live, traffic or Traffic())
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
    described = await _describes(client, kind, entry, known)
    manifest, notices = manifest_entry(
        kind, new, live, known, entry=entry, root=root, variables=variables
    )
    return applied.model_copy(
        update={"manifest": manifest, "notices": notices, "described": described}
    )


async def _plan(
    client: HumeClient,
    kind: Kind,
    old: LiveVersion,
    desired: Manifests,
    live: Snapshot,
    traffic: Traffic,
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
    return await guarded(client, result, traffic)  # a new version: chats are a note, no stop


def _label(kind: Kind, name: str) -> str:
    return f"{kind.singular} {name!r}"


def _desired(
    kind: Kind, old: LiveVersion, name: str, known: Manifests, entry: Resource | None
) -> Manifests:
    """``old`` as the desired state: export's entry, under the current name, every reference
    by id and the exact version it pins (no live resource is known to name it by), with the
    secret spans of the manifests' ``entry``: the plan masks those slots whatever ``old`` holds
    there (a secret rotated since is known to no one)."""
    ids_only = References(Snapshot(), {ref.target: set() for ref in kind.refs})
    values, _ = ids_only.entry(kind, old)
    spans = _fitted(values, entry.secret_spans) if entry is not None else ()
    source = Source(file=kind.address(name), line=1, column=1)
    fields = {**values, "name": name, "source": source, "secret_spans": spans}
    try:
        resource = kind.resource.model_validate(fields)
    except ValidationError as exc:
        fields = ", ".join(".".join(map(str, e["loc"])) for e in exc.errors()[:3])
        raise UserError(
            f"{_label(kind, name)} v{old.version} cannot be written as a manifest ({fields}), "
            "so evictl cannot restore it"
        ) from exc
    return Manifests(resources={kind.name: (resource,)}, secrets=known.secrets)


def _fitted(values: dict[str, Any], spans: Iterable[SecretSpan]) -> tuple[SecretSpan, ...]:
    """``spans`` for the old version's ``values``: a span whose template a value at its keys
    does not fit (the old value differs outside the secret too) covers that whole value, since
    where its secret is cannot be told."""
    fitted = []
    for span in spans:
        shown = mask_at(values, span.keys, lambda _, s=span: s.shown())
        fits = mask_at(values, span.keys, lambda text, s=span: desired_mask(s, text)) == shown
        fitted.append(span if fits else span.model_copy(update={"parts": (None,)}))
    return tuple(fitted)


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


def manifest_entry(
    kind: Kind,
    made: LiveVersion,
    live: Snapshot,
    known: Manifests,
    *,
    entry: Resource | None = None,
    root: Path | None = None,
    variables: Mapping[str, str] | None = None,
) -> tuple[str, tuple[Notice, ...]]:
    """The YAML that describes ``made`` (a ``{kind: [entry]}`` document), as export writes it,
    and what it could not simply say (``reexport.Notice``, never a value).

    References are by name where ``known`` manifests define that name and the pin is the
    latest version, else by id and version with a comment naming the target. With the
    manifests' ``root``, a value of a secret they use is written as its ``${secret:NAME}``, and
    their ``entry`` for the resource is edited in place, as re-export does: comments and
    interpolations stay, and a ``${secret:...}`` stays even where ``made`` holds another value
    (a notice names the field). Never a redaction marker: the text is meant to be committed.
    """
    variables = variables or {}
    defined = {
        ref.target: {r.name for r in known.of_kind(ref.target) if not r.absent} for ref in kind.refs
    }
    files = _files(root, known) if root is not None else {}
    secrets = secret_values((doc for file in files.values() for doc in file.docs), variables)
    old = _node(files, kind, entry, variables) if entry is not None else None
    values, comments = References(live, defined).entry(kind, made, kept_paths(kind, old, variables))
    node = hide_secrets(entry_node(kind.name, values, comments), secrets)
    notices: list[Notice] = []
    indent = None
    if entry is not None and old is not None:
        merge_entry(kind, made.name, entry.source.file, old, node, variables, notices)
        node = old
        indent = files[entry.source.file].indent
    return yamlwrite.dump({kind.name: [node]}, indent=indent), tuple(notices)


def _files(root: Path, known: Manifests) -> dict[str, YamlFile]:
    """The manifest files under ``root`` that ``known`` resources are written in, round-trip:
    every file a ``${secret:NAME}`` can be in, for the names of the secrets' values."""
    base = root if root.is_dir() else root.parent
    written = {r.source.file for kind in REGISTRY for r in known.of_kind(kind.name)}
    return {rel: read_manifest(base, rel) for rel in sorted(written)}


def _node(
    files: Mapping[str, YamlFile], kind: Kind, entry: Resource, variables: Mapping[str, str]
) -> CommentedMap | None:
    """The YAML node of the manifests' ``entry`` (names are unique in a kind)."""
    file = files.get(entry.source.file)
    docs = file.docs if file is not None else []
    return next(
        (
            node
            for doc in docs
            for node in doc.get(kind.name) or ()
            if isinstance(node, CommentedMap) and loaded(node.get("name"), variables) == entry.name
        ),
        None,
    )


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
