"""``evictl probe``: check, against a real account, every assumption evictl makes about Hume.

Nothing here can reach api.hume.ai from the project's own machines, so evictl's beliefs (where
the spec is silent) are guesses until a user runs this once. The probe makes scratch resources
under a unique prefix (``evictl-probe-<random>``), checks each assumption, and deletes everything
it made, also after a failure or Ctrl-C. Its report names each assumption that does not hold;
``--save`` writes the server defaults it observed as a facts file that plan, apply and drift
then use instead of the built-in table, so a difference in the real API is fixed by one command.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from reconciler.chats import MILLISECONDS_FROM
from reconciler.client import ApiError, HumeClient
from reconciler.hume import facts
from reconciler.kinds import KINDS, REGISTRY, LiveVersion
from reconciler.planner import canonical
from reconciler.workflow import Connection


@dataclass(frozen=True)
class Finding:
    """One assumption, and whether Hume behaved as evictl assumes."""

    assumption: str
    holds: bool
    detail: str = ""


@dataclass
class Probe:
    """One probe run: what it made (to delete), what it found, the defaults it observed."""

    client: HumeClient
    prefix: str = field(default_factory=lambda: f"evictl-probe-{secrets.token_hex(4)}")
    made: list[tuple[str, str]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    observed: dict[str, dict[str, Any]] = field(default_factory=dict)
    prompt: LiveVersion | None = None
    """The scratch prompt the later checks reference."""

    def check(self, assumption: str, holds: bool, detail: str = "") -> None:
        self.findings.append(Finding(assumption, holds, detail))

    async def create(self, kind: str, body: dict[str, Any]) -> LiveVersion:
        made = await self.client.create(kind, body)
        self.made.append((kind, made.id))
        return made

    async def run(self) -> None:
        """Every check, in order; later checks build on what earlier ones made."""
        steps: list[Callable[[], Awaitable[None]]] = [
            self.versions,
            self.duplicate_names,
            self.lists,
            self.references_and_defaults,
            self.error_model,
        ]
        for step in steps:
            try:
                await step()
            except ApiError as exc:
                self.check(step.__name__.replace("_", " "), False, f"Hume refused: {exc}")

    async def versions(self) -> None:
        kind = "prompts"
        first = await self.create(kind, {"name": f"{self.prefix}-prompt", "text": "Probe v0"})
        self.prompt = first
        self.check("versions are numbered from 0", first.version == 0, f"got v{first.version}")
        stamp = first.created_on or 0
        self.check(
            "timestamps are in milliseconds",
            stamp >= MILLISECONDS_FROM,
            f"created_on = {stamp}",
        )
        second = await self.client.create_version(kind, first.id, {"text": "Probe v1"})
        self.check(
            "a new version is the next number", second.version == 1, f"got v{second.version}"
        )
        renamed = f"{self.prefix}-renamed"
        await self.client.rename(kind, first.id, renamed)
        versions = await self.client.list_versions(kind, first.id)
        names = {version.name for version in versions}
        self.check(
            "a rename applies to every version",
            names == {renamed},
            f"names after the rename: {sorted(names)}",
        )
        await self.client.update_description(kind, first.id, 0, "described in place")
        after = await self.client.list_versions(kind, first.id)
        v0 = next((v for v in after if v.version == 0), None)
        self.check(
            "a description is patched in place (no new version)",
            len(after) == len(versions)
            and v0 is not None
            and v0.version_description == "described in place",
            f"{len(after)} version(s); v0 says {v0.version_description if v0 else None!r}",
        )
        latest = await self.client.latest(kind, first.id)
        self.check(
            "restrict_to_most_recent gives the latest version only",
            latest is not None and latest.version == max(v.version for v in after),
            f"got v{latest.version if latest else None}",
        )

    async def duplicate_names(self) -> None:
        name = f"{self.prefix}-twin"
        tool = await self.create("tools", {"name": name, "parameters": "{}"})
        self.compare_defaults("tools", KINDS["tools"].live_body(tool))
        try:
            await self.create("tools", {"name": name, "parameters": "{}"})
        except ApiError as exc:
            self.check("duplicate names are refused", True, f"answered {exc.status}")
            return
        self.check(
            "duplicate names are refused",
            False,
            "Hume accepted two tools of one name: evictl then refuses to plan them (rename one)",
        )

    async def lists(self) -> None:
        assert self.prompt is not None
        listed = await self.client.list("prompts", name=self.prompt.name)
        versions = await self.client.list_versions("prompts", self.prompt.id)
        self.check(
            "a listing holds each resource once, at its latest version",
            len([i for i in listed if i.id == self.prompt.id]) <= 1 and len(versions) >= 2,
            f"{len(versions)} versions, {len(listed)} listed",
        )

    async def references_and_defaults(self) -> None:
        assert self.prompt is not None
        base = {"evi_version": "3", "name": f"{self.prefix}-config"}
        following = {**base, "prompt": {"id": self.prompt.id, "version": None}}
        config = await self.create("configs", following)
        embedded = getattr(config, "prompt", None)
        self.check(
            "a reference without a version follows the latest (LATEST)",
            embedded is not None and embedded.version_type == "LATEST",
            f"version_type = {embedded.version_type if embedded else None}",
        )
        pinned = await self.client.create_version(
            "configs",
            config.id,
            {"evi_version": "3", "prompt": {"id": self.prompt.id, "version": 0}},
        )
        embedded = getattr(pinned, "prompt", None)
        self.check(
            "a reference with a version pins it (FIXED)",
            embedded is not None and embedded.version_type == "FIXED" and embedded.version == 0,
            f"version_type = {embedded.version_type if embedded else None}",
        )
        bare = await self.create("configs", {**base, "name": f"{self.prefix}-defaults"})
        stored = KINDS["configs"].live_body(bare)
        self.compare_defaults("configs", stored)
        prompt = await self.client.get_version("prompts", self.prompt.id, 1)
        self.compare_defaults("prompts", KINDS["prompts"].live_body(prompt))

    def compare_defaults(self, kind: str, stored: dict[str, Any]) -> None:
        """Each omitted field as Hume stored it, against evictl's table."""
        table = dict(facts.SERVER_DEFAULTS[kind])
        for name, default in facts.SERVER_DEFAULTS[kind].items():
            if name == "version_description":  # not content: patched in place, never compared
                continue
            value = stored.get(name)
            ours = canonical.content(kind, {name: default})
            theirs = canonical.content(kind, {name: value})
            same = ours.get(name) == theirs.get(name)
            if not same and value is not None:
                table[name] = value
            self.check(
                f"an omitted {KINDS[kind].singular} {name} is stored as evictl's default",
                same,
                ""
                if same
                else f"Hume stored {json.dumps(value)}; evictl assumes {json.dumps(default)}",
            )
        self.observed[kind] = table

    async def error_model(self) -> None:
        missing = "00000000-0000-0000-0000-000000000000"
        try:
            await self.client.get_version("prompts", missing, 0)
        except ApiError as exc:
            self.check(
                "a missing resource is a 4xx error with a message",
                400 <= exc.status < 500 and bool(exc.message),
                f"answered {exc.status}: {exc.message}",
            )
            return
        self.check("a missing resource is a 4xx error with a message", False, "answered 200")

    async def clean_up(self) -> list[str]:
        """Delete everything the probe made (configs first); what could not be deleted."""
        left = []
        order = {kind.name: position for position, kind in enumerate(reversed(REGISTRY))}
        for kind, id_ in sorted(self.made, key=lambda made: order[made[0]]):
            try:
                await self.client.delete(kind, id_)
            except ApiError as exc:
                if exc.status != 404:
                    left.append(f"{kind}/{id_} ({exc})")
        return left

    def facts_document(self) -> dict[str, Any]:
        """What ``--save`` writes: the server defaults as observed."""
        return {
            "format_version": facts.FACTS_FORMAT,
            "prefix": self.prefix,
            "server_defaults": {
                kind: self.observed.get(kind, dict(table))
                for kind, table in facts.SERVER_DEFAULTS.items()
            },
        }


