"""``evictl history KIND/NAME``: every version of one live resource and what each one changed.

History is of the live resource, found by name in its kind's listing: it needs no manifests.
PATH, if given, is the manifest root: its secrets are masked (by value, and where its entry for
the resource substitutes one, whatever an old version holds there), and ``hume-facts.json`` is
looked for there, as for plan. Read-only, like drift: the client refuses any request but a GET
before sending it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import click

from reconciler import addresses, aio
from reconciler import history as histories
from reconciler.cli.options import (
    NO_COLOR,
    connection_options,
    format_option,
    manifest_options,
)
from reconciler.client import HumeClient
from reconciler.drift import read_only
from reconciler.errors import UserError
from reconciler.kinds import KINDS, Kind, LiveVersion
from reconciler.lookup import check_versions, find_live
from reconciler.render import history as render
from reconciler.workflow import Connection

RENDERERS = {"text": render.as_text, "json": render.as_json}


@click.command(name="history")
@NO_COLOR
@click.argument("target", metavar="KIND/NAME")
@click.argument("path", required=False, type=click.Path(path_type=Path))
@manifest_options
@connection_options
@format_option(list(RENDERERS))
@click.option("--limit", type=click.IntRange(min=1), help="Show only the newest N versions.")
@click.option(
    "--diff", nargs=2, type=int, metavar="A B", help="Compare version B with version A instead."
)
def history(
    target: str,
    path: Path | None,
    variables: dict[str, str],
    connection: Connection,
    fmt: str,
    limit: int | None,
    diff: tuple[int, int] | None,
) -> None:
    """Show every version of the live resource KIND/NAME (e.g. prompts/greeter), newest first,
    with what each changed from the version before it (read-only).

    PATH, your manifest root (optional), masks its secrets in the output and locates
    hume-facts.json (default: here). Without it, values are shown as Hume stores them.
    """
    from reconciler.lookup import described_by
    from reconciler.manifest import Manifests, load_manifests

    if limit is not None and diff is not None:
        raise UserError("--limit and --diff do not go together: --diff shows one comparison")
    kind_name, name = addresses.split(target, "history")
    known = load_manifests(path, variables) if path is not None else Manifests()
    connection.use_facts(path or Path("."))
    kind = KINDS[kind_name]
    document = aio.run(_read(connection, kind, name, limit, diff))
    entry = described_by(known, kind, document.name)
    spans = entry.secret_spans if entry is not None else ()
    document = histories.masked(document, spans, known.redact)
    click.echo(RENDERERS[fmt](document, known.redact))


async def _read(
    connection: Connection,
    kind: Kind,
    name: str,
    limit: int | None,
    diff: tuple[int, int] | None,
) -> histories.History:
    """The resource's versions (in full where version lists leave fields out) and the names of
    what they reference, compared."""
    async with connection.client() as client:
        read_only(client, "history")
        id_ = (await find_live(client, kind, name, "history")).id
        versions = await client.list_versions(kind.name, id_)
        wanted = list(diff) if diff is not None else histories.needed(versions, limit)
        check_versions(kind, name, versions, wanted)
        versions, names = await asyncio.gather(
            _in_full(client, kind, id_, versions, wanted), _names(client, kind)
        )
    if diff is not None:
        return histories.compare(kind, versions, names, *diff)
    return histories.history(kind, versions, names, limit)


async def _in_full(
    client: HumeClient, kind: Kind, id_: str, versions: list[LiveVersion], wanted: Sequence[int]
) -> list[LiveVersion]:
    """``versions`` with the ``wanted`` ones read one by one when version lists leave out fields
    (``Kind.list_omits``: a prompt's ``prompt_expansion``), so no change goes unseen."""
    if not kind.list_omits:
        return versions
    full = await asyncio.gather(*(client.get_version(kind.name, id_, n) for n in set(wanted)))
    by_number = {v.version: v for v in versions} | {v.version: v for v in full}
    return list(by_number.values())


async def _names(client: HumeClient, kind: Kind) -> dict[str, str]:
    """The current names of every resource of the kinds ``kind`` references, by id."""
    targets = sorted({ref.target for ref in kind.refs})
    listings = await asyncio.gather(*(client.list(target) for target in targets))
    return {item.id: item.name for listing in listings for item in listing}
