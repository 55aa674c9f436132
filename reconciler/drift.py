"""Drift: where the account no longer matches the manifests, and which live version did it.

Read-only by construction: the client gets a request hook that refuses any method but GET before
it is sent, so the nightly job can hold a key with write access without being able to use it.
Drift is the plan's pending changes, classified:

- ``missing``: in the manifests, not in Hume (with a hint when an unmanaged resource has the same
  content: probably renamed in the portal);
- ``renamed``: still under one of its ``previous_names`` in Hume;
- ``ahead``: a live version newer than the last one that matched the manifests (someone edited
  the portal); ``introduced_by`` is the first such version and its time;
- ``changed``: no live version ever matched (the manifests changed and were not applied);
- ``description``: only a version description differs;
- ``stale_pin``: a config pins an older version of a prompt or tool than the latest;
- ``should_be_absent``: marked ``absent: true`` but still there.

A config that differs only because a prompt or tool it uses drifted is not reported on its own:
its dependency's item lists it under ``used_by``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal

import click
import httpx
from pydantic import BaseModel, ConfigDict

from reconciler import render
from reconciler.client import HumeClient
from reconciler.client.models import LiveConfig, LiveVersion
from reconciler.errors import UserError
from reconciler.manifest import Manifests
from reconciler.planner import canonical
from reconciler.planner.plan import Change, Plan, redact_tree
from reconciler.planner.planner import desired_body, live_body
from reconciler.snapshot import Snapshot

Category = Literal[
    "missing", "renamed", "ahead", "changed", "description", "stale_pin", "should_be_absent"
]
_REFS = ("prompt", "tools")
_TITLES: dict[str, str] = {
    "missing": "missing in Hume",
    "renamed": "renamed",
    "ahead": "live version ahead of the manifests",
    "changed": "differs from the manifests",
    "description": "version description differs",
    "stale_pin": "pinned to an older version",
    "should_be_absent": "should be absent",
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
        return f"{self.change.singular} {self.change.name!r}: {_TITLES[self.category]}"


class DriftReport(BaseModel):
    """Every drifted resource of one run, and what was deliberately ignored."""

    model_config = ConfigDict(frozen=True)

    format_version: Literal[1] = 1
    fingerprint: str
    items: tuple[DriftItem, ...] = ()
    ignored: tuple[str, ...] = ()

    @property
    def has_drift(self) -> bool:
        """Exit code 2 when true."""
        return bool(self.items)

    def summary(self) -> str:
        """``Drift: 2 resources differ from the manifests.`` (or that none do)."""
        if not self.items:
            return "No drift: the Hume account matches the manifests."
        count = len(self.items)
        if count == 1:
            return "Drift: 1 resource differs from the manifests."
        return f"Drift: {count} resources differ from the manifests."


def when(stamp: int | None) -> str:
    """A server timestamp as UTC; seconds or milliseconds (the spec says one, Hume sends both)."""
    if stamp is None:
        return "time unknown"
    seconds = stamp / 1000 if stamp > 10**11 else stamp
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M UTC")


def read_only(client: HumeClient) -> HumeClient:
    """The client, refusing before sending any request that could write."""

    async def refuse_writes(request: httpx.Request) -> None:
        if request.method not in ("GET", "HEAD"):
            raise UserError(f"drift is read-only: refused {request.method} {request.url.path}")

    client.http.event_hooks["request"].append(refuse_writes)
    return client


def _stale_pins(config: LiveConfig, live: Snapshot) -> list[str]:
    latest = {item.id: item for kind in ("prompts", "tools") for item in live.of_kind(kind)}
    embedded = [config.prompt] if config.prompt else []
    notes = []
    for ref in [*embedded, *(config.tools or [])]:
        newest = latest.get(ref.id)
        if ref.version_type != "LATEST" and newest and ref.version < newest.version:
            notes.append(f"pins {newest.name!r} at v{ref.version}; the latest is v{newest.version}")
    return notes


def _comparable(kind: str, body: dict[str, Any], voice_by: tuple[str, ...]) -> Any:
    """Content and description, references left out (history of settings, not of pins)."""
    trimmed = {key: value for key, value in body.items() if key not in _REFS}
    return (
        canonical.content(kind, trimmed, voice_by=voice_by),
        canonical.description(body.get("version_description")),
    )


async def _history(
    client: HumeClient, change: Change, body: dict[str, Any]
) -> tuple[int | None, Introduced | None]:
    """The newest live version matching the manifests, and the first version after it."""
    assert change.id is not None
    versions: list[LiveVersion] = await client.list_versions(change.kind, change.id)
    voice_by = canonical.voice_keys(body)
    wanted = _comparable(change.kind, body, voice_by)
    matched = None
    for version in versions:
        if _comparable(change.kind, live_body(version), voice_by) == wanted:
            matched = version.version
    after = [v for v in versions if matched is None or v.version > matched]
    first = after[0] if after else None
    introduced = Introduced(version=first.version, modified_on=first.modified_on) if first else None
    return matched, introduced


def _twins(manifests: Manifests, live: Snapshot, change: Change) -> list[str]:
    """Unmanaged live resources whose content equals a missing one's: likely portal renames."""
    if change.kind == "configs" or change.body is None:
        return []
    managed = {r.name for r in manifests.of_kind(change.kind)}
    managed |= {n for r in manifests.of_kind(change.kind) for n in r.previous_names}
    wanted = canonical.content(change.kind, change.body)
    return [
        f"live {change.singular} {item.name!r} ({item.id}) has the same content: renamed in Hume?"
        for item in live.of_kind(change.kind)
        if item.name not in managed and canonical.content(change.kind, live_body(item)) == wanted
    ]


