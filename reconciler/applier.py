"""Plan → writes. Makes the account match, safely and fast, so that any interruption is finished
by the next run (every step is either done, or visible to the next plan).

Apply walks the plan as a graph, as Terraform walks its apply graph: each change starts as soon
as every change in its ``depends_on`` is done (at most ``parallelism`` at once), so a config
waits only for the prompts and tools it pins, and a delete for the configs that may still use
what it deletes. A reference to a managed resource is pinned to the version this run created or
found. Within a resource: rename first, then the new version or the description patch.

A create or new-version POST whose response is lost (``ResponseLost``) is never blindly repeated:
the resource is re-read and a version the lost request made is adopted; only if none exists is the
POST sent again. A failure skips exactly what depends on it and lets everything else finish.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict

from reconciler.client import ApiError, HumeClient, ResponseLost
from reconciler.kinds import KINDS, LiveVersion
from reconciler.planner import canonical
from reconciler.planner.plan import Change, Plan

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
        singular = KINDS[self.kind].singular
        return f"{self.status:<7} {singular} {self.name}: {what}{where}{ident}{detail}"


@dataclass
class _Run:
    client: HumeClient
    report: Callable[[Outcome], None]
    slots: asyncio.Semaphore
    pins: dict[str, tuple[str, int]] = field(default_factory=dict)
    """The (id, version) each resource is at after this run, by address."""
    failed: set[str] = field(default_factory=set)
    outcomes: list[Outcome] = field(default_factory=list)

    def finish(self, change: Change, status: Status, **details: Any) -> Outcome:
        outcome = Outcome(
            kind=change.kind, name=change.name, actions=change.actions, status=status, **details
        )
        if status != "done":
            self.failed.add(change.address)
        self.outcomes.append(outcome)
        self.report(outcome)
        return outcome

    async def run(self, change: Change, waits_for: list[asyncio.Task[None]]) -> None:
        await asyncio.gather(*waits_for)
        blocker = next((dep for dep in change.depends_on if dep in self.failed), None)
        if blocker is not None:
            kind, _, name = blocker.partition("/")
            self.finish(change, "skipped", detail=f"{KINDS[kind].singular} {name} did not apply")
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
        self.pins[change.address] = pin
        self.finish(change, "done", id=pin[0], version=pin[1])

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
        """The body to post, references to managed resources pinned to what this run holds."""
        pins: dict[str, list[tuple[str, int | None]]] = {}
        for ref in change.refs:
            if ref.target is not None:
                pin: tuple[str, int | None] = self.pins[ref.target]
            else:
                assert ref.id is not None
                pin = (ref.id, ref.version)
            pins.setdefault(ref.field, []).append(pin)
        return KINDS[change.kind].with_references(dict(change.body or {}), pins)

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
        wanted = canonical.content(kind, body)
        for listed in reversed(versions):
            if change.live_version is not None and listed.version <= change.live_version:
                break
            version = await self.client.get_version(kind, change.id, listed.version)
            live = KINDS[kind].live_body(version)
            if canonical.content(kind, live, like=body) == wanted:
                return version
        return None


def _graph(plan: Plan) -> list[Change]:
    """The pending changes, each after everything it depends on; a cycle is refused."""
    pending = {change.address: change for change in plan.pending}
    known = {change.address for change in plan.changes}
    for change in pending.values():
        unknown = [dep for dep in change.depends_on if dep not in known]
        if unknown:
            raise ValueError(f"{change.address} depends on {unknown[0]}, which the plan lacks")
    ordered: list[Change] = []
    placed: set[str] = set()
    while len(ordered) < len(pending):
        ready = [
            change
            for address, change in pending.items()
            if address not in placed
            and all(dep in placed or dep not in pending for dep in change.depends_on)
        ]
        if not ready:
            raise ValueError("the plan's depends_on edges form a cycle")
        ordered += ready
        placed.update(change.address for change in ready)
    return ordered


async def apply(
    plan: Plan,
    client: HumeClient,
    *,
    parallelism: int = 8,
    report: Callable[[Outcome], None] = lambda outcome: None,
) -> list[Outcome]:
    """Carry out ``plan``; returns every outcome (also passed to ``report`` as each finishes)."""
    run = _Run(client, report, asyncio.Semaphore(parallelism))
    for change in plan.changes:
        if not change.actions and change.id is not None and change.live_version is not None:
            run.pins[change.address] = (change.id, change.live_version)
    tasks: dict[str, asyncio.Task[None]] = {}
    for change in _graph(plan):
        waits = [tasks[dep] for dep in change.depends_on if dep in tasks]
        tasks[change.address] = asyncio.create_task(run.run(change, waits))
    await asyncio.gather(*tasks.values())
    return run.outcomes
