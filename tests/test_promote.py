"""``evictl promote``: production gets the manifests only once staging runs exactly them, over two
emulated accounts (real servers with their own keys), from the CLI and from the Action."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import pytest

from reconciler.action import runner
from reconciler.errors import UserError
from tests.apply_support import evictl
from tests.project_support import KEYS, Project

CHANGED = "Hello", "Hi there"


def apply_to_staging(project: Project) -> None:
    applied = evictl("apply", project.root, "--env", "staging", "--auto-approve")
    assert applied.exit_code == 0, applied.output


def drift_on_staging(project: Project) -> None:
    """Staging runs the manifests, then the staging var file changes what they resolve to."""
    apply_to_staging(project)
    staging_env = project.root / "env" / "staging.env"
    staging_env.write_text(staging_env.read_text().replace(*CHANGED))


def refused_promotion(project: Project) -> tuple[str, str]:
    """Promote staging to production, which must be refused and leave production empty; the
    message and what was printed."""
    result = evictl(
        "promote", project.root, "--from", "staging", "--to", "production", "--auto-approve"
    )
    assert isinstance(result.exception, UserError), result.output
    assert project.names("production") == []
    assert project.names("production", "configs") == []
    return str(result.exception), result.stdout


def test_promote_is_refused_while_staging_does_not_run_the_manifests(project: Project) -> None:
    drift_on_staging(project)
    message, stdout = refused_promotion(project)
    assert message == (
        "staging does not run these manifests: prompts/greeter differ; "
        "apply them to staging first, then promote"
    )
    assert stdout.startswith(
        "evictl drift (staging)\n\n  ! prompt 'greeter': differs from the manifests  [evi.yaml:2]"
    )
    assert "  -Hello from staging\n          +Hi there from staging\n" in stdout


def test_promote_from_a_clean_staging_leaves_production_without_drift(
    project: Project, tmp_path: Path
) -> None:
    apply_to_staging(project)
    out = tmp_path / "promoted.json"
    result = evictl(
        "promote", project.root, "--from", "staging", "--to", "production", "--auto-approve",
        "--out", out,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("evictl apply (production)\n\n  + prompt ")
    assert result.stdout.endswith("Apply finished: 2 done, 0 failed, 0 skipped.\n")
    saved = json.loads(out.read_text())
    assert [c["address"] for c in saved["changes"]] == ["prompts/greeter", "configs/desk"]
    assert project.text("production") == "Hello from production"
    drift = evictl("drift", project.root, "--env", "production")
    assert drift.exit_code == 0, drift.output
    again = evictl(
        "promote", project.root, "--from", "staging", "--to", "production", "--auto-approve"
    )
    assert again.exit_code == 0, again.output
    assert again.stdout.endswith("No changes. The Hume account matches the manifests.\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--from", "staging", "--to", "staging"),
            "--from and --to are both staging: promote copies between two",
        ),
        (("--from", "stage", "--to", "production"), "--from stage: no such environment in"),
        (("--from", "staging", "--to", "production"), "no terminal to confirm on"),
    ],
)
def test_promote_refuses_what_it_cannot_do(
    project: Project, args: tuple[str, ...], message: str
) -> None:
    apply_to_staging(project)
    result = evictl("promote", project.root, *args)
    assert isinstance(result.exception, UserError), result.output
    assert str(result.exception).startswith(message)
    assert project.names("production") == []


def action(project: Project, tmp_path: Path) -> tuple[int, dict[str, str], str]:
    """The Action's ``command: promote`` step: its exit code, outputs and job summary."""
    tmp_path.mkdir()
    outputs, summary = tmp_path / "outputs", tmp_path / "summary.md"
    env = {
        **os.environ,
        "INPUT_COMMAND": "promote",
        "INPUT_PATH": str(project.root),
        "INPUT_FROM": "staging",
        "INPUT_TO": "production",
        "INPUT_PARALLELISM": "8",
        "GITHUB_OUTPUT": str(outputs),
        "GITHUB_STEP_SUMMARY": str(summary),
        "RUNNER_TEMP": str(tmp_path),
    }
    code = runner.main(env)
    values = {}
    lines = outputs.read_text().splitlines()
    for index, line in enumerate(lines):
        if "<<ghadelimiter_" in line:
            values[line.split("<<")[0]] = lines[index + 1]
    return code, values, summary.read_text()


def test_the_action_promotes_and_reports_a_refusal(
    project: Project, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    drift_on_staging(project)
    code, outputs, summary = action(project, tmp_path / "refused")
    assert (code, outputs["exitcode"]) == (1, "1")
    assert summary.startswith(f"### evictl promote: `{project.root}` (staging → production)\n")
    assert "staging does not run these manifests: prompts/greeter differ" in summary
    assert project.names("production") == []

    apply_to_staging(project)
    code, outputs, summary = action(project, tmp_path / "done")
    assert (code, outputs["exitcode"], outputs["has-changes"]) == (0, "0", "true")
    assert outputs["summary"] == "Apply finished: 2 done, 0 failed, 0 skipped."
    assert project.text("production") == "Hello from production"  # its own var file
    printed = capsys.readouterr()
    for key in KEYS.values():
        assert key not in printed.out + printed.err + summary


def test_promote_is_refused_while_staging_cannot_be_read_in_full(project: Project) -> None:
    """What was not read may be what differs: an incomplete drift report refuses like drift."""
    apply_to_staging(project)
    faults = {"error_rate": 1.0, "methods": ["GET"], "path": "/version/"}
    staging = project.servers["staging"].url
    httpx.post(f"{staging}/_emulator/faults", json=faults).raise_for_status()
    message, stdout = refused_promotion(project)
    assert message == (
        "staging could not be read in full: Hume did not answer for 1 resource(s), and what was "
        "not read may be what differs; promote again"
    )
    assert "Not read (Hume did not answer): prompts/greeter" in stdout
