"""``--env`` on the commands that read an account besides plan, apply and drift: output, history,
rollback and probe each talk to the chosen environment's server with its key. Each server
refuses the other's key, so a request sent to the wrong account fails instead of passing."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.apply_support import evictl
from tests.project_support import Project


def requests_to(project: Project, environment: str) -> int:
    url = project.servers[environment].url
    return len(httpx.get(f"{url}/_emulator/requests").json()["requests"])


@pytest.fixture
def two_versions(project: Project) -> Project:
    """greeter at v0 "Hi from production" and v1 "Hello from production"; staging empty."""
    for extra in (["--var", "GREETING=Hi"], []):
        applied = evictl("apply", project.root, "--env", "production", "--auto-approve", *extra)
        assert applied.exit_code == 0, applied.output
    return project


def test_output_reads_the_chosen_environment(two_versions: Project) -> None:
    found = evictl("output", two_versions.root, "--env", "production", "--format", "json")
    assert found.exit_code == 0, found.output
    versions = {r["name"]: r["version"] for r in json.loads(found.stdout)["resources"]}
    assert versions == {"greeter": 1, "desk": 1}
    missing = evictl("output", two_versions.root, "--env", "staging", "--format", "json")
    assert missing.exit_code == 1
    assert len(json.loads(missing.stdout)["missing"]) == 2


def test_history_reads_the_chosen_environment(two_versions: Project) -> None:
    shown = evictl("history", "prompts/greeter", two_versions.root, "--env", "production")
    assert shown.exit_code == 0, shown.output
    assert "Hi from production" in shown.stdout and "Hello from production" in shown.stdout
    absent = evictl("history", "prompts/greeter", two_versions.root, "--env", "staging")
    assert absent.exit_code == 1
    assert "greeter" in str(absent.exception)


def test_rollback_writes_only_to_the_chosen_environment(two_versions: Project) -> None:
    staging_before = requests_to(two_versions, "staging")
    rolled = evictl(
        "rollback", "prompts/greeter", two_versions.root,
        "--env", "production", "--to", "0", "--auto-approve",
    )  # fmt: skip
    assert rolled.exit_code == 0, rolled.output
    assert two_versions.text("production") == "Hi from production"
    assert requests_to(two_versions, "staging") == staging_before


def test_probe_runs_against_the_chosen_environment(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The probe takes no PATH: the evictl.toml it finds is the working directory's."""
    monkeypatch.chdir(project.root)
    production_before = requests_to(project, "production")
    staging_before = requests_to(project, "staging")
    probed = evictl("probe", "--env", "staging")
    assert probed.exit_code == 0, probed.output
    assert requests_to(project, "staging") > staging_before
    assert requests_to(project, "production") == production_before
    assert project.names("staging") == []
