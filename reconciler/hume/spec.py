"""The bundled OpenAPI document, and JSON Schema validators built straight from it.

Nothing here is hand-modelled: schemas, enums and the operation table come from the document, so
a wrong belief about the API cannot hide in a model that both client and emulator share.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from referencing import Registry

SPEC_URI = "urn:evictl:evi-openapi"
_RESOURCE_PREFIX = "/v0/evi/"

SOURCE = "openapi.yaml"
"""The document as copied from upstream (``shared/spec/evi-openapi.yaml``)."""
LOADED = "openapi.json"
"""``SOURCE`` as JSON, what ``document()`` reads: it parses in about 1 ms, the YAML in 30 (even with
libyaml), and every command reads the spec's enums at start-up. Regenerate it after changing the
YAML with ``python -m reconciler.hume.spec`` (a test keeps them equal)."""


def _bundled(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


@cache
def document() -> dict[str, Any]:
    """The parsed OpenAPI document (parsed once, from ``LOADED``)."""
    return json.loads(_bundled(LOADED))


def source_document() -> dict[str, Any]:
    """``SOURCE`` parsed (the C loader when PyYAML has it): what ``LOADED`` must equal."""
    import yaml

    return yaml.load(_bundled(SOURCE), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _versioned_kinds() -> tuple[str, ...]:
    """Every kind with a ``/v0/evi/{kind}/{id}/version/{version}`` path, alphabetically.

    Sorted so that the order cannot move with the document's; it is not a dependency order.
    """
    versioned = re.compile(re.escape(_RESOURCE_PREFIX) + r"(\w+)/\{id\}/version/\{version\}$")
    return tuple(sorted(m[1] for path in document()["paths"] if (m := versioned.match(path))))


KINDS = _versioned_kinds()
"""The versioned kinds (configs, prompts, tools): the ones evictl manages."""


def singular(kind: str) -> str:
    """``prompt`` for ``prompts``: the word error messages use for one resource of a kind."""
    return kind.removesuffix("s")


@cache
def _registry() -> Registry:
    # jsonschema and referencing are imported where they are used: the manifest models import
    # this module for its enums, and ``evictl validate`` should not pay for schema machinery.
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    return Registry().with_resource(SPEC_URI, Resource(document(), DRAFT202012))


def ref(schema_name: str) -> str:
    """The JSON pointer reference of a component schema inside the bundled document."""
    return f"{SPEC_URI}#/components/schemas/{schema_name}"


@cache
def validator(schema_ref: str) -> Draft202012Validator:
    """A ``$ref`` validator (OpenAPI 3.1 schemas are JSON Schema 2020-12)."""
    from jsonschema import Draft202012Validator

    return Draft202012Validator({"$ref": schema_ref}, registry=_registry())


@cache
def compiled_check(schema_ref: str) -> Callable[[Any], Any]:
    """A compiled check for hot paths (about 25x faster than ``validator``), first error only.

    Raises ``fastjsonschema.JsonSchemaValueException``. The schemas use only draft-07 keywords
    (type unions with null, $ref, oneOf, enum, required), which fastjsonschema implements.
    """
    import fastjsonschema

    pointer = schema_ref.removeprefix(SPEC_URI)
    schema = {"$ref": pointer, "components": document()["components"]}
    uuid = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    return fastjsonschema.compile(schema, formats={"uuid": uuid, "int64": ".*", "double": ".*"})


def resolve(schema_ref: str) -> dict[str, Any]:
    """The schema a reference into the document (an operation's ``request_ref``) points at."""
    return _registry().resolver().lookup(schema_ref).contents


def component(schema_name: str) -> dict[str, Any]:
    """A component schema as written in the document."""
    return document()["components"]["schemas"][schema_name]


def enum_values(schema_name: str) -> tuple[str, ...]:
    """The values of an enum component (model providers, language models, voice providers, ...)."""
    return tuple(component(schema_name)["enum"])


@dataclass(frozen=True)
class Operation:
    """One operation of the document: where it lives, what it takes and what it returns."""

    operation_id: str
    method: str
    path: str
    kind: str
    request_ref: str | None
    success_status: int
    response_ref: str


def _schema_ref(content: dict[str, Any] | None) -> str | None:
    if not content:
        return None
    pointer = content.get("application/json", {}).get("schema", {}).get("$ref")
    return f"{SPEC_URI}{pointer}" if pointer else None


def _path_operations(path: str) -> list[Operation]:
    """The operations of one path of the document."""
    kind = path.removeprefix(_RESOURCE_PREFIX).split("/")[0]
    ops = []
    for method, op in document()["paths"][path].items():
        if method == "parameters":
            continue
        (status, response), *_ = op["responses"].items()
        response_ref = _schema_ref(response.get("content"))
        assert response_ref is not None, f"{op['operationId']} declares no JSON response"
        ops.append(
            Operation(
                operation_id=op["operationId"],
                method=method.upper(),
                path=path,
                kind=kind,
                request_ref=_schema_ref(op.get("requestBody", {}).get("content")),
                success_status=int(status),
                response_ref=response_ref,
            )
        )
    return ops


@cache
def operations() -> tuple[Operation, ...]:
    """Every operation on a versioned kind (``KINDS``), in document order."""
    return tuple(
        op
        for path in document()["paths"]
        if path.startswith(_RESOURCE_PREFIX)
        and path.removeprefix(_RESOURCE_PREFIX).split("/")[0] in KINDS
        for op in _path_operations(path)
    )


CHAT_PATHS = (f"{_RESOURCE_PREFIX}chats", f"{_RESOURCE_PREFIX}chats/{{id}}")
"""The chat reads the emulator serves (list-chats, list-chat-events): enough for evictl to see
which configs chats use; the audio and chat-group reads stay unserved."""


@cache
def chat_operations() -> tuple[Operation, ...]:
    """The operations of ``CHAT_PATHS``; not in ``operations()``, which is the versioned kinds'."""
    return tuple(op for path in CHAT_PATHS for op in _path_operations(path))


@cache
def version_fields(kind: str) -> tuple[str, ...]:
    """The fields a version of a kind holds: those its new-version request takes.

    Read from ``POST /v0/evi/{kind}/{id}``, so a kind's stored shape has no second definition.
    """
    path = f"{_RESOURCE_PREFIX}{kind}/{{id}}"
    (op,) = (op for op in operations() if op.method == "POST" and op.path == path)
    assert op.request_ref is not None, f"{op.operation_id} declares no request body"
    return tuple(resolve(op.request_ref)["properties"])


if __name__ == "__main__":
    # Regenerate LOADED from SOURCE, replacing it at once: every command reads it.
    target = Path(__file__).with_name(LOADED)
    text = json.dumps(source_document(), indent=1, ensure_ascii=False) + "\n"
    target.with_suffix(".tmp").write_text(text, encoding="utf-8")
    target.with_suffix(".tmp").replace(target)
