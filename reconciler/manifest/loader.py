"""Read a manifest root (a directory or one file) into the validated desired state.

Every problem becomes a located ``ManifestError``; loading goes on after one, so that a single run
reports all of them. The result, ``Manifests``, holds values only: later stages never touch files.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path as FsPath
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from reconciler.errors import UserError
from reconciler.kinds import KINDS, NAMES, REGISTRY
from reconciler.kinds.fields import Resource, ResourceSpec, Source, show
from reconciler.manifest import yamlread
from reconciler.manifest.errors import ManifestError, ManifestErrors, Path, format_path
from reconciler.manifest.files import Refused, read_bytes
from reconciler.manifest.interpolate import expand
from reconciler.manifest.limits import MAX_STRING, too_long
from reconciler.manifest.model import Manifests, field_names_at, redact
from reconciler.manifest.validate import NameReference, References, check_resources, name_references
from reconciler.secrets import SecretSpan, template
from reconciler.spelling import suggest

_SUFFIXES = (".yaml", ".yml")
_ROOT = "the manifest root"

_MESSAGES = {
    "missing": "required field is missing",
    "model_type": "must be a mapping",
    "model_attributes_type": "must be a mapping",
    "dict_type": "must be a mapping",
    "list_type": "must be a list",
    "tuple_type": "must be a list",
    "string_type": "must be a string",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "int_from_float": "must be a whole number",
    "int_parsing_size": "must be a smaller integer",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "finite_number": "must be a finite number",
}
"""Pydantic's messages, by error type, in the words of a YAML author. A test feeds bad values to
every field so that each reachable type is here; any other would read "is not valid"."""


def load_manifests(
    path: str | os.PathLike[str], variables: Mapping[str, str] | None = None
) -> Manifests:
    """The desired state under ``path``; ``variables`` default to the environment.

    Raises ``ManifestErrors`` (all problems, sorted) or ``UserError`` (no manifests at all).
    """
    *_, manifests = load_in_steps(path, variables)
    assert manifests is not None, "the last step is the result"
    return manifests


def load_in_steps(
    path: str | os.PathLike[str], variables: Mapping[str, str] | None = None
) -> Iterator[Manifests | None]:
    """``load_manifests`` in steps: None after each file, then the result. The workflow runs its
    event loop between steps, so the account's listings are read while the manifests load."""
    root, files = _discover(FsPath(path))
    load = _Load(root, os.environ if variables is None else variables)
    for file, display in files:
        load.file(file, display)
        yield None
    yield load.finish()


def _discover(path: FsPath) -> tuple[FsPath, list[tuple[FsPath, str]]]:
    """The manifest root and its YAML files, each with the name errors show for it.

    Directories, symlinked ones included, are walked without following links; every other entry
    with a YAML suffix is listed, so that reading it can refuse it (a FIFO, a link outside).
    """
    if path.is_dir():
        files = []
        for file in sorted(path.rglob("*")):
            relative = file.relative_to(path)
            hidden = any(part.startswith(".") for part in relative.parts)
            if file.suffix in _SUFFIXES and not hidden and not file.is_dir():
                files.append((file, relative.as_posix()))
        if not files:
            raise UserError(f"{path}: no *.yaml or *.yml files")
        return path, files
    if not path.exists():
        raise UserError(f"{path}: no such file or directory")
    real = path.resolve()
    return real.parent, [(real, path.name)]


class _Where:
    """Positions of one document, for turning a field path into ``file:line:col``.

    Once its file is read (``forget``), the positions are dropped and parsed again from the text
    only if an error or warning needs them: kept for every file until the checks across
    resources, they were a third of the peak memory of loading 10,000 resources (19 MB).
    """

    def __init__(self, display: str, document: yamlread.Document, text: str, index: int) -> None:
        self.display = display
        self._positions: dict[Path, yamlread.Position] | None = document.positions
        self.start = document.start
        self.rejected = document.rejected
        self.text, self.index = text, index

    @property
    def positions(self) -> dict[Path, yamlread.Position]:
        if self._positions is None:
            self._positions = yamlread.parse(self.text).documents[self.index].positions
        return self._positions

    def forget(self) -> None:
        self._positions = None

    def error(self, path: Path, message: str) -> ManifestError:
        known = path
        while known and known not in self.positions:
            known = known[:-1]
        line, column = self.positions[known] if known else self.start
        return ManifestError(self.display, line + 1, column + 1, format_path(path), message)

    def rejects(self, path: Path) -> bool:
        """Whether ``path`` is at or under a value that reading already reported."""
        return bool(self.rejected) and any(path[:n] in self.rejected for n in range(len(path) + 1))


