"""The live state of an account: the latest version of every prompt, tool and config.

Three listings run concurrently (config list items embed their prompts and tools, so no
per-config reads). The one field the lists leave out, a prompt's ``prompt_expansion``, is read per
prompt only for the prompts whose manifests set it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict

from reconciler.client import HumeClient
from reconciler.client.models import LiveConfig, LivePrompt, LiveTool, LiveVersion


class Snapshot(BaseModel):
    """Latest live versions per kind; immutable, so the planner can stay pure."""

    model_config = ConfigDict(frozen=True)

    prompts: tuple[LivePrompt, ...] = ()
    tools: tuple[LiveTool, ...] = ()
    configs: tuple[LiveConfig, ...] = ()

    def of_kind(self, kind: str) -> tuple[LiveVersion, ...]:
        """The live resources of ``kind``."""
        resources: tuple[LiveVersion, ...] = getattr(self, kind)
        return resources

    def fingerprint(self) -> str:
        """A hash of what a plan depends on: every resource's id, name, version and content.

        Two snapshots with the same fingerprint give the same plan; a saved plan is stale when
        the account's fingerprint has moved.
        """
        digest = hashlib.sha256()
        for kind in ("prompts", "tools", "configs"):
            for item in sorted(self.of_kind(kind), key=lambda v: v.id):
                line = json.dumps([kind, item.model_dump(mode="json")], sort_keys=True)
                digest.update(line.encode())
        return f"sha256:{digest.hexdigest()}"


async def fetch_snapshot(client: HumeClient, *, expansion_of: Iterable[str] = ()) -> Snapshot:
    """Read the account; ``expansion_of`` names the prompts whose ``prompt_expansion`` matters."""
    prompts, tools, configs = await asyncio.gather(
        client.list("prompts"), client.list("tools"), client.list("configs")
    )
    wanted = set(expansion_of)
    detailed = await asyncio.gather(
        *(client.get_version("prompts", p.id, p.version) for p in prompts if p.name in wanted)
    )
    by_id = {p.id: p for p in detailed}
    return Snapshot(
        prompts=tuple(by_id.get(p.id, p) for p in prompts),
        tools=tuple(tools),
        configs=tuple(configs),
    )
