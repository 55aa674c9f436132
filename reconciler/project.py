"""The project file, ``evictl.toml`` at the manifest root: environments and ownership.

One set of manifests usually serves several Hume accounts (staging, production). The project file
names them once, so a command needs only ``--env NAME`` instead of a URL, a key and var files
spelled out by hand each time, and a CI job cannot point one account's variables at another.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from reconciler.errors import UserError
from reconciler.manifest.interpolate import read_var_file
from reconciler.spelling import suggest

PROJECT_FILE = "evictl.toml"
_VARIABLE = r"^[A-Za-z_][A-Za-z0-9_]*$"
_ENV_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
_PREFIX_CUTOFF = 0.5
"""Did-you-mean hints here are looser than the manifests', so that a prefix counts (``prod``)."""

VariableName = Annotated[str, StringConstraints(pattern=_VARIABLE)]


class EnvironmentModel(BaseModel):
    """One ``[environments.NAME]`` table: where that account is and what its manifests read."""

    model_config = ConfigDict(strict=True, extra="forbid")

    base_url: Annotated[str, StringConstraints(pattern=r"^https?://\S+$")] | None = Field(
        None, description="API base URL of this account (default: Hume's, or HUME_BASE_URL)."
    )
    api_key_env: VariableName | None = Field(
        None,
        description="The environment variable that holds this account's API key "
        "(default HUME_API_KEY). The key itself never goes in this file.",
    )
    var_files: list[str] = Field(
        default_factory=list,
        description="KEY=VALUE files (.env) read as variables, relative to this file, in order.",
    )
    vars: dict[VariableName, str] = Field(
        default_factory=dict, description="Variables for this environment; override var_files."
    )


class OwnershipModel(BaseModel):
    """What these manifests own in the account."""

    model_config = ConfigDict(strict=True, extra="forbid")

    names: list[str] = Field(
        default_factory=list,
        description="Glob patterns (fnmatch) of the resource names these manifests own.",
    )


class ProjectModel(BaseModel):
    """The ``evictl.toml`` document."""

    model_config = ConfigDict(
        strict=True, extra="forbid", title="evictl project file (evictl.toml)"
    )

    environments: dict[Annotated[str, StringConstraints(pattern=_ENV_NAME)], EnvironmentModel] = (
        Field(default_factory=dict, description="The accounts these manifests are applied to.")
    )
    ownership: OwnershipModel | None = None


@dataclass(frozen=True)
class Environment:
    """One account the manifests are applied to, with paths made absolute."""

    name: str
    base_url: str | None
    api_key_env: str | None
    var_files: tuple[Path, ...]
    vars: dict[str, str]

    def variables(self) -> dict[str, str]:
        """Its variables: each var file in order, then ``vars`` on top."""
        merged: dict[str, str] = {}
        for path in self.var_files:
            if not path.is_file():
                raise UserError(f"environment {self.name}: var_files: {path} is not a file")
            merged.update(read_var_file(path))
        merged.update(self.vars)
        return merged


@dataclass(frozen=True)
class Project:
    """The project file's content; empty (no environments, no ownership) without a file."""

    path: Path | None = None
    environments: dict[str, Environment] = field(default_factory=dict)
    owned: tuple[str, ...] = ()

    def environment(self, chosen: str | None, option: str = "--env") -> Environment | None:
        """The chosen environment; None when the project defines none and none is chosen.

        Choosing is required once environments exist: a default would let a command meant for
        staging reach production. ``option`` is the flag that chose it, for the messages.
        """
        if not self.environments:
            if chosen is None:
                return None
            why = f"{self.path} defines none" if self.path else f"there is no {PROJECT_FILE}"
            raise UserError(f"{option} {chosen}: no environments are defined ({why})")
        names = ", ".join(self.environments)
        if chosen is None:
            raise UserError(
                f"{self.path} defines environments ({names}): choose one with --env NAME "
                "(or EVICTL_ENV)"
            )
        if chosen not in self.environments:
            hint = suggest(chosen, self.environments, cutoff=_PREFIX_CUTOFF)
            raise UserError(
                f"{option} {chosen}: no such environment in {self.path}{hint} (defined: {names})"
            )
        return self.environments[chosen]


