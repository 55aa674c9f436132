"""The one definition of "equal": both the desired and the live side pass through here.

A version's *content* is what a new version would change; its *description* is patched in place
and compared on its own. Canonical content is the posted wire shape (``posted_*_version`` in the
spec) with:

- server defaults filled in from ``reconciler.hume.facts`` (so omitted == the server's default);
- only the keys the posted schema defines (unknown live fields, server-only fields dropped);
- nulls dropped (so ``null`` == omitted), ``version_description`` null == "";
- JSON-text fields parsed (``Kind.json_strings``: a tool's ``parameters``);
- floats rounded to ``FLOAT_DIGITS`` decimals (with deepdiff's numeric-type leniency, 1 == 1.0);
- lists with no meaningful order sorted (``Kind.unordered``: a config's tools, built-in tools,
  webhooks and webhook events), and the kind's own last step (``Kind.normalise``).
"""

from __future__ import annotations

import json
import pickle
from functools import cache
from typing import Any

from reconciler.hume import facts, spec
from reconciler.kinds import KINDS

FLOAT_DIGITS = 6
_defaults: dict[str, dict[str, Any]] | None = None
"""The server defaults that "omitted" is compared with: ``facts.SERVER_DEFAULTS``, unless a
facts file learned from the real Hume replaces them (``use_facts``)."""


def use_facts(defaults: dict[str, dict[str, Any]] | None) -> None:
    """Compare with these server defaults from now on (None: the built-in table).

    Set once, at the edge (the workflow), from the facts file: equality must not change while a
    plan is being made.
    """
    global _defaults
    _defaults = defaults
    server_defaults.cache_clear()
    _omitted.cache_clear()
    _FIELDS.clear()


@cache
def server_defaults(kind: str) -> dict[str, Any]:
    """What the server stores for an empty body of ``kind`` (read only)."""
    return facts.fill_defaults(kind, {}, defaults=_defaults)


@cache
def _omitted(kind: str) -> dict[str, bytes]:
    """What each field the server fills in projects to when a body omits it, pickled.

    Filling and projecting the same defaults again for every resource was half of
    canonicalising a config; unpickling gives each content its own copy, as projecting did.
    """
    projected = _project(spec.component(KINDS[kind].posted_schema), server_defaults(kind))
    return {field: pickle.dumps(value) for field, value in projected.items()}


_FIELDS: dict[tuple[str, str, bytes], bytes] = {}
"""Projected field values by kind, field and the value, all pickled: across ten thousand
resources most settings (a voice, a language model, event messages) repeat. Pickling is the
fastest exact key (1, 1.0 and true differ, as they do in a diff) and copy."""
_FIELDS_KEPT = 50_000


def _field(kind: str, key: str, value: Any) -> Any:
    """One top-level field's value, over its server default and projected: a fresh copy."""
    try:
        text: bytes | None = pickle.dumps(value)
    except (pickle.PicklingError, TypeError, AttributeError):
        text = None
    blob = _FIELDS.get((kind, key, text)) if text is not None else None
    if blob is None:
        defaults = server_defaults(kind)
        if key in defaults:
            value = facts.merge(defaults[key], value, share=True)
        projected = _project(spec.component(KINDS[kind].posted_schema)["properties"][key], value)
        if text is None:
            return projected
        if len(_FIELDS) >= _FIELDS_KEPT:
            _FIELDS.clear()
        blob = _FIELDS[kind, key, text] = pickle.dumps(projected)
    return pickle.loads(blob)


_NOT_CONTENT = ("version_description",)


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec.component(schema["$ref"].rsplit("/", 1)[-1])
    return schema


_OBJECTS: dict[int, dict[str, Any] | None] = {}
"""``_object_schema`` by the id of its argument: the spec's schemas live as long as the process."""


def _object_schema(schema: dict[str, Any]) -> dict[str, Any] | None:
    """The object schema inside a property (following refs, nullable unions and oneOf)."""
    key = id(schema)
    if key not in _OBJECTS:
        _OBJECTS[key] = _find_object_schema(schema)
    return _OBJECTS[key]


def _find_object_schema(schema: dict[str, Any]) -> dict[str, Any] | None:
    schema = _resolve(schema)
    for key in ("oneOf", "anyOf"):
        if key in schema:
            props: dict[str, Any] = {}
            for option in schema[key]:
                sub = _object_schema(option)
                if sub:
                    props.update(sub["properties"])
            return {"properties": props}
    if "properties" in schema:
        return schema
    return None


