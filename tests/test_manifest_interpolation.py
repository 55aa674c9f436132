"""``${...}`` interpolation: what it substitutes, and what it refuses to guess."""

from __future__ import annotations

import pytest

from reconciler.manifest.interpolate import expand

VARIABLES = {"A": "a", "EMPTY": "", "S": "s3cr3t"}
FORMS = "write ${NAME}, ${NAME:-default} or ${secret:NAME}"


def unmatched(character: int) -> str:
    return (
        f"unmatched '}}' at character {character}: in a string that uses ${{...}}, each other "
        "'}' must close a '{' (a default ends at its first '}')"
    )


@pytest.mark.parametrize(
    ("text", "expanded"),
    [
        ("${A}", "a"),
        ("${B:-fallback}", "fallback"),
        ("${EMPTY:-shell-like}", "shell-like"),
        ("${EMPTY}", ""),
        ("${B:-}", ""),
        ("${B:-$5 & more: ok}", "$5 & more: ok"),
        ("${B:-$${x}", "${x"),
        ("{${A}}", "{a}"),
        ('{"k": "${A}"}', '{"k": "a"}'),
        ("${A} and {braces}", "a and {braces}"),
        ("$${A}}", "${A}}"),
        ("a $${b} c}", "a ${b} c}"),
        ("no interpolation } at all", "no interpolation } at all"),
        ("$", "$"),
        ("$$", "$$"),
    ],
)
def test_substitutions(text, expanded):
    expansion = expand(text, VARIABLES)
    assert (expansion.text, expansion.problems) == (expanded, [])


@pytest.mark.parametrize(
    ("text", "problems"),
    [
        ("${A:-x}y}", [unmatched(9)]),
        ("${A}}", [unmatched(5)]),
        ("} ${A}", [unmatched(1)]),
        (
            "${A:-${B}}",
            [
                "the default of ${A:-...} contains a nested ${...}: defaults are plain text "
                "without braces (nested interpolation is not supported)"
            ],
        ),
        (
            "${A:-{}}",
            [
                "the default of ${A:-...} contains a '{': defaults are plain text without braces "
                "(nested interpolation is not supported)"
            ],
        ),
        ("${A:-never closed", ["unterminated ${A...: a closing '}' is missing"]),
        ("${A", ["unterminated ${A...: a closing '}' is missing"]),
        ("${", [f"malformed interpolation: {FORMS}"]),
        ("${1X}", [f"malformed interpolation: {FORMS}"]),
        ("${A:x}", [f"malformed interpolation: {FORMS}"]),
        ("${A-x}", [f"malformed interpolation: {FORMS}"]),
        ("${ A }", [f"malformed interpolation: {FORMS}"]),
        (
            "x} ${A:-${B}}",
            [
                unmatched(2),
                "the default of ${A:-...} contains a nested ${...}: defaults are plain text "
                "without braces (nested interpolation is not supported)",
            ],
        ),
    ],
)
def test_syntax_errors_are_reported_not_guessed(text, problems):
    assert expand(text, VARIABLES).problems == problems


def test_undefined_variables_are_all_reported():
    assert len(expand("${X} ${Y:-y} ${Z}", {}).problems) == 2


def test_secrets_and_their_defaults_are_recorded():
    assert expand("${secret:S}/${secret:NONE:-dflt-value}/${A}", VARIABLES).secrets == [
        "s3cr3t",
        "dflt-value",
    ]
