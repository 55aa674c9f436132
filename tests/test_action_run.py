"""The action's steps, run as a runner would, against the emulator: outputs, summary, exit codes.

The contract under test: ``exitcode`` is evictl's own code; 2 (changes, drift) is a finding and
the step succeeds; 1 (an error, a failed apply) fails the step; nothing is hidden; the key and
secret vars never reach anything written.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.action.cachekey import digest
from tests.conftest import RunningEmulator
from tests.test_action_support import (
    CREATED,
    MANIFESTS,
    ROOT,
    TOKEN,
    FakeGitHub,
    Runner,
    evictl,
    run_action,
)

CREATE_ALL = "Plan: 9 to create, 0 new versions, 0 renames, 0 description updates, 0 to delete."
NO_CHANGES = "No changes. The Hume account matches the manifests."
BAD_MANIFEST = "prompts:\n  - name: greeter\n    txt: hello\n"


@pytest.fixture
def runner(tmp_path: Path) -> Runner:
    return Runner(tmp_path / "job")


def test_plan_with_changes_succeeds_with_exit_code_2(runner: Runner, account: str) -> None:
    run = evictl(runner, account, "plan")
    assert run.returncode == 0, run.stderr
    assert run.outputs["exitcode"] == "2"
    assert run.outputs["has-changes"] == "true"
    assert run.outputs["summary"] == CREATE_ALL
    plan = json.loads(Path(run.outputs["plan-json"]).read_text(encoding="utf-8"))
    pending = [(c["kind"], c["name"]) for c in plan["changes"] if c["actions"] == ["create"]]
    assert pending == CREATED
    assert run.summary == run.report + "\n"
    assert run.report.startswith(f"### evictl plan: `{MANIFESTS}`\n\n**{CREATE_ALL}**\n")
    assert run.report.count("<details>") == 9
    assert (
        '<code>+ prompt "weather-assistant": will be created  [prompts.yaml:5]</code>' in run.report
    )
    assert CREATE_ALL in run.stdout
    assert "::error" not in run.stdout


def test_apply_then_plan_and_drift_find_nothing(runner: Runner, account: str) -> None:
    applied = evictl(runner, account, "apply", parallelism="4")
    assert applied.returncode == 0, applied.stderr
    assert applied.outputs["exitcode"] == "0"
    assert applied.outputs["has-changes"] == "true"
    assert applied.outputs["summary"] == "Apply finished: 9 done, 0 failed, 0 skipped."
    assert applied.outputs["plan-json"] == ""
    rows = [line for line in applied.report.splitlines() if line.startswith("| done |")]
    assert [row.split(" | ")[1] for row in rows] == [f"{k[:-1]} `{n}`" for k, n in CREATED]
    assert all(" | create | v0 | " in row for row in rows)

    planned = evictl(runner, account, "plan")
    assert (planned.returncode, planned.outputs["exitcode"]) == (0, "0")
    assert planned.outputs["has-changes"] == "false"
    assert planned.outputs["summary"] == NO_CHANGES
    assert "<details>" not in planned.report

    drift = evictl(runner, account, "drift", environment="staging")
    assert (drift.returncode, drift.outputs["exitcode"]) == (0, "0")
    assert drift.outputs["has-changes"] == "false"
    assert drift.outputs["summary"] == "No drift: the Hume account matches the manifests."
    assert drift.report.startswith(f"### evictl drift: `{MANIFESTS}` (staging)\n")


def test_drift_is_a_finding_not_a_failure(runner: Runner, account: str) -> None:
    assert evictl(runner, account, "apply", vars="TUTOR_NAME=Ana\n").returncode == 0
    run = evictl(runner, account, "drift")
    assert run.returncode == 0, run.stderr
    assert run.outputs["exitcode"] == "2"
    assert run.outputs["has-changes"] == "true"
    assert run.outputs["summary"] == "Drift: 1 resource differs from the manifests."
    assert "<code>prompt 'language-tutor': differs from the manifests</code>" in run.report
    assert "\n-    <role>You are Ana, a patient" in run.report
    assert "\n+    <role>You are Lucía, a patient" in run.report


@pytest.mark.parametrize("command", ["validate", "plan", "apply", "drift"])
def test_an_error_fails_the_step_and_says_why(
    runner: Runner, account: str, tmp_path: Path, command: str
) -> None:
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "prompts.yaml").write_text(BAD_MANIFEST, encoding="utf-8")
    run = evictl(runner, account, command, path=str(tmp_path / "bad"))
    assert run.returncode == 1
    assert run.outputs["exitcode"] == "1"
    assert run.outputs["has-changes"] == "false"
    reason = "prompts.yaml:2:5: prompts[0].text: one of text, text_file is required"
    assert run.outputs["summary"] == f"evictl {command} failed (exit 1): {reason}"
    assert f"::error title=evictl::evictl {command} failed (exit 1): {reason}" in run.stdout
    assert "prompts.yaml:3:5: prompts[0].txt: unknown field 'txt'" in run.summary
    assert "2 errors: the manifests are not valid" in run.report


def test_a_saved_plan_is_applied_and_a_stale_one_refused(
    runner: Runner, account: str, tmp_path: Path
) -> None:
    saved = tmp_path / "plans" / "plan.json"
    assert evictl(runner, account, "plan", **{"plan-file": str(saved)}).returncode == 0
    applied = evictl(runner, account, "apply", **{"plan-file": str(saved)})
    assert (applied.returncode, applied.outputs["exitcode"]) == (0, "0"), applied.stderr
    assert applied.outputs["plan-json"] == str(saved)
    assert applied.outputs["summary"] == "Apply finished: 9 done, 0 failed, 0 skipped."

    assert evictl(runner, account, "apply", vars="TUTOR_NAME=Ana").returncode == 0
    stale = evictl(runner, account, "apply", **{"plan-file": str(saved)})
    assert (stale.returncode, stale.outputs["exitcode"]) == (1, "1")
    assert stale.outputs["summary"].startswith(
        "evictl apply failed (exit 1): error: the plan is stale"
    )


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"command": "destroy"}, "input command must be one of validate, plan, apply, drift"),
        (
            {"command": "plan", "drift-issue": "true"},
            "input drift-issue works only with command: drift",
        ),
        ({"command": "plan", "comment-on-pr": "yes"}, "input comment-on-pr must be true or false"),
    ],
)
def test_an_unusable_input_fails_before_anything_runs(
    runner: Runner, inputs: dict[str, str], message: str
) -> None:
    run = run_action(runner, inputs)
    assert run.returncode == 1
    assert f"::error title=evictl::{message}" in run.stdout
    assert run.outputs == dict.fromkeys(run.outputs, "")


def test_without_a_key_the_real_api_is_an_error(runner: Runner, emulator: RunningEmulator) -> None:
    run = run_action(runner, {"command": "plan", "path": MANIFESTS, "base-url": emulator.url})
    assert run.returncode == 1
    assert run.outputs["summary"].startswith(
        "evictl plan failed (exit 1): error: HUME_API_KEY is not set"
    )


def test_the_key_and_secret_vars_are_never_written(
    runner: Runner, emulator: RunningEmulator
) -> None:
    key = "hume-key-7f3a9c-do-not-print"
    token = "webhook-token-5b1e-do-not-print"
    runner.event_name = "pull_request"
    runner.event = {"pull_request": {"number": 7, "head": {"sha": "feedface" * 5}}}
    inputs = {
        "path": MANIFESTS,
        "base-url": emulator.url,
        "api-key": key,
        "vars": f"SUPPORT_WEBHOOK_TOKEN={token}\nTUTOR_NAME=Ana\n",
        "comment-on-pr": "true",
    }
    with FakeGitHub() as github:
        runner.api_url = github.url
        runs = [run_action(runner, {"command": c, **inputs}) for c in ("plan", "apply", "drift")]
        sent = json.dumps(github.requests)
    assert [r.outputs["exitcode"] for r in runs] == ["2", "0", "0"]
    plan = runs[0].report
    assert "token=(secret)" in plan
    written = [sent] + [
        path.read_text(encoding="utf-8", errors="replace")
        for path in runner.root.rglob("*")
        if path.is_file()
    ]
    for run in runs:
        written += [run.stderr, *run.outputs.values()]
        masks = [line for line in run.stdout.splitlines() if key in line or token in line]
        assert sorted(masks) == [f"::add-mask::{key}", f"::add-mask::{token}"]
    for text in written:
        assert key not in text
        assert token not in text
    assert "::add-mask::Ana" not in runs[0].stdout


@pytest.mark.parametrize(
    ("cache", "installed"),
    [("miss", True), ("hit", False), ("broken", True)],
)
def test_install_runs_pip_only_without_a_working_cached_venv(
    runner: Runner, cache: str, installed: bool
) -> None:
    if cache != "miss":
        runner.restore_cache(broken=cache == "broken")
    run = run_action(runner, {"command": "validate", "path": MANIFESTS}, cache_hit=cache != "miss")
    assert run.returncode == 0, run.stderr
    assert run.step_outputs["key"] == {"hash": digest(ROOT)}
    venvs = runner.venv_log.read_text().splitlines() if runner.venv_log.exists() else []
    assert venvs == ([str(runner.venv)] if installed else [])
    pip = f"-m pip install --quiet --disable-pip-version-check {ROOT}"
    assert runner.pip_installs() == ([pip] if installed else [])
    assert run.exported == {"EVICTL_PYTHON": str(runner.venv / "bin" / "python")}
    assert run.outputs["summary"].endswith(": valid")


def test_only_secret_variables_are_masked_and_never_short_ones(
    runner: Runner, account: str
) -> None:
    token = "webhook-token-5b1e-do-not-print"
    vars_ = f"MAX_TOKENS=9\nAPI_TOKEN=not-a-secret-here\nSUPPORT_WEBHOOK_TOKEN={token}\n"
    run = evictl(runner, account, "plan", vars=vars_)
    assert run.returncode == 0, run.stderr
    masks = [line for line in run.stdout.splitlines() if line.startswith("::add-mask::")]
    assert masks == [f"::add-mask::{token}", f"::add-mask::{TOKEN}"]

    short = evictl(runner, account, "plan", vars="SUPPORT_WEBHOOK_TOKEN=abc12\n")
    assert short.returncode == 1
    assert "::add-mask::abc12" not in short.stdout
    assert "secret 'SUPPORT_WEBHOOK_TOKEN' is 5 character(s) long" in short.outputs["summary"]
