"""desired and live → Plan. Pure: no I/O, no clock, the same inputs always give the same plan.

Like alembic's autogenerate, it compares, then emits operations: for each managed resource (by
name, or by one of its ``previous_names``) it decides create / rename / new_version /
update_description / delete, prompts and tools first, because a config's references depend on
what happens to them (the cascade).
"""

from __future__ import annotations

import copy
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from reconciler.client.models import LiveConfig, LivePrompt, LiveTool, LiveVersion
from reconciler.errors import UserError
from reconciler.hume import facts, spec
from reconciler.manifest import Config, Manifests, Prompt, Reference, Tool
from reconciler.planner import canonical
from reconciler.planner.plan import ActionKind, Change, FieldChange, Plan
from reconciler.snapshot import Snapshot

KINDS = ("prompts", "tools", "configs")
PENDING_VERSION = "(new version)"
PENDING_ID = "(created by apply)"
SECRET = "(secret)"
_CONFIG_SETTINGS = tuple(
    name
    for name in spec.component("posted_config_version")["properties"]
    if name not in ("prompt", "tools")
)
"""A config version's own settings; its prompt and tools are references, resolved separately."""


class PlanError(UserError):
    """The manifests and the account cannot be reconciled as they stand."""


def desired_body(resource: Prompt | Tool | Config) -> dict[str, Any]:
    """What create / new_version posts; managed references stay ``{"name": ...}`` for apply."""
    if isinstance(resource, Prompt):
        body = resource.model_dump(
            include={"text", "version_description", "prompt_expansion"}, exclude_none=True
        )
    elif isinstance(resource, Tool):
        body = resource.model_dump(
            include={"description", "fallback_content", "version_description"}, exclude_none=True
        )
        body["parameters"] = resource.parameters_json
    else:
        body = resource.model_dump(mode="json", include=set(_CONFIG_SETTINGS), exclude_none=True)
        if resource.prompt is not None:
            body["prompt"] = _ref_body(resource.prompt)
        body["tools"] = [_ref_body(ref) for ref in resource.tools or ()]
    return body


