"""The action and GitHub: one sticky comment per PR and path, one drift issue per environment.

The action talks to a fake GitHub REST API on a loopback port (tests/test_action_support.py),
which keeps issues and comments and records every request.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.action.github import fit
from tests.test_action_support import BOT, MANIFESTS, FakeGitHub, Runner, evictl

MARKER = f"<!-- evictl:plan:{MANIFESTS} -->"
HEAD = "feedface" * 5
RUN_URL = "https://github.example/acme/voice/actions/runs/4242"
POINTER = f"The whole report is in the [job summary]({RUN_URL})."
DRIFT_MARKER = "<!-- evictl:drift:production -->"


@pytest.fixture
def github() -> FakeGitHub:
    with FakeGitHub() as fake:
        yield fake


@pytest.fixture
def runner(tmp_path: Path, github: FakeGitHub) -> Runner:
    """A job on PR #7 of acme/voice, from a branch of the same repository."""
    event = {
        "pull_request": {
            "number": 7,
            "head": {"sha": HEAD, "repo": {"full_name": "acme/voice"}},
        }
    }
    return Runner(tmp_path / "job", event_name="pull_request", event=event, api_url=github.url)


def test_the_plan_comment_is_posted_once_then_edited_in_place(
    runner: Runner, account: str, github: FakeGitHub
) -> None:
    for n in range(120):
        github.add_comment(7, f"review comment {n}")
    other = github.add_comment(7, "<!-- evictl:plan:other/manifests -->\nanother path's plan")

    first = evictl(runner, account, "plan", **{"comment-on-pr": "true"})
    assert first.returncode == 0, first.stderr
    [(method, path, body)] = github.writes()
    assert (method, path) == ("POST", "/repos/acme/voice/issues/7/comments")
    assert body["body"].startswith(f"{MARKER}\n### evictl plan: `{MANIFESTS}`\n")
    assert "**Plan: 9 to create, 0 new versions" in body["body"]
    assert body["body"].endswith(f"<sub>evictl plan at feedfac · [workflow run]({RUN_URL})</sub>")
    [comment] = [c for c in github.comments.values() if c["body"].startswith(MARKER)]

    assert evictl(runner, account, "apply").returncode == 0
    second = evictl(runner, account, "plan", **{"comment-on-pr": "true"})
    assert second.returncode == 0, second.stderr
    assert [(m, p) for m, p, _ in github.writes()] == [
        ("POST", "/repos/acme/voice/issues/7/comments"),
        ("PATCH", f"/repos/acme/voice/issues/comments/{comment['id']}"),
    ]
    assert [c for c in github.comments.values() if c["body"].startswith(MARKER)] == [comment]
    assert "**No changes. The Hume account matches the manifests.**" in comment["body"]
    assert other["body"] == "<!-- evictl:plan:other/manifests -->\nanother path's plan"
    assert f"PR comment: {comment['html_url']}" in second.stdout


def test_each_environment_keeps_its_own_comment(
    runner: Runner, account: str, github: FakeGitHub
) -> None:
    for environment in ("staging", "production"):
        run = evictl(runner, account, "plan", environment=environment, **{"comment-on-pr": "true"})
        assert run.returncode == 0, run.stderr
    bodies = sorted(c["body"].splitlines()[0] for c in github.comments.values())
    assert bodies == [
        f"<!-- evictl:plan:{MANIFESTS}:{env} -->" for env in ("production", "staging")
    ]
    assert [m for m, _, _ in github.writes()] == ["POST", "POST"]


def test_a_long_plan_is_cut_with_a_pointer_to_the_job_summary(
    runner: Runner, account: str, github: FakeGitHub, tmp_path: Path
) -> None:
    lines = "\n".join(f"      Line {n}: be helpful, brief and kind." for n in range(2000))
    (tmp_path / "long").mkdir()
    (tmp_path / "long" / "prompts.yaml").write_text(
        f"prompts:\n  - name: long\n    text: |\n{lines}\n", encoding="utf-8"
    )
    run = evictl(runner, account, "plan", path=str(tmp_path / "long"), **{"comment-on-pr": "true"})
    assert run.returncode == 0, run.stderr
    assert "Line 1999: be helpful" in run.summary
    assert len(run.summary) > 65_536
    [(_, _, body)] = github.writes()
    text = body["body"]
    assert len(text) <= 60_000
    assert "Line 1000: be helpful" in text
    assert "Line 1999: be helpful" not in text
    cut = "**Cut here: the report is longer than GitHub allows. Resources shown in full: 0 of 1."
    assert f"{cut} {POINTER}**" in text
    assert text.count("```") % 2 == 0
    assert text.count("<details>") == text.count("</details>") == 1


