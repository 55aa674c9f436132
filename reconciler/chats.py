"""Chats as evictl reads them: which config version a chat used, its status and when it started.

A plain value (no I/O; ``HumeClient.chats`` reads it), like ``snapshot.py``, so that pure stages
can reason about chats.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

MILLISECONDS_FROM = 10**11
"""A timestamp at least this large is taken as milliseconds: as seconds it would be past the year
5000, as milliseconds it is after 1973. The spec says chats count seconds, but Hume's examples
elsewhere carry milliseconds where the spec says seconds (NOTES.md, "Timestamps"). The one
threshold for every server timestamp evictl reads (chats, ``history.instant``, the probe)."""


def _seconds(value: Any) -> Any:
    return value // 1000 if isinstance(value, int) and value >= MILLISECONDS_FROM else value


class LiveChat(BaseModel):
    """One chat of ``GET /v0/evi/chats``; timestamps are seconds since the Unix epoch.

    ``status`` is a plain string: a status newer than the spec's enum reads as itself, it does
    not fail the listing. ``config_id`` is None for a chat that used no config.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    config_id: str | None = None
    config_version: int | None = None
    status: str
    start_timestamp: int
    end_timestamp: int | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_wire(cls, item: Any) -> Any:
        """The wire's ``config: {id, version}`` flattened, timestamps in seconds."""
        if not isinstance(item, dict):
            return item
        flat = dict(item)
        for key in ("start_timestamp", "end_timestamp"):
            if key in flat:
                flat[key] = _seconds(flat[key])
        config = flat.pop("config", None)
        if isinstance(config, dict):
            flat |= {"config_id": config.get("id"), "config_version": config.get("version")}
        return flat
