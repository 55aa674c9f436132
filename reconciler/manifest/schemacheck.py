"""Is a tool's ``parameters`` a valid JSON Schema? ``check_schema`` decides, a fast path skips it.

jsonschema's ``check_schema`` against the 2020-12 meta-schema resolves a ``$dynamicRef`` for every
subschema and costs ~0.5 ms per small schema: most of the time of loading 1,600 tools. For the
default dialect we first try a flattened copy of that meta-schema (the vocabularies merged into one
schema, ``$dynamicRef: "#meta"`` replaced by ``$ref: "#"``, which is where it resolves when no
dialect extends 2020-12), compiled to Python by fastjsonschema (already the emulator's checker):
about 25 times faster. It uses only draft-07 keywords; a ``$ref`` beside other keywords (which
draft 7 would ignore) goes inside an ``allOf``, and the formats jsonschema does not check
(``uri``, ``uri-reference``) are not checked. It may be stricter than ``check_schema`` (it wants
integers where ``1.0`` would do), never laxer: a schema it rejects, or any other dialect, goes to
``check_schema``, which stays the authority and words the error. The fast path reads the
meta-schema's files from jsonschema-specifications without importing it or jsonschema (7 MB and
up to 90 ms that valid schemas do not need).

``$schema`` is checked first: jsonschema fails with a traceback on one that is not a string, and
quietly applies 2020-12 for a URI it does not know, which would check a typo'd dialect as another.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable
from functools import cache
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.kinds.fields import show

if TYPE_CHECKING:
    from jsonschema.exceptions import SchemaError

_VOCABULARY_KEYWORDS = ("$id", "$schema", "$vocabulary", "$dynamicAnchor", "$comment", "title")


def _static(node: Any) -> Any:
    """``node`` with ``{"$dynamicRef": "#meta"}`` made ``{"$ref": "#"}``, and every other ``$ref``
    (``meta/validation#/$defs/stringArray``) pointed at the merged ``$defs``."""
    if isinstance(node, dict):
        if node.get("$dynamicRef") == "#meta":
            node = {("$ref" if k == "$dynamicRef" else k): v for k, v in node.items()}
            node["$ref"] = "#"
        elif isinstance(node.get("$ref"), str):
            node = {**node, "$ref": "#" + node["$ref"].partition("#")[2]}
        node = {key: _static(value) for key, value in node.items()}
        if isinstance(node.get("$ref"), str) and len(node) > 1:
            node["allOf"] = [{"$ref": node.pop("$ref")}, *node.get("allOf", [])]
        return node
    if isinstance(node, list):
        return [_static(value) for value in node]
    return node


def meta_schemas() -> list[dict[str, Any]]:
    """The vocabularies of the 2020-12 meta-schema (``meta/core``...), then the meta-schema."""
    package = find_spec("jsonschema_specifications")  # found, not imported
    assert package is not None and package.submodule_search_locations
    folder = Path(package.submodule_search_locations[0], "schemas", "draft202012")
    meta = json.loads((folder / "metaschema.json").read_text(encoding="utf-8"))
    names = [part["$ref"].removeprefix("meta/") for part in meta["allOf"]]
    files = [folder / "vocabularies" / name for name in names]
    return [*(json.loads(file.read_text(encoding="utf-8")) for file in files), meta]


@cache
def fast_valid() -> Callable[[Any], bool]:
    """Whether a schema passes the flattened 2020-12 meta-schema (True: it is valid; False: ask
    ``check_schema``)."""
    import fastjsonschema

    flat: dict[str, Any] = {"type": ["object", "boolean"], "properties": {}, "$defs": {}}
    for part in meta_schemas():
        body = _static({k: v for k, v in part.items() if k not in _VOCABULARY_KEYWORDS})
        flat["properties"].update(body.pop("properties", {}))
        flat["$defs"].update(body.pop("$defs", {}))
        body.pop("allOf", None)
        body.pop("type", None)
        assert not body, f"meta-schema keywords not merged: {sorted(body)}"
    flat["$schema"] = "http://json-schema.org/draft-07/schema#"
    unchecked = dict.fromkeys(("uri", "uri-reference"), lambda value: True)
    check = fastjsonschema.compile(flat, formats=unchecked, use_default=False)

    def valid(schema: Any) -> bool:
        try:
            check(schema)
        except fastjsonschema.JsonSchemaException:
            return False
        return True

    return valid


def schema_error(schema: Any) -> SchemaError | None:
    """Why ``schema`` is not a valid JSON Schema of its dialect (``$schema``, default 2020-12).

    jsonschema is imported only for a schema that names its dialect or fails the fast path."""
    named = isinstance(schema, dict) and "$schema" in schema
    if not named and fast_valid()(schema):
        return None
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError
    from jsonschema.validators import validator_for

    if isinstance(schema, dict) and "$schema" in schema:
        dialect = schema["$schema"]
        known = isinstance(dialect, str) and validator_for(schema, default=None) is not None
        if not known:
            message = (
                f"$schema must be the URI of a JSON Schema dialect that evictl knows, such as "
                f"{Draft202012Validator.META_SCHEMA['$id']} (got {show(dialect)})"
            )
            return SchemaError(message, path=deque(["$schema"]))
    validator = validator_for(schema)
    if named and validator is Draft202012Validator and fast_valid()(schema):
        return None
    try:
        validator.check_schema(schema)
    except SchemaError as exc:
        return exc
    return None
