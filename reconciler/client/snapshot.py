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
from collections.abc import Awaitable, Iterable, Mapping
from typing import Any

import httpx

from reconciler.client.api import ApiError, HumeClient, unreachable
from reconciler.errors import UserError
from reconciler.kinds import REGISTRY, Kind, LiveVersion
from reconciler.snapshot import ChatUsage, Snapshot


async def fetch_snapshot(
    client: HumeClient,
    *,
    detail_of: Mapping[str, Iterable[str]] | None = None,
    history_of: Iterable[str] = (),
    voices: bool = False,
    listed: Awaitable[dict[str, list[LiveVersion]]] | None = None,
) -> Snapshot:
    """Read the account; ``detail_of`` names, per kind, the resources to read in full,
    ``history_of`` the kinds whose every version (not only the latest) is listed, ``voices``
    whether the custom voices are read too, and ``listed`` is ``latest_listings`` already under
    way (the workflow starts it while the manifests load)."""
    names = {kind: set(wanted) for kind, wanted in (detail_of or {}).items()}
    kinds = tuple(history_of)
    by_kind, history, custom = await asyncio.gather(
        latest_listings(client) if listed is None else listed,
        asyncio.gather(*(_listing(client, kind, every_version=True) for kind in kinds)),
        _custom_voices(client) if voices else asyncio.sleep(0, None),
    )
    wanted = [
        (kind, item)
        for kind, items in by_kind.items()
        for item in items
        if item.name in names.get(kind, ())
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
            kind: tuple(by_id.get(item.id, item) for item in items)
            for kind, items in by_kind.items()
        },
        history={kind: tuple(items) for kind, items in zip(kinds, history, strict=True)},
    )


async def latest_listings(client: HumeClient) -> dict[str, list[LiveVersion]]:
    """Every kind's listing of latest versions (what every snapshot reads, whatever the manifests
    say), embedded versions shared as soon as the last page is in (``_share_embedded``)."""
    listed = await asyncio.gather(*(_listing(client, kind.name) for kind in REGISTRY))
    by_kind = dict(zip((kind.name for kind in REGISTRY), listed, strict=True))
    _share_embedded(by_kind)
    return by_kind


def _share_embedded(listed: dict[str, list[LiveVersion]]) -> None:
    """Replace each version a listed resource embeds (a config's prompt and tools) by the equal
    item of its own kind's listing, when there is one: the same version twice in memory was a
    quarter of the snapshot of 10,000 resources. Models are frozen, so sharing is safe.

    In place: asyncio keeps the listings' lists alive until the client closes, so new lists
    would keep the old resources too, and the plan would run with both in memory.
    """
    latest = {kind: {item.id: item for item in items} for kind, items in listed.items()}
    for kind in REGISTRY:
        items = listed[kind.name]
        items[:] = [_share(kind, item, latest) for item in items]


def _share(kind: Kind, item: LiveVersion, latest: dict[str, dict[str, LiveVersion]]) -> LiveVersion:
    update: dict[str, Any] = {}
    for ref in kind.refs:
        value = getattr(item, ref.field)
        embedded = (value or []) if ref.many else [value]
        same = [
            found if (found := latest[ref.target].get(getattr(one, "id", None))) == one else one
            for one in embedded
        ]
        if any(a is not b for a, b in zip(same, embedded, strict=True)):
            update[ref.field] = same if ref.many else same[0]
    return item.model_copy(update=update) if update else item


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
"""At most this many chats are read per question, so a plan stays cheap on a busy account:
beyond it a recent count is a lower bound (``ChatUsage.capped``). ACTIVE chats are read per
config deleted, so no delete is ever judged on a sample."""
PER_CONFIG_UP_TO = 4
"""Up to this many configs versioned, their recent chats are read config by config; beyond, one
listing of the account's recent chats serves them all (a cascade of 1,000 configs must not cost
1,000 reads)."""


async def chat_usage(
    client: HumeClient,
    deleting: Mapping[str, str],
    versioning: Mapping[str, str],
    now: float,
    hours: int = 24,
) -> dict[str, ChatUsage]:
    """The live traffic the guard needs, by address (``deleting`` and ``versioning`` map
    addresses to config ids): ACTIVE chats per version of each config deleted, and how many chats
    started in the last ``hours`` before ``now`` (seconds since the epoch) on each config
    versioned."""
    since = int(now) - hours * 3600
    active, recent = await asyncio.gather(
        asyncio.gather(*(active_chats(client, id_) for id_ in deleting.values())),
        _recent(client, versioning, since),
    )
    usage = {
        address: ChatUsage(active=found) for address, found in zip(deleting, active, strict=True)
    }
    for address, (count, capped) in recent.items():
        usage[address] = ChatUsage(recent=count, hours=hours, capped=capped)
    return usage


async def active_chats(client: HumeClient, config_id: str) -> tuple[tuple[int | None, int], ...]:
    """``(version, chats)`` for each version of the config that ACTIVE chats run on (None last:
    the spec lets a chat's config version be null)."""
    chats = await client.chats(config_id, status="ACTIVE", limit=CHATS_READ)
    counts = Counter(chat.config_version for chat in chats)
    return tuple(sorted(counts.items(), key=lambda item: (item[0] is None, item[0] or 0)))


async def _recent(
    client: HumeClient, ids: Mapping[str, str], since: int
) -> dict[str, tuple[int, bool]]:
    """``(chats started since, capped)`` per address of ``ids``."""
    if len(ids) <= PER_CONFIG_UP_TO:
        found = await asyncio.gather(
            *(client.chats(id_, limit=CHATS_READ, since=since) for id_ in ids.values())
        )
        return {
            a: (len(chats), len(chats) >= CHATS_READ) for a, chats in zip(ids, found, strict=True)
        }
    chats = await client.chats(None, limit=CHATS_READ, since=since)
    per_config = Counter(chat.config_id for chat in chats)
    capped = len(chats) >= CHATS_READ
    return {address: (per_config[id_], capped) for address, id_ in ids.items()}
