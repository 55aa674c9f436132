"""``evictl apply`` on the embedded emulator: output, confirmation, saved plans, exit codes."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from reconciler.cli import cli
from reconciler.client import HumeClient
from reconciler.errors import UserError
from reconciler.workflow import Connection
from tests.apply_support import (
    BASE,
    BASE_INVENTORY,
    CHANGED,
    CHANGED_INVENTORY,
    evictl,
    inventory,
    live,
    pins,
    progress,
    with_client,
)
from tests.plan_support import write

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "manifests"
EMPTY: dict[str, dict[str, list[int]]] = {"prompts": {}, "tools": {}, "configs": {}}
LEGACY = """\
prompts:
  - name: spanish-tutor
    text: Habla despacio.
  - name: holiday-greeter
    text: Happy holidays!
configs:
  - name: spanish-tutor-config
    evi_version: "3"
    prompt: spanish-tutor
  - name: spanish-tutor-legacy
    evi_version: "3"
"""


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "e.sqlite"


@pytest.fixture
def account(db: Path) -> Connection:
    return Connection(emulator=db)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return write(tmp_path / "m", BASE)


def test_apply_creates_the_examples_then_plan_has_no_changes(db: Path, account: Connection) -> None:
    result = evictl("apply", EXAMPLES, "--emulator", db, "--auto-approve")
    assert result.exit_code == 0, result.output
    assert [line.split(":")[0] for line in sorted(progress(result.stdout))] == [
        "done    config language-tutor",
        "done    config support-line",
        "done    config weather-config",
        "done    prompt language-tutor",
        "done    prompt support-agent",
        "done    prompt weather-assistant",
        "done    tool book_technician_visit",
        "done    tool get_current_weather",
        "done    tool lookup_account",
    ]
    assert result.stdout.endswith("Apply finished: 9 done, 0 failed, 0 skipped.\n")
    again = evictl("plan", EXAMPLES, "--emulator", db, "--detailed-exitcode")
    assert (again.exit_code, again.stdout) == (
        0,
        "No changes. The Hume account matches the manifests.\n",
    )
    assert pins(account, "support-line") == {
        "prompt": "support-agent v0",
        "tools": ["book_technician_visit v0", "lookup_account v0"],
    }


def test_the_examples_rename_and_delete_a_legacy_account(
    db: Path, account: Connection, tmp_path: Path
) -> None:
    legacy = write(tmp_path / "legacy", LEGACY)
    assert evictl("apply", legacy, "--emulator", db, "--auto-approve").exit_code == 0
    result = evictl("apply", EXAMPLES, "--emulator", db, "--auto-approve", "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    changed = {
        f"{o['kind']}/{o['name']}": (o["status"], o["actions"], o["version"])
        for o in document["outcomes"]
        if o["actions"] != ["create"]
    }
    assert changed == {
        "prompts/language-tutor": ("done", ["rename", "new_version"], 1),
        "prompts/holiday-greeter": ("done", ["delete"], None),
        "configs/language-tutor": ("done", ["rename", "new_version"], 1),
        "configs/spanish-tutor-legacy": ("done", ["delete"], None),
    }
    assert document["summary"] == {"done": 11, "conflict": 0, "failed": 0, "skipped": 0}
    assert inventory(account)["prompts"] == {
        "language-tutor": [0, 1],
        "weather-assistant": [0],
        "support-agent": [0],
    }
    assert inventory(account)["configs"] == {
        "language-tutor": [0, 1],
        "weather-config": [0],
        "support-line": [0],
    }
    assert pins(account, "language-tutor") == {"prompt": "language-tutor v1", "tools": []}
    assert evictl("plan", EXAMPLES, "--emulator", db, "--detailed-exitcode").exit_code == 0


def test_progress_names_each_action_with_its_version_and_id(
    db: Path, account: Connection, root: Path
) -> None:
    evictl("apply", root, "--emulator", db, "--auto-approve")
    retired = live(account, "prompts", "retired").id
    write(root, CHANGED)
    result = evictl("apply", root, "--emulator", db, "--auto-approve")
    assert result.exit_code == 0, result.output
    ids = {
        name: live(account, kind, name).id
        for kind, names in CHANGED_INVENTORY.items()
        for name in names
    }
    assert sorted(progress(result.stdout)) == sorted(
        [
            f"done    prompt greeter: new_version → v1 (id {ids['greeter']})",
            f"done    prompt farewell: rename, new_version → v1 (id {ids['farewell']})",
            f"done    prompt retired: delete (id {retired})",
            f"done    tool lookup: update_description → v0 (id {ids['lookup']})",
            f"done    tool search: create → v0 (id {ids['search']})",
            f"done    config desk: new_version → v1 (id {ids['desk']})",
            f"done    config late: rename, new_version → v1 (id {ids['late']})",
        ]
    )
    assert progress(result.stdout)[-1].startswith("done    prompt retired: delete")
    assert result.stdout.endswith("Apply finished: 7 done, 0 failed, 0 skipped.\n")
    assert inventory(account) == CHANGED_INVENTORY


def test_json_format_is_the_outcomes_and_a_summary(
    db: Path, account: Connection, root: Path
) -> None:
    result = evictl("apply", root, "--emulator", db, "--auto-approve", "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    expected = [
        {
            "kind": kind,
            "name": name,
            "actions": ["create"],
            "status": "done",
            "id": live(account, kind, name).id,
            "version": 0,
            "detail": "",
        }
        for kind, names in BASE_INVENTORY.items()
        for name in names
    ]
    assert sorted(document["outcomes"], key=str) == sorted(expected, key=str)
    assert document["format_version"] == 1
    assert document["summary"] == {"done": 6, "conflict": 0, "failed": 0, "skipped": 0}


def test_without_a_terminal_apply_needs_auto_approve(
    db: Path, account: Connection, root: Path
) -> None:
    result = evictl("apply", root, "--emulator", db)
    assert isinstance(result.exception, UserError)
    assert "no terminal to confirm on" in str(result.exception)
    assert inventory(account) == EMPTY


class Terminal(io.StringIO):
    """Typed answers on a standard input that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("answer", "said", "expected"),
    [
        ("y", "Apply finished: 6 done, 0 failed, 0 skipped.", BASE_INVENTORY),
        ("n", "Apply cancelled; nothing was changed.", EMPTY),
        ("", "Apply cancelled; nothing was changed.", EMPTY),
    ],
)
def test_a_terminal_is_asked_to_confirm(
    db: Path,
    account: Connection,
    root: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    answer: str,
    said: str,
    expected: dict,
) -> None:
    monkeypatch.setattr(sys, "stdin", Terminal(answer + "\n"))
    try:
        cli.main(["apply", str(root), "--emulator", str(db)], standalone_mode=False)
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    assert code == (0 if expected is BASE_INVENTORY else 1)  # "no" is not success
    stdout = capsys.readouterr().out
    plan_then_question = "Plan: 6 to create, 0 new versions, 0 renames, 0 description updates, "
    assert f"{plan_then_question}0 to delete.\nApply these changes? [y/N]: " in stdout
    assert stdout.endswith(f"{said}\n")
    assert inventory(account) == expected


