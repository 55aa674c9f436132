"""Checks that span resources or need more than a field type: names, references, JSON Schemas.

Each check yields an ``Issue`` against a resource and a path inside it; the loader turns issues into
located errors, since it alone knows where each resource came from.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from jsonschema.exceptions import SchemaError
from jsonschema.validators import validator_for

from reconciler.manifest.errors import Path
from reconciler.manifest.model import (
    KINDS,
    Manifests,
    Resource,
    Tool,
    is_true,
    suggest,
)


@dataclass(frozen=True)
class Issue:
    """A problem with ``resource`` at ``path`` inside it."""

    resource: Resource
    path: Path
    message: str


def check_manifests(manifests: Manifests) -> Iterator[Issue]:
    """Name clashes between resources, and invalid tool parameter schemas."""
    for kind in KINDS:
        yield from _check_names(kind, manifests.of_kind(kind))
    for tool in manifests.tools:
        yield from _check_parameters(tool)


def _singular(kind: str) -> str:
    return kind[:-1]


def _check_names(kind: str, resources: tuple[Resource, ...]) -> Iterator[Issue]:
    """Duplicate names, and names that are both a current and a previous name."""
    by_name: dict[str, Resource] = {}
    by_previous: dict[str, Resource] = {}
    for resource in resources:
        first = by_name.setdefault(resource.name, resource)
        if first is not resource:
            yield Issue(
                resource,
                ("name",),
                f"duplicate {_singular(kind)} name {resource.name!r} (also at {first.source})",
            )
    for resource in resources:
        for index, previous in enumerate(resource.previous_names):
            path = ("previous_names", index)
            current = by_name.get(previous)
            claimed = by_previous.setdefault(previous, resource)
            if current is resource:
                yield Issue(resource, path, f"{previous!r} is this {_singular(kind)}'s own name")
            elif current is not None:
                yield Issue(
                    resource,
                    path,
                    f"{previous!r} is also the name of the {_singular(kind)} at {current.source}: "
                    "a name cannot be both current and previous",
                )
            elif claimed is not resource:
                yield Issue(
                    resource,
                    path,
                    f"{previous!r} is also a previous name of {_singular(kind)} "
                    f"{claimed.name!r} ({claimed.source}): only one can be renamed from it",
                )


def _check_parameters(tool: Tool) -> Iterator[Issue]:
    """Tool ``parameters`` must pass the JSON Schema meta-schema of its dialect."""
    if tool.parameters is None:
        return
    try:
        validator_for(tool.parameters).check_schema(tool.parameters)
    except SchemaError as exc:
        yield Issue(
            tool,
            ("parameters", *exc.absolute_path),
            f"not a valid JSON Schema: {exc.message}",
        )


@dataclass(frozen=True)
class NameReference:
    """A config's reference, by name, to a prompt or tool (``path`` is inside the config)."""

    kind: str
    name: str
    path: Path


def name_references(config: Mapping[str, Any]) -> list[NameReference]:
    """The by-name references of a config as written (it need not be valid otherwise)."""
    if is_true(config.get("absent")):
        return []
    written: list[tuple[str, Path, Any]] = [("prompts", ("prompt",), config.get("prompt"))]
    tools = config.get("tools")
    if isinstance(tools, list):
        written.extend(("tools", ("tools", index), tool) for index, tool in enumerate(tools))
    references = []
    for kind, path, value in written:
        name = value.get("name") if isinstance(value, dict) else value
        if isinstance(name, str):
            references.append(NameReference(kind, name, path))
    return references


def check_reference(
    reference: NameReference, manifests: Manifests, invalid_names: Mapping[str, set[str]]
) -> str | None:
    """Why ``reference`` does not name exactly one present resource, if it does not."""
    return _resolve(
        reference.kind, reference.name, manifests, invalid_names.get(reference.kind, set())
    )


def _resolve(kind: str, name: str, manifests: Manifests, invalid: set[str]) -> str | None:
    """Why ``name`` is not exactly one present resource of ``kind``; ``invalid`` names count.

    ``invalid`` are the names of resources that failed to load: they still count as defined, so
    that one broken prompt does not also make every config that names it report a dangling one.
    """
    resources = manifests.of_kind(kind)
    matches = [r for r in resources if r.name == name]
    what = _singular(kind)
    if len(matches) > 1:
        where = ", ".join(str(r.source) for r in matches)
        return (
            f"ambiguous {what} reference {name!r}: {len(matches)} {kind} have that name ({where})"
        )
    if matches:
        if matches[0].absent:
            return f"refers to {what} {name!r}, which is marked absent ({matches[0].source})"
        return None
    if name in invalid:
        return None
    renamed = [r for r in resources if name in r.previous_names]
    if renamed:
        return f"unknown {what} {name!r}: it was renamed to {renamed[0].name!r}"
    return f"unknown {what} {name!r}{suggest(name, (r.name for r in resources))}"
