"""``evictl probe``: check evictl's assumptions about Hume against a real account."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from reconciler import aio
from reconciler.cli.options import NO_COLOR, connection_options
from reconciler.terminal import safe
from reconciler.workflow import Connection


@click.command()
@NO_COLOR
@connection_options
@click.option(
    "--save",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the server defaults observed as a facts file (e.g. hume-facts.json at the root).",
)
def probe(connection: Connection, save: Path | None) -> None:
    """Check, with scratch resources it deletes again, every assumption evictl makes about Hume.

    Run it once against a real account before trusting plans. Exit 0 when every assumption
    holds, 1 when one does not (each is named).
    """
    from reconciler.probe import run_probe

    text, document, holds = aio.run(run_probe(connection))
    click.echo(safe(text))
    if save is not None:
        save.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        click.echo(f"Wrote {save}: plan, apply and drift compare with these defaults.")
    if not holds:
        sys.exit(1)
