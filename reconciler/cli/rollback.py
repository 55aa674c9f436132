"""``evictl rollback KIND/NAME --to VERSION``: restore an old version as a new one."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from reconciler import aio
from reconciler.applier import STATUSES, summary
from reconciler.cli.console import ApplyConsole
from reconciler.cli.options import (
    AUTO_APPROVE,
    NO_COLOR,
    connection_options,
    format_option,
    manifest_options,
    traffic_options,
)
from reconciler.errors import UserError
from reconciler.manifest import Manifests
from reconciler.planner.plan import Plan
from reconciler.render import rollback as view
from reconciler.rollback import rollback as run_rollback
from reconciler.workflow import Connection, Traffic


@click.command(name="rollback")
@NO_COLOR
@click.argument("target", metavar="KIND/NAME")
@click.argument("path", required=False, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--to", "version", required=True, type=click.IntRange(min=0), help="The version to restore."
)
@manifest_options
@connection_options
@traffic_options
@AUTO_APPROVE
@format_option(["text", "json"])
def rollback(
    target: str,
    path: Path | None,
    version: int,
    variables: dict[str, str],
    connection: Connection,
    traffic: Traffic,
    auto_approve: bool,
    fmt: str,
) -> None:
    """Make a new version of the live resource KIND/NAME equal to version --to (a config: with
    the same prompt and tool versions), then print the manifest entry that keeps it.

    PATH, your manifest root (optional), masks its secrets in the output, lets the entry refer to
    the prompts and tools it defines by name, and locates hume-facts.json (default: here).
    Exit 0 when done or when there is nothing to do; 1 when refused, cancelled or not done.
    """
    if fmt == "json" and not auto_approve:
        raise UserError("--format json prints no plan to confirm: pass --auto-approve")
    console = ApplyConsole(
        fmt, ask=not auto_approve, environment=connection.environment, command="rollback"
    )

    def approve(desired: Manifests, plan: Plan) -> bool:
        if fmt == "text":
            click.echo(desired.redact(view.intro(plan, version, manifests=path is not None)))
        return console.approve(desired, plan)

    known, result = aio.run(
        run_rollback(
            target, version, connection, manifests=path, variables=variables,
            approve=approve, report=console.report, traffic=traffic,
        )
    )  # fmt: skip
    if fmt == "json":
        click.echo(view.as_json(result, known.redact))
    else:
        if result.outcomes:
            counts = {s: sum(o.status == s for o in result.outcomes) for s in STATUSES}
            click.echo(summary(counts))
        click.echo(view.as_text(result, known.redact))
    if result.status == "cancelled" or (result.status == "applied" and result.done is None):
        sys.exit(1)
