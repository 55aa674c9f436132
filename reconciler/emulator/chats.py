"""Chats: ``GET /v0/evi/chats`` and ``/v0/evi/chats/{id}``, and the control endpoint to seed them.

The emulator holds no conversations, so a chat exists only once a test or a user seeds one with
``POST /_emulator/chats``: enough to show which config versions chats use. A seeded chat has no
events (its event list is empty). Timestamps are seconds since the epoch, the unit the spec states
for chats (unlike the milliseconds of a version's ``created_on``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from reconciler.emulator.checks import (
    INT64_MAX,
    Invalid,
    Problem,
    bool_param,
    page_params,
    uuid_param,
)
from reconciler.emulator.store import Chat, Store
from reconciler.hume import spec

STATUSES = spec.enum_values("ReturnChatStatus")
"""ACTIVE, and the ways a chat ends."""
ACTIVE = "ACTIVE"
_SEED_FIELDS = ("config_id", "config_version", "status", "start_timestamp", "end_timestamp")


class BadSeed(Exception):
    """A seed body the control endpoint refuses; answered 400 with this message."""


def now_s() -> int:
    """The default start of a seeded chat, in the spec's unit for chats."""
    return int(time.time())


def view(chat: Chat) -> dict[str, Any]:
    """A chat as ``return_chat``; ``config`` is left out for a chat without one (not nullable)."""
    body: dict[str, Any] = {
        "id": chat.id,
        "chat_group_id": chat.chat_group_id,
        "status": chat.status,
        "start_timestamp": chat.start_timestamp,
        "end_timestamp": chat.end_timestamp,
        "event_count": 0,
        "metadata": None,
    }
    if chat.config_id is not None:
        body["config"] = {"id": chat.config_id, "version": chat.config_version}
    return body


def _ascending(query: dict[str, str]) -> bool:
    """``ascending_order``: true (oldest first) unless told otherwise, as the spec's prose says."""
    return bool_param(query.get("ascending_order"), ("query", "ascending_order"), default=True)


def _direction(ascending: bool) -> str:
    return "ASC" if ascending else "DESC"


def _status(status: str | None) -> str | None:
    if status is not None and status not in STATUSES:
        msg = f"must be one of {', '.join(STATUSES)} (got {status!r})"
        raise Invalid([Problem(("query", "status"), msg, "enum")])
    return status


def _every(*reads: Callable[[], Any]) -> list[Any]:
    """Each parameter read, or one ``Invalid`` naming every bad parameter at once."""
    values, problems = [], []
    for read in reads:
        try:
            values.append(read())
        except Invalid as exc:
            problems += exc.problems
    if problems:
        raise Invalid(problems)
    return values


def list_chats(store: Store, query: dict[str, str]) -> dict[str, Any]:
    """``GET /v0/evi/chats``: a page by start time, filtered by ``config_id`` and ``status``."""
    config_id, status = query.get("config_id"), query.get("status")
    (page_number, page_size), ascending, config_id, status = _every(
        lambda: page_params(query),
        lambda: _ascending(query),
        lambda: None if config_id is None else uuid_param(config_id, ("query", "config_id")),
        lambda: _status(status),
    )
    chats, total_pages = store.chats(
        page_number=page_number,
        page_size=page_size,
        ascending=ascending,
        config_id=config_id,
        status=status,
    )
    return {
        "chats_page": [view(chat) for chat in chats],
        "page_number": page_number,
        "page_size": page_size,
        "total_pages": total_pages,
        "pagination_direction": _direction(ascending),
    }


def chat_events(store: Store, id_: str, query: dict[str, str]) -> dict[str, Any]:
    """``GET /v0/evi/chats/{id}``: the chat, with its (always empty) page of events."""
    page_number, page_size = page_params(query)
    ascending = _ascending(query)
    body = view(store.get_chat(id_))
    del body["event_count"]
    return {
        **body,
        "events_page": [],
        "page_number": page_number,
        "page_size": page_size,
        "total_pages": 0,
        "pagination_direction": _direction(ascending),
    }


def _int_field(data: dict[str, Any], name: str) -> int | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= INT64_MAX:
        raise BadSeed(f"{name} must be an integer between 0 and {INT64_MAX} (got {value!r})")
    return value


def seed(store: Store, data: Any) -> Chat:
    """``POST /_emulator/chats``: a new chat of a config version that exists.

    ``config_version`` defaults to the config's latest, ``status`` to ACTIVE, ``start_timestamp``
    to now; an ended chat's ``end_timestamp`` defaults to its start. Raises ``BadSeed`` for a
    malformed body and ``NotFound`` for a config or version that does not exist.
    """
    if not isinstance(data, dict):
        raise BadSeed(f"the body must be a JSON object with some of: {', '.join(_SEED_FIELDS)}")
    unknown = sorted(set(data) - set(_SEED_FIELDS))
    if unknown:
        allowed = ", ".join(_SEED_FIELDS)
        raise BadSeed(f"unknown field(s) {', '.join(unknown)}; a chat takes {allowed}")
    status = data.get("status", ACTIVE)
    if status not in STATUSES:
        raise BadSeed(f"status must be one of {', '.join(STATUSES)} (got {status!r})")
    config_id, version = data.get("config_id"), _int_field(data, "config_version")
    if config_id is not None:
        if not isinstance(config_id, str):
            raise BadSeed(f"config_id must be a UUID string (got {config_id!r})")
        try:
            config_id = uuid_param(config_id)
        except Invalid:
            raise BadSeed(f"config_id must be a UUID (got {config_id!r})") from None
        version = store.get("configs", config_id, version).version
    elif version is not None:
        raise BadSeed("config_version needs a config_id")
    start = _int_field(data, "start_timestamp")
    start = now_s() if start is None else start
    end = _int_field(data, "end_timestamp")
    if status == ACTIVE and end is not None:
        raise BadSeed("an ACTIVE chat has not ended: leave end_timestamp out")
    if status != ACTIVE:
        end = start if end is None else end
        if end < start:
            raise BadSeed(f"end_timestamp {end} is before start_timestamp {start}")
    return store.add_chat(
        config_id=config_id,
        config_version=version,
        status=status,
        start_timestamp=start,
        end_timestamp=end,
    )
