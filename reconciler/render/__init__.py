"""Plans as people and machines read them: text (Terraform-like), markdown (PR comments), JSON.

All three take the plan's ``redact`` function last, so no secret reaches any output.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import click
from pydantic import BaseModel

from reconciler.planner.plan import Change, FieldChange, Plan, redact_tree

Redact = Callable[[str], str]
_SYMBOL = {"create": "+", "delete": "-"}
_COLOUR = {"+": "green", "-": "red", "~": "yellow"}
_WHOLE_TEXT = ("text", "parameters")


def _symbol(change: Change) -> str:
    return next((_SYMBOL[a] for a in change.actions if a in _SYMBOL), "~")


def _show(value: Any) -> str:
    if value is None:
        return "(none)"
    return json.dumps(value, ensure_ascii=False)


def _text_of(value: Any, *, parse: bool = False) -> list[str]:
    """Lines to show of a whole value; ``parse``: a JSON string (tool parameters) shown indented."""
    if value is None:
        return []
    if parse and isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value.splitlines()
    if not isinstance(value, str):
        value = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)
    return value.splitlines()


def headline(change: Change) -> str:
    """``~ config "support": new version (live v3)``: one line per resource."""
    live = f" (live v{change.live_version})" if change.live_version is not None else ""
    what = {
        "create": "will be created",
        "delete": f"will be deleted{live}",
        "new_version": f"new version{live}",
        "update_description": f"description of v{change.live_version} updated",
        "rename": f"renamed from {_show(change.live_name)}",
    }
    words = ", ".join(what[action] for action in change.actions) or "no changes"
    where = f"  [{change.source}]" if change.source else ""
    return f"{_symbol(change)} {change.singular} {_show(change.name)}: {words}{where}"


def _field_lines(field: FieldChange, live_version: int | None) -> Iterator[str]:
    if field.path in _WHOLE_TEXT and (isinstance(field.before, str | dict) or field.before is None):
        yield f"~ {field.path}:"
        live = f"live v{live_version}" if live_version is not None else "live"
        diff = difflib.unified_diff(
            _text_of(field.before), _text_of(field.after), live, "manifests", lineterm=""
        )
        yield from (f"    {line}" for line in diff)
        return
    yield f"~ {field.path}: {_show(field.before)} → {_show(field.after)}"


def change_lines(change: Change) -> Iterator[str]:
    """What is different, indented under the headline."""
    for reason in change.reasons:
        yield f"because {reason}"
    if "create" in change.actions and change.body:
        for key, value in change.body.items():
            lines = (
                _text_of(value, parse=key == "parameters") if key in _WHOLE_TEXT else [_show(value)]
            )
            if len(lines) == 1:
                yield f"+ {key}: {lines[0]}"
            else:
                yield f"+ {key}:"
                yield from (f"    {line}" for line in lines)
    for field in change.fields:
        yield from _field_lines(field, change.live_version)
    if change.description is not None:
        before, after = change.description.before, change.description.after
        yield f"~ version_description: {_show(before)} → {_show(after)}"


M = TypeVar("M", bound=BaseModel)


def redacted(model: M, redact: Redact) -> M:
    """``model`` with every string value redacted, before any formatting escapes a secret."""
    return type(model).model_validate(redact_tree(model.model_dump(mode="json"), redact))


def text(plan: Plan, redact: Redact) -> str:
    """The plan for a terminal; colour is added here and stripped by click off a TTY."""
    plan = redacted(plan, redact)
    out = []
    for change in plan.pending:
        symbol = _symbol(change)
        out.append(click.style(f"  {headline(change)}", fg=_COLOUR[symbol], bold=True))
        out.extend(f"      {line}" for line in change_lines(change))
        out.append("")
    out.append(click.style(plan.summary(), bold=True))
    return redact("\n".join(out))


def markdown(plan: Plan, redact: Redact, *, title: str = "evictl plan") -> str:
    """A compact PR comment: the summary, then one collapsible block per changed resource."""
    plan = redacted(plan, redact)
    out = [f"### {title}", "", f"**{plan.summary()}**", ""]
    for change in plan.pending:
        lines = list(change_lines(change)) or ["(no field changes)"]
        out += details(f"<code>{headline(change)}</code>", lines)
    return redact("\n".join(out))


def details(summary: str, lines: list[str]) -> list[str]:
    """A collapsible markdown block with ``lines`` as a diff: one per resource in reports."""
    return [
        f"<details><summary>{summary}</summary>",
        "",
        "```diff",
        *lines,
        "```",
        "</details>",
        "",
    ]


def as_json(plan: Plan, redact: Redact) -> str:
    """The plan document (see ``reconciler.planner.plan``), secrets redacted."""
    return json.dumps(plan.dump(redact), indent=2, ensure_ascii=False)