def test_a_saved_plan_is_applied_without_asking(db: Path, account: Connection, root: Path) -> None:
    saved = root.parent / "plan.json"
    assert evictl("plan", root, "--emulator", db, "--out", saved).exit_code == 0
    result = evictl("apply", saved, "--emulator", db)
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith("Apply finished: 6 done, 0 failed, 0 skipped.\n")
    assert inventory(account) == BASE_INVENTORY
    assert evictl("plan", root, "--emulator", db, "--detailed-exitcode").exit_code == 0


def test_a_saved_plan_keeps_its_targets(db: Path, account: Connection, root: Path) -> None:
    saved = root.parent / "plan.json"
    evictl("plan", root, "--emulator", db, "--target", "configs/night", "--out", saved)
    assert evictl("apply", saved, "--emulator", db).exit_code == 0
    made = {"prompts": {"closer": [0]}, "tools": {}, "configs": {"night": [0]}}
    assert inventory(account) == made


def test_a_saved_plan_cannot_be_narrowed_by_target(
    db: Path, account: Connection, root: Path
) -> None:
    saved = root.parent / "plan.json"
    evictl("plan", root, "--emulator", db, "--out", saved)
    result = evictl("apply", saved, "--emulator", db, "--target", "prompts/greeter")
    assert str(result.exception) == (
        f"{saved}: a saved plan applies what it was made with (no --target); "
        "run plan again with the targets you want"
    )
    assert inventory(account) == EMPTY


def _nested(doc: dict, depth: int) -> str:
    """The plan's JSON with a key nested ``depth`` lists deep (too deep for ``json.dumps``)."""
    return json.dumps(doc)[:-1] + ', "x": ' + "[" * depth + "]" * depth + "}"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda doc: json.dumps({**doc, "format_version": 1}),
            "plan format 1 is not the format this evictl reads (2); "
            "run `evictl plan --out` again with this version",
        ),
        (
            lambda doc: json.dumps({k: v for k, v in doc.items() if k != "format_version"}),
            "plan format None is not the format this evictl reads (2); "
            "run `evictl plan --out` again with this version",
        ),
        (
            lambda doc: json.dumps({**doc, "changes": [{"kind": "prompts"}]}),
            "not a plan file written by `evictl plan --out` (bad changes.0.name)",
        ),
        (
            lambda doc: json.dumps([doc]),
            "not a plan file written by `evictl plan --out` (the file is not a JSON object)",
        ),
        (
            lambda doc: _nested(doc, 100_000),
            "not a plan file written by `evictl plan --out` (nested too deep)",
        ),
    ],
    ids=["format-1", "no-format", "bad-change", "not-an-object", "nested-100k"],
)
def test_a_plan_file_of_another_format_is_refused_with_a_message(
    db: Path, account: Connection, root: Path, edit: Any, message: str
) -> None:
    saved = root.parent / "plan.json"
    assert evictl("plan", root, "--emulator", db, "--out", saved).exit_code == 0
    saved.write_text(edit(json.loads(saved.read_text())), encoding="utf-8")
    result = evictl("apply", saved, "--emulator", db)
    assert isinstance(result.exception, UserError)
    assert str(result.exception) == f"{saved}: {message}"
    assert inventory(account) == EMPTY


