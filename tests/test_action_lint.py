"""action.yml and the example workflows: actionlint, GitHub's JSON schemas, and house rules.

actionlint checks a workflow's use of a local action (``uses: ./``) only inside a project, so the
files are copied into one (``.git``, ``.github/workflows``). It does not lint composite actions,
so the action's steps are also linted as the job of a reusable workflow with the same inputs:
that checks their expressions (``steps.cache.outputs.cache-hit``...) and, through shellcheck,
their scripts. No network: check-jsonschema's GitHub schemas are vendored, and the proxy
variables point at a closed port so that any download attempt fails the test.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.test_action_support import ACTION, ROOT

WORKFLOWS = sorted((ROOT / "examples" / "workflows").glob("*.yml"))
BIN = Path(sys.executable).parent
OFFLINE = {"HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9"}


def tool(name: str) -> str:
    """A linter from the test dependencies (the venv's bin, else PATH)."""
    found = shutil.which(name, path=f"{BIN}:{os.environ.get('PATH', '')}")
    assert found, f"{name} is missing: install the test dependencies (pip install -e '.[test]')"
    return found


def run(*argv: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(cwd), **OFFLINE}
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)


def workflow(path: Path) -> dict:
    """A workflow file; PyYAML reads the key ``on`` as True."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["on"] = data.pop(True)
    return data


def action_as_reusable_workflow() -> dict:
    inputs = {name: {"type": "string", "required": False} for name in ACTION["inputs"]}
    return {
        "on": {"workflow_call": {"inputs": inputs}},
        "jobs": {"action": {"runs-on": "ubuntu-latest", "steps": ACTION["runs"]["steps"]}},
    }


def test_actionlint_passes_the_workflows_and_the_action_steps(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    workflows = tmp_path / ".github" / "workflows"
    workflows.mkdir(parents=True)
    shutil.copy(ROOT / "action.yml", tmp_path / "action.yml")
    for path in WORKFLOWS:
        shutil.copy(path, workflows / path.name)
    steps = yaml.safe_dump(action_as_reusable_workflow(), sort_keys=False)
    (workflows / "action-steps.yml").write_text(steps, encoding="utf-8")
    result = run(
        tool("actionlint"), "-shellcheck", tool("shellcheck"), "-color=false", cwd=tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_catches_an_unknown_input_of_the_action(tmp_path: Path) -> None:
    """The check above can fail: a workflow passing an input action.yml lacks is reported."""
    (tmp_path / ".git").mkdir()
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    shutil.copy(ROOT / "action.yml", tmp_path / "action.yml")
    text = (ROOT / "examples" / "workflows" / "plan-on-pr.yml").read_text(encoding="utf-8")
    bad = text.replace("comment-on-pr: true", "comment-on-pr-x: true")
    (tmp_path / ".github" / "workflows" / "bad.yml").write_text(bad, encoding="utf-8")
    result = run(tool("actionlint"), "-color=false", cwd=tmp_path)
    assert result.returncode == 1
    assert 'input "comment-on-pr-x" is not defined in action "evictl"' in result.stdout


@pytest.mark.parametrize(
    ("schema", "paths"),
    [("vendor.github-actions", [ROOT / "action.yml"]), ("vendor.github-workflows", WORKFLOWS)],
)
def test_github_schemas_accept_the_files(schema: str, paths: list[Path]) -> None:
    result = run(tool("check-jsonschema"), "--builtin-schema", schema, *map(str, paths))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ok -- validation done" in result.stdout


def test_inputs_reach_scripts_only_through_the_environment() -> None:
    """No ``${{ }}`` in a script (injection); every input but python-version reaches the run step."""
    steps = ACTION["runs"]["steps"]
    for step in steps:
        assert "${{" not in step.get("run", ""), step["name"]
    [evictl] = [step for step in steps if step.get("id") == "evictl"]
    passed = {
        name: re.fullmatch(r"\$\{\{ inputs\.(.+) \}\}", value).group(1)
        for name, value in evictl["env"].items()
    }
    assert set(passed.values()) == set(ACTION["inputs"]) - {"python-version"}
    assert all(name == f"INPUT_{i.upper().replace('-', '_')}" for name, i in passed.items())


def test_third_party_actions_are_pinned_to_a_major_version() -> None:
    uses = [step["uses"] for step in ACTION["runs"]["steps"] if "uses" in step]
    for path in WORKFLOWS:
        for job in workflow(path)["jobs"].values():
            uses += [step["uses"] for step in job["steps"] if "uses" in step]
    assert "./" in uses
    assert all(use == "./" or re.fullmatch(r"actions/[a-z-]+@v\d+", use) for use in uses), uses


def test_the_workflows_keep_their_promises() -> None:
    plan = workflow(ROOT / "examples" / "workflows" / "plan-on-pr.yml")
    assert plan["on"]["pull_request"]["paths"] == ["examples/manifests/**"]
    assert plan["permissions"] == {"contents": "read", "pull-requests": "write"}
    commands = [
        s["with"]["command"] for s in plan["jobs"]["plan"]["steps"] if s.get("uses") == "./"
    ]
    assert commands == ["validate", "plan"]

    apply = workflow(ROOT / "examples" / "workflows" / "apply-on-main.yml")
    assert apply["on"]["push"]["branches"] == ["main"]
    assert apply["concurrency"]["cancel-in-progress"] is False
    assert apply["jobs"]["apply"]["environment"] == "production"

    drift = workflow(ROOT / "examples" / "workflows" / "drift-nightly.yml")
    assert set(drift["on"]) == {"schedule", "workflow_dispatch"}
    assert drift["permissions"]["issues"] == "write"
    matrix = drift["jobs"]["drift"]["strategy"]["matrix"]["include"]
    assert [entry["environment"] for entry in matrix] == ["staging", "production"]

    deploy = workflow(ROOT / "examples" / "workflows" / "multi-environment.yml")
    assert deploy["jobs"]["production"]["needs"] == "staging"
    for name in ("staging", "production"):
        job = deploy["jobs"][name]
        assert job["environment"] == name
        assert job["concurrency"]["cancel-in-progress"] is False


def test_the_docs_describe_every_input_and_output() -> None:
    docs = (ROOT / "docs" / "github-action.md").read_text(encoding="utf-8")
    for name in [*ACTION["inputs"], *ACTION["outputs"]]:
        assert f"| `{name}` |" in docs, name
    for path in WORKFLOWS:
        assert f"examples/workflows/{path.name}" in docs, path.name


def test_plan_drift_and_apply_get_the_same_vars() -> None:
    """Vars missing from one of them would show as changes or drift that apply never makes."""
    seen = {}
    for path in WORKFLOWS:
        for name, job in workflow(path)["jobs"].items():
            for step in job["steps"]:
                given = step.get("with", {})
                if step.get("uses") == "./" and given.get("command") in ("plan", "drift", "apply"):
                    lines = given.get("vars", "").splitlines()
                    seen[f"{path.name}:{name}:{given['command']}"] = {
                        "${{ vars }}" if re.fullmatch(r"\$\{\{ vars\W.*\}\}", line) else line
                        for line in (line.partition("=")[0] for line in lines)
                    }
    assert {"plan", "drift", "apply"} <= {key.rpartition(":")[2] for key in seen}
    assert seen == {key: {"${{ vars }}", "SUPPORT_WEBHOOK_TOKEN"} for key in seen}
    matrix = workflow(ROOT / "examples" / "workflows" / "drift-nightly.yml")["jobs"]["drift"]
    for entry in matrix["strategy"]["matrix"]["include"]:
        suffix = entry["environment"].upper()
        assert (entry["token"], entry["vars"]) == (
            f"SUPPORT_WEBHOOK_TOKEN_{suffix}",
            f"EVICTL_VARS_{suffix}",
        )
