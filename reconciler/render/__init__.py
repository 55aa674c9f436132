"""Plans as people and machines read them: text (Terraform-like), markdown (PR comments), JSON.

Words are made here and only here: the plan carries typed values (actions, pins, reasons), and
each renderer takes the manifests' ``redact`` function last, so no secret reaches any output.
Drift reports are rendered next door, in ``reconciler.render.drift``.
"""

from __future__ import annotations

import difflib
import html
import json
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import click
from pydantic import BaseModel

from reconciler.kinds import KINDS
from reconciler.planner.plan import (
    Change,
    DependencyCreated,
    DependencyNewVersion,
    FieldChange,
    Note,
    OlderVersionsUse,
    OwnedNotDescribed,
    Plan,
    PossibleRename,
    Reason,
    SameDescription,
    StalePin,
    StillUsed,
    redact_tree,
)
from reconciler.terminal import safe

Redact = Callable[[str], str]
_SYMBOL = {"create": "+", "delete": "-"}
_COLOUR = {"+": "green", "-": "red", "~": "yellow"}


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


def _version(number: int | None) -> str:
    return "latest" if number is None else f"v{number}"


def _subject(address: str) -> str:
    """``prompts/greeter`` → ``prompt greeter``."""
    kind, _, name = address.partition("/")
    return f"{KINDS[kind].singular} {name}"


def reason(value: Reason) -> str:
    """Why a resource changes though its own settings do not, in words."""
    if isinstance(value, DependencyCreated):
        return f"{_subject(value.subject)} → created"
    if isinstance(value, DependencyNewVersion):
        return f"{_subject(value.subject)} → new version"
    if isinstance(value, OwnedNotDescribed):
        return f"owned by these manifests ({', '.join(value.globs)}), not in them"
    assert isinstance(value, StalePin)
    return (
        f"{_subject(value.subject)} is pinned at {_version(value.pinned)}; "
        f"the manifests resolve it to {_version(value.resolves_to)}"
    )


def note(value: Note, singular: str) -> str:
    """A warning or hint for the reviewer of a change to a ``singular``, in words."""
    if isinstance(value, SameDescription):
        return (
            f"version_description is the same as live v{value.live_version}'s: "
            "describe what the new version changes"
        )
    if isinstance(value, PossibleRename):
        return (
            f"live {singular} {value.live_name!r} (id {value.id}) has the same "
            f"content: renamed? add `previous_names: [{value.live_name}]`"
        )
    if isinstance(value, StillUsed):
        return (
            f"live resources still use it; deleting it would break them: {', '.join(value.users)}"
        )
    assert isinstance(value, OlderVersionsUse)
    shown = ", ".join(value.users[:5])
    more = f" and {len(value.users) - 5} more" if len(value.users) > 5 else ""
    return f"older versions still pin it (they break if used): {shown}{more}"


def pin(value: Any) -> Any:
    """A reference field's value in words: ``greeter v3``, ``greeter latest``, a list of them."""
    if value is None:
        return None
    if isinstance(value, list):
        return [pin(item) for item in value]
    if value.get("pending") == "created":
        return f"{value['name']} (created)"
    if value.get("pending") == "new_version":
        return f"{value['name']} (new version)"
    return f"{value['name']} {_version(value.get('version'))}"


def _created(change: Change) -> dict[str, Any]:
    """A created resource's body as shown: settings, then references by name (or id)."""
    shown = dict(change.body or {})
    kind = KINDS[change.kind]
    for ref_field in kind.refs:
        labels = [
            ref.target.partition("/")[2] if ref.target else f"{ref.id} {_version(ref.version)}"
            for ref in change.refs
            if ref.field == ref_field.field
        ]
        if ref_field.many:
            shown[ref_field.field] = labels
        elif labels:
            shown[ref_field.field] = labels[0]
    return shown


def _whole_text(kind: str) -> tuple[str, ...]:
    """The fields shown as a unified diff: long texts and whole values (tool parameters)."""
    descriptor = KINDS[kind]
    texts = (descriptor.text_file[1],) if descriptor.text_file else ()
    return (*texts, *descriptor.whole_values)


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


