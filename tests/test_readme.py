"""The README's promises: its set-up commands are the ones CI runs, its defaults table is true."""

from __future__ import annotations

import json
from pathlib import Path

from reconciler.hume import facts

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def commands() -> list[str]:
    blocks = README.split("```sh\n")[1:]
    return [block.split("\n```")[0].strip() for block in blocks]


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    test_command = commands()[1]
    assert "pytest" in test_command
    assert test_command in ci


def test_every_server_default_is_listed() -> None:
    rows = [line for line in README.splitlines() if line.startswith("| ")]
    for kind, table in facts.SERVER_DEFAULTS.items():
        for field, default in table.items():
            nested = isinstance(default, dict) and all(
                isinstance(v, dict) for v in default.values()
            )
            for value in default.values() if nested else [default]:
                assert any(
                    row.startswith(f"| {kind} |")
                    and f"`{field}" in row
                    and json.dumps(value) in row
                    for row in rows
                ), (kind, field, value)
