"""Read the live state of an account into a ``Snapshot``.

A listing that cannot be read stops everything, naming the listing. A single version that cannot
be read in full is recorded in ``Snapshot.unread``: the planner leaves that resource (and what
depends on it) out, and the rest goes ahead.

One listing per kind, all concurrently (config list items embed their prompts and tools, so no
per-config reads). Fields that list items leave out (``Kind.list_omits``: a prompt's
``prompt_expansion``) are read one version at a time, only for the resources named in
``detail_of``.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

import httpx

from reconciler.client.api import ApiError, HumeClient, unreachable
from reconciler.errors import UserError
from reconciler.kinds import REGISTRY, LiveVersion
from reconciler.snapshot import ChatUsage, Snapshot


async def fetch_snapshot(
    client: HumeClient,
    *,
    detail_of: Mapping[str, Iterable[str]] | None = None,
    history_of: Iterable[str] = (),
    voices: bool = False,
) -> Snapshot:
    """Read the account; ``detail_of`` names, per kind, the resources to read in full,
    ``history_of`` the kinds whose every version (not only the latest) is listed, and ``voices``
    whether the custom voices are read too."""
    names = {kind: set(wanted) for kind, wanted in (detail_of or {}).items()}
    kinds = tuple(history_of)
    listed, history, custom = await asyncio.gather(
        asyncio.gather(*(_listing(client, kind.name) for kind in REGISTRY)),
        asyncio.gather(*(_listing(client, kind, every_version=True) for kind in kinds)),
        _custom_voices(client) if voices else asyncio.sleep(0, None),
    )
    wanted = [
        (kind.name, item)
        for kind, items in zip(REGISTRY, listed, strict=True)
        for item in items
        if item.name in names.get(kind.name, ())
    ]
    detailed = await asyncio.gather(
        *(client.get_version(kind, item.id, item.version) for kind, item in wanted),
        return_exceptions=True,
    )
    by_id: dict[str, LiveVersion] = {}
    unread: dict[str, str] = {}
    for (kind, item), result in zip(wanted, detailed, strict=True):
        if isinstance(result, ApiError | httpx.HTTPError):
            unread[f"{kind}#{item.id}"] = str(result) or type(result).__name__
        elif isinstance(result, BaseException):
            raise result
        else:
            by_id[item.id] = result
    return Snapshot(
        unread=unread,
        voices=tuple(custom) if custom is not None else None,
        resources={
            kind.name: tuple(by_id.get(item.id, item) for item in items)
            for kind, items in zip(REGISTRY, listed, strict=True)
        },
        history={kind: tuple(items) for kind, items in zip(kinds, history, strict=True)},
    )


async def _listing(client: HumeClient, kind: str, *, every_version: bool = False) -> list[Any]:
    """One kind's listing; nothing can be planned without it, so a failure names it."""
    what = f"every version of the {kind}" if every_version else f"the {kind} listing"
    try:
        return await client.list(kind, latest_only=not every_version)
    except ApiError as exc:
        raise UserError(f"could not read {what} from Hume: {exc}") from exc
    except (httpx.ConnectError, httpx.ConnectTimeout):
        raise
    except httpx.HTTPError as exc:
        raise UserError(f"could not read {what}: {unreachable(exc)}") from exc


async def _custom_voices(client: HumeClient) -> list[dict[str, Any]]:
    try:
        return await client.voices("CUSTOM_VOICE")
    except ApiError as exc:
        raise UserError(f"could not read the custom voices from Hume: {exc}") from exc


CHATS_READ = 500
"""At most this many chats are read per config and question (active; started lately), so a
plan stays cheap on a busy account: beyond it the recent count is a lower bound."""


async def chat_usage(
    client: HumeClient, ids: Mapping[str, str], now: float, hours: int = 24
) -> dict[str, ChatUsage]:
    """The live traffic on each config of ``ids`` (address → id): ACTIVE chats per version, and
    chats started in the last ``hours`` before ``now`` (seconds since the epoch)."""
    found = await asyncio.gather(*(_usage(client, id_, now, hours) for id_ in ids.values()))
    return dict(zip(ids, found, strict=True))


async def active_chats(client: HumeClient, config_id: str) -> tuple[tuple[int, int], ...]:
    """``(version, chats)`` for each version of the config that ACTIVE chats run on."""
    chats = await client.chats(config_id, status="ACTIVE", limit=CHATS_READ)
    return tuple(sorted(Counter(chat.config_version for chat in chats).items()))


async def _usage(client: HumeClient, config_id: str, now: float, hours: int) -> ChatUsage:
    active, recent = await asyncio.gather(
        active_chats(client, config_id),
        client.chats(config_id, limit=CHATS_READ, since=int(now) - hours * 3600),
    )
    return ChatUsage(
        active=active, recent=len(recent), hours=hours, capped=len(recent) >= CHATS_READ
    )
