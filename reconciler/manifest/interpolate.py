"""``${VAR}`` interpolation in manifest values, and the variables it reads.

Syntax, inside any string value (never in keys, never in ``text_file`` contents):
``${NAME}``, ``${NAME:-default}``, ``${secret:NAME}`` / ``${secret:NAME:-default}`` (the
substituted value is a secret: it is redacted wherever evictl prints it), and ``$${`` for a
literal ``${``. Variables come from, lowest precedence first: the environment, ``--var-file``
files (``KEY=VALUE`` lines, as in a ``.env`` file) and ``--var KEY=VALUE``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.errors import UserError

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_TOKEN = re.compile(r"\$\$\{|\$\{(?:(secret):)?(" + _NAME + r")(?::-([^}]*))?\}|\$\{")
_LINE = re.compile(r"(?:export\s+)?(" + _NAME + r")\s*=\s*(.*)")


@dataclass
class Expansion:
    """The result of interpolating one string."""

    text: str
    secrets: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def expand(text: str, variables: Mapping[str, str]) -> Expansion:
    """``text`` with every ``${...}`` replaced; what is missing or malformed becomes a problem."""
    result = Expansion(text)

    def substitute(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "$${":
            return "${"
        secret, name, default = match.groups()
        if name is None:
            result.problems.append(
                "malformed interpolation: write ${NAME}, ${NAME:-default} or ${secret:NAME}"
            )
            return token
        value = variables.get(name) or default if default is not None else variables.get(name)
        if value is None:
            result.problems.append(
                f"undefined variable {name!r}: set it in the environment, pass "
                f"--var {name}=... or --var-file, or give a default ${{{name}:-...}}"
            )
            return token
        if secret and value:
            result.secrets.append(value)
        return value

    result.text = _TOKEN.sub(substitute, text)
    return result


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