class _Load:
    """The state of one load: resources so far, errors so far, secrets so far.

    ``checked`` holds every resource that has a valid name, with the fields that are valid on
    their own, so that the checks across resources (duplicate names, references) run in the same
    pass as the field checks instead of after they are fixed; ``resources`` only the valid ones.
    """

    def __init__(self, root: FsPath, variables: Mapping[str, str]) -> None:
        self.root = root
        self.variables = variables
        self.errors: list[ManifestError] = []
        self.secrets: set[str] = set()
        self.resources: dict[str, list[Resource]] = {kind: [] for kind in NAMES}
        self.checked: dict[str, list[Resource]] = {kind: [] for kind in NAMES}
        self.where: dict[int, tuple[_Where, Path]] = {}
        self.references: list[tuple[_Where, Path, NameReference]] = []

    def report(self, where: _Where, path: Path, message: str) -> None:
        """An error at ``path``, unless reading already reported the value there."""
        if not where.rejects(path):
            self.errors.append(where.error(path, message))

    def finish(self) -> Manifests:
        for issue in check_resources(self.checked):
            where, prefix = self.where[id(issue.resource)]
            self.report(where, (*prefix, *issue.path), issue.message)
        references = References(self.checked)
        for where, prefix, reference in self.references:
            problem = references.problem(reference)
            if problem:
                self.report(where, (*prefix, *reference.path), problem)
        if self.errors:
            raise ManifestErrors(
                ManifestError(e.file, e.line, e.column, e.path, redact(e.message, self.secrets))
                for e in self.errors
            )
        warnings = [
            str(where.error((*prefix, *path), message))
            for kind in REGISTRY
            for resource in self.resources[kind.name]
            for where, prefix in [self.where[id(resource)]]
            for path, message in kind.advice(resource)
        ]
        return Manifests.model_construct(
            resources={kind: tuple(items) for kind, items in self.resources.items()},
            secrets=frozenset(self.secrets),
            warnings=tuple(warnings),
        )

    def file(self, file: FsPath, display: str) -> None:
        def fail(line: int, column: int, message: str, path: Path = ()) -> None:
            self.errors.append(ManifestError(display, line, column, format_path(path), message))

        try:
            data = read_bytes(file, self.root, _ROOT)
        except Refused as exc:
            fail(1, 1, f"this file {exc}")
            return
        except OSError as exc:
            fail(1, 1, f"cannot read file: {exc.strerror}")
            return
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            before = data[: exc.start]
            column = exc.start - (before.rfind(b"\n") + 1) + 1
            fail(before.count(b"\n") + 1, column, f"not valid UTF-8 (byte 0x{data[exc.start]:02x})")
            return
        result = yamlread.parse(text)
        for problem in result.problems:
            fail(problem.position[0] + 1, problem.position[1] + 1, problem.message, problem.path)
        documents = [(i, d) for i, d in enumerate(result.documents) if d.value is not None]
        if not documents and not result.problems:
            fail(1, 1, "empty file: expected prompts, tools and/or configs")
        for index, document in documents:
            where = _Where(display, document, text, index)
            self.document(file, where, document.value)
            where.forget()

    def document(self, file: FsPath, where: _Where, value: Any) -> None:
        if not isinstance(value, dict):
            message = "a manifest document must be a mapping of prompts, tools, configs"
            self.report(where, (), message)
            return
        for kind, items in value.items():
            if kind not in KINDS:
                self.report(where, (kind,), f"unknown key {show(kind)}{suggest(kind, NAMES)}")
            elif isinstance(items, list):
                for index, item in enumerate(items):
                    self.resource(file, where, kind, index, item)
            elif items is not None:
                self.report(where, (kind,), f"must be a list of {kind}")

    def resource(self, file: FsPath, where: _Where, kind: str, index: int, raw: Any) -> None:
        prefix: Path = (kind, index)
        secret_spans: list[SecretSpan] = []
        if "${" in _as_json(raw):
            raw = self.interpolate(raw, prefix, where, secret_spans)
        if not isinstance(raw, dict):
            self.report(where, prefix, f"must be a mapping (a {KINDS[kind].singular})")
            return
        descriptor = KINDS[kind]
        self.references.extend((where, prefix, ref) for ref in name_references(descriptor, raw))
        problems = [
            ((*prefix, field), message) for field, message in descriptor.spec.presence_problems(raw)
        ]
        spec: ResourceSpec | None
        try:
            spec = descriptor.spec.model_validate(raw)
        except ValidationError as exc:
            details = exc.errors()
            problems.extend(self.pydantic_error(kind, prefix, error) for error in details)
            spec = _readable(descriptor.spec, raw, details)
        for path, message in problems:
            self.report(where, path, message)
        if spec is None:
            return
        fields = dict(spec)
        text_file = descriptor.text_file
        if not problems and text_file and fields[text_file[0]] is not None and not spec.absent:
            file_field, text_field = text_file
            place = (*prefix, file_field)
            fields[text_field] = self.read_text_file(file, fields[file_field], where, place)
        line, column = where.positions.get(prefix, where.start)
        loaded = descriptor.resource.model_construct(
            _fields_set=spec.model_fields_set | {"source", "secret_spans"},
            **fields,
            source=Source(file=where.display, line=line + 1, column=column + 1),
            secret_spans=tuple(secret_spans),
        )
        self.checked[kind].append(loaded)
        self.where[id(loaded)] = (where, prefix)
        if not problems:
            self.resources[kind].append(loaded)

    def interpolate(
        self,
        value: Any,
        path: Path,
        where: _Where,
        secret_spans: list[SecretSpan],
        keys: tuple[str, ...] = (),
    ) -> Any:
        """``value`` with ``${...}`` expanded in every string (shared values are not mutated).

        ``keys`` are the mapping keys from the resource down to ``value``, as strings and without
        list positions: how a secret's span is found again in a body (``reconciler.secrets``).
        """
        if isinstance(value, str):
            if "${" not in value:
                return value
            expansion = expand(value, self.variables)
            for problem in expansion.problems:
                self.report(where, path, problem)
            if len(expansion.text) > MAX_STRING:
                self.report(where, path, too_long(expansion.text))
            if expansion.secrets:
                self.secrets.update(expansion.secrets)
                parts = template(expansion.text, expansion.secrets)
                span = SecretSpan(path=format_path(path[2:]), keys=keys, parts=parts)
                secret_spans.append(span)
            return expansion.text
        if isinstance(value, dict):
            expanded = {
                k: self.interpolate(v, (*path, k), where, secret_spans, (*keys, str(k)))
                for k, v in value.items()
            }
            return value if all(expanded[k] is value[k] for k in value) else expanded
        if isinstance(value, list):
            items = [
                self.interpolate(v, (*path, i), where, secret_spans, keys)
                for i, v in enumerate(value)
            ]
            return value if all(a is b for a, b in zip(items, value, strict=True)) else items
        return value

    def pydantic_error(self, kind: str, prefix: Path, error: ErrorDetails) -> tuple[Path, str]:
        """Where ``error`` is, and what it says in plain words."""
        loc = error["loc"]
        path = (*prefix, *loc)
        kind_of_error = error["type"]
        if kind_of_error == "extra_forbidden":
            allowed = field_names_at(KINDS[kind].spec, loc[:-1])
            return path, f"unknown field {show(loc[-1])}{suggest(str(loc[-1]), allowed)}"
        if "message" in error.get("ctx", {}):
            return path, error["msg"]
        message = _MESSAGES.get(kind_of_error, "is not valid")
        value = error.get("input")
        if kind_of_error != "missing" and (value is None or isinstance(value, str | int | float)):
            message += f" (got {show(value)})"
        return path, message

    def read_text_file(self, file: FsPath, text_file: str, where: _Where, path: Path) -> str | None:
        """The contents of a ``text_file`` (universal newlines, as ``open`` reads text): a regular
        file inside the manifest root, of at most ``MAX_STRING`` characters."""
        shown = show(text_file)
        try:
            data = read_bytes(file.parent / text_file, self.root, _ROOT)
            text = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8").read()
        except Refused as exc:
            message = f"{shown} {exc}"
        except UnicodeDecodeError:
            message = f"cannot read {shown}: not valid UTF-8"
        except OSError as exc:
            message = f"cannot read {shown}: {exc.strerror}"
        else:
            if len(text) <= MAX_STRING:
                return text
            message = f"{shown} is {too_long(text)}"
        self.report(where, path, message)
        return None


_as_json = json.JSONEncoder(ensure_ascii=False, default=repr).encode
"""A parsed resource as JSON text, where ``${`` can only stand inside a string: one C-speed pass
tells that a resource interpolates nothing, which walking it (a path per value) took a tenth of
loading 10,000 resources to find."""


def _readable(
    spec: type[ResourceSpec], raw: dict[str, Any], errors: list[ErrorDetails]
) -> ResourceSpec | None:
    """A resource that failed validation, with only its fields that are valid on their own, for
    the checks across resources; None if its name is not one of them."""
    failed = {error["loc"][0] for error in errors if error["loc"]}
    try:
        return spec.model_validate({key: v for key, v in raw.items() if key not in failed})
    except ValidationError:
        return None
