"""``evictl plan``: what apply would change, rendered as text, markdown or JSON."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from reconciler import aio, render
from reconciler.cli.console import incomplete, report_words
from reconciler.cli.options import TARGET, account_command, traffic_options
from reconciler.errors import UserError
from reconciler.workflow import Connection, Traffic, make_plan

RENDERERS = {"text": render.text, "json": render.as_json, "markdown": render.markdown}


@click.command()
@account_command(list(RENDERERS))
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="Save the plan (JSON)."
)
@click.option("--detailed-exitcode", is_flag=True, help="Exit 0: no changes, 2: changes, 1: error.")
@TARGET
@traffic_options
def plan(
    path: Path,
    variables: dict[str, str],
    connection: Connection,
    fmt: str,
    out: Path | None,
    detailed_exitcode: bool,
    target: tuple[str, ...],
    traffic: Traffic,
) -> None:
    """Show what apply would change in the Hume account to match the manifests under PATH."""
    manifests, result = aio.run(make_plan(path, variables, connection, target, traffic))
    click.echo(RENDERERS[fmt](result, manifests.redact, **report_words(fmt, connection)))
    if out is not None:
        out.write_text(render.as_json(result, manifests.redact) + "\n", encoding="utf-8")
    if result.unreadable:
        raise UserError(incomplete(len(result.unreadable)))
    if detailed_exitcode and result.has_changes:
        sys.exit(2)
