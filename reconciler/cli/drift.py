"""``evictl drift``: where the account differs from the manifests (read-only)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from reconciler import aio
from reconciler.cli.console import incomplete, report_words
from reconciler.cli.options import account_command
from reconciler.errors import UserError
from reconciler.render import drift as drift_reports
from reconciler.workflow import Connection, drift_report

RENDERERS = {
    "text": drift_reports.as_text,
    "json": drift_reports.as_json,
    "markdown": drift_reports.as_markdown,
}


@click.command()
@account_command(list(RENDERERS))
@click.option(
    "--ignore", multiple=True, metavar="KIND/NAME", help="Known drift to leave out (repeatable)."
)
def drift(
    path: Path,
    variables: dict[str, str],
    connection: Connection,
    fmt: str,
    ignore: tuple[str, ...],
) -> None:
    """Report where the account differs from the manifests (read-only). Exit 2 on drift."""
    manifests, report = aio.run(drift_report(path, variables, connection, ignore))
    click.echo(RENDERERS[fmt](report, manifests.redact, **report_words(fmt, connection)))
    if report.unreadable:
        raise UserError(incomplete(len(report.unreadable)))
    if report.has_drift:
        sys.exit(2)
