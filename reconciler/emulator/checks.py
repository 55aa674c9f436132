"""Request checks: the spec's request schemas first, then the rules the spec states only in prose.

Every problem becomes one entry of Hume's ``HTTPValidationError`` body,
``{"detail": [{"loc": [...], "msg": "...", "type": "..."}]}``; all problems are reported at once.
Before any of that, ``parse_json`` refuses what the emulator could not parse, store or send back
(deep nesting, integers SQLite cannot hold, lone surrogates), so hostile input is a 422, not a 500.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from reconciler.hume import facts, spec

MAX_DEPTH = 64
"""The deepest a body may nest arrays and objects; Python's json parser recurses once per level."""

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
"""The range of every integer a request may carry: SQLite's integers, and the spec's ``int64``."""

_STRINGS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"?', re.S)
"""JSON strings (an unterminated one runs to the end), so brackets inside them are not counted."""

_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))
_SURROGATES = re.compile("[\ud800-\udfff]")


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
    """``parameters`` is a string that must hold a JSON schema object (as strict as a body)."""
    if not isinstance(body.get("parameters"), str):
        return []
    try:
        parsed = parse_json(body["parameters"].encode(), ("body", "parameters"))
    except Invalid as exc:
        return exc.problems
    if not isinstance(parsed, dict):
        msg = "must be a stringified JSON schema object"
        return [Problem(("body", "parameters"), msg, "value_error")]
    return []


def _is_https_url(url: str) -> bool:
    """``facts.is_https_url``, where a URL that cannot be split (``https://[::1``) is not one."""
    try:
        return facts.is_https_url(url)
    except ValueError:
        return False


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
        if isinstance(url, str) and not _is_https_url(url):
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


def _too_deep(raw: bytes) -> bool:
    """Whether brackets outside strings nest deeper than ``MAX_DEPTH``; a loop, not recursion.

    Scans the bytes, which is exact for UTF-8: no byte of a multi-byte character is ASCII.
    """
    depth = 0
    for byte in _STRINGS.sub(b"", raw).translate(None, _NOT_BRACKETS):
        depth += 1 if byte in b"[{" else -1
        if depth > MAX_DEPTH:
            return True
    return False


def _finite(text: str) -> float:
    """``parse_float``: ``1e400`` would parse as infinity, which JSON cannot send back."""
    number = float(text)
    if math.isinf(number):
        raise ValueError(f"number {text[:32]} is out of range")
    return number


def _no_constant(name: str) -> float:
    """``parse_constant``: ``NaN`` and ``Infinity`` are Python's extensions, not JSON."""
    raise ValueError(f"{name} is not JSON")


def _unstorable(value: Any, loc: tuple[str | int, ...]) -> Iterator[Problem]:
    """Integers outside int64 and strings with lone surrogates: neither SQLite nor UTF-8 holds them.

    Recursion is safe here: ``parse_json`` has already refused bodies deeper than ``MAX_DEPTH``.
    """
    if isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
        msg = f"must be a 64-bit integer, between {INT64_MIN} and {INT64_MAX}"
        yield Problem(loc, msg, "range")
    elif isinstance(value, str) and _SURROGATES.search(value):
        yield Problem(loc, "is not valid Unicode (lone surrogate)", "string_unicode")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _unstorable(item, (*loc, index))
    elif isinstance(value, dict):
        for key, item in value.items():
            if _SURROGATES.search(key):
                msg = "has a key that is not valid Unicode (lone surrogate)"
                yield Problem(loc, msg, "string_unicode")
            else:
                yield from _unstorable(item, (*loc, key))


def parse_json(raw: bytes, loc: tuple[str | int, ...] = ("body",)) -> Any:
    """Strict JSON: UTF-8, no NaN, at most ``MAX_DEPTH`` deep, every value storable; or ``Invalid``.

    ``loc`` is where the JSON came from: the body, or a field of it that holds JSON as a string.
    Empty input parses as ``null``. Never raises ``RecursionError``.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        msg = f"is not UTF-8 ({exc.reason} at byte {exc.start})"
        raise Invalid([Problem(loc, msg, "json_invalid")]) from exc
    if _too_deep(raw):
        msg = f"nests arrays and objects deeper than {MAX_DEPTH} levels"
        raise Invalid([Problem(loc, msg, "json_depth")])
    try:
        body = json.loads(text or "null", parse_float=_finite, parse_constant=_no_constant)
    except ValueError as exc:
        raise Invalid([Problem(loc, f"JSON decode error: {exc}", "json_invalid")]) from exc
    problems = list(_unstorable(body, loc))
    if problems:
        raise Invalid(problems)
    return body


def check_body(kind: str, schema_ref: str | None, raw: bytes) -> dict[str, Any]:
    """The parsed body of a write, or ``Invalid`` with every problem found."""
    if schema_ref is None:
        return {}
    body = parse_json(raw)
    problems = schema_problems(schema_ref, body)
    if isinstance(body, dict):
        problems += prose_problems(kind, body)
    if problems:
        raise Invalid(problems)
    return body


def uuid_param(value: str, where: tuple[str, str] = ("path", "id")) -> str:
    """A path id or query filter; Hume ids are UUIDs."""
    try:
        return str(uuid.UUID(value))
    except ValueError as exc:
        raise Invalid([Problem(where, "must be a UUID", "uuid_parsing")]) from exc


def int_param(
    value: str | None, where: tuple[str, str], *, default: int, low: int, high: int = INT64_MAX
) -> int:
    """An integer path or query parameter within ``low..high`` (by default, what SQLite holds)."""
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError as exc:
        raise Invalid([Problem(where, "must be an integer", "int_parsing")]) from exc
    if not low <= number <= high:
        raise Invalid([Problem(where, f"must be between {low} and {high} (got {number})", "range")])
    return number


PAGE_NUMBER_MAX = 2**31 - 1
"""Keeps ``page_number * page_size``, the SQL offset, well inside SQLite's 64-bit integers."""


def page_params(query: dict[str, str]) -> tuple[int, int]:
    """``page_number`` (zero-based) and ``page_size`` (1..100, default 10), as every list takes."""
    number = int_param(
        query.get("page_number"), ("query", "page_number"), default=0, low=0, high=PAGE_NUMBER_MAX
    )
    size = int_param(
        query.get("page_size"),
        ("query", "page_size"),
        default=facts.PAGE_SIZE_DEFAULT,
        low=1,
        high=facts.PAGE_SIZE_MAX,
    )
    return number, size


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
