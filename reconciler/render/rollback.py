"""Rollbacks as people and machines read them: what was restored, and what the manifests must
say to keep it. The plan itself is shown by ``render.text``, as apply shows it."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from reconciler.kinds import KINDS
from reconciler.planner.plan import Plan, redact_tree
from reconciler.render import Redact
from reconciler.terminal import safe

if TYPE_CHECKING:  # the result type lives with the orchestration, which does I/O
    from reconciler.rollback import Rollback


def intro(plan: Plan, version: int) -> str:
    """The lines above a rollback's plan: which resource, back to which version, and a warning
    for each prompt or tool reference the restored version would drop."""
    change = plan.changes[0]
    pins = " and exact pins" if KINDS[change.kind].refs else ""
    lines = [
        f"Rollback of {change.singular} {change.name!r} to v{version}: a new version with its "
        f"settings{pins}, on top of live v{change.live_version}."
    ]
    for field in change.fields:
        after, before = _count(field.after), _count(field.before)
        if field.reference and after < before:
            lines.append(
                f"! {field.path}: v{version} references {after or 'none'} where live "
                f"v{change.live_version} references {before}. Hume leaves a version deleted "
                f"since out of its answer: if v{version} used one, the rollback drops it"
            )
    return safe("\n".join(lines))


def _count(pins: Any) -> int:
    """How many references a reference field's value holds (a pin, a list of them, or none)."""
    if pins is None:
        return 0
    return len(pins) if isinstance(pins, list) else 1


def as_text(result: Rollback, redact: Redact) -> str:
    """What happened, after the plan and the progress lines, in words."""
    what = f"{KINDS[result.kind].singular} {result.name!r}"
    if result.status == "latest":
        lines = [f"{what}: v{result.to_version} is already its latest version; nothing to do."]
    elif result.status == "unchanged":
        lines = [
            f"{what}: live v{result.live_version} already has the settings"
            f"{' and pins' if KINDS[result.kind].refs else ''} of v{result.to_version}; "
            "nothing to do."
        ]
    elif result.status == "cancelled":
        lines = ["Rollback cancelled; nothing was changed."]
    elif result.done is None or result.manifest is None:
        lines = [f"{what} was not rolled back; nothing else was changed."]
    elif result.described:
        lines = [
            f"{what} v{result.done.version} now repeats v{result.to_version}, which the "
            f"manifests describe (the entry at {result.defined_at}): nothing to change in them."
        ]
    else:
        where = f" (the entry at {result.defined_at})" if result.defined_at else ""
        lines = [
            f"{what} v{result.done.version} now repeats v{result.to_version}.",
            f"To keep it, the manifests must say{where}, as `evictl export` writes it:",
            "",
            *(f"  {line}" for line in result.manifest.splitlines()),
            "",
            f"Until they do, `evictl drift` reports {what} as ahead, and `evictl apply` of the "
            "manifests would undo the rollback.",
        ]
    return redact(safe("\n".join(lines)))


def as_json(result: Rollback, redact: Redact) -> str:
    """The rollback document (``format_version`` 1): the plan as ``plan --format json`` has it,
    every outcome, and the manifest entry that keeps the rollback."""
    document = {
        "format_version": 1,
        "address": result.address,
        "to_version": result.to_version,
        "live_version": result.live_version,
        "status": result.status,
        "plan": result.plan.dump(redact) if result.plan is not None else None,
        "outcomes": [outcome.model_dump(mode="json") for outcome in result.outcomes],
        "manifest": result.manifest,
        "defined_at": result.defined_at,
        "described": result.described,
    }
    return json.dumps(redact_tree(document, redact), indent=2, ensure_ascii=False)
