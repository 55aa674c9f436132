"""The registry of kinds: every stage loops over ``REGISTRY`` instead of naming kinds.

Ordered by the references kinds declare (a kind comes after the kinds it references), which is
the order the planner plans in and a manifest document lists them in. Adding a kind is one module
and one line here (plus its server defaults and the emulator's view of it).
"""

from __future__ import annotations

from collections.abc import Iterable

from reconciler.kinds import configs, prompts, tools
from reconciler.kinds.base import Kind, LiveVersion, Ref, RefField, address


def _by_references(kinds: Iterable[Kind]) -> tuple[Kind, ...]:
    """``kinds`` with each after those it references (stable otherwise); a cycle is a bug."""
    pending = list(kinds)
    ordered: list[Kind] = []
    while pending:
        placed = {kind.name for kind in ordered}
        ready = [k for k in pending if all(ref.target in placed for ref in k.refs)]
        if not ready:
            raise ValueError(f"kinds reference each other in a cycle: {pending}")
        ordered.append(ready[0])
        pending.remove(ready[0])
    return tuple(ordered)


REGISTRY: tuple[Kind, ...] = _by_references([prompts.KIND, tools.KIND, configs.KIND])
KINDS: dict[str, Kind] = {kind.name: kind for kind in REGISTRY}
NAMES: tuple[str, ...] = tuple(KINDS)


def referencing(target: str) -> tuple[Kind, ...]:
    """The kinds whose resources can reference resources of ``target``."""
    return tuple(k for k in REGISTRY if any(ref.target == target for ref in k.refs))


__all__ = [
    "KINDS",
    "NAMES",
    "REGISTRY",
    "Kind",
    "LiveVersion",
    "Ref",
    "RefField",
    "address",
    "referencing",
]
