"""``${VAR}`` interpolation in manifest values, and the variables it reads.

Syntax, inside any string value (never in keys, never in ``text_file`` contents):
``${NAME}``, ``${NAME:-default}``, ``${secret:NAME}`` / ``${secret:NAME:-default}`` (the
substituted value is a secret: it is redacted wherever evictl prints it), and ``$${`` for a
literal ``${``. Variables come from, lowest precedence first: the environment, ``--var-file``
files (``KEY=VALUE`` lines, as in a ``.env`` file) and ``--var KEY=VALUE``.

A default is plain text up to the first ``}``: it cannot hold braces or a nested ``${...}``. What
the syntax cannot say for sure is an error rather than a guess: an unterminated ``${``, a nested
``${`` or a brace in a default, and, in a string that interpolates, a ``}`` that closes no ``{``
(``${A:-x}y}`` meant a default of ``x}y``, which a default cannot be).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.errors import UserError

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_HEAD = re.compile(r"(?:(secret):)?(" + _NAME + r")(:-)?")
_TOKEN = re.compile(r"\$\$\{|\$\{|[{}]")
_LINE = re.compile(r"(?:export\s+)?(" + _NAME + r")\s*=\s*(.*)")
_FORMS = "write ${NAME}, ${NAME:-default} or ${secret:NAME}"
PATTERN = r"\$\{(?:secret:)?" + _NAME + r"(?::-[^{}]*)?\}"
"""A regex (Python and ECMA-262 alike) that finds one ``${...}`` in a string: what the editor
schema accepts in place of a number, a boolean or an enum value."""


MIN_SECRET = 6
"""Shorter secret values are refused: masking ``on`` or ``1`` by value would corrupt every output
that contains those letters, and they are no secret anyway."""


@dataclass
class Expansion:
    """The result of interpolating one string."""

    text: str
    secrets: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


class _SyntaxProblem(Exception):
    """Interpolation syntax that cannot be read for sure: the rest of the string is not read."""


def expand(text: str, variables: Mapping[str, str]) -> Expansion:
    """``text`` with every ``${...}`` replaced; what is missing or malformed becomes a problem."""
    result = Expansion(text)
    parts: list[str] = []
    unmatched: list[int] = []
    opened = 0
    expressions = 0
    position = 0
    syntax: str | None = None
    try:
        while match := _TOKEN.search(text, position):
            parts.append(text[position : match.start()])
            token = match.group()
            position = match.end()
            if token == "${":
                expressions += 1
                value, position = _expression(text, position, variables, result)
                parts.append(value)
                continue
            parts.append("${" if token == "$${" else token)
            if token != "}":
                opened += 1
            elif opened:
                opened -= 1
            else:
                unmatched.append(match.start())
        parts.append(text[position:])
        result.text = "".join(parts)
    except _SyntaxProblem as problem:
        syntax = str(problem)
    if expressions and unmatched:
        result.problems.append(
            f"unmatched '}}' at character {unmatched[0] + 1}: in a string that uses ${{...}}, "
            "each other '}' must close a '{' (a default ends at its first '}')"
        )
    if syntax is not None:
        result.problems.append(syntax)
    return result


def _expression(
    text: str, start: int, variables: Mapping[str, str], result: Expansion
) -> tuple[str, int]:
    """The value of the ``${...}`` whose body begins at ``start``, and where the text goes on."""
    head = _HEAD.match(text, start)
    if head is None:
        raise _SyntaxProblem(f"malformed interpolation: {_FORMS}")
    secret, name, has_default = head.groups()
    default, end = _default(text, head.end(), name) if has_default else (None, head.end())
    if end == len(text):
        raise _SyntaxProblem(f"unterminated ${{{name}...: a closing '}}' is missing")
    if text[end] != "}":
        raise _SyntaxProblem(f"malformed interpolation: {_FORMS}")
    value = variables.get(name) or default if default is not None else variables.get(name)
    if value is None:
        result.problems.append(
            f"undefined variable {name!r}: set it in the environment, pass "
            f"--var {name}=... or --var-file, or give a default ${{{name}:-...}}"
        )
        return text[start - 2 : end + 1], end + 1
    if secret and value:
        if len(value) < MIN_SECRET:
            result.problems.append(
                f"secret {name!r} is {len(value)} character(s) long: too short to keep out of "
                f"every output (at least {MIN_SECRET}); a short value cannot be hidden without "
                "also hiding the same letters wherever they occur"
            )
        else:
            result.secrets.append(value)
    return value, end + 1


def _default(text: str, start: int, name: str) -> tuple[str, int]:
    """The default beginning at ``start`` (``$${`` unescaped), and the index of its end."""
    parts: list[str] = []
    position = start
    while match := _TOKEN.search(text, position):
        parts.append(text[position : match.start()])
        token = match.group()
        if token == "}":
            return "".join(parts), match.start()
        if token == "$${":
            parts.append("${")
            position = match.end()
            continue
        what = "a nested ${...}" if token == "${" else "a '{'"
        raise _SyntaxProblem(
            f"the default of ${{{name}:-...}} contains {what}: defaults are plain text without "
            "braces (nested interpolation is not supported)"
        )
    return "".join([*parts, text[position:]]), len(text)


def parse_var_pairs(pairs: Iterable[str]) -> dict[str, str]:
    """``--var KEY=VALUE`` options as a mapping (later options win)."""
    variables: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not re.fullmatch(_NAME, name):
            raise UserError(f"--var {pair!r}: expected KEY=VALUE with KEY like MY_VAR")
        variables[name] = value
    return variables


def read_var_file(path: Path) -> dict[str, str]:
    """A ``.env``-style file: ``KEY=VALUE`` lines, ``#`` comments, optional quotes, ``export``."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read --var-file {path}: {exc}") from exc
    variables: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE.fullmatch(line)
        if match is None:
            raise UserError(f"{path}:{number}: expected KEY=VALUE")
        name, value = match.groups()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        variables[name] = value
    return variables
