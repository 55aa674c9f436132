"""The pipeline every command shares: load manifests → fetch live snapshot → plan → apply.

Commands differ only in what they do with the result (render it, apply it, report drift), so the
stages are wired here once and the CLI stays a thin layer of options and printing.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from reconciler.applier import Outcome, apply
from reconciler.client import HumeClient, connect
from reconciler.client.api import RetryPolicy
from reconciler.client.snapshot import fetch_snapshot
from reconciler.drift import DriftReport, classify, needs_history, read_only
from reconciler.errors import UserError
from reconciler.kinds import REGISTRY
from reconciler.manifest import Manifests, load_manifests
from reconciler.planner.plan import FORMAT_VERSION, Plan
from reconciler.planner.planner import plan
from reconciler.snapshot import Snapshot

READ_CONCURRENCY = 8
"""Reads in flight at once; apply's ``--parallelism`` bounds its writes, not its reads."""


@dataclass(frozen=True)
class Connection:
    """Where the account is: the embedded emulator's file, or an API base URL."""

    emulator: Path | None = None
    base_url: str | None = None
    retry: RetryPolicy | None = None
    """How hard the client tries (None: the defaults, which suit Hume; tests shrink the waits)."""

    def client(self, concurrency: int = 8) -> HumeClient:
        """A client for this connection: the embedded emulator's transport, or the network
        (where the key is read from ``HUME_API_KEY``)."""
        if self.emulator is None:
            return connect(base_url=self.base_url, concurrency=concurrency, retry=self.retry)
        from reconciler.emulator.embedded import (
            EMBEDDED_API_KEY,
            EMBEDDED_BASE_URL,
            embedded_transport,
        )

        return connect(
            base_url=EMBEDDED_BASE_URL,
            transport=embedded_transport(self.emulator),
            api_key=EMBEDDED_API_KEY,
            concurrency=concurrency,
            retry=self.retry,
        )


async def snapshot_for(
    manifests: Manifests, client: HumeClient, *, every: bool = False
) -> Snapshot:
    """The live state these manifests are compared with.

    List items leave out some fields (``Kind.list_omits``: a prompt's ``prompt_expansion``). Plan
    reads those (one GET each) only for resources whose manifests set them, to keep a plan at one
    listing per kind; drift, whose job is to catch portal edits, reads them for ``every``
    resource the manifests manage.
    """
    detail_of = {
        kind.name: [
            r.name
            for r in manifests.of_kind(kind.name)
            if not r.absent
            and (every or any(getattr(r, name) is not None for name in kind.list_omits))
        ]
        for kind in REGISTRY
        if kind.list_omits
    }
    return await fetch_snapshot(client, detail_of=detail_of)


async def make_plan(
    path: Path, variables: dict[str, str], connection: Connection, targets: Sequence[str] = ()
) -> tuple[Manifests, Plan]:
    """Load, read the account, plan: the whole read-only half of the pipeline."""
    manifests = load_manifests(path, variables)
    async with connection.client() as client:
        live = await snapshot_for(manifests, client)
    result = plan(manifests, live, targets=targets)
    return manifests, result.model_copy(update={"path": str(path), "targets": tuple(targets)})


async def drift_report(
    path: Path, variables: dict[str, str], connection: Connection, ignore: Sequence[str] = ()
) -> tuple[Manifests, DriftReport]:
    """The read-only pipeline of the nightly check: plan, then explain each difference."""
    manifests = load_manifests(path, variables)
    async with connection.client() as client:
        read_only(client)
        live = await snapshot_for(manifests, client, every=True)
        result = plan(manifests, live)
        wanted = needs_history(result, live, ignore)
        histories = await asyncio.gather(
            *(client.list_versions(change.kind, str(change.id)) for change in wanted)
        )
        report = classify(
            manifests,
            live,
            result,
            {change.address: versions for change, versions in zip(wanted, histories, strict=True)},
            ignore=ignore,
        )
    return manifests, report