def _project(schema: dict[str, Any] | None, value: Any) -> Any:
    """Keep the keys the schema defines, recursively; drop nulls; round floats."""
    if isinstance(value, dict):
        obj = _object_schema(schema) if schema else None
        if obj is None:
            return {
                key: _project(None, item) if isinstance(item, _NESTED) else item
                for key, item in value.items()
                if item is not None
            }
        props = obj["properties"]
        return {
            key: _project(props[key], item) if isinstance(item, _NESTED) else item
            for key, item in value.items()
            if key in props and item is not None
        }
    if isinstance(value, list):
        items = _resolve(schema).get("items") if schema else None
        return [_project(items, item) if isinstance(item, _NESTED) else item for item in value]
    if isinstance(value, float):
        return round(value, FLOAT_DIGITS)
    return value


_NESTED = (dict, list, float)
"""What ``_project`` changes; anything else (strings, integers, booleans) is kept as it is, and
not calling it for those saves a call per leaf (a large plan has hundreds of thousands)."""


def _sort_unordered(value: Any, path: list[str], key: str | None) -> Any:
    """``value`` with the list at ``path`` (entered through lists of mappings) sorted by ``key``;
    ``value`` itself when nothing there has two items to order (no copy)."""
    if isinstance(value, list):
        return [_sort_unordered(item, path, key) for item in value] if value else value
    if not isinstance(value, dict) or path[0] not in value:
        return value
    head, *rest = path
    if rest:
        inner = _sort_unordered(value[head], rest, key)
        return value if inner is value[head] else {**value, head: inner}
    items = value[head]
    if not isinstance(items, list) or len(items) < 2:
        return value
    by = (lambda item: item.get(key)) if key is not None else (lambda item: item)
    return {**value, head: sorted(items, key=lambda item: json.dumps(by(item), sort_keys=True))}


def content(
    kind: str, body: dict[str, Any], *, like: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The canonical content of a version given in posted wire shape (desired or live).

    ``like`` is the desired body a live one is compared with: where the wire allows two forms of
    one value (a voice by id or by name), each side is compared in the form the user wrote.
    """
    descriptor = KINDS[kind]
    props = spec.component(descriptor.posted_schema)["properties"]
    omitted = _omitted(kind)
    projected = {}
    for key, value in body.items():  # as facts.fill_defaults orders them: the body's keys first
        if key not in props:
            continue
        if value is None:
            if key in omitted:
                projected[key] = pickle.loads(omitted[key])
            continue
        projected[key] = _field(kind, key, value) if isinstance(value, _NESTED) else value
    for key, default in omitted.items():
        if key not in body:
            projected[key] = pickle.loads(default)
    for key in _NOT_CONTENT:
        projected.pop(key, None)
    for name in descriptor.json_strings:
        if isinstance(projected.get(name), str):
            projected[name] = json.loads(projected[name])
    for path, key in descriptor.unordered.items():
        projected = _sort_unordered(projected, path.split("."), key)
    return descriptor.normalise(projected, like if like is not None else projected)


def description(value: str | None) -> str:
    """``version_description``: null and "" are the same."""
    return value or ""


def differences(desired: Any, live: Any) -> dict[str, tuple[Any, Any]]:
    """Changed paths of two canonical values, as ``{"a.b[0]": (live, desired)}``.

    Paths read like the manifest (``language_model.temperature``, ``webhooks[0].url``).
    Canonical values are already rounded, so plain equality settles the common no-change case
    before DeepDiff (which costs ~1 ms a resource) is asked where they differ. It is imported
    only then, so a plan with no changes never pays for loading it.
    """
    if desired == live:
        return {}
    from deepdiff import DeepDiff
    from deepdiff.helper import notpresent

    diff = DeepDiff(
        live,
        desired,
        ignore_numeric_type_changes=True,
        math_epsilon=10**-FLOAT_DIGITS,
        verbose_level=2,
        view="tree",
    )
    changes: dict[str, tuple[Any, Any]] = {}
    for level in (leaf for group in diff.values() for leaf in group):
        path = level.path(output_format="list")
        label = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")
        before = None if level.t1 is notpresent else level.t1
        after = None if level.t2 is notpresent else level.t2
        changes[label or "(value)"] = (before, after)
    return dict(sorted(changes.items()))
