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
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict

from reconciler.client import ApiError, HumeClient, ResponseLost
from reconciler.client.snapshot import active_chats
from reconciler.kinds import KINDS, LiveVersion
from reconciler.planner import canonical
from reconciler.planner.guard import WAIT, active_in_words
from reconciler.planner.plan import Change, Plan
from reconciler.terminal import safe_line

Status = Literal["done", "conflict", "failed", "skipped"]
STATUSES: tuple[Status, ...] = ("done", "conflict", "failed", "skipped")


def summary(counts: dict[str, int]) -> str:
    """``Apply finished: 5 done, 1 conflict, 0 failed, 0 skipped.`` (conflicts only if any)."""
    parts = []
    for status in STATUSES:
        count = counts.get(status, 0)
        if status == "conflict":
            if count:
                parts.append(f"{count} conflict{'' if count == 1 else 's'}")
        else:
            parts.append(f"{count} {status}")
    return f"Apply finished: {', '.join(parts)}."


class Inconsistent(Exception):
    """Hume stored something other than what was posted (checked after each new version)."""


def _brief(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."


class Conflict(Exception):
    """Another writer touched the resource since the plan: this change does not write."""


class Busy(Exception):
    """Live chats use what this change deletes (the live-traffic guard, checked again)."""


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
        line = f"{self.status:<7} {singular} {self.name}: {what}{where}{ident}{detail}"
        return safe_line(line)


@dataclass
class _Run:
    client: HumeClient
    report: Callable[[Outcome], None]
    slots: asyncio.Semaphore
    pins: dict[str, tuple[str, int]] = field(default_factory=dict)
    """The (id, version) each resource is at after this run, by address."""
    failed: set[str] = field(default_factory=set)
    outcomes: list[Outcome] = field(default_factory=list)
    allow_active_chats: bool = False
    """Delete a config though ACTIVE chats use it (else it is re-checked right before)."""

    def finish(self, change: Change, status: Status, **details: Any) -> Outcome:
        outcome = Outcome(
            kind=change.kind, name=change.name, actions=change.actions, status=status, **details
        )
        if status in ("failed", "skipped"):
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
                await self.check_unmoved(change)
                pin = await self.execute(change)
                foreign = await self.check_foreign(change, pin) if pin else None
            except Conflict as exc:
                detail = f"{exc}; not written (run plan again)"
                self.finish(change, "failed", id=change.id, detail=detail)
                return
            except (Inconsistent, Busy) as exc:
                self.finish(change, "failed", id=change.id, detail=str(exc))
                return
            except (ApiError, ResponseLost, httpx.HTTPError) as exc:
                self.finish(change, "failed", id=change.id, detail=str(exc))
                return
        if pin is None:
            self.finish(change, "done", id=change.id)
            return
        if foreign is not None:
            pin, detail = foreign
            self.pins[change.address] = pin
            self.finish(change, "conflict", id=pin[0], version=pin[1], detail=detail)
            return
        self.pins[change.address] = pin
        self.finish(change, "done", id=pin[0], version=pin[1])

    async def check_unmoved(self, change: Change) -> None:
        """Right before writing, the resource must still be as the plan saw it.

        Hume has no conditional writes, so this narrows the window to one round trip; a writer
        inside it is caught after the fact by ``check_foreign``.
        """
        kind, client = change.kind, self.client
        if change.id is None:
            named = await client.list(kind, name=change.name)
            taken = [item for item in named if item.name == change.name]  # the filter may be loose
            if taken:
                raise Conflict(
                    f"created in Hume since the plan (id {taken[0].id}, v{taken[0].version})"
                )
            return
        now = await client.latest(kind, change.id)
        if now is None:
            if "delete" in change.actions:
                return
            raise Conflict(f"deleted in Hume since the plan (the plan saw v{change.live_version})")
        if now.version != change.live_version:
            raise Conflict(
                f"changed in Hume since the plan: now v{now.version}, "
                f"the plan saw v{change.live_version}"
            )
        if now.name != change.live_name:
            saw = change.live_name
            raise Conflict(
                f"renamed in Hume since the plan: now {now.name!r}, the plan saw {saw!r}"
            )
        if "update_description" in change.actions and now.modified_on != change.live_modified_on:
            raise Conflict(f"v{now.version} was edited in Hume since the plan")
        if "delete" in change.actions and KINDS[kind].chats and not self.allow_active_chats:
            active = await active_chats(client, change.id)
            if active:
                raise Busy(f"{active_in_words(change, active)} now; {WAIT}")

    async def check_foreign(
        self, change: Change, pin: tuple[str, int]
    ) -> tuple[tuple[str, int], str] | None:
        """After a write, whether another writer wrote too; None if not.

        A new version should be the one after the version the plan saw, and a created resource
        the only one of its name. Otherwise another writer was here: if what it wrote equals
        what this run wrote, this run's copy is deleted and theirs adopted (two applies of the
        same manifests leave one resource, and no two identical versions in a row).
        """
        kind, (id_, version) = change.kind, pin
        if "new_version" in change.actions and change.live_version is not None:
            expected = change.live_version + 1
            if version == expected:
                return None
            previous = await self.client.get_version(kind, id_, version - 1)
            saw = f"another writer made v{version - 1} since the plan (which saw v{expected - 1})"
            if self.same(kind, previous, await self.client.get_version(kind, id_, version)):
                await self.client.delete_version(kind, id_, version)
                return (id_, version - 1), f"{saw}, with this content: adopted it"
            return pin, f"{saw}; this apply's v{version} is on top of it: check it should be"
        if "create" in change.actions:
            named = await self.client.list(kind, name=change.name)
            named = [item for item in named if item.name == change.name]
            if len(named) < 2:
                return None
            keeper = min(named, key=lambda item: (item.created_on or 0, item.id))
            ids = ", ".join(item.id for item in named)
            if keeper.id == id_:
                return pin, f"another writer created {change.singular}s of this name too ({ids})"
            mine = await self.client.get_version(kind, id_, version)
            theirs = await self.client.get_version(kind, keeper.id, keeper.version)
            if self.same(kind, theirs, mine):
                await self.client.delete(kind, id_)
                return (
                    keeper.id,
                    keeper.version,
                ), f"created by another writer too: adopted {keeper.id}"
            return pin, f"another writer created a different {change.singular} of this name ({ids})"
        return None

    @staticmethod
    def same(kind: str, one: LiveVersion, other: LiveVersion) -> bool:
        """Whether two live versions have the same content and description."""
        descriptor = KINDS[kind]
        a, b = descriptor.live_body(one), descriptor.live_body(other)
        return canonical.content(kind, a) == canonical.content(kind, b, like=a) and (
            canonical.description(a.get("version_description"))
            == canonical.description(b.get("version_description"))
        )

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
            body = self.resolve(change)
            posted = await self.post_once(change, body)
            self.check_stored(change, body, posted)
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

    @staticmethod
    def check_stored(change: Change, body: dict[str, Any], stored: LiveVersion) -> None:
        """What Hume stored must be what the plan posted, through the one canonicaliser
        (Terraform's "provider produced an inconsistent result after apply"): otherwise Hume
        fills or changes a field differently from evictl's defaults, and every plan would show
        a new version forever."""
        kind = KINDS[change.kind]
        live = kind.live_body(stored)
        for name in kind.list_omits:  # an answer may leave these out: nothing to compare
            if live.get(name) is None:
                live[name] = body.get(name)
        wanted = canonical.content(change.kind, body)
        found = canonical.differences(wanted, canonical.content(change.kind, live, like=body))
        if found:
            path, (stored_value, expected) = next(iter(found.items()))
            raise Inconsistent(
                f"Hume stored {path} = {_brief(stored_value)} in v{stored.version}; the manifests "
                f"and evictl's defaults say {_brief(expected)}: run `evictl probe` to compare "
                "Hume with evictl's defaults"
            )

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
        wanted = canonical.content(kind, body)
        if change.id is None:
            found = await self.client.list(kind, name=change.name)
            for listed in (item for item in found if item.name == change.name):
                made = await self.client.get_version(kind, listed.id, listed.version)
                if canonical.content(kind, KINDS[kind].live_body(made), like=body) == wanted:
                    return made
                raise Conflict(
                    f"a {change.singular} of this name with other content appeared in Hume "
                    f"(id {listed.id}) while the create's answer was lost"
                )
            return None
        versions = await self.client.list_versions(kind, change.id)
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
    allow_active_chats: bool = False,
) -> list[Outcome]:
    """Carry out ``plan``; returns every outcome (also passed to ``report`` as each finishes)."""
    run = _Run(
        client, report, asyncio.Semaphore(parallelism), allow_active_chats=allow_active_chats
    )
    for change in plan.changes:
        if not change.actions and change.id is not None and change.live_version is not None:
            run.pins[change.address] = (change.id, change.live_version)
    for change in plan.unreadable:
        run.finish(
            change, "failed", id=change.id, detail=f"not read from Hume: {change.unreadable}"
        )
    tasks: dict[str, asyncio.Task[None]] = {}
    for change in _graph(plan):
        waits = [tasks[dep] for dep in change.depends_on if dep in tasks]
        tasks[change.address] = asyncio.create_task(run.run(change, waits))
    await asyncio.gather(*tasks.values())
    return run.outcomes
