"""``evictl output``: the ids and versions a deployment connects with, read from the account."""

from __future__ import annotations

from pathlib import Path

import click

from reconciler import aio
from reconciler.cli.options import account_command
from reconciler.client.snapshot import fetch_snapshot
from reconciler.drift import read_only
from reconciler.errors import UserError
from reconciler.manifest import Manifests, load_manifests
from reconciler.outputs import Outputs, outputs
from reconciler.render import outputs as render
from reconciler.workflow import Connection

RENDERERS = {"json": render.as_json, "env": render.as_env, "text": render.as_text}


async def read_outputs(
    path: Path, variables: dict[str, str], connection: Connection
) -> tuple[Manifests, Outputs]:
    """Load, then one read-only listing per kind: list items carry ids, versions and pins."""
    manifests = load_manifests(path, variables)
    async with connection.client() as client:
        live = await fetch_snapshot(read_only(client))
    return manifests, outputs(manifests, live)


@click.command(name="output")
@account_command(list(RENDERERS))
def output(path: Path, variables: dict[str, str], connection: Connection, fmt: str) -> None:
    """Print the id and latest version of each resource the manifests under PATH describe.

    Exit 1 when the account lacks one (after listing it; env output then prints nothing).
    """
    manifests, found = aio.run(read_outputs(path, variables, connection))
    click.echo(RENDERERS[fmt](found, manifests.redact))
    if found.missing:
        raise UserError(render.not_applied(found))