def test_a_plan_of_many_resources_is_cut_after_a_whole_one(
    runner: Runner, account: str, github: FakeGitHub, tmp_path: Path
) -> None:
    text = "".join(f"      Line {n}: be helpful, brief and kind.\n" for n in range(40))
    prompts = "".join(f"  - name: p{n:03}\n    text: |\n{text}" for n in range(60))
    (tmp_path / "many").mkdir()
    (tmp_path / "many" / "prompts.yaml").write_text(f"prompts:\n{prompts}", encoding="utf-8")
    run = evictl(runner, account, "plan", path=str(tmp_path / "many"), **{"comment-on-pr": "true"})
    assert run.returncode == 0, run.stderr
    assert len(run.summary) > 65_536
    [(_, _, body)] = github.writes()
    comment = body["body"]
    assert len(comment) <= 60_000
    assert [f"p{n:03}" in comment.split("<details>")[0] for n in range(60)] == [True] * 60
    report, note = comment.split("\n**Cut here:")
    assert report.endswith("Line 39: be helpful, brief and kind.\n```\n</details>\n")
    shown = report.count("</details>")
    assert report.count("<details>") == shown and 0 < shown < 60
    assert note.startswith(
        f" the report is longer than GitHub allows. Resources shown in full: {shown} of 60. "
        f"{POINTER}**"
    )


def test_a_comment_with_our_marker_by_someone_else_is_left_alone(
    runner: Runner, account: str, github: FakeGitHub
) -> None:
    quoted = github.add_comment(7, f"{MARKER}\nquoted by a reviewer", author="octocat")
    other_bot = github.add_comment(7, f"{MARKER}\nanother bot", author="renovate[bot]")
    for _ in range(2):
        assert evictl(runner, account, "plan", **{"comment-on-pr": "true"}).returncode == 0
    [(m1, p1, _), (m2, p2, _)] = github.writes()
    [ours] = [c for c in github.comments.values() if c["user"]["login"] == BOT]
    assert (m1, p1) == ("POST", "/repos/acme/voice/issues/7/comments")
    assert (m2, p2) == ("PATCH", f"/repos/acme/voice/issues/comments/{ours['id']}")
    assert quoted["body"] == f"{MARKER}\nquoted by a reviewer"
    assert other_bot["body"] == f"{MARKER}\nanother bot"
    assert ("POST", "/graphql") in [(m, p) for m, p, _ in github.requests]


@pytest.mark.parametrize(
    ("fork", "returncode", "level"), [(True, 0, "warning"), (False, 1, "error")]
)
def test_a_refused_comment_fails_the_step_except_on_a_fork(
    runner: Runner, account: str, github: FakeGitHub, fork: bool, returncode: int, level: str
) -> None:
    if fork:
        runner.event["pull_request"]["head"]["repo"]["full_name"] = "someone/voice"
    github.refusals[("POST", r".*/comments")] = 403
    run = evictl(runner, account, "plan", **{"comment-on-pr": "true"})
    assert run.returncode == returncode
    assert run.outputs["exitcode"] == "2"
    message = (
        "GitHub API POST /repos/acme/voice/issues/7/comments: 403 Resource not accessible by "
        "integration"
    )
    assert f"::{level} title=evictl::{message}" in run.stdout


def test_no_comment_outside_a_pull_request(
    runner: Runner, account: str, github: FakeGitHub
) -> None:
    runner.event_name, runner.event = "push", {}
    run = evictl(runner, account, "plan", **{"comment-on-pr": "true"})
    assert run.returncode == 0, run.stderr
    assert github.requests == []
    assert "comment-on-pr: not a pull request (push); no comment." in run.stdout


