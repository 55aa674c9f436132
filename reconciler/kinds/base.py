"""What a kind of resource is: one descriptor that every stage reads instead of naming kinds.

A ``Kind`` holds what is specific to prompts, tools or configs: its manifest and live models, the
spec schema of a new version's body, the fields that reference other kinds, its hooks for the one
canonicaliser, and its export layout. Stages (loader, snapshot, planner, applier, drift, export)
loop over the registry and ask the descriptor; none of them branches on a kind's name. Bodies
(what a version posts, and a live version in that shape) are derived here from the descriptor,
so a new kind needs no body code of its own.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from pydantic import BaseModel, ConfigDict

from reconciler.hume import spec


class LiveVersion(BaseModel):
    """What every versioned resource answers with; tolerant of fields the API adds over time.

    Nested settings stay plain mappings: the canonicaliser, not these models, decides which of
    their keys matter, so an unknown nested field can never break a read.
    """

    model_config = ConfigDict(extra="allow", frozen=True)

    id: str
    version: int
    name: str
    version_description: str | None = None
    version_type: str | None = None
    created_on: int | None = None
    modified_on: int | None = None


@dataclass(frozen=True)
class RefField:
    """A field of a resource that references resources of another kind by id and version."""

    field: str
    """The field name, the same in the manifest, the posted body and the live answer."""
    target: str
    """The kind it references."""
    many: bool = False
    """A list of references (``tools``) rather than one (``prompt``)."""


@dataclass(frozen=True)
class Ref:
    """One reference of a resource: to a managed resource by ``name``, or to any by ``id``.

    ``version`` None means "the latest": for a name, the version apply leaves; for an id, a
    reference that follows the latest version in Hume.
    """

    kind: str
    field: str
    index: int | None
    name: str | None = None
    id: str | None = None
    version: int | None = None

    @property
    def path(self) -> tuple[str | int, ...]:
        """Where the reference stands inside its resource: ``("tools", 1)`` or ``("prompt",)``."""
        return (self.field,) if self.index is None else (self.field, self.index)

    @property
    def address(self) -> str | None:
        """``prompts/greeter`` for a reference by name (the resource these manifests manage)."""
        return None if self.name is None else address(self.kind, self.name)


def address(kind: str, name: str) -> str:
    """``KIND/NAME``: how plans, ``--target`` and ``depends_on`` name a resource."""
    return f"{kind}/{name}"


Normalise = Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]
"""A kind's last canonical step: ``(projected, like) -> projected``, ``like`` being the desired
side's projection (so both sides are compared on what the user wrote)."""


def _unchanged(projected: dict[str, Any], like: dict[str, Any]) -> dict[str, Any]:
    return projected


Advice = Callable[[Any], Iterator[tuple[tuple[str, ...], str]]]
"""A kind's warnings about a valid resource: ``(path, message)`` for what is likely a mistake
but not an error (the mapping behind it changes faster than evictl)."""


def _no_advice(resource: Any) -> Iterator[tuple[tuple[str, ...], str]]:
    return iter(())


Exported = Callable[[dict[str, Any], frozenset[tuple[str, ...]]], dict[str, Any]]
"""A kind's adjustment of a live body before export: ``(body, written) -> body``, ``written``
being the key paths the existing manifest entry sets."""


def _as_is(body: dict[str, Any], written: frozenset[tuple[str, ...]]) -> dict[str, Any]:
    return body


