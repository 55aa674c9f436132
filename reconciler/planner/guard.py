"""The live-traffic guard: a plan checked against the chats that use what it changes. Pure.

Hume knows which config version each chat runs on. Deleting a config that ACTIVE chats use
breaks calls in progress, so a plan that would is refused unless the operator allows it; a new
version of a config chats used lately is noted, because every client that connects without
``config_version`` moves to it. The workflow reads the chats (``watched`` says for which changes,
so a plan reads chats only for the configs it changes) and this module decides.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.kinds import KINDS
from reconciler.planner.plan import ActiveChats, Change, Note, Plan, RecentChats
from reconciler.planner.planner import PlanError
from reconciler.snapshot import ChatUsage

NOTES = ("active_chats", "recent_chats")
"""The note types the guard adds: the account's traffic, not its configuration."""


def without_traffic(document: dict[str, Any]) -> dict[str, Any]:
    """A plan document (``Plan.dump``) without the guard's notes, to compare two plans of the
    same changes made at different times."""
    changes = [
        {**change, "notes": [n for n in change.get("notes", []) if n.get("type") not in NOTES]}
        for change in document.get("changes", [])
    ]
    return {**document, "changes": changes}


def watched(plan: Plan) -> list[Change]:
    """The changes whose live traffic the guard needs: deletes and new versions of a kind that
    chats run on."""
    return [
        change
        for change in plan.pending
        if KINDS[change.kind].chats
        and change.id is not None
        and {"delete", "new_version"} & set(change.actions)
    ]


TIMES = "\u00d7"
WAIT = "wait, or pass --allow-active-chats"
"""What to do about a delete the guard stops (plan and apply say the same)."""


Versions = tuple[tuple[int | None, int], ...]


def chats_in_words(versions: Versions) -> str:
    """``3 active chats (v4 TIMES2, v5 TIMES1)``: how many, on which versions."""
    total = sum(count for _, count in versions)
    per_version = ", ".join(
        f"v{'?' if version is None else version} {TIMES}{count}" for version, count in versions
    )
    return f"{total} active chat{'' if total == 1 else 's'} ({per_version})"


def active_in_words(change: Change, versions: Versions) -> str:
    """``config 'support-line' has 3 active chats (v4 TIMES2, v5 TIMES1)``."""
    return f"{change.singular} {change.name!r} has {chats_in_words(versions)}"


def guard(plan: Plan, usage: Mapping[str, ChatUsage], *, allow_active: bool = False) -> Plan:
    """``plan`` with the live traffic of its watched changes as notes.

    ``usage`` maps addresses to what was read. A delete that ACTIVE chats use stops the plan
    (``PlanError``) unless ``allow_active``; then it carries an ``active_chats`` note.
    """
    changes, blocked = [], []
    for change in plan.changes:
        found = usage.get(change.address)
        notes: list[Note] = []
        if found is not None and "delete" in change.actions and found.active:
            notes.append(ActiveChats(versions=found.active))
            blocked.append(f"{change.source}: {active_in_words(change, found.active)}")
        elif found is not None and "new_version" in change.actions and found.recent:
            notes.append(RecentChats(chats=found.recent, hours=found.hours, capped=found.capped))
        if notes:
            change = change.model_copy(update={"notes": (*change.notes, *notes)})
        changes.append(change)
    if blocked and not allow_active:
        raise PlanError(f"{'; '.join(blocked)}; {WAIT}")
    return plan.model_copy(update={"changes": tuple(changes)})
