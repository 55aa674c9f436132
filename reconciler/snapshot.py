"""The live state of an account: the latest version of every resource, per kind.

A plain value (no I/O; ``reconciler.client.snapshot`` reads it), so the planner stays pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from reconciler.kinds import LiveVersion


class Snapshot(BaseModel):
    """Latest live versions per kind; immutable, so the planner can stay pure."""

    model_config = ConfigDict(frozen=True)

    resources: Mapping[str, tuple[LiveVersion, ...]] = Field(default_factory=dict)
    history: Mapping[str, tuple[LiveVersion, ...]] = Field(default_factory=dict)
    """Every version (not only the latest) of the kinds read in full: those that may use what a
    plan deletes. Read only when the manifests delete something."""
    voices: tuple[Mapping[str, Any], ...] | None = None
    """The account's custom voices (``{id, name}``), read only when the manifests name one;
    None when not read."""
    unread: Mapping[str, str] = Field(default_factory=dict)
    """``kind#id`` → why that resource's latest version could not be read in full."""

    @classmethod
    def of(cls, **kinds: Sequence[LiveVersion]) -> Snapshot:
        """``Snapshot.of(prompts=[...], configs=[...])``."""
        return cls(resources={kind: tuple(items) for kind, items in kinds.items()})

    def of_kind(self, kind: str) -> tuple[LiveVersion, ...]:
        """The live resources of ``kind``."""
        return self.resources.get(kind, ())

    @cached_property
    def by_id(self) -> dict[str, LiveVersion]:
        """Every live resource by id (ids are UUIDs, unique across kinds), built once: lookups
        in loops over 10,000 resources must not scan them."""
        return {item.id: item for items in self.resources.values() for item in items}


class ChatUsage(BaseModel):
    """The live traffic on one resource (a config): what the live-traffic guard reads."""

    model_config = ConfigDict(frozen=True)

    active: tuple[tuple[int | None, int], ...] = ()
    """``(version, chats)`` for each version with ACTIVE chats, by version (None: a chat whose
    config version Hume left null)."""
    recent: int = 0
    """Chats started in the last ``hours`` (at most the number read: see ``capped``)."""
    hours: int = 24
    capped: bool = False
    """More chats started in that time than evictl reads: ``recent`` is a lower bound."""
