"""Plan → writes. Makes the account match, safely and fast, so that any interruption is finished
by the next run (every step is either done, or visible to the next plan).

Order: prompts and tools (concurrently, at most ``parallelism`` at once), then configs, each new
config version pinning the prompt and tool versions this run created or found; deletes of prompts
and tools come last, once no config of the run needs them. Within a resource: rename first, then
the new version or the description patch.

A create or new-version POST whose response is lost (``ResponseLost``) is never blindly repeated:
the resource is re-read and a version the lost request made is adopted; only if none exists is the
POST sent again. A failure stops what depends on it (a config waiting on a failed prompt) and lets
everything else finish.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict

from reconciler.client import ApiError, HumeClient, ResponseLost
from reconciler.client.models import LiveVersion
from reconciler.planner import canonical
from reconciler.planner.plan import Change, Plan
from reconciler.planner.planner import live_body

Status = Literal["done", "failed", "skipped"]


class Outcome(BaseModel):
    """What happened to one change: the ids and versions it left, or why it did not happen."""

    model_config = ConfigDict(frozen=True)

    kind: str
    name: str
    actions: tuple[str, ...]
    status: Status
    id: str | None = None
    version: int | None = None
    detail: str = ""

    def line(self) -> str:
        """One progress line: ``done   prompt greeter: new_version → v4 (id …)``."""
        what = ", ".join(self.actions)
        where = f" → v{self.version}" if self.version is not None else ""
        ident = f" (id {self.id})" if self.id else ""
        detail = f": {self.detail}" if self.detail else ""
        return f"{self.status:<7} {self.kind[:-1]} {self.name}: {what}{where}{ident}{detail}"


@dataclass
class _Run:
    client: HumeClient
    plan: Plan
    report: Callable[[Outcome], None]
    slots: asyncio.Semaphore
    pins: dict[tuple[str, str], tuple[str, int]] = field(default_factory=dict)
    failed: set[tuple[str, str]] = field(default_factory=set)
    outcomes: list[Outcome] = field(default_factory=list)

    def finish(self, change: Change, status: Status, **details: Any) -> Outcome:
        outcome = Outcome(
            kind=change.kind, name=change.name, actions=change.actions, status=status, **details
        )
        if status != "done":
            self.failed.add((change.kind, change.name))
        self.outcomes.append(outcome)
        self.report(outcome)
        return outcome

    async def run(self, change: Change) -> None:
        blocker = self.blocked_by(change)
        if blocker:
            self.finish(change, "skipped", detail=f"{blocker} did not apply")
            return
        async with self.slots:
            try:
                pin = await self.execute(change)
            except (ApiError, ResponseLost, httpx.HTTPError) as exc:
                self.finish(change, "failed", id=change.id, detail=str(exc))
                return
        if pin is None:
            self.finish(change, "done", id=change.id)
            return
        self.pins[(change.kind, change.name)] = pin
        self.finish(change, "done", id=pin[0], version=pin[1])

    def blocked_by(self, change: Change) -> str | None:
        """What failed that this change needs; a failed config still uses what it used before,
        so no prompt or tool is deleted after any config of the run failed."""
        for kind, name in _named_refs(change):
            if (kind, name) in self.failed:
                return f"{kind[:-1]} {name}"
        if "delete" in change.actions and change.kind != "configs":
            configs = sorted(name for kind, name in self.failed if kind == "configs")
            if configs:
                return f"config {configs[0]}"
        return None

    async def execute(self, change: Change) -> tuple[str, int] | None:
        """The change's writes, in order; the (id, version) it leaves (None for a delete)."""
        kind, client = change.kind, self.client
        if "delete" in change.actions:
            assert change.id is not None
            try:
                await client.delete(kind, change.id)
            except ApiError as exc:
                if exc.status != 404:  # already gone: the goal is met
                    raise
            return None
        if "rename" in change.actions:
            assert change.id is not None
            await client.rename(kind, change.id, change.name)
        if {"create", "new_version"} & set(change.actions):
            posted = await self.post_once(change, self.resolve(change))
            return posted.id, posted.version
        assert change.id is not None and change.live_version is not None
        if "update_description" in change.actions:
            assert change.description is not None
            await client.update_description(
                kind,
                change.id,
                change.live_version,
                canonical.description((change.body or {}).get("version_description")) or None,
            )
        return change.id, change.live_version

    def resolve(self, change: Change) -> dict[str, Any]:
        """The body to post, managed references pinned to the versions this run holds."""
        body = dict(change.body or {})
        if change.kind == "configs":
            if body.get("prompt"):
                body["prompt"] = self.pin("prompts", body["prompt"])
            body["tools"] = [self.pin("tools", ref) for ref in body.get("tools", [])]
        return body

    def pin(self, kind: str, ref: dict[str, Any]) -> dict[str, Any]:
        if "name" not in ref:
            return ref
        id_, version = self.pins[(kind, ref["name"])]
        return {"id": id_, "version": version}

    async def post_once(self, change: Change, body: dict[str, Any]) -> LiveVersion:
        """Create or add a version; after a lost response, adopt what it made before retrying.

        Lost responses are retried with the client's backoff: a 5xx storm is also answered with
        ``ResponseLost``, and re-posting at once would only feed it.
        """
        kind = change.kind
        async for attempt in self.client.retrying(lambda exc: isinstance(exc, ResponseLost)):
            with attempt:
                if attempt.retry_state.attempt_number > 1:
                    adopted = await self.find_lost(change, body)
                    if adopted is not None:
                        return adopted
                if change.id is None:
                    return await self.client.create(kind, {"name": change.name, **body})
                return await self.client.create_version(kind, change.id, body)
        raise AssertionError("unreachable: tenacity reraises")

    async def find_lost(self, change: Change, body: dict[str, Any]) -> LiveVersion | None:
        """The version a lost POST created, if it did: newer than the plan saw, same content.

        Each candidate is read on its own: list items leave out a prompt's ``prompt_expansion``,
        so a listed version would never match a body that sets it, and the POST would be repeated.
        """
        kind = change.kind
        if change.id is None:
            found = await self.client.list(kind, name=change.name)
            return next((item for item in found if item.name == change.name), None)
        versions = await self.client.list_versions(kind, change.id)
        voice_by = canonical.voice_keys(body)
        wanted = canonical.content(kind, body, voice_by=voice_by)
        for listed in reversed(versions):
            if change.live_version is not None and listed.version <= change.live_version:
                break
            version = await self.client.get_version(kind, change.id, listed.version)
            if canonical.content(kind, live_body(version), voice_by=voice_by) == wanted:
                return version
        return None


def _named_refs(change: Change) -> list[tuple[str, str]]:
    if change.kind != "configs" or not change.body:
        return []
    refs = [("prompts", change.body.get("prompt"))]
    refs += [("tools", ref) for ref in change.body.get("tools", [])]
    return [(kind, ref["name"]) for kind, ref in refs if ref and "name" in ref]


async def apply(
    plan: Plan,
    client: HumeClient,
    *,
    parallelism: int = 8,
    report: Callable[[Outcome], None] = lambda outcome: None,
) -> list[Outcome]:
    """Carry out ``plan``; returns every outcome (also passed to ``report`` as each finishes)."""
    run = _Run(client, plan, report, asyncio.Semaphore(parallelism))
    for change in plan.changes:
        if not change.actions and change.id is not None and change.live_version is not None:
            run.pins[(change.kind, change.name)] = (change.id, change.live_version)
    leaves = [c for c in plan.pending if c.kind != "configs" and "delete" not in c.actions]
    configs = [c for c in plan.pending if c.kind == "configs"]
    deletes = [c for c in plan.pending if c.kind != "configs" and "delete" in c.actions]
    for phase in (leaves, configs, deletes):
        await asyncio.gather(*(run.run(change) for change in phase))
    return run.outcomes
