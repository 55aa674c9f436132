"""Plans as people and machines read them: text (Terraform-like), markdown (PR comments), JSON.

Words are made here and only here: the plan carries typed values (actions, pins, reasons), and
each renderer takes the manifests' ``redact`` function last, so no secret reaches any output.
Drift reports are rendered next door, in ``reconciler.render.drift``.
"""

from __future__ import annotations

import difflib
import html
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import click
from pydantic import BaseModel

from reconciler.kinds import KINDS
from reconciler.planner import guard
from reconciler.planner.plan import (
    ActiveChats,
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
    RecentChats,
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


@dataclass(frozen=True)
class Line:
    """A line under a resource's headline, typed so each renderer places its sign itself.

    ``sign``: ``+``, ``-``, ``~`` (a setting changes), ``!`` (a note for the reviewer), `` `` (a
    diff's context) or ``""`` (words, a diff's header). ``nested``: a line of the multi-line value
    or the diff under the line before. ``glued``: a unified diff's line, whose sign the terminal
    shows glued to it as ``git diff`` does (a created value's lines show none there).
    """

    sign: str
    text: str
    nested: bool = False
    glued: bool = False

    def terminal(self) -> str:
        """As the text renderer shows it, nested lines indented."""
        if self.nested:
            return f"    {self.sign if self.glued else ''}{self.text}"
        return f"{self.sign} {self.text}" if self.sign else self.text

    def diff(self) -> str:
        """As a line of a ```diff block: the sign in column 0, where GitHub colours it (``+``
        green, ``-`` red, ``!`` orange for ``~``, as tfcmt does), the rest indented after it;
        words and notes start with a space, so they are never coloured."""
        if self.nested:
            return f"{self.sign}    {self.text}" if self.sign else self.text
        return f"{_DIFF_SIGN.get(self.sign, self.sign)} {self.text}"


_DIFF_SIGN = {"~": "!", "!": " #", "": " "}


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
    if isinstance(value, RecentChats):
        count = f"{'at least ' if value.capped else ''}{value.chats}"
        return (
            f"{count} chat{'' if value.chats == 1 else 's'} in the last {value.hours} h; "
            f"clients that connect without {singular}_version get the new version"
        )
    if isinstance(value, ActiveChats):
        one = sum(count for _, count in value.versions) == 1
        loses = "loses its config" if one else "lose their config"
        return f"{guard.chats_in_words(value.versions)} {loses} (--allow-active-chats)"
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


def actions(change: Change) -> str:
    """``new version (live v3), renamed from "old"``: what apply does to a resource."""
    live = f" (live v{change.live_version})" if change.live_version is not None else ""
    what = {
        "create": "will be created",
        "delete": f"will be deleted{live}",
        "new_version": f"new version{live}",
        "update_description": f"description of v{change.live_version} updated",
        "rename": f"renamed from {_show(change.live_name)}",
    }
    return ", ".join(what[action] for action in change.actions) or "no changes"


def headline(change: Change) -> str:
    """``~ config "support": new version (live v3)``: one line per resource."""
    where = f"  [{change.source}]" if change.source else ""
    return f"{_symbol(change)} {change.singular} {_show(change.name)}: {actions(change)}{where}"


def _field_lines(change: Change, field: FieldChange) -> Iterator[Line]:
    if field.reference:
        yield Line("~", f"{field.path}: {_show(pin(field.before))} → {_show(pin(field.after))}")
        return
    live = f"live v{change.live_version}" if change.live_version is not None else "live"
    yield from field_diff(change.kind, field, live, "manifests")


def field_diff(kind: str, field: FieldChange, before: str, after: str) -> Iterator[Line]:
    """A changed setting of a ``kind``: ``~ path: old → new``, or a unified diff (labelled
    ``before`` and ``after``) for long texts and whole values (plan, history)."""
    whole = field.path in _whole_text(kind)
    if whole and (isinstance(field.before, str | dict) or field.before is None):
        diff = list(unified_diff(_whole(field.before), _whole(field.after), before, after))
        if diff:
            yield Line("~", f"{field.path}:")
            for line in diff:
                header = line.startswith(("---", "+++", "@@", "\\"))
                sign = "" if header else line[:1]
                yield Line(sign, line if header else line[1:], nested=True, glued=True)
            return
    yield Line("~", f"{field.path}: {_show(field.before)} → {_show(field.after)}")


def field_lines(kind: str, field: FieldChange, before: str, after: str) -> Iterator[str]:
    """``field_diff`` as the terminal shows it."""
    return (line.terminal() for line in field_diff(kind, field, before, after))


def _whole(value: Any, *, parse: bool = False) -> str:
    """A whole value as diffable text: a string as it is, a mapping as a manifest writes it
    (YAML, so a reviewer compares like with like); ``parse``: a JSON string (tool parameters,
    as Hume stores them) is read first."""
    if value is None:
        return ""
    if parse and isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        from reconciler.yamlwrite import as_yaml  # ruamel.yaml, only for a change that shows one

        return as_yaml(value)
    return json.dumps(value, ensure_ascii=False)


_INVISIBLE = {" ": "·", "\t": "→", "\r": "␍"}


def _visible(line: str) -> str:
    """A diff line with the whitespace at its end made visible (``·`` space, ``→`` tab)."""
    body = line.rstrip(" \t\r")
    return body + "".join(_INVISIBLE[char] for char in line[len(body) :])


def unified_diff(before: str, after: str, live: str, desired: str = "manifests") -> Iterator[str]:
    """``git diff`` of two texts: a missing final newline and trailing whitespace are shown, so
    a difference in whitespace alone never renders as an empty diff.

    Unlike files, prompt texts usually end without a newline, so the ``No newline`` marker is
    shown only when the two sides differ in it.
    """
    marked = before.endswith("\n") != after.endswith("\n")
    for line in difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True), live, desired
    ):
        if line.startswith(("---", "+++", "@@")):
            yield line.rstrip("\n")
            continue
        text = line[:-1] if line.endswith("\n") else line
        yield line[0] + _visible(text[1:]) if line[0] in "+-" else text
        if marked and not line.endswith("\n"):
            yield "\\ No newline at end of file"


