"""What a deployment needs from the account: each managed resource's id and latest version.

Every EVI client connects with a ``config_id``, so after an apply the ids have to reach the apps.
This module is pure (manifests and a snapshot → ``Outputs``); ``reconciler.render.outputs``
turns the result into JSON, env lines or a table, and ``evictl output`` reads the account for it.

The JSON document (``format_version`` 1) is ``Outputs.model_dump(mode="json")``:

- ``resources``: one entry per resource the manifests describe (``absent`` ones left out), in
  registry order then file order: ``kind``, ``name``, ``id`` and ``version`` (the latest version
  in the account; both null when the account lacks it), ``source`` (``file:line``) and ``uses``:
  per reference field of the kind (a config's ``prompt`` and ``tools``), what the latest version
  pins, ``{kind, name, id, version}`` (``version`` null: it follows the latest; ``name`` null: the
  account lists no such resource); a single field is null when unset, a list field a list.
- ``missing``: the addresses (``configs/support-line``) of the resources the account lacks.
"""

from __future__ import annotations

from collections import defaultdict

from pydantic import BaseModel, ConfigDict

from reconciler.kinds import REGISTRY, Kind, LiveVersion, address
from reconciler.manifest import Manifests
from reconciler.planner.planner import only_one
from reconciler.snapshot import Snapshot

FORMAT_VERSION = 1


class Pinned(BaseModel):
    """A resource another one uses, at the version the user's latest version pins."""

    model_config = ConfigDict(frozen=True)

    kind: str
    name: str | None
    id: str
    version: int | None
    """None: the reference follows the latest version."""


class Output(BaseModel):
    """One managed resource as the account has it (``id`` None: the account lacks it)."""

    model_config = ConfigDict(frozen=True)

    kind: str
    name: str
    id: str | None
    version: int | None
    source: str
    uses: dict[str, Pinned | list[Pinned] | None]

    @property
    def address(self) -> str:
        return address(self.kind, self.name)


class Outputs(BaseModel):
    """The ``evictl output`` document."""

    model_config = ConfigDict(frozen=True)

    format_version: int = FORMAT_VERSION
    resources: tuple[Output, ...] = ()
    missing: tuple[str, ...] = ()


def outputs(manifests: Manifests, live: Snapshot) -> Outputs:
    """Each resource the manifests describe, matched by name with the account's latest version.

    Only the name counts: a resource still under one of its ``previous_names`` in the account is
    missing (its rename is not applied yet), like any other pending change.
    """
    names = {
        (kind.name, item.id): item.name for kind in REGISTRY for item in live.of_kind(kind.name)
    }
    found = []
    for kind in REGISTRY:
        named: dict[str, list[LiveVersion]] = defaultdict(list)
        for item in live.of_kind(kind.name):
            named[item.name].append(item)
        for resource in manifests.of_kind(kind.name):
            if resource.absent:
                continue
            item = only_one(kind, resource.name, named.get(resource.name, []), resource.source)
            found.append(
                Output(
                    kind=kind.name,
                    name=resource.name,
                    id=None if item is None else item.id,
                    version=None if item is None else item.version,
                    source=str(resource.source),
                    uses=_uses(kind, item, names),
                )
            )
    missing = tuple(output.address for output in found if output.id is None)
    return Outputs(resources=tuple(found), missing=missing)


def _uses(
    kind: Kind, live: LiveVersion | None, names: dict[tuple[str, str], str]
) -> dict[str, Pinned | list[Pinned] | None]:
    """What ``live`` references, per reference field of its kind (empty when it is missing)."""
    if live is None:
        return {}
    uses: dict[str, Pinned | list[Pinned] | None] = {
        ref.field: [] if ref.many else None for ref in kind.refs
    }
    for ref in kind.live_references(live):
        assert ref.id is not None
        pinned = Pinned(
            kind=ref.kind, name=names.get((ref.kind, ref.id)), id=ref.id, version=ref.version
        )
        listed = uses[ref.field]
        if isinstance(listed, list):
            listed.append(pinned)
        else:
            uses[ref.field] = pinned
    return uses
