"""Read the live state of an account into a ``Snapshot``.

One listing per kind, all concurrently (config list items embed their prompts and tools, so no
per-config reads). Fields that list items leave out (``Kind.list_omits``: a prompt's
``prompt_expansion``) are read one version at a time, only for the resources named in
``detail_of``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping

from reconciler.client.api import HumeClient
from reconciler.kinds import REGISTRY, LiveVersion
from reconciler.snapshot import Snapshot


async def fetch_snapshot(
    client: HumeClient,
    *,
    detail_of: Mapping[str, Iterable[str]] | None = None,
    history_of: Iterable[str] = (),
) -> Snapshot:
    """Read the account; ``detail_of`` names, per kind, the resources to read in full, and
    ``history_of`` the kinds whose every version (not only the latest) is listed."""
    names = {kind: set(wanted) for kind, wanted in (detail_of or {}).items()}
    kinds = tuple(history_of)
    listed, history = await asyncio.gather(
        asyncio.gather(*(client.list(kind.name) for kind in REGISTRY)),
        asyncio.gather(*(client.list(kind, latest_only=False) for kind in kinds)),
    )
    wanted = [
        (kind.name, item)
        for kind, items in zip(REGISTRY, listed, strict=True)
        for item in items
        if item.name in names.get(kind.name, ())
    ]
    detailed = await asyncio.gather(
        *(client.get_version(kind, item.id, item.version) for kind, item in wanted)
    )
    by_id: dict[str, LiveVersion] = {item.id: item for item in detailed}
    return Snapshot(
        resources={
            kind.name: tuple(by_id.get(item.id, item) for item in items)
            for kind, items in zip(REGISTRY, listed, strict=True)
        },
        history={kind: tuple(items) for kind, items in zip(kinds, history, strict=True)},
    )