def test_a_saved_plan_names_the_directory_it_was_made_in(
    db: Path, root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(root.parent)
    evictl("plan", root.name, "--emulator", db, "--out", "plan.json")
    monkeypatch.chdir(tmp_path.parent)
    result = evictl("apply", root.parent / "plan.json", "--emulator", db)
    assert str(result.exception) == (
        f"{root.parent / 'plan.json'}: the manifests it was made from ({root.name}) are not "
        "here; apply it from the directory `evictl plan` ran in"
    )


def refused(db: Path, account: Connection, saved: Path, reason: str) -> None:
    """Applying ``saved`` is refused as stale for ``reason``, and writes nothing."""
    before = inventory(account)
    result = evictl("apply", saved, "--emulator", db, "--auto-approve")
    assert isinstance(result.exception, UserError)
    assert str(result.exception) == f"the plan is stale: {reason}; run plan again"
    assert inventory(account) == before


def test_a_saved_plan_is_refused_after_a_live_new_version(
    db: Path, account: Connection, root: Path
) -> None:
    evictl("apply", root, "--emulator", db, "--auto-approve")
    write(root, CHANGED)
    saved = root.parent / "plan.json"
    evictl("plan", root, "--emulator", db, "--out", saved)

    async def edit(client: HumeClient) -> None:
        (greeter,) = await client.list("prompts", name="greeter")
        await client.create_version("prompts", greeter.id, {"text": "edited in the portal"})

    with_client(account, edit)
    refused(db, account, saved, "prompt greeter is now at version 1 (the plan saw version 0)")


def test_a_saved_plan_is_refused_after_a_live_create(
    db: Path, account: Connection, root: Path
) -> None:
    saved = root.parent / "plan.json"
    evictl("plan", root, "--emulator", db, "--out", saved)
    with_client(account, lambda client: client.create("prompts", {"name": "greeter", "text": "x"}))
    refused(db, account, saved, "prompt greeter now exists in Hume (the plan saw none)")


def test_a_saved_plan_is_refused_when_the_manifests_changed(
    db: Path, account: Connection, root: Path
) -> None:
    saved = root.parent / "plan.json"
    evictl("plan", root, "--emulator", db, "--out", saved)
    write(root, CHANGED)
    result = evictl("apply", saved, "--emulator", db)
    assert str(result.exception) == (
        "the plan is stale: prompts/greeter text resolves differently (other variables, "
        "or edited files?); run plan again"
    )
    assert inventory(account) == EMPTY


def test_json_output_needs_auto_approve(db: Path, root: Path) -> None:
    result = evictl("apply", root, "--emulator", db, "--format", "json")
    assert str(result.exception).startswith("--format json prints no plan to confirm")


def test_progress_lines_are_redacted(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROMPT_NAME_SECRET", "hush-1234")
    manifest = tmp_path / "secret" / "evi.yaml"
    manifest.parent.mkdir()
    manifest.write_text("prompts:\n  - name: p-${secret:PROMPT_NAME_SECRET}\n    text: t\n")
    result = evictl("apply", manifest.parent, "--emulator", db, "--auto-approve")
    assert "hush-1234" not in result.stdout
    assert "done    prompt p-(secret): create" in result.stdout


def test_apply_with_nothing_to_do_says_so(db: Path, root: Path) -> None:
    evictl("apply", root, "--emulator", db, "--auto-approve")
    result = evictl("apply", root, "--emulator", db, "--auto-approve")
    assert (result.exit_code, result.stdout) == (
        0,
        "No changes. The Hume account matches the manifests.\n",
    )


def run_evictl(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """``python -m reconciler ARGS`` with no terminal on stdin."""
    command = [sys.executable, "-m", "reconciler", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL)


def test_the_command_line_exits_1_with_a_message_not_a_traceback(db: Path, root: Path) -> None:
    refused = run_evictl("apply", root, "--emulator", db)
    assert (refused.returncode, refused.stderr) == (
        1,
        "error: no terminal to confirm on: review with `evictl plan`, then --auto-approve\n",
    )
    saved = root.parent / "plan.json"
    run_evictl("plan", root, "--emulator", db, "--out", saved)
    applied = run_evictl("apply", root, "--emulator", db, "--auto-approve")
    assert (applied.returncode, applied.stderr) == (0, "")
    stale = run_evictl("apply", saved, "--emulator", db)
    assert stale.returncode == 1
    assert stale.stderr.startswith("error: the plan is stale: prompt closer now exists in Hume")
    assert "Traceback" not in refused.stderr + stale.stderr