def project_root(manifests: Path) -> Path:
    """The manifest root: PATH if it is a directory, else the directory holding it."""
    return manifests if manifests.is_dir() else manifests.parent


def load_project(manifests: Path) -> Project:
    """The project file at the manifest root of ``manifests``; an empty Project without one."""
    path = project_root(manifests) / PROJECT_FILE
    if not path.is_file():
        return Project()
    try:
        text = path.read_bytes().decode("utf-8")
        document = tomllib.loads(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read it ({exc})") from exc
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"\(at line (\d+), column (\d+)\)$", str(exc))
        where = f"{found[1]}:{found[2]}" if found else f"{max(1, len(text.splitlines()))}"
        message = re.sub(
            r"\s*\(at line \d+, column \d+\)$|\s*\(at end of document\)$", "", str(exc)
        )
        raise UserError(f"{path}:{where}: not valid TOML: {message}") from exc
    try:
        model = ProjectModel.model_validate(document)
    except ValidationError as exc:
        raise UserError(_located(path, text, exc)) from exc
    base = path.parent.resolve()
    environments = {
        name: Environment(
            name=name,
            base_url=env.base_url,
            api_key_env=env.api_key_env,
            var_files=tuple(base / file for file in env.var_files),
            vars=dict(env.vars),
        )
        for name, env in model.environments.items()
    }
    owned = tuple(model.ownership.names) if model.ownership else ()
    return Project(path, environments, owned)


def _located(path: Path, text: str, exc: ValidationError) -> str:
    """``file:line: field: message`` for each schema error, unknown keys with a did-you-mean."""
    lines = []
    for error in exc.errors():
        loc = tuple(str(part) for part in error["loc"])
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown key" + _suggest(loc)
        elif error["type"] == "string_pattern_mismatch":
            message = f"{error['input']!r} is not allowed here ({_pattern_words(loc)})"
        lines.append(f"{path}:{_line_of(text, loc)}: {'.'.join(loc)}: {message}")
    return "\n".join(lines)


def _pattern_words(loc: tuple[str, ...]) -> str:
    if loc[-1] == "base_url":
        return "an http:// or https:// URL"
    if loc[0] == "environments" and loc[2:] == ("[key]",):
        return (
            f"environment names must match {_ENV_NAME}: a letter or digit, then letters, "
            "digits, '_', '.' or '-'"
        )
    return "a variable name like MY_VAR"


def _suggest(loc: tuple[str, ...]) -> str:
    """``; did you mean 'X'?`` among the keys allowed where the unknown key ``loc`` is."""
    model: type[BaseModel] = ProjectModel
    if len(loc) >= 3 and loc[0] == "environments":
        model = EnvironmentModel
    elif len(loc) == 2 and loc[0] == "ownership":
        model = OwnershipModel
    allowed = f" (allowed: {', '.join(model.model_fields)})"
    return suggest(loc[-1], model.model_fields, cutoff=_PREFIX_CUTOFF) or allowed


_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_ASSIGN = re.compile(r"^\s*([A-Za-z0-9_\-.\"' ]+?)\s*=")


def _keys(dotted: str) -> tuple[str, ...]:
    return tuple(part.strip().strip("\"'") for part in dotted.split("."))


def _line_of(text: str, loc: tuple[str, ...]) -> int:
    """The line that best names ``loc``: the key's own line, else its table's header.

    A simple scan (tables, dotted keys), good enough to point at the right line of a small file.
    """
    table: tuple[str, ...] = ()
    best, best_depth = 1, 0
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            table = _keys(header[1])
            where = table
        elif assign := _ASSIGN.match(line):
            where = table + _keys(assign[1])
        else:
            continue
        depth = len(where) if loc[: len(where)] == where else 0
        if depth > best_depth:
            best, best_depth = number, depth
    return best


def schema() -> dict:
    """The JSON Schema of ``evictl.toml`` (editors that read TOML with a schema, e.g. Taplo)."""
    return ProjectModel.model_json_schema()
