"""Checks that span resources or need more than a field type: names, references, JSON Schemas.

Each check yields an ``Issue`` against a resource and a path inside it; the loader turns issues into
located errors, since it alone knows where each resource came from.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from reconciler.manifest.errors import Path
from reconciler.manifest.model import KINDS, Manifests, Resource, Tool, is_true, suggest
from reconciler.manifest.schemacheck import schema_error


@dataclass(frozen=True)
class Issue:
    """A problem with ``resource`` at ``path`` inside it."""

    resource: Resource
    path: Path
    message: str


def _singular(kind: str) -> str:
    return kind[:-1]


def check_manifests(manifests: Manifests) -> Iterator[Issue]:
    """Name clashes between resources, and invalid tool parameter schemas."""
    for kind in KINDS:
        yield from _check_names(kind, manifests.of_kind(kind))
    for tool in manifests.tools:
        yield from _check_parameters(tool)


def _check_names(kind: str, resources: tuple[Resource, ...]) -> Iterator[Issue]:
    """Duplicate names, and names that are both a current and a previous name."""
    what = _singular(kind)
    by_name: dict[str, Resource] = {}
    by_previous: dict[str, Resource] = {}
    for resource in resources:
        first = by_name.setdefault(resource.name, resource)
        if first is not resource:
            message = f"duplicate {what} name {resource.name!r} (also at {first.source})"
            yield Issue(resource, ("name",), message)
    for resource in resources:
        for index, previous in enumerate(resource.previous_names):
            current = by_name.get(previous)
            claimed = by_previous.setdefault(previous, resource)
            if current is resource:
                message = f"{previous!r} is this {what}'s own name"
            elif current is not None:
                message = (
                    f"{previous!r} is also the name of the {what} at {current.source}: "
                    "a name cannot be both current and previous"
                )
            elif claimed is not resource:
                message = (
                    f"{previous!r} is also a previous name of {what} {claimed.name!r} "
                    f"({claimed.source}): only one can be renamed from it"
                )
            else:
                continue
            yield Issue(resource, ("previous_names", index), message)


def _check_parameters(tool: Tool) -> Iterator[Issue]:
    """Tool ``parameters`` must pass the JSON Schema meta-schema of its dialect."""
    error = None if tool.parameters is None else schema_error(tool.parameters)
    if error is not None:
        path = ("parameters", *error.absolute_path)
        yield Issue(tool, path, f"not a valid JSON Schema: {error.message}")


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
        name = value.get("name") if isinstance(value, dict) and "id" not in value else value
        if isinstance(name, str):
            references.append(NameReference(kind, name, path))
    return references


class References:
    """Resolves by-name references against the manifests.

    ``invalid_names`` are the names of resources that failed to load: they still count as defined,
    so that one broken prompt does not also make every config that names it report a dangling one.
    """

    def __init__(self, manifests: Manifests, invalid_names: Mapping[str, set[str]]) -> None:
        self.invalid_names = invalid_names
        self.named: dict[str, dict[str, list[Resource]]] = {}
        self.renamed: dict[str, dict[str, Resource]] = {}
        for kind in KINDS:
            named: dict[str, list[Resource]] = defaultdict(list)
            renamed: dict[str, Resource] = {}
            for resource in manifests.of_kind(kind):
                named[resource.name].append(resource)
                renamed.update(dict.fromkeys(resource.previous_names, resource))
            self.named[kind], self.renamed[kind] = named, renamed

    def problem(self, reference: NameReference) -> str | None:
        """Why ``reference`` is not exactly one present resource, if it is not."""
        kind, name, what = reference.kind, reference.name, _singular(reference.kind)
        matches = self.named[kind].get(name, [])
        if len(matches) > 1:
            where = ", ".join(str(r.source) for r in matches)
            return (
                f"ambiguous {what} reference {name!r}: {len(matches)} {kind} are named so ({where})"
            )
        if matches:
            if matches[0].absent:
                return f"refers to {what} {name!r}, which is marked absent ({matches[0].source})"
            return None
        if name in self.invalid_names.get(kind, ()):
            return None
        if name in self.renamed[kind]:
            return f"unknown {what} {name!r}: it was renamed to {self.renamed[kind][name].name!r}"
        return f"unknown {what} {name!r}{suggest(name, self.named[kind])}"
