"""desired and live → Plan. Pure: no I/O, no clock, the same inputs always give the same plan.

Like alembic's autogenerate, it compares, then emits operations: for each managed resource (by
name, or by one of its ``previous_names``) it decides create / rename / new_version /
update_description / delete. Kinds are planned in registry order, so a resource's references are
planned before it: a config learns whether the prompt it uses is created or versioned by this
apply (the cascade), and records that as typed reasons and ``depends_on`` edges.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import pickle
import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from reconciler import addresses
from reconciler.errors import UserError
from reconciler.hume import facts
from reconciler.kinds import KINDS, REGISTRY, Kind, LiveVersion, Ref, address, referencing
from reconciler.manifest import Manifests, Resource
from reconciler.planner import canonical
from reconciler.planner.plan import (
    ActionKind,
    Change,
    DependencyCreated,
    DependencyNewVersion,
    FieldChange,
    Note,
    OlderVersionsUse,
    OwnedNotDescribed,
    Pin,
    Plan,
    PlannedRef,
    PossibleRename,
    Reason,
    SameDescription,
    StalePin,
    StillUsed,
)
from reconciler.secrets import SecretSpan, desired_mask, mask_value
from reconciler.snapshot import Snapshot


class PlanError(UserError):
    """The manifests and the account cannot be reconciled as they stand."""


def _spell_out_inherited(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """``body`` with the defaults of omitted inherited fields written out.

    A new version inherits some omitted fields from the live one instead of taking the default
    (``facts.INHERITED_FIELDS``); the planner compares omitted with the default, so a new version
    must post it, or apply could never undo a portal edit of such a field.
    """
    inherited = facts.INHERITED_FIELDS.get(kind, ())
    if not inherited:
        return body
    defaults = canonical.server_defaults(kind)
    body = dict(body)
    for *parents, leaf in inherited:
        target, default = body, defaults
        for key in parents:
            target[key] = dict(target.get(key, {}))  # copies only the path it writes to
            target = target[key]
            default = default.get(key) or {}
        if target.get(leaf) is None:
            target[leaf] = default.get(leaf)
    return body


def _hide_secrets(
    field: FieldChange, spans: Sequence[SecretSpan], redact: Callable[[str], str]
) -> FieldChange:
    """``field`` with both sides masked exactly where the manifest substitutes a secret.

    Redaction by value cannot hide the live side alone: after a secret is rotated, the live
    value holds the old secret, which the manifests no longer know. So the live side is matched
    against the desired value's template (``reconciler.secrets``).
    """
    if not spans:
        return field
    before = mask_value(field.path, field.before, spans, lambda s, text: s.mask_live(text, redact))
    after = mask_value(field.path, field.after, spans, desired_mask)
    return field.model_copy(update={"before": before, "after": after})


def only_one(
    kind: Kind, name: str, found: Sequence[LiveVersion], source: object
) -> LiveVersion | None:
    """The one live ``kind`` resource named ``name`` among ``found``; two is an error naming
    ``source``, because evictl identifies resources by name."""
    if len(found) > 1:
        ids = ", ".join(item.id for item in found)
        raise PlanError(
            f"{source}: {len(found)} live {kind.name} are named {name!r} ({ids}); evictl "
            "identifies resources by name: rename or delete the extras in Hume"
        )
    return found[0] if found else None


class Ownership(NamedTuple):
    """What the manifests own (the project file's ``[ownership]``): live resources whose names
    match ``globs`` and that no manifest describes are deleted."""

    globs: tuple[str, ...]
    source: str
    """Where the globs are written (the project file), for the delete's ``source``."""


class _Resolved(NamedTuple):
    """A reference as planned: what apply posts, how it reads, and why it is news."""

    planned: PlannedRef
    pin: Pin
    reason: Reason | None = None


class _Planner:
    def __init__(self, desired: Manifests, live: Snapshot) -> None:
        self.desired = desired
        self.by_name: dict[str, dict[str, list[LiveVersion]]] = {}
        self.by_id: dict[str, dict[str, LiveVersion]] = {}
        for kind in REGISTRY:
            names: dict[str, list[LiveVersion]] = defaultdict(list)
            for item in live.of_kind(kind.name):
                names[item.name].append(item)
            self.by_name[kind.name] = names
            self.by_id[kind.name] = {item.id: item for item in live.of_kind(kind.name)}
        self.live = live
        self.changes: dict[str, Change] = {}
        self.reads: dict[str, str] = {}
        self.unmanaged: dict[str, list[tuple[LiveVersion, dict[str, Any]]]] = {}
        self.compared: dict[tuple[str, bytes, bytes], list[FieldChange]] = {}
        self.absent = {
            address(kind.name, r.name) for kind in REGISTRY for r in desired.of_kind(kind.name)
            if r.absent
        }  # fmt: skip

    def find(self, kind: Kind, resource: Resource) -> LiveVersion | None:
        """The live resource: by name, else by a previous name; two candidates is an error."""
        for name in (resource.name, *resource.previous_names):
            found = only_one(kind, name, self.by_name[kind.name].get(name, []), resource.source)
            if found is not None:
                return found
        return None

    def plan_resource(self, kind: Kind, resource: Resource) -> Change:
        live = self.find(kind, resource)
        self.saw(kind.name, live, resource.name, *resource.previous_names)
        base: dict[str, Any] = {
            "kind": kind.name,
            "name": resource.name,
            "source": str(resource.source),
            "secrets": resource.secret_spans,
        }
        redact = self.desired.redact
        if live is not None:
            base.update(
                id=live.id,
                live_name=live.name,
                live_version=live.version,
                live_modified_on=live.modified_on,
            )
        if live is not None and f"{kind.name}#{live.id}" in self.live.unread:
            return Change(**base, unreadable=self.live.unread[f"{kind.name}#{live.id}"])
        if resource.absent:
            return Change(**base, actions=("delete",) if live else ())
        problem = kind.voice_problem(resource, self.live.voices)
        if problem is not None:
            raise PlanError(f"{resource.source}: {kind.singular} {resource.name!r}: {problem}")
        body = kind.settings_body(resource)
        if live is not None:
            body = _spell_out_inherited(kind.name, body)
        refs = [self.resolve(kind, resource, ref) for ref in kind.references(resource)]
        planned = tuple(ref.planned for ref in refs)
        base.update(
            body=body,
            refs=planned,
            depends_on=tuple(dict.fromkeys(r.target for r in planned if r.target is not None)),
        )
        cascade = [ref.reason for ref in refs if ref.reason is not None]
        if live is None:
            hints = self.possible_renames(kind, body) if not kind.refs else ()
            return Change(**base, actions=("create",), reasons=tuple(cascade), notes=hints)
        actions: list[ActionKind] = ["rename"] if live.name != resource.name else []
        have = kind.live_body(live)
        fields = self.field_changes(kind, body, have, refs)
        reasons = [*cascade, *self.stale_pins(kind, have, refs)] if fields else []
        old = canonical.description(have.get("version_description"))
        new = canonical.description(body.get("version_description"))
        notes = []
        if fields:
            actions.append("new_version")
            if old == new != "":
                notes.append(SameDescription(live_version=live.version))
        elif old != new:
            actions.append("update_description")
        return Change(
            notes=tuple(notes),
            **base,
            actions=tuple(actions),
            fields=tuple(_hide_secrets(f, resource.secret_spans, redact) for f in fields),
            description=_hide_secrets(
                FieldChange(path="version_description", before=old, after=new),
                resource.secret_spans,
                redact,
            )
            if old != new
            else None,
            reasons=tuple(reasons),
        )

    def saw(self, kind: str, live: LiveVersion | None, *names: str) -> None:
        """Record what the plan read (or looked for under ``names`` in vain), so that a saved
        plan is stale only when that moved."""
        if live is not None:
            self.reads[f"{kind}#{live.id}"] = _state(live)
        else:
            self.reads.update((address(kind, name), ABSENT) for name in names)

    def pruned(self, kind: Kind, ownership: Ownership) -> list[Change]:
        """Deletes of the live ``kind`` resources the manifests own by glob but do not describe.

        Names match case-sensitively, as Hume's names do; a resource a manifest describes under a
        previous name is managed, not pruned.
        """
        managed = {n for r in self.desired.of_kind(kind.name) for n in (r.name, *r.previous_names)}
        changes = []
        for live in self.live.of_kind(kind.name):
            globs = tuple(g for g in ownership.globs if fnmatch.fnmatchcase(live.name, g))
            if not globs or live.name in managed:
                continue
            self.saw(kind.name, live)
            changes.append(
                Change(
                    kind=kind.name,
                    name=live.name,
                    actions=("delete",),
                    id=live.id,
                    live_name=live.name,
                    live_version=live.version,
                    live_modified_on=live.modified_on,
                    reasons=(OwnedNotDescribed(globs=globs),),
                    source=ownership.source,
                )
            )
        return changes

    def possible_renames(self, kind: Kind, body: dict[str, Any]) -> tuple[PossibleRename, ...]:
        """Unmanaged live resources whose content equals a created one's: renamed in Hume?"""
        if kind.name not in self.unmanaged:
            managed = {
                n for r in self.desired.of_kind(kind.name) for n in (r.name, *r.previous_names)
            }
            self.unmanaged[kind.name] = [
                (item, canonical.content(kind.name, kind.live_body(item)))
                for item in self.live.of_kind(kind.name)
                if item.name not in managed
            ]
        wanted = canonical.content(kind.name, body)
        return tuple(
            PossibleRename(live_name=item.name, id=item.id)
            for item, content in self.unmanaged[kind.name]
            if content == wanted
        )

    def dependents(self, change: Change, chosen: set[str] | None, strict: bool) -> Change:
        """A delete, checked against the live resources that use what it deletes.

        Each one's latest version must be moved off it by this very plan (a new version that no
        longer references it, or its own delete), or the plan stops: Hume would accept the delete
        and leave them broken. Older versions that pin it (including the versions this plan
        moves off it) are a note: a client that asks for such a version gets a broken config.
        """
        users, older = [], []
        gone = {c.id for c in self.changes.values() if "delete" in c.actions}  # every version
        for kind in referencing(change.kind):
            for live in self.live.of_kind(kind.name):
                if any(ref.id == change.id for ref in kind.live_references(live)):
                    self.saw(kind.name, live)
                    users.append((kind, live))
            for version in self.live.history.get(kind.name, ()):
                latest = self.by_id[kind.name].get(version.id)
                pins = any(ref.id == change.id for ref in kind.live_references(version))
                older_one = latest is not None and version.version < latest.version
                if pins and older_one and version.id not in gone:
                    older.append(f"{kind.address(version.name)} v{version.version}")
        stuck, still = [], []
        for kind, live in users:
            if not self.moves_off(kind, live, change, chosen):
                stuck.append(f"{kind.singular} {live.name!r} (v{live.version})")
                still.append(f"{kind.address(live.name)} v{live.version}")
            elif live.id not in gone:
                older.append(f"{kind.address(live.name)} v{live.version}")  # older after apply
        if stuck and strict:
            pruned = next((r for r in change.reasons if isinstance(r, OwnedNotDescribed)), None)
            why = (
                f"is owned by [ownership] ({', '.join(pruned.globs)}) but in no manifest"
                if pruned
                else "is marked absent"
            )
            keep = (
                "describe it in the manifests or narrow [ownership]"
                if pruned
                else "keep the resource"
            )
            raise PlanError(
                f"{change.source}: {change.singular} {change.name!r} {why}, but live "
                f"{', '.join(stuck)} still use{'s' if len(stuck) == 1 else ''} it: change "
                f"{'it' if len(stuck) == 1 else 'them'} in this plan (or in Hume) first, "
                f"or {keep}"
            )
        notes: list[Note] = [StillUsed(users=tuple(still))] if still else []
        if older:
            notes.append(OlderVersionsUse(users=tuple(sorted(older, reverse=True))))
        return change.model_copy(update={"notes": (*change.notes, *notes)})

    def moves_off(
        self, kind: Kind, live: LiveVersion, target: Change, chosen: set[str] | None
    ) -> bool:
        """Whether this plan leaves ``live`` no longer using ``target`` (and is applying it)."""
        change = next(
            (c for c in self.changes.values() if c.kind == kind.name and c.id == live.id), None
        )
        if change is None or (chosen is not None and change.address not in chosen):
            return False
        if "delete" in change.actions:
            return True
        still = any(ref.target == target.address or ref.id == target.id for ref in change.refs)
        return "new_version" in change.actions and not still

    def resolve(self, kind: Kind, resource: Resource, ref: Ref) -> _Resolved:
        """What a reference will pin after apply, and why that is news (created, versioned)."""
        if ref.name is None:
            target = self.by_id[ref.kind].get(str(ref.id))
            if target is None or (ref.version is not None and ref.version > target.version):
                at = "" if ref.version is None else f" version {ref.version}"
                raise PlanError(
                    f"{resource.source}: {KINDS[ref.kind].singular} {ref.id}{at} "
                    "does not exist in Hume"
                )
            self.saw(ref.kind, target)
            planned = PlannedRef(field=ref.field, id=target.id, version=ref.version)
            return _Resolved(planned, self.live_pin(ref.kind, target.id, ref.version))
        target_address = address(ref.kind, ref.name)
        change = self.changes.get(target_address)
        if change is None or target_address in self.absent:
            raise PlanError(
                f"{resource.source}: {kind.singular} {resource.name!r} uses "
                f"{KINDS[ref.kind].singular} {ref.name!r}, which the manifests mark absent"
            )
        planned = PlannedRef(field=ref.field, target=target_address)
        if "create" in change.actions:
            created = Pin(kind=ref.kind, name=ref.name, pending="created")
            return _Resolved(planned, created, DependencyCreated(subject=target_address))
        if "new_version" in change.actions:
            versioned = Pin(kind=ref.kind, name=ref.name, id=change.id, pending="new_version")
            return _Resolved(planned, versioned, DependencyNewVersion(subject=target_address))
        found = Pin(kind=ref.kind, name=ref.name, id=change.id, version=change.live_version)
        return _Resolved(planned, found)

    def live_pin(self, kind: str, id_: str | None, version: int | None) -> Pin:
        """A pin by id, named as Hume names the resource (its id, if Hume has no such resource)."""
        target = self.by_id[kind].get(str(id_))
        return Pin(kind=kind, name=target.name if target else str(id_), id=id_, version=version)

    def field_changes(
        self,
        kind: Kind,
        body: dict[str, Any],
        have: dict[str, Any],
        refs: Sequence[_Resolved],
    ) -> list[FieldChange]:
        """Setting differences, whole values as one; then each reference field that changes.

        A reference changes when its target gets a version in this apply, or when its live pin
        differs from what the manifests resolve to.
        """
        settings = {key: value for key, value in have.items() if key not in kind.ref_fields}
        changes = list(self.compare(kind, body, settings))
        for ref_field in kind.refs:
            after = [ref.pin for ref in refs if ref.planned.field == ref_field.field]
            live_refs = _listed(have.get(ref_field.field))
            unordered = ref_field.field in kind.unordered
            pinned = _identities([(ref["id"], ref["version"]) for ref in live_refs], unordered)
            wanted = _identities([(pin.id, pin.version) for pin in after], unordered)
            if pinned != wanted or any(pin.pending for pin in after):
                before = [
                    self.live_pin(ref_field.target, ref["id"], ref["version"]) for ref in live_refs
                ]
                changes.append(
                    FieldChange(
                        path=ref_field.field,
                        before=_dump(before, ref_field.many),
                        after=_dump(after, ref_field.many),
                        reference=True,
                    )
                )
        return sorted(changes, key=lambda change: change.path)

    def compare(
        self, kind: Kind, body: dict[str, Any], settings: dict[str, Any]
    ) -> list[FieldChange]:
        """``setting_changes`` between the desired body and the live settings, once per distinct
        pair (pickled, an exact key): configs made from one template differ only in what they
        reference, and canonicalising both sides was most of planning them."""
        try:
            key: tuple[str, bytes, bytes] | None = (
                kind.name,
                pickle.dumps(body),
                pickle.dumps(settings),
            )
        except (pickle.PicklingError, TypeError, AttributeError):
            key = None
        found = self.compared.get(key) if key is not None else None
        if found is None:
            desired = canonical.content(kind.name, body)
            live = canonical.content(kind.name, settings, like=body)
            found = setting_changes(kind, live, desired)
            if key is not None:
                self.compared[key] = found
        return found

    def stale_pins(
        self, kind: Kind, have: dict[str, Any], refs: Sequence[_Resolved]
    ) -> list[StalePin]:
        """Why a resource changes when what it uses does not: its live pin is another version."""
        pinned = {
            ref["id"]: ref["version"] for name in kind.ref_fields for ref in _listed(have[name])
        }
        reasons = []
        for pin in (ref.pin for ref in refs):
            if pin.pending or pin.id not in pinned or pinned[pin.id] == pin.version:
                continue
            subject = address(pin.kind, pin.name)
            reasons.append(
                StalePin(subject=subject, pinned=pinned[pin.id], resolves_to=pin.version)
            )
        return reasons


def setting_changes(kind: Kind, before: dict[str, Any], after: dict[str, Any]) -> list[FieldChange]:
    """How two canonical contents of ``kind`` differ, field by field, and each whole value
    (``Kind.whole_values``) as one change: what plan shows, and what history shows between
    versions, so both mean the same by "changed"."""
    changes = [
        FieldChange(path=path, before=old, after=new)
        for path, (old, new) in canonical.differences(after, before).items()
        if re.split(r"[.\[]", path, maxsplit=1)[0] not in kind.whole_values
    ]
    changes += [
        FieldChange(path=key, before=before.get(key), after=after.get(key))
        for key in kind.whole_values
        if canonical.differences(after.get(key), before.get(key))
    ]
    return changes


def _listed(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _identities(
    pairs: list[tuple[str | None, int | None]], unordered: bool
) -> list[tuple[str | None, int | None]]:
    """What a reference field pins, to compare: (id, version), sorted for an unordered field."""
    return sorted(pairs, key=str) if unordered else pairs


def _dump(pins: Sequence[Pin], many: bool) -> Any:
    dumped = [pin.model_dump(exclude={"id"}) for pin in pins]
    return dumped if many else next(iter(dumped), None)


def _targets(desired: Manifests, targets: Sequence[str]) -> set[str] | None:
    """The ``KIND/NAME`` addresses to plan, with everything the targeted resources reference."""
    if not targets:
        return None
    resources = {
        address(kind.name, r.name): (kind, r)
        for kind in REGISTRY
        for r in desired.of_kind(kind.name)
    }
    chosen = set(addresses.resolve(desired, targets, "--target"))
    pending = list(chosen)
    while pending:
        kind_of, resource = resources[pending.pop()]
        for ref in kind_of.references(resource):
            if ref.address is not None and ref.address not in chosen:
                chosen.add(ref.address)
                pending.append(ref.address)
    return chosen


def _with_deletes_last(changes: list[Change]) -> list[Change]:
    """Deletes wait for every pending change of a kind that can reference them.

    A resource still in use must not be deleted before the configs that use it move off it; and
    a failed config still uses what it used before, so nothing it may use is deleted after it.
    """
    ordered = []
    for change in changes:
        if "delete" in change.actions:
            users = {kind.name for kind in referencing(change.kind)}
            waits = [c.address for c in changes if c.kind in users and c.actions]
            change = change.model_copy(update={"depends_on": (*change.depends_on, *waits)})
        ordered.append(change)
    return ordered


ABSENT = "absent"


def _state(live: LiveVersion) -> str:
    """What a saved plan remembers of a live resource: its name, version and last edit."""
    return _JSON([live.name, live.version, live.modified_on])


_JSON = json.JSONEncoder(ensure_ascii=False).encode
"""``json.dumps(value, ensure_ascii=False)``, without building an encoder per call (once per
resource read)."""


def fingerprint(reads: dict[str, str]) -> str:
    """sha256 of what a plan read: the same reads, the same plan."""
    text = _JSON(sorted(reads.items()))
    return f"sha256:{hashlib.sha256(text.encode()).hexdigest()}"


def plan(
    desired: Manifests,
    live: Snapshot,
    *,
    targets: Sequence[str] = (),
    strict: bool = True,
    ownership: Ownership | None = None,
) -> Plan:
    """The changes that make ``live`` match ``desired`` (only ``targets`` and their needs).

    ``strict`` (a plan to apply) stops at a delete that live resources would still use; drift,
    which only reports, asks for a ``still_used`` note instead. With ``ownership``, live
    resources in the owned scope that no manifest describes are deleted too (never with
    ``targets``: a targeted plan touches only what it names).
    """
    planner = _Planner(desired, live)
    chosen = _targets(desired, targets)
    for kind in REGISTRY:
        for resource in desired.of_kind(kind.name):
            change = planner.plan_resource(kind, resource)
            planner.changes[change.address] = change
        if ownership is not None and chosen is None:
            for change in planner.pruned(kind, ownership):
                if change.address in planner.changes:
                    raise PlanError(
                        f"{ownership.source}: two live {kind.name} are named {change.name!r} in "
                        "the owned scope; evictl identifies resources by name: delete or rename "
                        "one in Hume"
                    )
                planner.changes[change.address] = change
    ordered = [
        planner.dependents(change, chosen, strict) if "delete" in change.actions else change
        for change in planner.changes.values()
        if chosen is None or change.address in chosen
    ]
    return Plan(
        fingerprint=fingerprint(planner.reads),
        reads=planner.reads,
        changes=tuple(_with_deletes_last(ordered)),
    )
