"""Promotion: apply to one account exactly what another already runs.

``evictl promote --from staging --to production`` is apply with a precondition. Staging must run
these manifests (no drift), so what reaches production is what was tried on staging, not
whatever the checkout holds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.applier import Outcome
from reconciler.drift import DriftReport
from reconciler.manifest import Manifests
from reconciler.planner.plan import Plan
from reconciler.workflow import Connection, Traffic, apply_plan, drift_report


@dataclass(frozen=True)
class Account:
    """One side of a promotion: its connection and the variables its manifests resolve with."""

    connection: Connection
    variables: dict[str, str]


@dataclass(frozen=True)
class Promotion:
    """What a promotion found and did: ``plan`` is None when the source's drift refused it."""

    manifests: Manifests
    drift: DriftReport
    plan: Plan | None = None
    outcomes: list[Outcome] = field(default_factory=list)


async def promote(
    path: Path,
    source: Account,
    target: Account,
    *,
    parallelism: int = 8,
    approve: Callable[[Manifests, Plan], bool],
    report: Callable[[Outcome], None],
    traffic: Traffic,
) -> Promotion:
    """Check that ``source`` runs the manifests under ``path``, then apply them to ``target``.

    An incomplete drift report refuses too: what was not read may be what differs.
    """
    manifests, drift = await drift_report(path, source.variables, source.connection)
    if drift.has_drift or drift.unreadable:
        return Promotion(manifests, drift)
    manifests, plan, outcomes = await apply_plan(
        path,
        target.variables,
        target.connection,
        parallelism=parallelism,
        approve=approve,
        report=report,
        traffic=traffic,
    )
    return Promotion(manifests, drift, plan, outcomes)
