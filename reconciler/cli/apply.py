"""``evictl apply``: make the account match the manifests, or apply a saved plan."""

from __future__ import annotations

from pathlib import Path

import click

from reconciler import aio
from reconciler.cli.console import ApplyConsole, finish_apply
from reconciler.cli.options import (
    AUTO_APPROVE,
    NO_COLOR,
    PARALLELISM,
    TARGET,
    connection_options,
    format_option,
    manifest_options,
    traffic_options,
)
from reconciler.errors import UserError
from reconciler.workflow import Connection, Traffic, apply_plan, is_saved_plan


@click.command(name="apply")
@NO_COLOR
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@manifest_options
@connection_options
@AUTO_APPROVE
@PARALLELISM
@format_option(["text", "json"])
@TARGET
@traffic_options
def apply_command(
    source: Path,
    variables: dict[str, str],
    connection: Connection,
    auto_approve: bool,
    parallelism: int,
    fmt: str,
    target: tuple[str, ...],
    traffic: Traffic,
) -> None:
    """Make the Hume account match the manifests under SOURCE, or apply a saved plan file.

    A saved plan was reviewed when it was made, so it is applied without asking.
    """
    saved = is_saved_plan(source)
    if fmt == "json" and not (saved or auto_approve):
        raise UserError(
            "--format json prints no plan to confirm: pass --auto-approve (or a plan file)"
        )
    console = ApplyConsole(fmt, ask=not (saved or auto_approve), environment=connection.environment)
    manifests, result, outcomes = aio.run(
        apply_plan(
            source, variables, connection, targets=target, parallelism=parallelism,
            approve=console.approve, report=console.report, traffic=traffic,
        )
    )  # fmt: skip
    finish_apply(manifests, result, outcomes, fmt)
