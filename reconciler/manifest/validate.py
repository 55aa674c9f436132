"""Checks that span resources or need more than a field type: names, references, JSON Schemas.

Each check yields an ``Issue`` against a resource and a path inside it; the loader turns issues into
located errors, since it alone knows where each resource came from. The loader also passes the
resources that failed field validation (with their valid fields), so these checks report in the
same run as the field errors.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reconciler.kinds import KINDS, NAMES, REGISTRY, Kind
from reconciler.kinds.fields import Resource, is_true, name_problem, show
from reconciler.manifest.errors import Path
from reconciler.manifest.schemacheck import schema_error
from reconciler.spelling import suggest

Resources = Mapping[str, Sequence[Resource]]
"""Resources by kind (``prompts``)."""


@dataclass(frozen=True)
class Issue:
    """A problem with ``resource`` at ``path`` inside it."""

    resource: Resource
    path: Path
    message: str


def check_resources(by_kind: Resources) -> Iterator[Issue]:
    """Name clashes between resources, and invalid JSON Schemas (a tool's parameters)."""
    for kind in REGISTRY:
        resources = by_kind.get(kind.name, ())
        yield from _check_names(kind, resources)
        for name in kind.json_schemas:
            for resource in resources:
                yield from _check_schema(resource, name)


def _check_names(kind: Kind, resources: Sequence[Resource]) -> Iterator[Issue]:
    """Duplicate names, and names that are both a current and a previous name."""
    what = kind.singular
    by_name: dict[str, Resource] = {}
    by_previous: dict[str, Resource] = {}
    for resource in resources:
        first = by_name.setdefault(resource.name, resource)
        if first is not resource:
            message = f"duplicate {what} name {show(resource.name)} (also at {first.source})"
            yield Issue(resource, ("name",), message)
    for resource in resources:
        for index, previous in enumerate(resource.previous_names):
            current = by_name.get(previous)
            claimed = by_previous.setdefault(previous, resource)
            if current is resource:
                message = f"{show(previous)} is this {what}'s own name"
            elif current is not None:
                message = (
                    f"{show(previous)} is also the name of the {what} at {current.source}: "
                    "a name cannot be both current and previous"
                )
            elif claimed is not resource:
                message = (
                    f"{show(previous)} is also a previous name of {what} {show(claimed.name)} "
                    f"({claimed.source}): only one can be renamed from it"
                )
            else:
                continue
            yield Issue(resource, ("previous_names", index), message)


def _check_schema(resource: Resource, name: str) -> Iterator[Issue]:
    """A JSON-text field (a tool's ``parameters``) must pass its dialect's meta-schema."""
    value = getattr(resource, name)
    error = None if value is None else schema_error(value)
    if error is not None:
        path = (name, *error.absolute_path)
        yield Issue(resource, path, f"not a valid JSON Schema: {error.message}")


@dataclass(frozen=True)
class NameReference:
    """A reference by name to a resource of ``kind`` (``path`` is inside the referring one)."""

    kind: str
    name: str
    path: Path


def name_references(kind: Kind, raw: Mapping[str, Any]) -> list[NameReference]:
    """The by-name references of a resource as written (it need not be valid otherwise); a name
    that could name no resource is left to the reference's own field error."""
    if is_true(raw.get("absent")):
        return []
    written: list[tuple[str, Path, Any]] = []
    for ref in kind.refs:
        value = raw.get(ref.field)
        if not ref.many:
            written.append((ref.target, (ref.field,), value))
        elif isinstance(value, list):
            written.extend((ref.target, (ref.field, i), item) for i, item in enumerate(value))
    references = []
    for kind, path, value in written:
        name = value.get("name") if isinstance(value, dict) and "id" not in value else value
        if isinstance(name, str) and name_problem(name) is None:
            references.append(NameReference(kind, name, path))
    return references


class References:
    """Resolves by-name references against the resources (those that failed validation included,
    so that one broken prompt does not also make every config that names it report a dangling
    reference)."""

    def __init__(self, by_kind: Resources) -> None:
        self.named: dict[str, dict[str, list[Resource]]] = {}
        self.renamed: dict[str, dict[str, Resource]] = {}
        for kind in NAMES:
            named: dict[str, list[Resource]] = defaultdict(list)
            renamed: dict[str, Resource] = {}
            for resource in by_kind.get(kind, ()):
                named[resource.name].append(resource)
                renamed.update(dict.fromkeys(resource.previous_names, resource))
            self.named[kind], self.renamed[kind] = named, renamed

    def problem(self, reference: NameReference) -> str | None:
        """Why ``reference`` is not exactly one present resource, if it is not."""
        kind, name = reference.kind, reference.name
        what = KINDS[kind].singular
        matches = self.named[kind].get(name, [])
        if len(matches) > 1:
            where = ", ".join(str(r.source) for r in matches)
            return (
                f"ambiguous {what} reference {show(name)}: {len(matches)} {kind} are named so "
                f"({where})"
            )
        if matches:
            if matches[0].absent:
                where = matches[0].source
                return f"refers to {what} {show(name)}, which is marked absent ({where})"
            return None
        if name in self.renamed[kind]:
            renamed = show(self.renamed[kind][name].name)
            return f"unknown {what} {show(name)}: it was renamed to {renamed}"
        return f"unknown {what} {show(name)}{suggest(name, self.named[kind])}"