def change_lines(change: Change, *, reasons: bool = True) -> Iterator[Line]:
    """What is different, under the headline; ``reasons``: the ``because`` lines too (markdown
    shows them in its table instead)."""
    if reasons:
        yield from (Line("", f"because {reason(why)}") for why in change.reasons)
    for hint in change.notes:
        yield Line("!", note(hint, change.singular))
    if "create" in change.actions and change.body:
        whole = _whole_text(change.kind)
        for key, value in _created(change).items():
            parse = key in KINDS[change.kind].json_strings
            lines = _whole(value, parse=parse).splitlines() if key in whole else [_show(value)]
            if len(lines) == 1 and not parse:
                yield Line("+", f"{key}: {lines[0]}")
            else:
                yield Line("+", f"{key}:")
                yield from (Line("+", line, nested=True) for line in lines)
    for field in change.fields:
        yield from _field_lines(change, field)
    if change.description is not None:
        before, after = change.description.before, change.description.after
        yield Line("~", f"version_description: {_show(before)} → {_show(after)}")


def why(change: Change) -> str:
    """Why a resource changes, in one line: its typed reasons, and which of its own settings
    differ."""
    created = "create" in change.actions
    parts = ["not in Hume"] if created else []
    if "delete" in change.actions and not change.reasons:
        parts.append("marked absent in the manifests")
    parts += [reason(value) for value in change.reasons]
    own = [field.path for field in change.fields if not field.reference]
    own += ["version_description"] if change.description is not None else []
    if own and not created:
        parts.append(f"settings differ: {', '.join(own)}")
    return "; ".join(parts)


M = TypeVar("M", bound=BaseModel)


def redacted(model: M, redact: Redact) -> M:
    """``model`` with every string value redacted (before any formatting escapes a secret) and
    made terminal-safe (control and bidi characters escaped), for text and markdown."""
    data = redact_tree(model.model_dump(mode="json"), lambda value: safe(redact(value)))
    return type(model).model_validate(data)