def report(probe: Probe, left: list[str]) -> str:
    """The findings, one line each, and a verdict."""
    lines = [f"evictl probe ({probe.prefix}):"]
    for finding in probe.findings:
        mark = "ok  " if finding.holds else "FAIL"
        detail = f": {finding.detail}" if finding.detail and not finding.holds else ""
        lines.append(f"  {mark} {finding.assumption}{detail}")
    failed = [f for f in probe.findings if not f.holds]
    if left:
        lines.append(f"  could not delete: {', '.join(left)}")
    if failed:
        lines.append(
            f"{len(failed)} of {len(probe.findings)} assumptions do not hold: save what was "
            f"observed with `evictl probe --save {facts.FACTS_FILE}` at your manifest root"
        )
    else:
        lines.append(f"All {len(probe.findings)} assumptions hold.")
    return "\n".join(lines)


async def run_probe(connection: Connection) -> tuple[str, dict[str, Any], bool]:
    """Probe the account: the report, the facts document, and whether every assumption holds.

    The scratch resources are deleted whatever happens (an error, Ctrl-C): deleting runs in a
    ``finally`` that is shielded from the cancellation.
    """
    async with connection.client() as client:
        probe = Probe(client)
        try:
            await probe.run()
        finally:
            left = await asyncio.shield(probe.clean_up())
    holds = all(finding.holds for finding in probe.findings) and not left
    return report(probe, left), probe.facts_document(), holds