def _field_lines(change: Change, field: FieldChange) -> Iterator[str]:
    if field.reference:
        yield f"~ {field.path}: {_show(pin(field.before))} → {_show(pin(field.after))}"
        return
    whole = field.path in _whole_text(change.kind)
    if whole and (isinstance(field.before, str | dict) or field.before is None):
        live = f"live v{change.live_version}" if change.live_version is not None else "live"
        diff = list(unified_diff(_whole(field.before), _whole(field.after), live))
        if diff:
            yield f"~ {field.path}:"
            yield from (f"    {line}" for line in diff)
            return
    yield f"~ {field.path}: {_show(field.before)} → {_show(field.after)}"


def _whole(value: Any) -> str:
    """A whole value as diffable text: a string as it is, a mapping as indented JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


_INVISIBLE = {" ": "·", "\t": "→", "\r": "␍"}


def _visible(line: str) -> str:
    """A diff line with the whitespace at its end made visible (``·`` space, ``→`` tab)."""
    body = line.rstrip(" \t\r")
    return body + "".join(_INVISIBLE[char] for char in line[len(body) :])


def unified_diff(before: str, after: str, live: str) -> Iterator[str]:
    """``git diff`` of two texts: a missing final newline and trailing whitespace are shown, so
    a difference in whitespace alone never renders as an empty diff.

    Unlike files, prompt texts usually end without a newline, so the ``No newline`` marker is
    shown only when the two sides differ in it.
    """
    marked = before.endswith("\n") != after.endswith("\n")
    for line in difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True), live, "manifests"
    ):
        if line.startswith(("---", "+++", "@@")):
            yield line.rstrip("\n")
            continue
        text = line[:-1] if line.endswith("\n") else line
        yield line[0] + _visible(text[1:]) if line[0] in "+-" else text
        if marked and not line.endswith("\n"):
            yield "\\ No newline at end of file"


def change_lines(change: Change) -> Iterator[str]:
    """What is different, indented under the headline."""
    for why in change.reasons:
        yield f"because {reason(why)}"
    for hint in change.notes:
        yield f"! {note(hint, change.singular)}"
    if "create" in change.actions and change.body:
        whole = _whole_text(change.kind)
        for key, value in _created(change).items():
            parse = key in KINDS[change.kind].json_strings
            lines = _text_of(value, parse=parse) if key in whole else [_show(value)]
            if len(lines) == 1:
                yield f"+ {key}: {lines[0]}"
            else:
                yield f"+ {key}:"
                yield from (f"    {line}" for line in lines)
    for field in change.fields:
        yield from _field_lines(change, field)
    if change.description is not None:
        before, after = change.description.before, change.description.after
        yield f"~ version_description: {_show(before)} → {_show(after)}"


M = TypeVar("M", bound=BaseModel)


def redacted(model: M, redact: Redact) -> M:
    """``model`` with every string value redacted (before any formatting escapes a secret) and
    made terminal-safe (control and bidi characters escaped), for text and markdown."""
    data = redact_tree(model.model_dump(mode="json"), lambda value: safe(redact(value)))
    return type(model).model_validate(data)


def _unreadable(change: Change) -> str:
    where = f"  [{change.source}]" if change.source else ""
    return (
        f"! {change.singular} {_show(change.name)}: not planned, Hume did not answer for it "
        f"({change.unreadable}){where}"
    )


def text(plan: Plan, redact: Redact) -> str:
    """The plan for a terminal; colour is added here and stripped by click off a TTY."""
    plan = redacted(plan, redact)
    out = [
        click.style(f"  {_unreadable(change)}", fg="red", bold=True) for change in plan.unreadable
    ]
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
    out += [f"- {html.escape(_unreadable(change), quote=False)}" for change in plan.unreadable]
    for change in plan.pending:
        lines = list(change_lines(change)) or ["(no field changes)"]
        out += details(f"<code>{html.escape(headline(change), quote=False)}</code>", lines)
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
