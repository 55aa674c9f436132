"""Start-up stays cheap: ``evictl --help`` and ``evictl validate`` (run by pre-commit hooks and
editors on every save) import only what they use, checked on a fresh interpreter's ``sys.modules``.

``bench/startup.py`` measures the times; these tests pin down the imports that decide them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from reconciler.cli import COMMANDS, cli
from reconciler.hume import spec
from tests.conftest import free_port
from tests.plan_support import write

ROOT = Path(__file__).resolve().parent.parent
EVICTL = Path(sys.executable).parent / "evictl"
HEAVY = ("httpx", "pydantic", "yaml", "jsonschema", "uvicorn", "starlette", "deepdiff", "tenacity")
IO_LIBRARIES = ("httpx", "uvicorn", "starlette", "tenacity")
PROMPT = "prompts:\n  - name: greeter\n    text: Hello.\n"


def imported_by(*argv: str | Path, env: dict[str, str] | None = None) -> tuple[int, set[str]]:
    """The exit code of ``evictl ARGV`` run by ``main()`` in a fresh interpreter, and the
    top-level packages that interpreter imported."""
    code = (
        "import json, sys\n"
        f"sys.argv = ['evictl', *{[str(a) for a in argv]!r}]\n"
        "from reconciler.cli import main\n"
        "try:\n"
        "    main()\n"
        "    status = 0\n"
        "except SystemExit as exc:\n"
        "    status = exc.code or 0\n"
        "sys.stdout.write('\\n' + json.dumps([status, sorted(sys.modules)]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )
    status, modules = json.loads(result.stdout.splitlines()[-1])
    return status, set(modules)


def packages(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted({module.split(".")[0] for module in modules} & set(names))


def test_importing_the_cli_imports_no_heavy_library() -> None:
    code = "import json, sys, reconciler.cli; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert packages(set(json.loads(result.stdout)), HEAVY) == []


def test_the_group_help_imports_no_command() -> None:
    status, modules = imported_by("--help")
    assert status == 0
    assert packages(modules, HEAVY) == []
    assert sorted(m for m in modules if m.startswith("reconciler.cli.")) == [
        "reconciler.cli.options"
    ]


def test_validate_imports_no_client_server_or_retries() -> None:
    status, modules = imported_by("validate", "examples/manifests")
    assert status == 0
    assert packages(modules, IO_LIBRARIES) == []
    assert not any(m.startswith(("reconciler.client", "reconciler.emulator")) for m in modules)
    assert not any(m.startswith(("reconciler.planner", "reconciler.render")) for m in modules)


def test_validate_loads_jsonschema_only_for_tool_parameters(tmp_path: Path) -> None:
    status, modules = imported_by("validate", write(tmp_path, PROMPT))
    assert status == 0
    assert packages(modules, ("jsonschema", "referencing", *IO_LIBRARIES)) == []


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_summary_is_what_click_makes_of_the_docstring(name: str) -> None:
    """The group's help shows the summaries without importing commands: they must not drift."""
    command = cli.get_command(click.Context(cli), name)
    assert command is not None
    assert command.name == name
    stand_in = click.Command(name, help=COMMANDS[name].summary)
    for limit in (30, 45, 72, 1000):
        assert stand_in.get_short_help_str(limit) == command.get_short_help_str(limit)


def test_command_completion_reads_the_summaries() -> None:
    env = {"_EVICTL_COMPLETE": "zsh_complete", "COMP_WORDS": "evictl pr", "COMP_CWORD": "1"}
    result = subprocess.run([EVICTL], capture_output=True, text=True, env={**os.environ, **env})
    expected = []
    for name in ("probe", "promote"):
        command = cli.get_command(click.Context(cli), name)
        assert command is not None
        expected += ["plain", name, command.get_short_help_str()]
    assert result.stdout.splitlines() == expected
    status, modules = imported_by(env=env)
    assert status == 0
    assert not any(m.startswith("reconciler.cli.p") for m in modules)


def test_a_mistyped_command_is_matched_against_every_command() -> None:
    result = subprocess.run([EVICTL, "valdate", "."], capture_output=True, text=True)
    assert result.returncode == 1
    assert "No such command 'valdate'. Did you mean 'validate'?" in result.stderr


def test_errors_of_libraries_imported_late_are_still_messages(tmp_path: Path) -> None:
    """``main()`` names httpx's, sqlite3's and the manifests' errors without importing them."""
    root = write(tmp_path / "m", PROMPT)
    (tmp_path / "text.db").write_text("not a database\n" * 100, encoding="utf-8")
    url = f"http://127.0.0.1:{free_port()}"
    cases = {
        ("plan", root, "--base-url", url): f"error: cannot reach {url} (",
        ("plan", root, "--emulator", tmp_path / "text.db"): "error: file is not a database",
        (
            "validate",
            write(tmp_path / "bad", "prompts:\n  - name: x\n    text: 5\n"),
        ): "evi.yaml:3:",
    }
    for argv, start in cases.items():
        env = {**os.environ, "HUME_API_KEY": "k"}
        result = subprocess.run([EVICTL, *map(str, argv)], capture_output=True, text=True, env=env)
        assert (result.returncode, result.stdout) == (1, ""), argv
        assert result.stderr.startswith(start), argv
        assert "Traceback" not in result.stderr


def test_the_bundled_json_is_the_yaml_document() -> None:
    """``document()`` reads ``openapi.json``; regenerate it with ``python -m reconciler.hume.spec``."""
    assert spec.document() == spec.source_document()
