"""Drift reports as people and machines read them: text (job logs), markdown (issues), JSON."""

from __future__ import annotations

import html

import click

from reconciler.drift import TITLES, DriftItem, DriftReport, when
from reconciler.kinds import referencing
from reconciler.render import (
    Line,
    Redact,
    change_lines,
    details,
    heading,
    json_document,
    redacted,
    report_title,
)


def _item_lines(item: DriftItem) -> list[Line]:
    change = item.change
    lines = []
    if item.category == "ahead" and item.introduced_by is not None:
        lines.append(
            Line(
                "",
                f"{item.introduced_by.describe()}, is not what the manifests describe "
                f"(version {item.matched_version} was)",
            )
        )
    elif change.live_version is not None and item.category not in (
        "renamed",
        "should_be_absent",
        "unmanaged",
    ):
        lines.append(
            Line(
                "",
                f"live version {change.live_version}, {when(change.live_modified_on)}, "
                "is not what the manifests describe",
            )
        )
    if item.category == "renamed":
        lines.append(Line("", f"still named {change.live_name!r} in Hume"))
    if item.category == "should_be_absent":
        lines.append(
            Line(
                "-",
                f"live version {change.live_version}, {when(change.live_modified_on)}, still "
                "exists: the manifests mark it absent",
            )
        )
    if item.category == "unmanaged":
        lines.append(
            Line(
                "-",
                f"live version {change.live_version}, {when(change.live_modified_on)}: "
                "no manifest describes it; apply deletes it "
                "(or describe it, or narrow [ownership])",
            )
        )
    lines += [Line("", text) for text in item.notes]
    if item.used_by:
        users = "/".join(kind.name for kind in referencing(change.kind))
        lines.append(Line("", f"used by {users}: {', '.join(item.used_by)}"))
    lines += change_lines(change, reasons=False)
    return lines


def as_text(report: DriftReport, redact: Redact, *, environment: str | None = None) -> str:
    """For a terminal or a job log."""
    report = redacted(report, redact)
    out = heading("drift", environment)
    for item in report.items:
        title = f"  ! {item.headline()}  [{item.change.source}]"
        out.append(click.style(title, fg="yellow", bold=True))
        out += [f"      {line.terminal()}" for line in _item_lines(item)]
        out.append("")
    if report.ignored:
        out.append(f"Ignored: {', '.join(report.ignored)}")
    if report.unreadable:
        out.append(f"Not read (Hume did not answer): {', '.join(report.unreadable)}")
    out.append(click.style(report.summary(), bold=True))
    return redact("\n".join(out))


def as_markdown(report: DriftReport, redact: Redact, *, environment: str | None = None) -> str:
    """An issue body: a summary, then one collapsible block per drifted resource."""
    report = redacted(report, redact)
    out = [f"### {report_title('drift', environment)}", "", f"**{report.summary()}**", ""]
    for item in report.items:
        summary = f"<code>{html.escape(item.headline(), quote=False)}</code> ({item.change.source})"
        out += details(summary, _item_lines(item))
    if report.ignored:
        out.append(f"Ignored: {', '.join(f'`{i}`' for i in report.ignored)}")
    return redact("\n".join(out))


def as_json(report: DriftReport, redact: Redact) -> str:
    """The report as JSON (``format_version`` 1) with a ``summary`` of counts per category, like
    the plan's, secrets redacted."""
    data = report.model_dump(mode="json")
    data["summary"] = {category: 0 for category in TITLES}
    for item in report.items:
        data["summary"][item.category] += 1
    return json_document(data, redact)
