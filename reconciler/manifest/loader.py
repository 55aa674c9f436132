"""Read a manifest root (a directory or one file) into the validated desired state.

Every problem becomes a located ``ManifestError``; loading goes on after one, so that a single run
reports all of them. The result, ``Manifests``, holds values only: later stages never touch files.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path as FsPath
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from reconciler.errors import UserError
from reconciler.kinds import KINDS, NAMES
from reconciler.kinds.fields import Resource, Source, suggest
from reconciler.manifest import yamlread
from reconciler.manifest.errors import ManifestError, ManifestErrors, Path, format_path
from reconciler.manifest.interpolate import expand
from reconciler.manifest.model import Manifests, field_names_at, redact
from reconciler.manifest.validate import (
    NameReference,
    References,
    check_manifests,
    name_references,
)

_SUFFIXES = (".yaml", ".yml")

_MESSAGES = {
    "missing": "required field is missing",
    "model_type": "must be a mapping",
    "model_attributes_type": "must be a mapping",
    "dict_type": "must be a mapping",
    "list_type": "must be a list",
    "tuple_type": "must be a list",
}
"""Pydantic messages reworded for YAML authors (others: "Input should be" -> "must be")."""


def load_manifests(
    path: str | os.PathLike[str], variables: Mapping[str, str] | None = None
) -> Manifests:
    """The desired state under ``path``; ``variables`` default to the environment.

    Raises ``ManifestErrors`` (all problems, sorted) or ``UserError`` (no manifests at all).
    """
    root, files = _discover(FsPath(path))
    load = _Load(root, os.environ if variables is None else variables)
    for file, display in files:
        load.file(file, display)
    return load.finish()


def _discover(path: FsPath) -> tuple[FsPath, list[tuple[FsPath, str]]]:
    """The manifest root and its YAML files, each with the name errors show for it."""
    if path.is_file():
        return path.parent, [(path, path.name)]
    if not path.is_dir():
        raise UserError(f"{path}: no such file or directory")
    files = []
    for file in sorted(path.rglob("*")):
        relative = file.relative_to(path)
        hidden = any(part.startswith(".") for part in relative.parts)
        if file.suffix in _SUFFIXES and not hidden and file.is_file():
            files.append((file, relative.as_posix()))
    if not files:
        raise UserError(f"{path}: no *.yaml or *.yml files")
    return path, files


class _Where:
    """Positions of one document, for turning a field path into ``file:line:col``."""

    def __init__(self, display: str, document: yamlread.Document) -> None:
        self.display = display
        self.positions = document.positions
        self.start = document.start

    def error(self, path: Path, message: str) -> ManifestError:
        known = path
        while known and known not in self.positions:
            known = known[:-1]
        line, column = self.positions[known] if known else self.start
        return ManifestError(self.display, line + 1, column + 1, format_path(path), message)


class _Load:
    """The state of one load: resources so far, errors so far, secrets so far."""

    def __init__(self, root: FsPath, variables: Mapping[str, str]) -> None:
        self.root = root.resolve()
        self.variables = variables
        self.errors: list[ManifestError] = []
        self.secrets: set[str] = set()
        self.resources: dict[str, list[Resource]] = {kind: [] for kind in NAMES}
        self.where: dict[int, tuple[_Where, Path]] = {}
        self.invalid_names: dict[str, set[str]] = {kind: set() for kind in NAMES}
        self.references: list[tuple[_Where, Path, NameReference]] = []

    def finish(self) -> Manifests:
        manifests = Manifests.model_construct(
            resources={kind: tuple(items) for kind, items in self.resources.items()},
            secrets=frozenset(self.secrets),
        )
        for issue in check_manifests(manifests):
            where, prefix = self.where[id(issue.resource)]
            self.errors.append(where.error((*prefix, *issue.path), issue.message))
        references = References(manifests, self.invalid_names)
        for where, prefix, reference in self.references:
            problem = references.problem(reference)
            if problem:
                self.errors.append(where.error((*prefix, *reference.path), problem))
        if self.errors:
            raise ManifestErrors(
                ManifestError(e.file, e.line, e.column, e.path, redact(e.message, self.secrets))
                for e in self.errors
            )
        return manifests

    def file(self, file: FsPath, display: str) -> None:
        def fail(line: int, column: int, message: str) -> None:
            self.errors.append(ManifestError(display, line, column, "", message))

        try:
            data = file.read_bytes()
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
            fail(problem.position[0] + 1, problem.position[1] + 1, problem.message)
        documents = [d for d in result.documents if d.value is not None]
        if not documents and not result.problems:
            fail(1, 1, "empty file: expected prompts, tools and/or configs")
        for document in documents:
            self.document(file, _Where(display, document), document.value)

    def document(self, file: FsPath, where: _Where, value: Any) -> None:
        if not isinstance(value, dict):
            self.errors.append(
                where.error((), "a manifest document must be a mapping of prompts, tools, configs")
            )
            return
        for kind, items in value.items():
            if kind not in KINDS:
                message = f"unknown key {kind!r}{suggest(kind, NAMES)}"
                self.errors.append(where.error((kind,), message))
            elif isinstance(items, list):
                for index, item in enumerate(items):
                    self.resource(file, where, kind, index, item)
            elif items is not None:
                self.errors.append(where.error((kind,), f"must be a list of {kind}"))

    def resource(self, file: FsPath, where: _Where, kind: str, index: int, raw: Any) -> None:
        prefix: Path = (kind, index)
        secret_paths: list[str] = []
        raw = self.interpolate(raw, prefix, where, secret_paths)
        if not isinstance(raw, dict):
            self.errors.append(where.error(prefix, f"must be a mapping (a {KINDS[kind].singular})"))
            return
        if isinstance(raw.get("name"), str):
            self.invalid_names[kind].add(raw["name"])
        self.references.extend((where, prefix, ref) for ref in name_references(KINDS[kind], raw))
        spec_class = KINDS[kind].spec
        problems = [
            where.error((*prefix, field), message)
            for field, message in spec_class.presence_problems(raw)
        ]
        try:
            spec = spec_class.model_validate(raw)
        except ValidationError as exc:
            problems.extend(self.pydantic_error(where, kind, prefix, e) for e in exc.errors())
        if problems:
            self.errors.extend(problems)
            return
        self.invalid_names[kind].discard(spec.name)
        fields = dict(spec)
        text_file = KINDS[kind].text_file
        if text_file and fields[text_file[0]] is not None and not spec.absent:
            file_field, text_field = text_file
            place = (*prefix, file_field)
            fields[text_field] = self.read_text_file(file, fields[file_field], where, place)
        line, column = where.positions.get(prefix, where.start)
        loaded = KINDS[kind].resource.model_construct(
            _fields_set=spec.model_fields_set | {"source", "secret_paths"},
            **fields,
            source=Source(file=where.display, line=line + 1, column=column + 1),
            secret_paths=tuple(secret_paths),
        )
        self.resources[kind].append(loaded)
        self.where[id(loaded)] = (where, prefix)

    def interpolate(self, value: Any, path: Path, where: _Where, secret_paths: list[str]) -> Any:
        """``value`` with ``${...}`` expanded in every string (shared values are not mutated)."""
        if isinstance(value, str):
            if "${" not in value:
                return value
            expansion = expand(value, self.variables)
            for problem in expansion.problems:
                self.errors.append(where.error(path, problem))
            if expansion.secrets:
                self.secrets.update(expansion.secrets)
                secret_paths.append(format_path(path[2:]))
            return expansion.text
        if isinstance(value, dict):
            expanded = {
                k: self.interpolate(v, (*path, k), where, secret_paths) for k, v in value.items()
            }
            return value if all(expanded[k] is value[k] for k in value) else expanded
        if isinstance(value, list):
            items = [
                self.interpolate(v, (*path, i), where, secret_paths) for i, v in enumerate(value)
            ]
            return value if all(a is b for a, b in zip(items, value, strict=True)) else items
        return value

    def pydantic_error(
        self, where: _Where, kind: str, prefix: Path, error: ErrorDetails
    ) -> ManifestError:
        loc = error["loc"]
        path = (*prefix, *loc)
        kind_of_error = error["type"]
        if kind_of_error == "extra_forbidden":
            allowed = field_names_at(KINDS[kind].spec, loc[:-1])
            return where.error(path, f"unknown field {loc[-1]!r}{suggest(str(loc[-1]), allowed)}")
        if "message" in error.get("ctx", {}):
            return where.error(path, error["msg"])
        message = _MESSAGES.get(kind_of_error) or error["msg"].replace("Input should be", "must be")
        value = error.get("input")
        if kind_of_error != "missing" and (value is None or isinstance(value, str | int | float)):
            message += f" (got {_show(value)})"
        return where.error(path, message)

    def read_text_file(self, file: FsPath, text_file: str, where: _Where, path: Path) -> str | None:
        """The contents of a ``text_file``, which must stay inside the manifest root."""
        target = (file.parent / text_file).resolve()
        if not target.is_relative_to(self.root):
            self.errors.append(where.error(path, f"{text_file!r} is outside the manifest root"))
            return None
        try:
            return target.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            self.errors.append(where.error(path, f"cannot read {text_file!r}: not valid UTF-8"))
        except OSError as exc:
            self.errors.append(where.error(path, f"cannot read {text_file!r}: {exc.strerror}"))
        return None


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return "null"
    return repr(value) if isinstance(value, str) else str(value)