def read_saved_plan(path: Path) -> dict:
    """A plan file written by ``evictl plan --out``, as its JSON document."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(document, dict):
            raise ValueError("the file is not a JSON object")
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: not a plan file written by `evictl plan --out` ({exc})") from exc
    found = document.get("format_version")
    if found != FORMAT_VERSION:
        raise UserError(
            f"{path}: plan format {found!r} is not the format this evictl reads "
            f"({FORMAT_VERSION}); run `evictl plan --out` again with this version"
        )
    try:
        Plan.model_validate({k: v for k, v in document.items() if k != "summary"})
    except ValidationError as exc:
        fields = ", ".join(".".join(map(str, e["loc"])) for e in exc.errors()[:3])
        message = f"{path}: not a plan file written by `evictl plan --out` (bad {fields})"
        raise UserError(message) from exc
    return document


def stale_reason(saved: dict, fresh: Plan) -> str | None:
    """Why a saved plan may not be applied any more, naming what moved; None if it still holds."""
    if saved["fingerprint"] == fresh.fingerprint:
        return None
    now = {change.address: change for change in fresh.changes}
    for old in saved["changes"]:
        new = now.get(f"{old['kind']}/{old['name']}")
        if new is None:
            continue
        label = f"{new.singular} {new.name}"
        if new.live_version != old["live_version"]:
            was = "absent" if old["live_version"] is None else f"at version {old['live_version']}"
            is_ = "gone" if new.live_version is None else f"now at version {new.live_version}"
            return f"{label} is {is_} (the plan saw it {was})"
        if new.live_name != old["live_name"]:
            return f"{label} is now named {new.live_name!r} (the plan saw {old['live_name']!r})"
    return "the Hume account changed since the plan was made"


def saved_source(
    plan_file: Path, saved: dict, targets: Sequence[str]
) -> tuple[Path, tuple[str, ...]]:
    """The manifests and targets a saved plan was made from, refusing what would mislead.

    ``--target`` cannot narrow a reviewed plan (it would silently apply all of it), and the path
    is relative to where ``evictl plan`` ran, which a bare "no such file" would not explain.
    """
    kept = tuple(saved["targets"])
    if targets and tuple(targets) != kept:
        made_with = " ".join(f"--target {t}" for t in kept) or "no --target"
        raise UserError(
            f"{plan_file}: a saved plan applies what it was made with ({made_with}); "
            "run plan again with the targets you want"
        )
    path = saved["path"]
    if not path or not Path(path).exists():
        raise UserError(
            f"{plan_file}: the manifests it was made from ({path}) are not here; "
            "apply it from the directory `evictl plan` ran in"
        )
    return Path(path), kept


async def apply_plan(
    source: Path,
    variables: dict[str, str],
    connection: Connection,
    *,
    targets: Sequence[str] = (),
    parallelism: int = 8,
    approve: Callable[[Manifests, Plan], bool],
    report: Callable[[Outcome], None],
) -> tuple[Manifests, Plan, list[Outcome]]:
    """Plan (or re-check a saved plan), ask ``approve``, then apply with progress to ``report``."""
    saved = read_saved_plan(source) if source.is_file() and source.suffix == ".json" else None
    if saved is not None:
        source, targets = saved_source(source, saved, targets)
    manifests = load_manifests(source, variables)
    async with connection.client(concurrency=max(parallelism, READ_CONCURRENCY)) as client:
        live = await snapshot_for(manifests, client)
        fresh = plan(manifests, live, targets=targets).model_copy(
            update={"path": str(source), "targets": tuple(targets)}
        )
        if saved is not None:
            reason = stale_reason(saved, fresh)
            if reason is None and fresh.dump(manifests.redact) != saved:
                reason = "the manifests changed since the plan was made"
            if reason is not None:
                raise UserError(f"the plan is stale: {reason}; run plan again")
        if not fresh.has_changes or not approve(manifests, fresh):
            return manifests, fresh, []
        outcomes = await apply(fresh, client, parallelism=parallelism, report=report)
    return manifests, fresh, outcomes