def _shown(plan: Plan) -> Plan:
    """Only what a report shows: the pending and unreadable changes, not the unchanged ones nor
    what the plan read, so that redacting a 10,000-resource plan with no changes costs nothing."""
    changes = tuple(change for change in plan.changes if change.actions or change.unreadable)
    return plan.model_copy(update={"changes": changes, "reads": {}})


def _unreadable(change: Change) -> str:
    where = f"  [{change.source}]" if change.source else ""
    return (
        f"! {change.singular} {_show(change.name)}: not planned, Hume did not answer for it "
        f"({change.unreadable}){where}"
    )


def report_title(command: str, environment: str | None = None) -> str:
    """A report's heading, naming the evictl.toml environment it is about: ``evictl plan
    (staging)``."""
    return f"evictl {command} ({environment})" if environment else f"evictl {command}"


def heading(command: str, environment: str | None) -> list[str]:
    """The text report's first lines: the title when an environment is named, else none (one
    account needs no name)."""
    return [click.style(report_title(command, environment), bold=True), ""] if environment else []


def text(
    plan: Plan, redact: Redact, *, environment: str | None = None, command: str = "plan"
) -> str:
    """The plan for a terminal; colour is added here and stripped by click off a TTY."""
    plan = redacted(_shown(plan), redact)
    out = heading(command, environment)
    out += [
        click.style(f"  {_unreadable(change)}", fg="red", bold=True) for change in plan.unreadable
    ]
    for change in plan.pending:
        symbol = _symbol(change)
        out.append(click.style(f"  {headline(change)}", fg=_COLOUR[symbol], bold=True))
        out.extend(f"      {line.terminal()}" for line in change_lines(change))
        out.append("")
    out.append(click.style(plan.summary(), bold=True))
    return redact("\n".join(out))


def markdown(
    plan: Plan, redact: Redact, *, title: str | None = None, environment: str | None = None
) -> str:
    """A PR comment readable at a glance: the summary, a table of the changed resources (what
    and why), then one collapsible ```diff block per resource, which GitHub colours."""
    plan = redacted(_shown(plan), redact)
    out = [f"### {title or report_title('plan', environment)}", "", f"**{plan.summary()}**", ""]
    out += [f"- {html.escape(_unreadable(change), quote=False)}" for change in plan.unreadable]
    if plan.pending:
        out += ["| | resource | action | why |", "| --- | --- | --- | --- |"]
        out += [
            f"| `{_symbol(change)}` | {cell(change.singular)} <code>{cell(change.name)}</code> "
            f"| {cell(actions(change))} | {cell(why(change))} |"
            for change in plan.pending
        ]
        out.append("")
    for change in plan.pending:
        lines = list(change_lines(change, reasons=False)) or [Line("", "(no field changes)")]
        out += details(f"<code>{html.escape(headline(change), quote=False)}</code>", lines)
    return redact("\n".join(out))


_MARKDOWN = re.compile(r"([\\`*_\[\]|~])")


def cell(text: str) -> str:
    """User text in a markdown table cell: HTML and markdown escaped, so a name cannot add a
    link, emphasis or a column."""
    return _MARKDOWN.sub(r"\\\1", html.escape(text, quote=False))


def details(summary: str, lines: Iterable[Line]) -> list[str]:
    """A collapsible block with ``lines`` as a ```diff block: one per resource in reports. The
    fence is longer than any run of backticks in the lines, so no text can close it."""
    body = [line.diff() for line in lines]
    longest = max((len(run) for run in re.findall(r"`+", "\n".join(body))), default=0)
    fence = "`" * max(3, longest + 1)
    return [
        f"<details><summary>{summary}</summary>",
        "",
        f"{fence}diff",
        *body,
        fence,
        "</details>",
        "",
    ]


def json_document(data: Any, redact: Redact) -> str:
    """A ``--format json`` document: every string redacted first (before escaping could hide a
    secret), then indented, non-ASCII characters written as themselves."""
    return json.dumps(redact_tree(data, redact), indent=2, ensure_ascii=False)


def as_json(plan: Plan, redact: Redact) -> str:
    """The plan document (see ``reconciler.planner.plan``), secrets redacted."""
    return json_document(plan.document(), redact)
