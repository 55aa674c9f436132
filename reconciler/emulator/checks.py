"""Request checks: the spec's request schemas first, then the rules the spec states only in prose.

Every problem becomes one entry of Hume's ``HTTPValidationError`` body,
``{"detail": [{"loc": [...], "msg": "...", "type": "..."}]}``; all problems are reported at once.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from reconciler.hume import facts, spec


@dataclass(frozen=True)
class Problem:
    """One located validation failure."""

    loc: tuple[str | int, ...]
    msg: str
    type: str

    def as_json(self) -> dict[str, Any]:
        """The ``ValidationError`` item of the spec."""
        return {"loc": list(self.loc), "msg": self.msg, "type": self.type}


class Invalid(Exception):
    """The request breaks one or more rules; answered with 422."""

    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(f"{'.'.join(map(str, p.loc))}: {p.msg}" for p in problems))
        self.problems = problems


def schema_problems(schema_ref: str, body: Any) -> list[Problem]:
    """Type, required, enum, oneOf and nullability errors, read from the spec's schema."""
    problems = []
    for error in spec.validator(schema_ref).iter_errors(body):
        loc: tuple[str | int, ...] = ("body", *error.absolute_path)
        if error.validator == "required":
            missing = [key for key in error.validator_value if key not in error.instance]
            problems.append(Problem((*loc, missing[0]), "Field required", "missing"))
        else:
            problems.append(Problem(loc, error.message, str(error.validator)))
    return sorted(problems, key=lambda p: [str(part) for part in p.loc])


def _tool_problems(body: dict[str, Any]) -> list[Problem]:
    """``parameters`` is a string that must hold a JSON schema object."""
    if not isinstance(body.get("parameters"), str):
        return []
    try:
        parsed = json.loads(body["parameters"])
    except ValueError as exc:
        return [Problem(("body", "parameters"), f"is not JSON: {exc}", "json_invalid")]
    if not isinstance(parsed, dict):
        msg = "must be a stringified JSON schema object"
        return [Problem(("body", "parameters"), msg, "value_error")]
    return []


def _config_problems(body: dict[str, Any]) -> list[Problem]:
    """EVI versions, the ranges of ``facts.CONFIG_RANGES`` and https webhooks."""
    problems = []
    if isinstance(body.get("evi_version"), str) and body["evi_version"] not in facts.EVI_VERSIONS:
        allowed = " and ".join(f"'{v}'" for v in facts.EVI_VERSIONS)
        msg = f"only EVI versions {allowed} are supported (got {body['evi_version']!r})"
        problems.append(Problem(("body", "evi_version"), msg, "enum"))
    for rng, value in facts.range_violations(body):
        msg = f"{rng.describe()} (got {value})"
        problems.append(Problem(("body", *rng.path), msg, "range"))
    hooks = body.get("webhooks") if isinstance(body.get("webhooks"), list) else []
    for index, hook in enumerate(hooks):
        url = hook.get("url") if isinstance(hook, dict) else None
        if isinstance(url, str) and not facts.is_https_url(url):
            msg = f"must be a valid https URL (got {url!r})"
            problems.append(Problem(("body", "webhooks", index, "url"), msg, "url_scheme"))
    return problems


PROSE_RULES: dict[str, Callable[[dict[str, Any]], list[Problem]]] = {
    "configs": _config_problems,
    "tools": _tool_problems,
}
"""Each kind's rules that the spec states only in prose; a kind without any needs no entry."""


def prose_problems(kind: str, body: dict[str, Any]) -> list[Problem]:
    """The rules stated in the spec's prose: non-empty names, then the kind's ``PROSE_RULES``.

    Run even when the schema check failed (all problems in one answer), so it tolerates bad types.
    """
    problems = []
    name = body.get("name")
    if isinstance(name, str) and not name.strip():
        problems.append(Problem(("body", "name"), "must not be empty", "value_error"))
    if kind in PROSE_RULES:
        problems += PROSE_RULES[kind](body)
    return problems


def check_body(kind: str, schema_ref: str | None, raw: bytes) -> dict[str, Any]:
    """The parsed body of a write, or ``Invalid`` with every problem found."""
    if schema_ref is None:
        return {}
    try:
        body = json.loads(raw or b"null")
    except ValueError as exc:
        raise Invalid([Problem(("body",), f"JSON decode error: {exc}", "json_invalid")]) from exc
    problems = schema_problems(schema_ref, body)
    if isinstance(body, dict):
        problems += prose_problems(kind, body)
    if problems:
        raise Invalid(problems)
    return body


def uuid_param(value: str, where: str = "id") -> str:
    """A path id; Hume ids are UUIDs."""
    try:
        return str(uuid.UUID(value))
    except ValueError as exc:
        raise Invalid([Problem(("path", where), "must be a UUID", "uuid_parsing")]) from exc


def int_param(
    value: str | None, where: tuple[str, str], *, default: int, low: int, high: int | None = None
) -> int:
    """An integer path or query parameter within ``low..high``."""
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError as exc:
        raise Invalid([Problem(where, "must be an integer", "int_parsing")]) from exc
    if number < low or (high is not None and number > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise Invalid([Problem(where, f"must be {bound} (got {number})", "range")])
    return number


def bool_param(value: str | None, where: tuple[str, str], *, default: bool) -> bool:
    """A boolean query parameter; the SDK sends ``true``/``false``."""
    if value is None:
        return default
    lowered = value.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise Invalid([Problem(where, "must be true or false", "bool_parsing")])
