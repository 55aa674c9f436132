"""The live state of an account: the latest version of every resource, per kind.

A plain value (no I/O; ``reconciler.client.snapshot`` reads it), so the planner stays pure.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence

from pydantic import BaseModel, ConfigDict, Field

from reconciler.kinds import REGISTRY, LiveVersion


class Snapshot(BaseModel):
    """Latest live versions per kind; immutable, so the planner can stay pure."""

    model_config = ConfigDict(frozen=True)

    resources: Mapping[str, tuple[LiveVersion, ...]] = Field(default_factory=dict)

    @classmethod
    def of(cls, **kinds: Sequence[LiveVersion]) -> Snapshot:
        """``Snapshot.of(prompts=[...], configs=[...])``."""
        return cls(resources={kind: tuple(items) for kind, items in kinds.items()})

    def of_kind(self, kind: str) -> tuple[LiveVersion, ...]:
        """The live resources of ``kind``."""
        return self.resources.get(kind, ())

    def fingerprint(self) -> str:
        """A hash of what a plan depends on: every resource's id, name, version and content.

        Two snapshots with the same fingerprint give the same plan; a saved plan is stale when
        the account's fingerprint has moved.
        """
        digest = hashlib.sha256()
        for kind in REGISTRY:
            for item in sorted(self.of_kind(kind.name), key=lambda v: v.id):
                line = json.dumps([kind.name, item.model_dump(mode="json")], sort_keys=True)
                digest.update(line.encode())
        return f"sha256:{digest.hexdigest()}"
