"""Is a tool's ``parameters`` a valid JSON Schema? ``check_schema`` decides, a fast path skips it.

jsonschema's ``check_schema`` against the 2020-12 meta-schema resolves a ``$dynamicRef`` for every
subschema and costs ~0.5 ms per small schema: most of the time of loading 1,600 tools. For the
default dialect we first try a flattened copy of that meta-schema (the vocabularies merged into one
schema, ``$dynamicRef: "#meta"`` replaced by ``$ref: "#"``, which is where it resolves when no
dialect extends 2020-12). It is five times faster; a schema it rejects, or any other dialect, goes
to ``check_schema``, which stays the authority and words the error.

``$schema`` is checked first: jsonschema fails with a traceback on one that is not a string, and
quietly applies 2020-12 for a URI it does not know, which would check a typo'd dialect as another.
"""

from __future__ import annotations

from collections import deque
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from reconciler.kinds.fields import show

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
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
        return {key: _static(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_static(value) for value in node]
    return node


@cache
def _flat_meta_validator() -> Draft202012Validator:
    from jsonschema import Draft202012Validator
    from jsonschema_specifications import REGISTRY

    meta = Draft202012Validator.META_SCHEMA
    flat: dict[str, Any] = {"type": ["object", "boolean"], "properties": {}, "$defs": {}}
    parts = [REGISTRY.contents(urljoin(meta["$id"], part["$ref"])) for part in meta["allOf"]]
    for part in [*parts, meta]:
        body = _static({k: v for k, v in part.items() if k not in _VOCABULARY_KEYWORDS})
        flat["properties"].update(body.pop("properties", {}))
        flat["$defs"].update(body.pop("$defs", {}))
        body.pop("allOf", None)
        body.pop("type", None)
        assert not body, f"meta-schema keywords not merged: {sorted(body)}"
    return Draft202012Validator(flat, format_checker=Draft202012Validator.FORMAT_CHECKER)


def schema_error(schema: Any) -> SchemaError | None:
    """Why ``schema`` is not a valid JSON Schema of its dialect (``$schema``, default 2020-12).

    jsonschema is imported on the first call: manifests without tool parameters never load it."""
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
    if validator is Draft202012Validator and _flat_meta_validator().is_valid(schema):
        return None
    try:
        validator.check_schema(schema)
    except SchemaError as exc:
        return exc
    return None