def test_the_drift_issue_opens_updates_and_closes(
    runner: Runner, account: str, github: FakeGitHub
) -> None:
    runner.event_name, runner.event = "schedule", {}
    staging = github.add_issue("<!-- evictl:drift:staging -->\nstaging drifts", ["evictl-drift"])
    github.add_issue(f"{DRIFT_MARKER}\na pull request", ["evictl-drift"], pull_request=True)
    nightly = {"environment": "production", "drift-issue": "true"}

    assert evictl(runner, account, "apply", vars="TUTOR_NAME=Ana").returncode == 0
    opened = evictl(runner, account, "drift", **nightly)
    assert (opened.returncode, opened.outputs["exitcode"]) == (0, "2"), opened.stderr
    [(method, path, body)] = github.writes()
    assert (method, path) == ("POST", "/repos/acme/voice/issues")
    assert body["title"] == "evictl: drift in production"
    assert body["labels"] == ["evictl-drift"]
    assert body["body"].startswith(f"{DRIFT_MARKER}\n### evictl drift: `{MANIFESTS}` (production)")
    assert "**Drift: 1 resource differs from the manifests.**" in body["body"]
    [issue] = [i for i in github.issues.values() if i["title"] == "evictl: drift in production"]

    assert evictl(runner, account, "apply", vars="TUTOR_NAME=Bea").returncode == 0
    updated = evictl(runner, account, "drift", **nightly)
    assert updated.returncode == 0, updated.stderr
    assert github.writes()[1:] == [
        ("PATCH", f"/repos/acme/voice/issues/{issue['number']}", {"body": issue["body"]})
    ]
    assert "You are Bea" in issue["body"]
    assert issue["state"] == "open"

    assert evictl(runner, account, "apply").returncode == 0
    closed = evictl(runner, account, "drift", **nightly)
    assert (closed.returncode, closed.outputs["exitcode"]) == (0, "0"), closed.stderr
    assert [(m, p) for m, p, _ in github.writes()[2:]] == [
        ("POST", f"/repos/acme/voice/issues/{issue['number']}/comments"),
        ("PATCH", f"/repos/acme/voice/issues/{issue['number']}"),
    ]
    assert issue["state"] == "closed"
    [closing] = [c for c in github.comments.values() if c["issue"] == issue["number"]]
    assert closing["body"] == f"No drift any more ([workflow run]({RUN_URL})): closing."

    quiet = evictl(runner, account, "drift", **nightly)
    assert quiet.returncode == 0
    assert len(github.writes()) == 4
    assert "Drift issue: no drift, no open issue" in quiet.stdout
    assert staging["state"] == "open"
    assert staging["body"] == "<!-- evictl:drift:staging -->\nstaging drifts"


def test_fit_keeps_short_bodies_and_closes_what_it_cuts() -> None:
    short = "### plan\n\n<details>\n\n```diff\n+ a\n```\n</details>\n"
    assert fit(short, 1000, "See the summary.") == short
    body = "### plan\n" + "".join(
        f"<details><summary>{n}</summary>\n\n```diff\n" + "+ line\n" * 50 + "```\n</details>\n"
        for n in range(100)
    )
    cut = fit(body, 5_000, "See the summary.")
    assert len(cut) <= 5_000
    report, note = cut.split("\n**Cut here:")
    assert report.endswith("```\n</details>\n")
    shown = report.count("<details>")
    assert report.count("</details>") == shown > 0
    assert note == (
        f" the report is longer than GitHub allows. Resources shown in full: {shown} of 100. "
        "See the summary.**"
    )
    huge = "### plan\n<details><summary>0</summary>\n\n`````diff\n" + "+ ```\n" * 2000
    cut = fit(huge + "`````\n</details>\n", 5_000, "See the summary.")
    assert cut.endswith(
        "+ ```\n`````\n</details>\n\n**Cut here: the report is longer than GitHub allows. "
        "Resources shown in full: 0 of 1. See the summary.**"
    )
