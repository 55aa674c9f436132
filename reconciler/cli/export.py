"""``evictl export``: write manifests for what the account holds."""

from __future__ import annotations

from pathlib import Path

import click

from reconciler import aio
from reconciler.cli.options import NO_COLOR, connection_options, manifest_options
from reconciler.kinds import NAMES
from reconciler.terminal import safe
from reconciler.workflow import Connection


@click.command()
@NO_COLOR
@manifest_options
@connection_options
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory to write the manifests to (existing files are edited in place).",
)
@click.option("--name", "names", multiple=True, help="Export only resources with this name.")
@click.option(
    "--kind", "kinds", multiple=True, type=click.Choice(NAMES),
    help="Export only this kind (repeatable).",
)  # fmt: skip
@click.option("--dry-run", is_flag=True, help="Show which files would change; write nothing.")
def export(
    variables: dict[str, str],
    connection: Connection,
    out: Path,
    names: tuple[str, ...],
    kinds: tuple[str, ...],
    dry_run: bool,
) -> None:
    """Write manifests for the resources in the Hume account (onboarding from the portal).

    --var/--var-file resolve the ${...} in manifests already under --out, so that one that
    still equals the live value is kept as written."""
    from reconciler import export as exporter
    from reconciler.reexport import describe

    report, notices = aio.run(
        exporter.run(
            connection, out, names=names, kinds=kinds, variables=variables, dry_run=dry_run
        )
    )
    for notice in notices:
        click.echo(f"warning: {safe(describe(notice))}", err=True)
    click.echo(safe(report))
