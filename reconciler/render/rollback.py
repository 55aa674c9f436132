"""Rollbacks as people and machines read them: what was restored, and what the manifests must
say to keep it. The plan itself is shown by ``render.text``, as apply shows it."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from reconciler.kinds import KINDS
from reconciler.planner.plan import FieldChange, Plan
from reconciler.reexport import Notice, describe
from reconciler.render import Redact, json_document
from reconciler.terminal import safe

if TYPE_CHECKING:  # the result type lives with the orchestration, which does I/O
    from reconciler.rollback import Rollback


_AS_HUME_HOLDS_THEM = (
    "Values are shown as Hume holds them: without manifests (PATH), evictl cannot tell which "
    "are secrets."
)

_NO_ENTRY = (
    "Its values are written as Hume holds them: no manifest entry (PATH) says which are secrets. "
    "Write any credential as ${secret:NAME} before you commit it."
)


def intro(plan: Plan, version: int, *, manifests: bool = True) -> str:
    """The lines above a rollback's plan: which resource, back to which version, a warning for
    each prompt or tool reference the restored version would drop, and, without ``manifests``,
    that nothing is masked as a secret."""
    change = plan.changes[0]
    pins = " and exact pins" if KINDS[change.kind].refs else ""
    lines = [
        f"Rollback of {change.singular} {change.name!r} to v{version}: a new version with its "
        f"settings{pins}, on top of live v{change.live_version}."
    ]
    if not manifests:
        lines.append(_AS_HUME_HOLDS_THEM)
    for field in dropping(plan):
        after, before = _count(field.after), _count(field.before)
        lines.append(
            f"! {field.path}: v{version} references {after or 'none'} where live "
            f"v{change.live_version} references {before}. Hume leaves a version deleted "
            f"since out of its answer: if v{version} used one, the rollback drops it"
        )
    return safe("\n".join(lines))


def dropping(plan: Plan) -> list[FieldChange]:
    """The reference fields the restored version holds fewer references in than live does:
    perhaps a pin to a version deleted since, which Hume leaves out of its answer."""
    return [
        field
        for field in plan.changes[0].fields
        if field.reference and _count(field.after) < _count(field.before)
    ]


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
            *(_notice(notice, result.to_version) for notice in result.notices),
            *([] if result.defined_at else [_NO_ENTRY]),
            f"Until they do, `evictl drift` reports {what} as ahead, and `evictl apply` of the "
            "manifests would undo the rollback.",
        ]
    return redact(safe("\n".join(lines)))


def _notice(notice: Notice, version: int) -> str:
    """A value the entry could not simply take (as re-export says it), never the value."""
    if notice.outcome != "secret_kept":
        return f"warning: {describe(notice)}"
    return (
        f"warning: {notice.file}:{notice.line}: {notice.address}: {notice.field}: v{version} "
        "holds another value here than the entry's ${secret:...} resolves to now (a secret "
        "rotated since, say): the entry keeps its ${secret:...}, so an apply of the manifests "
        "sets what it resolves to"
    )


def as_json(result: Rollback, redact: Redact) -> str:
    """The rollback document (``format_version`` 1): the plan as ``plan --format json`` has it,
    every outcome, and the manifest entry that keeps the rollback."""
    document = {
        "format_version": 1,
        "address": result.address,
        "to_version": result.to_version,
        "live_version": result.live_version,
        "status": result.status,
        "plan": result.plan.document() if result.plan is not None else None,
        "outcomes": [outcome.model_dump(mode="json") for outcome in result.outcomes],
        "manifest": result.manifest,
        "defined_at": result.defined_at,
        "described": result.described,
        "notices": [asdict(notice) for notice in result.notices],
        "drops_references": [] if result.plan is None else [f.path for f in dropping(result.plan)],
    }
    return json_document(document, redact)
