"""The JSON Schema editors read (``evictl schema``): the manifest models, described by the spec.

Pydantic derives the shape from the models. Two things are added here, for every kind at once:
- each property's description, taken from the spec document where the property has a
  counterpart there, so that hover text is Hume's own words and cannot drift from them; a
  description the model gives itself (evictl's own fields: ``name``, ``absent``, references by
  name, ...) wins, on purpose;
- ``${...}`` strings wherever a scalar is constrained (numbers, booleans, enums, patterns): the
  loader substitutes variables before it validates, so ``temperature: "${TEMP}"`` is valid.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from reconciler.hume import spec
from reconciler.kinds import REGISTRY, Kind
from reconciler.manifest.interpolate import PATTERN
from reconciler.manifest.model import ManifestDocument

Schema = dict[str, Any]

INTERPOLATION = "Interpolation"
"""The ``$defs`` entry of a string holding a ``${...}`` (its description documents the syntax)."""
_INTERPOLATION_REF = {"$ref": f"#/$defs/{INTERPOLATION}"}
_CONSTRAINED = ("enum", "const", "pattern", "format")
"""String keywords that a ``${...}`` string may fail although its value, once substituted,
would pass."""
_ANNOTATIONS = ("title", "description", "default", "examples")


def manifest_schema() -> Schema:
    """The JSON Schema of a manifest document, as ``evictl schema`` prints it."""
    schema = ManifestDocument.model_json_schema()
    definitions = schema["$defs"]
    describe(schema, definitions)
    for node in (schema, *definitions.values()):
        _allow_interpolation(node)
    definitions[INTERPOLATION] = {
        "type": "string",
        "pattern": PATTERN,
        "description": (
            "A value from a variable, substituted before evictl validates it: ${NAME}, "
            "${NAME:-default} or ${secret:NAME} (redacted in every output)."
        ),
    }
    schema["$defs"] = dict(sorted(definitions.items()))
    return schema


def spec_counterparts(kind: Kind) -> list[Schema]:
    """The spec's bodies for a kind's resource, most specific first: the new version's body,
    the other bodies its POST operations take, then what they return."""
    posts = [op for op in spec.operations() if op.kind == kind.name and op.method == "POST"]
    refs = [spec.ref(kind.posted_schema)]
    refs += [op.request_ref for op in posts if op.request_ref]
    refs += [op.response_ref for op in posts]
    return [spec.resolve(ref) for ref in dict.fromkeys(refs)]


def describe(schema: Schema, definitions: dict[str, Schema]) -> None:
    """Give each property without a description of its own the spec's description.

    A ``$defs`` model reached from several spec schemas (a reference is a prompt's or a tool's)
    gets a spec description only where they all agree; elsewhere the model must describe it.
    """
    contexts: dict[str, list[list[Schema]]] = {}
    pending = [
        (name, [spec_counterparts(kind)])
        for kind in REGISTRY
        for name in _definitions_in(schema["properties"][kind.name])
    ]
    while pending:
        name, new = pending.pop()
        known = contexts.setdefault(name, [])
        new = [context for context in new if context not in known]
        if not new:
            continue
        known.extend(new)
        for prop, node in definitions[name].get("properties", {}).items():
            for context in new:
                inner = [s for parent in context for s in _objects_in(parent, prop)]
                pending.extend((found, [inner]) for found in _definitions_in(node) if inner)
    for name, found in contexts.items():
        for prop, node in definitions[name].get("properties", {}).items():
            texts = {_spec_description(context, prop) for context in found}
            if "description" not in node and len(texts) == 1 and (text := texts.pop()):
                node["description"] = text


def _spec_description(context: list[Schema], prop: str) -> str | None:
    """The first description the spec gives ``prop`` in any schema of ``context``: its own, or
    that of the schema it references."""
    for parent in context:
        node = _properties(parent).get(prop)
        while node is not None:
            if node.get("description"):
                return node["description"]
            node = _resolve(node["$ref"]) if "$ref" in node else None
    return None


def _properties(schema: Schema) -> Schema:
    """A spec object's properties, those of its ``oneOf``/``anyOf``/``allOf`` branches too (a
    voice is by id or by name)."""
    found: Schema = {}
    for branch in _branches(schema):
        for prop, node in branch.get("properties", {}).items():
            found.setdefault(prop, node)
    return found


def _branches(schema: Schema) -> Iterator[Schema]:
    """``schema`` and the schemas it stands for: references followed, unions and arrays opened."""
    if "$ref" in schema:
        yield from _branches(_resolve(schema["$ref"]))
        return
    yield schema
    for keyword in ("oneOf", "anyOf", "allOf"):
        for branch in schema.get(keyword, ()):
            yield from _branches(branch)
    if isinstance(schema.get("items"), dict):
        yield from _branches(schema["items"])


def _objects_in(parent: Schema, prop: str) -> list[Schema]:
    """The spec objects that property ``prop`` of ``parent`` holds."""
    node = _properties(parent).get(prop)
    return [] if node is None else [s for s in _branches(node) if "properties" in s]


def _resolve(ref: str) -> Schema:
    return spec.resolve(f"{spec.SPEC_URI}{ref}")


def _definitions_in(node: Schema) -> Iterator[str]:
    """The ``$defs`` models a manifest property holds (through unions and arrays)."""
    if "$ref" in node:
        yield node["$ref"].rsplit("/", 1)[-1]
    for branch in node.get("anyOf", ()):
        yield from _definitions_in(branch)
    if isinstance(node.get("items"), dict):
        yield from _definitions_in(node["items"])


def _allow_interpolation(node: Schema) -> None:
    """Let every constrained scalar under ``node``'s properties also be a ``${...}`` string."""
    for keyword in ("anyOf", "allOf", "oneOf"):
        for branch in node.get(keyword, ()):
            _allow_interpolation(branch)
    for prop, value in node.get("properties", {}).items():
        node["properties"][prop] = _interpolable(value)


def _interpolable(node: Schema) -> Schema:
    """``node``, or an ``anyOf`` of it and a ``${...}`` string if a substituted string could pass
    where the ``${...}`` as written would not."""
    if "anyOf" in node:
        branches = [_items_interpolable(branch) for branch in node["anyOf"]]
        if any(_constrained_scalar(branch) for branch in branches):
            branches.append(_INTERPOLATION_REF)
        return {**node, "anyOf": branches}
    node = _items_interpolable(node)
    if not _constrained_scalar(node):
        return node
    kept = {key: node[key] for key in _ANNOTATIONS if key in node}
    value = {key: item for key, item in node.items() if key not in _ANNOTATIONS}
    return {**kept, "anyOf": [value, _INTERPOLATION_REF]}


def _items_interpolable(node: Schema) -> Schema:
    if node.get("type") == "array" and isinstance(node.get("items"), dict):
        return {**node, "items": _interpolable(node["items"])}
    return node


def _constrained_scalar(node: Schema) -> bool:
    if "const" in node or node.get("type") in ("number", "integer", "boolean"):
        return True
    return node.get("type") == "string" and any(key in node for key in _CONSTRAINED)