async def detect(
    manifests: Manifests,
    live: Snapshot,
    plan: Plan,
    client: HumeClient,
    *,
    ignore: Sequence[str] = (),
) -> DriftReport:
    """Classify every pending change of ``plan`` (reading version histories as needed)."""
    ignored = {_address(target) for target in ignore}
    configs = {c.name: c for c in live.configs}
    desired = {
        (kind, r.name): r
        for kind in ("prompts", "tools", "configs")
        for r in manifests.of_kind(kind)
    }
    used_by: dict[str, list[str]] = {}
    items: list[DriftItem] = []
    for change in plan.pending:
        if change.address in ignored:
            continue
        own_fields = [f for f in change.fields if f.path not in _REFS]
        cascades = [reason for reason in change.reasons if " → " in reason]
        only_cascade = change.reasons and len(cascades) == len(change.reasons)
        if change.kind == "configs" and only_cascade and not own_fields and not change.description:
            for reason in cascades:
                used_by.setdefault(reason.split(" → ")[0], []).append(change.name)
            continue
        items.append(await _classify(manifests, live, change, client, configs, desired))
    report_items = tuple(
        item.model_copy(update={"used_by": tuple(used_by.get(_label(item.change), ()))})
        for item in items
    )
    return DriftReport(
        fingerprint=plan.fingerprint, items=report_items, ignored=tuple(sorted(ignored))
    )


def _label(change: Change) -> str:
    """``prompt greeter``: how the planner's cascade reasons name a dependency."""
    return f"{change.singular} {change.name}"


async def _classify(
    manifests: Manifests,
    live: Snapshot,
    change: Change,
    client: HumeClient,
    configs: dict[str, LiveConfig],
    desired: dict[tuple[str, str], Any],
) -> DriftItem:
    if "create" in change.actions:
        twins = tuple(_twins(manifests, live, change))
        return DriftItem(category="missing", change=change, notes=twins)
    if "delete" in change.actions:
        return DriftItem(category="should_be_absent", change=change)
    if "rename" in change.actions:
        return DriftItem(category="renamed", change=change)
    live_config = configs.get(change.live_name or change.name) if change.kind == "configs" else None
    pins = _stale_pins(live_config, live) if live_config else []
    own_fields = [f for f in change.fields if f.path not in _REFS]
    if pins and not own_fields and not change.description:
        return DriftItem(category="stale_pin", change=change, notes=tuple(pins))
    body = desired_body(desired[(change.kind, change.name)])
    matched, introduced = await _history(client, change, body)
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


def _address(target: str) -> str:
    kind, _, name = target.partition("/")
    return f"{kind if kind.endswith('s') else kind + 's'}/{name}"


def _item_lines(item: DriftItem) -> list[str]:
    change = item.change
    lines = []
    if item.category == "ahead" and item.introduced_by is not None:
        lines.append(
            f"{item.introduced_by.describe()}, is not what the manifests describe "
            f"(version {item.matched_version} was)"
        )
    elif change.live_version is not None and item.category not in ("renamed", "should_be_absent"):
        lines.append(
            f"live version {change.live_version}, {when(change.live_modified_on)}, "
            "is not what the manifests describe"
        )
    if item.category == "renamed":
        lines.append(f"still named {change.live_name!r} in Hume")
    lines += list(item.notes)
    if item.used_by:
        lines.append(f"used by configs: {', '.join(item.used_by)}")
    lines += [line for line in render.change_lines(change) if not line.startswith("because ")]
    return lines


def as_text(report: DriftReport, redact: render.Redact) -> str:
    """For a terminal or a job log."""
    report = render.redacted(report, redact)
    out = []
    for item in report.items:
        title = f"  ! {item.headline()}  [{item.change.source}]"
        out.append(click.style(title, fg="yellow", bold=True))
        out += [f"      {line}" for line in _item_lines(item)]
        out.append("")
    if report.ignored:
        out.append(f"Ignored: {', '.join(report.ignored)}")
    out.append(click.style(report.summary(), bold=True))
    return redact("\n".join(out))


def as_markdown(report: DriftReport, redact: render.Redact) -> str:
    """An issue body: a summary, then one collapsible block per drifted resource."""
    report = render.redacted(report, redact)
    out = ["### evictl drift", "", f"**{report.summary()}**", ""]
    for item in report.items:
        summary = f"<code>{item.headline()}</code> ({item.change.source})"
        out += render.details(summary, _item_lines(item))
    if report.ignored:
        out.append(f"Ignored: {', '.join(f'`{i}`' for i in report.ignored)}")
    return redact("\n".join(out))


def as_json(report: DriftReport, redact: render.Redact) -> str:
    """The report as JSON (``format_version`` 1), secrets redacted."""
    data = report.model_dump(mode="json")
    return json.dumps(redact_tree(data, redact), indent=2, ensure_ascii=False)
