"""Every message a bad value can produce is in plain words: a sweep of bad values over every field
of every kind, nested ones included, with no wording of the validation library left."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any, get_args

import pytest
from pydantic import BaseModel

from reconciler.kinds import REGISTRY
from reconciler.manifest import ManifestErrors
from tests.manifest_support import load

MINIMAL = {
    "prompts": {"text": "t"},
    "tools": {"parameters": {}},
    "configs": {"evi_version": "3"},
}
BAD_VALUES: list[Any] = [
    None, True, 0, -1, 2.5, 1e300, "", "   ", "x", "nan", "9" * 5000, "\x1b[2J", [1], ["x"],
    [{"a": 1}], {"a": 1}, {"name": 1},
]  # fmt: skip
FRAMEWORK = re.compile(
    r"Input should|should be|unable to|valid (integer|number|boolean|string|dictionary|tuple|list)"
    r"|\[type=|pydantic|^is not valid"
)
"""Pydantic's wording, and the loader's fallback for an error type its table lacks."""


def field_paths(model: type[BaseModel], prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """The path of every field of ``model``, and of every field of the models inside it."""
    for name, info in model.model_fields.items():
        path = (*prefix, name)
        yield path
        nested = _model_in(info.annotation)
        if nested is not None:
            item = (0,) if "tuple" in str(info.annotation) else ()
            yield from field_paths(nested, (*path, *item))


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return next((m for arg in get_args(annotation) if (m := _model_in(arg))), None)


def placed(path: tuple[Any, ...], value: Any) -> Any:
    """``value`` at ``path`` in an otherwise empty structure (an int is a list index)."""
    if not path:
        return value
    head, *rest = path
    inner = placed(tuple(rest), value)
    return [inner] if isinstance(head, int) else {head: inner}


def sweep() -> Iterator[tuple[str, dict[str, Any]]]:
    """(kind, resource) with one bad value at one field path, for every path and bad value."""
    for kind in REGISTRY:
        for number, (path, value) in enumerate(
            (path, value) for path in field_paths(kind.spec) for value in BAD_VALUES
        ):
            resource = {"name": f"r{number}", **MINIMAL[kind.name], **placed(path, value)}
            yield kind.name, resource


def test_every_message_is_plain_words(tmp_path):
    documents: dict[str, list[dict[str, Any]]] = {kind.name: [] for kind in REGISTRY}
    for kind, resource in sweep():
        documents[kind].append(resource)
    with pytest.raises(ManifestErrors) as caught:
        load(tmp_path, {"sweep.yaml": json.dumps(documents)})
    messages = {error.message for error in caught.value.errors}
    assert len(caught.value.errors) > 1000
    assert sorted(m for m in messages if FRAMEWORK.search(m)) == []