def _spell_out_inherited(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    """``body`` with the defaults of omitted inherited fields written out.

    A new version inherits some omitted fields from the live one instead of taking the default
    (``facts.INHERITED_FIELDS``); the planner compares omitted with the default, so a new version
    must post it, or apply could never undo a portal edit of such a field.
    """
    defaults = facts.fill_defaults(kind, {})
    body = copy.deepcopy(body)
    for *parents, leaf in facts.INHERITED_FIELDS.get(kind, ()):
        target, default = body, defaults
        for key in parents:
            target = target.setdefault(key, {})
            default = default.get(key) or {}
        if target.get(leaf) is None:
            target[leaf] = default.get(leaf)
    return body


def _path_keys(path: str) -> tuple[str, ...]:
    """``webhooks[0].url`` → ``("webhooks", "url")``: the keys of a path, list positions dropped."""
    return tuple(part for part in re.split(r"[.\[\]]", path) if part and not part.isdigit())


def _mask(value: Any, keys: tuple[str, ...]) -> Any:
    """``value`` with whatever lies at ``keys`` (in every list item) replaced by ``SECRET``."""
    if value is None:
        return None
    if isinstance(value, list):
        return [_mask(item, keys) for item in value]
    if not keys:
        return SECRET
    if isinstance(value, dict) and keys[0] in value:
        return {**value, keys[0]: _mask(value[keys[0]], keys[1:])}
    return value


def _hide_secrets(field: FieldChange, secret_paths: Sequence[str]) -> FieldChange:
    """``field`` with both sides masked where the manifest substitutes a secret.

    Redaction by value cannot hide the live side: after a secret is rotated, the live value is
    the old secret, which the manifests no longer know. Masking by position hides both.
    """
    keys = _path_keys(field.path)
    for secret in map(_path_keys, secret_paths):
        if secret[: len(keys)] == keys:
            rest = secret[len(keys) :]
            field = field.model_copy(
                update={"before": _mask(field.before, rest), "after": _mask(field.after, rest)}
            )
    return field


def _ref_body(ref: Reference) -> dict[str, Any]:
    return {"id": ref.id, "version": ref.version} if ref.is_external else {"name": ref.name}


def live_body(live: LiveVersion) -> dict[str, Any]:
    """A live version in the posted wire shape, references as ``{id, version}`` (null: LATEST)."""
    if isinstance(live, LivePrompt):
        return live.model_dump(include={"text", "version_description", "prompt_expansion"})
    if isinstance(live, LiveTool):
        return live.model_dump(
            include={"parameters", "description", "fallback_content", "version_description"}
        )
    assert isinstance(live, LiveConfig)
    body = live.model_dump(mode="json", include=set(_CONFIG_SETTINGS))
    body["prompt"] = _live_ref(live.prompt) if live.prompt else None
    body["tools"] = [_live_ref(tool) for tool in live.tools or ()]
    return body


def _live_ref(embedded: LiveVersion) -> dict[str, Any]:
    following = embedded.version_type == "LATEST"
    return {"id": embedded.id, "version": None if following else embedded.version}


class _Planner:
    def __init__(self, desired: Manifests, live: Snapshot) -> None:
        self.desired = desired
        self.live = live
        self.by_name: dict[str, dict[str, list[LiveVersion]]] = {}
        self.by_id: dict[str, dict[str, LiveVersion]] = {}
        for kind in KINDS:
            names: dict[str, list[LiveVersion]] = defaultdict(list)
            for item in live.of_kind(kind):
                names[item.name].append(item)
            self.by_name[kind] = names
            self.by_id[kind] = {item.id: item for item in live.of_kind(kind)}
        self.changes: dict[str, dict[str, Change]] = {kind: {} for kind in KINDS}
        self.absent = {kind: {r.name for r in desired.of_kind(kind) if r.absent} for kind in KINDS}

    def find(self, kind: str, resource: Prompt | Tool | Config) -> LiveVersion | None:
        """The live resource: by name, else by a previous name; two candidates is an error."""
        for name in (resource.name, *resource.previous_names):
            found = self.by_name[kind].get(name, [])
            if len(found) > 1:
                ids = ", ".join(item.id for item in found)
                raise PlanError(
                    f"{resource.source}: {len(found)} live {kind} are named {name!r} ({ids}); "
                    "evictl identifies resources by name: rename or delete the extras in Hume"
                )
            if found:
                return found[0]
        return None

    def plan_resource(self, kind: str, resource: Prompt | Tool | Config) -> Change:
        live = self.find(kind, resource)
        base: dict[str, Any] = {"kind": kind, "name": resource.name, "source": str(resource.source)}
        if live is not None:
            base.update(
                id=live.id,
                live_name=live.name,
                live_version=live.version,
                live_modified_on=live.modified_on,
            )
        if resource.absent:
            return Change(**base, actions=("delete",) if live else ())
        body = desired_body(resource)
        if live is not None:
            body = _spell_out_inherited(kind, body)
        reasons: list[str] = []
        wanted = self.resolve_refs(resource, reasons) if isinstance(resource, Config) else body
        if live is None:
            return Change(**base, actions=("create",), body=body, reasons=tuple(reasons))
        actions: list[ActionKind] = ["rename"] if live.name != resource.name else []
        have = live_body(live)
        if isinstance(resource, Config):
            reasons += self.stale_pins(wanted, have)
        fields = self.field_changes(kind, wanted, have)
        old = canonical.description(have.get("version_description"))
        new = canonical.description(body.get("version_description"))
        description = FieldChange(path="version_description", before=old, after=new)
        if fields:
            actions.append("new_version")
        elif old != new:
            actions.append("update_description")
        return Change(
            **base,
            actions=tuple(actions),
            fields=tuple(_hide_secrets(field, resource.secret_paths) for field in fields),
            description=_hide_secrets(description, resource.secret_paths) if old != new else None,
            reasons=tuple(reasons) if fields else (),
            body=body,
        )

    def field_changes(
        self, kind: str, wanted: dict[str, Any], have: dict[str, Any]
    ) -> list[FieldChange]:
        """Field differences; a tool's ``parameters`` and a config's references as whole values.

        References are compared canonically but shown from the raw bodies, which still carry the
        managed name a reference will have after apply (a rename, or a resource not yet created).
        """
        desired = canonical.content(kind, wanted)
        live = canonical.content(kind, have, voice_by=canonical.voice_keys(wanted))
        whole = {"tools": ("parameters",), "configs": ("prompt", "tools")}.get(kind, ())
        changes = [
            FieldChange(path=path, before=before, after=after)
            for path, (before, after) in canonical.differences(desired, live).items()
            if not path.startswith(whole)
        ]
        for key in whole:
            if canonical.differences(desired.get(key), live.get(key)):
                before, after = live.get(key), desired.get(key)
                if kind == "configs":
                    before, after = (
                        self.ref_label(key, have.get(key)),
                        self.ref_label(key, wanted.get(key)),
                    )
                changes.append(FieldChange(path=key, before=before, after=after))
        return sorted(changes, key=lambda change: change.path)

    def ref_label(self, key: str, value: Any) -> Any:
        """``name v3`` for a reference (a list of them for tools), as people read pins."""
        kind = "prompts" if key == "prompt" else "tools"
        if value is None:
            return None
        if isinstance(value, list):
            return [self.ref_label(key, item) for item in value]
        target = self.by_id[kind].get(value["id"])
        name = value.get("name") or (target.name if target else value["id"])
        version = value["version"]
        if version is None:
            return f"{name} latest"
        return f"{name} {version}" if isinstance(version, str) else f"{name} v{version}"

    def resolve_refs(self, config: Config, reasons: list[str]) -> dict[str, Any]:
        """The config's body with references as ``{id, version}``: what it will pin after apply."""
        body = desired_body(config)
        if config.prompt is not None:
            body["prompt"] = self.pin("prompts", config, config.prompt, reasons)
        body["tools"] = [self.pin("tools", config, ref, reasons) for ref in config.tools or ()]
        return body

    def stale_pins(self, wanted: dict[str, Any], have: dict[str, Any]) -> list[str]:
        """Why a config changes when what it uses does not: its live pin is another version."""
        pinned = {ref["id"]: ref["version"] for ref in [have["prompt"], *have["tools"]] if ref}
        refs = [("prompts", wanted.get("prompt")), *(("tools", r) for r in wanted["tools"])]
        reasons = []
        for kind, ref in refs:
            if not ref or ref["version"] == PENDING_VERSION or ref["id"] not in pinned:
                continue
            if pinned[ref["id"]] != ref["version"]:
                name = ref.get("name") or self.by_id[kind][ref["id"]].name
                reasons.append(
                    f"{kind[:-1]} {name} is pinned at {_version(pinned[ref['id']])}; "
                    f"the manifests resolve it to {_version(ref['version'])}"
                )
        return reasons

    def pin(self, kind: str, config: Config, ref: Reference, reasons: list[str]) -> dict:
        singular = kind[:-1]
        if ref.is_external:
            target = self.by_id[kind].get(str(ref.id))
            if target is None or (ref.version is not None and ref.version > target.version):
                at = "" if ref.version is None else f" version {ref.version}"
                raise PlanError(f"{config.source}: {singular} {ref.id}{at} does not exist in Hume")
            return {"id": target.id, "version": ref.version}
        change = self.changes[kind].get(str(ref.name))
        if change is None or str(ref.name) in self.absent[kind]:
            raise PlanError(
                f"{config.source}: config {config.name!r} uses {singular} {ref.name!r}, "
                "which the manifests mark absent"
            )
        if "create" in change.actions:
            reasons.append(f"{singular} {ref.name} → created")
            return {"id": PENDING_ID, "version": PENDING_VERSION, "name": ref.name}
        if "new_version" in change.actions:
            reasons.append(f"{singular} {ref.name} → new version")
            return {"id": change.id, "version": PENDING_VERSION, "name": ref.name}
        return {"id": change.id, "version": change.live_version, "name": ref.name}


def _version(number: int | None) -> str:
    return "latest" if number is None else f"v{number}"


def _targets(desired: Manifests, targets: Sequence[str]) -> set[tuple[str, str]] | None:
    """The ``KIND/NAME`` addresses to plan, with what the targeted configs reference."""
    if not targets:
        return None
    known = {(kind, r.name) for kind in KINDS for r in desired.of_kind(kind)}
    chosen: set[tuple[str, str]] = set()
    for target in targets:
        kind, _, name = target.partition("/")
        kind = kind if kind.endswith("s") else f"{kind}s"
        if (kind, name) not in known:
            raise PlanError(f"--target {target}: no such resource in the manifests")
        chosen.add((kind, name))
    for config in desired.configs:
        if ("configs", config.name) in chosen:
            refs: Iterable[tuple[str, Reference | None]] = [
                ("prompts", config.prompt),
                *(("tools", ref) for ref in config.tools or ()),
            ]
            chosen |= {(kind, ref.name) for kind, ref in refs if ref and ref.name}
    return chosen


def plan(desired: Manifests, live: Snapshot, *, targets: Sequence[str] = ()) -> Plan:
    """The changes that make ``live`` match ``desired`` (only ``targets`` and their needs)."""
    planner = _Planner(desired, live)
    chosen = _targets(desired, targets)
    ordered: list[Change] = []
    for kind in KINDS:
        for resource in desired.of_kind(kind):
            change = planner.plan_resource(kind, resource)
            planner.changes[kind][resource.name] = change
            if chosen is None or (kind, resource.name) in chosen:
                ordered.append(change)
    return Plan(fingerprint=live.fingerprint(), changes=tuple(ordered))