@dataclass(frozen=True)
class Kind:
    """Everything specific to one kind of versioned resource."""

    name: str
    """``prompts``: the API path segment, the manifest key and the plan's address prefix."""
    singular: str
    spec: type[BaseModel]
    """The manifest model users write (what ``evictl schema`` describes)."""
    resource: type[BaseModel]
    """The loaded desired-state model (the spec plus source and secret paths)."""
    live: type[LiveVersion]
    posted_schema: str
    """The spec component of a new version's body."""
    refs: tuple[RefField, ...] = ()
    json_strings: tuple[str, ...] = ()
    """Fields sent as JSON text and compared parsed (a tool's ``parameters``)."""
    json_schemas: tuple[str, ...] = ()
    """Fields holding a JSON Schema, checked offline against its dialect's meta-schema."""
    whole_values: tuple[str, ...] = ()
    """Fields compared and shown as one value, not key by key."""
    unordered: Mapping[str, str | None] = field(default_factory=dict)
    """Lists whose order means nothing, by dotted path (``webhooks.events``), with the key each
    item sorts by (None: the items themselves)."""
    normalise: Normalise = _unchanged
    list_omits: tuple[str, ...] = ()
    """Fields that list items leave out: read one version at a time when the manifests set them."""
    text_file: tuple[str, str] | None = None
    """``(file field, text field)``: the loader reads the file a manifest names into the text
    field, and export moves long texts to files (a prompt's ``text_file`` and ``text``)."""
    export_order: tuple[str, ...] = ()
    """Key order of an exported entry: the order of the format's documentation."""
    exported: Exported = _as_is
    advice: Advice = _no_advice
    uses_voice: Callable[[Any], bool] = lambda resource: False
    """Whether a resource names one of the account's own voices (read then, to check it)."""
    voice_problem: Callable[[Any, Any], str | None] = lambda resource, voices: None
    """Why the voice a resource names is not among the account's voices, if it is not."""
    chats: bool = False
    """Live chats run on it (``GET /v0/evi/chats?config_id=``): deleting or versioning it
    touches live traffic, so plans read its chats first."""

    @cached_property
    def settings(self) -> tuple[str, ...]:
        """The posted body's fields that are the resource's own, references excluded."""
        ref_fields = {ref.field for ref in self.refs}
        properties = spec.component(self.posted_schema)["properties"]
        return tuple(name for name in properties if name not in ref_fields)

    @cached_property
    def ref_fields(self) -> tuple[str, ...]:
        """The names of the fields that reference other kinds."""
        return tuple(ref.field for ref in self.refs)

    @property
    def file(self) -> str:
        """The manifest file export writes new entries of this kind to."""
        return f"{self.name}.yaml"

    def address(self, name: str) -> str:
        """``prompts/greeter``."""
        return address(self.name, name)

    def settings_body(self, resource: BaseModel) -> dict[str, Any]:
        """What a new version of ``resource`` posts, its references left out."""
        body = resource.model_dump(mode="json", include=set(self.settings), exclude_none=True)
        for name in self.json_strings:
            if name in body:
                body[name] = json.dumps(body[name])
        return body

    def references(self, resource: BaseModel) -> Iterator[Ref]:
        """The references a desired resource makes, in field order."""
        if getattr(resource, "absent", False):
            return
        for ref_field in self.refs:
            value = getattr(resource, ref_field.field)
            items = enumerate(value or ()) if ref_field.many else [(None, value)]
            for index, item in items:
                if item is not None:
                    yield Ref(
                        ref_field.target, ref_field.field, index, item.name, item.id, item.version
                    )

    def live_references(self, live: LiveVersion) -> Iterator[Ref]:
        """What a live version references: ids, and the pinned version (None: follows latest)."""
        for ref_field in self.refs:
            value = getattr(live, ref_field.field)
            items = enumerate(value or ()) if ref_field.many else [(None, value)]
            for index, item in items:
                if item is not None:
                    following = item.version_type == "LATEST"
                    yield Ref(
                        ref_field.target,
                        ref_field.field,
                        index,
                        id=item.id,
                        version=None if following else item.version,
                    )

    def with_references(
        self, body: dict[str, Any], pins: Mapping[str, list[tuple[str, int | None]]]
    ) -> dict[str, Any]:
        """``body`` with its references as the wire has them: ``{id, version}`` (null: latest).

        ``pins`` lists the (id, version) of each reference field; a list field is always sent
        (an empty list clears it), a single one only when set.
        """
        wired = dict(body)
        for ref_field in self.refs:
            items = [{"id": id_, "version": v} for id_, v in pins.get(ref_field.field, [])]
            if ref_field.many:
                wired[ref_field.field] = items
            elif items:
                wired[ref_field.field] = items[0]
        return wired

    def live_body(self, live: LiveVersion) -> dict[str, Any]:
        """A live version in the posted wire shape, references as ``{id, version}``."""
        body = live.model_dump(mode="json", include=set(self.settings))
        pins: dict[str, list[tuple[str, int | None]]] = {}
        for ref in self.live_references(live):
            assert ref.id is not None
            pins.setdefault(ref.field, []).append((ref.id, ref.version))
        body = self.with_references(body, pins)
        for ref_field in self.refs:
            body.setdefault(ref_field.field, None)
        return body
