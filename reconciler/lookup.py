"""One live resource by ``KIND/NAME``, and its version numbers: what the commands about a single
resource (``evictl history``, ``evictl rollback``) look up before anything else, with the same
messages for a name or a version that is not there."""

from __future__ import annotations

from collections.abc import Sequence

from reconciler import addresses
from reconciler.client import HumeClient
from reconciler.errors import UserError
from reconciler.kinds import Kind, LiveVersion
from reconciler.manifest import Manifests, Resource


async def find_live(client: HumeClient, kind: Kind, name: str, command: str) -> LiveVersion:
    """The latest version of the one live resource called ``name`` (its kind's listing, since
    Hume's name filter may be loose); none, or several, is an error naming ``command``."""
    listing = await client.list(kind.name)
    found = [item for item in listing if item.name == name]
    target = kind.address(name)
    if not found:
        maybe = addresses.did_you_mean(kind.name, name, [item.name for item in listing])
        raise UserError(f"{command} {target}: no {kind.singular} named {name!r} in Hume{maybe}")
    if len(found) > 1:
        ids = ", ".join(item.id for item in found)
        raise UserError(
            f"{command} {target}: {len(found)} {kind.name} are named {name!r} in Hume "
            f"(ids {ids}); rename all but one"
        )
    return found[0]


def check_versions(
    kind: Kind, name: str, versions: Sequence[LiveVersion], wanted: Sequence[int]
) -> None:
    """Every ``wanted`` version number must be among ``versions``, or a message lists them."""
    numbers = [v.version for v in versions]
    missing = [number for number in wanted if number not in numbers]
    if missing:
        raise UserError(
            f"{kind.singular} {name!r} has no version {missing[0]} "
            f"(its versions: {version_ranges(numbers)})"
        )


def version_ranges(numbers: Sequence[int]) -> str:
    """``0-3, 5, 7-9``: version numbers, which deleted versions leave gaps in."""
    spans: list[list[int]] = []
    for number in sorted(numbers):
        if spans and number == spans[-1][1] + 1:
            spans[-1][1] = number
        else:
            spans.append([number, number])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)


def described_by(known: Manifests, kind: Kind, name: str) -> Resource | None:
    """The entry of ``known`` manifests for the live resource ``name`` (by a previous name too):
    where they say which of its values are secrets."""
    return next((r for r in known.of_kind(kind.name) if name in (r.name, *r.previous_names)), None)
