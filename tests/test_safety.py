"""A plan a team can trust: live dependents, renames, concurrent writers, exact diffs, saved
plans, drift exactness. Each numbered case of the safety issue has its test here; the
two-process races are in ``test_concurrent_applies.py``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result

from reconciler.applier import apply
from reconciler.cli import cli
from reconciler.client import HumeClient
from reconciler.manifest import load_manifests
from reconciler.planner.planner import plan
from reconciler.workflow import Connection, snapshot_for
from tests.apply_support import InProcess, inventory, live, with_client
from tests.plan_support import write

LOOKUP = {"type": "object", "properties": {"q": {"type": "string"}}}
TOOLS = """\
prompts:
  - name: greeter
    text: Hello
tools:
  - name: lookup
    parameters: {type: object, properties: {q: {type: string}}}
"""


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(arg) for arg in args])


def edit(db: Path, action: Callable[[HumeClient], Awaitable[Any]]) -> Any:
    """What someone does in Hume's portal, on the embedded emulator's account."""

    async def go() -> Any:
        async with Connection(emulator=db).client() as client:
            return await action(client)

    return asyncio.run(go())


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "e.sqlite"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return write(tmp_path / "m", TOOLS)


def applied(root: Path, db: Path, text: str | None = None) -> None:
    if text is not None:
        write(root, text)
    result = run("apply", root, "--emulator", db, "--auto-approve")
    assert result.exit_code == 0, result.output


async def unmanaged_config(client: HumeClient, name: str = "legacy", **pins: Any) -> Any:
    (prompt,) = await client.list("prompts", name="greeter")
    (tool,) = await client.list("tools", name="lookup")
    body = {"name": name, "evi_version": "3", "prompt": {"id": prompt.id, "version": 0}}
    body["tools"] = [{"id": tool.id, "version": pins.get("tool_version", 0)}]
    return await client.create("configs", body)


# 1. Live dependents


def test_deleting_a_tool_a_live_config_uses_is_refused(root: Path, db: Path) -> None:
    applied(root, db)
    edit(db, unmanaged_config)
    write(root, TOOLS.replace("    parameters:", "    absent: true\n    parameters:"))
    result = run("plan", root, "--emulator", db)
    assert result.exit_code == 1
    assert str(result.exception) == (
        "evi.yaml:5: tool 'lookup' is marked absent, but live config 'legacy' (v0) still uses "
        "it: change it in this plan (or in Hume) first, or keep the resource"
    )
    assert run("apply", root, "--emulator", db, "--auto-approve").exit_code == 1
    assert [t.name for t in edit(db, lambda c: c.list("tools"))] == ["lookup"]
    drift = run("drift", root, "--emulator", db)
    assert drift.exit_code == 2
    assert "! live resources still use it; deleting it would break them: configs/legacy v0" in (
        drift.output
    )


MOVED = """\
prompts:
  - name: greeter
    text: Hello
tools:
  - name: lookup
    absent: true
configs:
  - name: desk
    evi_version: "3"
    prompt: greeter
    tools: {tools}
"""


def test_a_delete_is_fine_when_the_same_plan_moves_the_config_off_it(root: Path, db: Path) -> None:
    applied(root, db, MOVED.format(tools="[lookup]").replace("    absent: true\n", LOOKUP_YAML))
    write(root, MOVED.format(tools="[]"))
    document = json.loads(run("plan", root, "--emulator", db, "--format", "json").output)
    changes = {c["address"]: c for c in document["changes"]}
    assert changes["tools/lookup"]["actions"] == ["delete"]
    assert changes["tools/lookup"]["depends_on"] == ["configs/desk"]
    assert changes["configs/desk"]["actions"] == ["new_version"]
    assert changes["tools/lookup"]["notes"] == [
        {"type": "older_versions_use", "users": ["configs/desk v0"]}
    ]
    text = run("plan", root, "--emulator", db).output
    assert "! older versions still pin it (they break if used): configs/desk v0" in text
    applied(root, db)
    assert [t.name for t in edit(db, lambda c: c.list("tools"))] == []


LOOKUP_YAML = "    parameters: {type: object, properties: {q: {type: string}}}\n"


def test_a_targeted_delete_does_not_strand_a_config_outside_the_target(
    root: Path, db: Path
) -> None:
    applied(root, db, MOVED.format(tools="[lookup]").replace("    absent: true\n", LOOKUP_YAML))
    write(root, MOVED.format(tools="[]"))
    result = run("plan", root, "--emulator", db, "--target", "tools/lookup")
    assert result.exit_code == 1
    assert "live config 'desk' (v0) still uses it" in str(result.exception)


def test_a_reference_by_id_to_what_is_deleted_is_refused(root: Path, db: Path) -> None:
    applied(root, db)
    tool = live(Connection(emulator=db), "tools", "lookup")
    by_id = f'configs:\n  - {{name: desk, evi_version: "3", tools: [{{id: {tool.id}}}]}}\n'
    applied(root, db, TOOLS + by_id)
    write(root, TOOLS.replace(LOOKUP_YAML, "    absent: true\n") + by_id)
    result = run("plan", root, "--emulator", db)
    assert "live config 'desk' (v0) still uses it" in str(result.exception)


# 2. Renames


def test_a_create_equal_to_an_unmanaged_resource_hints_at_a_rename(root: Path, db: Path) -> None:
    applied(root, db)
    edit(db, lambda c: c.create("prompts", {"name": "greeter-old", "text": "Hi there"}))
    write(root, TOOLS.replace("tools:\n", "  - name: greeter-new\n    text: Hi there\ntools:\n"))
    (old,) = edit(db, lambda c: c.list("prompts", name="greeter-old"))
    hint = (
        f"! live prompt 'greeter-old' (id {old.id}) has the same content: renamed? "
        "add `previous_names: [greeter-old]`"
    )
    assert hint in run("plan", root, "--emulator", db).output
    markdown = run("plan", root, "--emulator", db, "--format", "markdown").output
    assert f"\n # {hint.removeprefix('! ')}\n" in markdown
    document = json.loads(run("plan", root, "--emulator", db, "--format", "json").output)
    (created,) = [c for c in document["changes"] if c["actions"] == ["create"]]
    assert created["notes"] == [
        {"type": "possible_rename", "live_name": "greeter-old", "id": old.id}
    ]
    drift = run("drift", root, "--emulator", db)
    assert hint in drift.output


# 3. Concurrent writers, detected inside one apply


class Interloper:
    """Writes to the account, as another writer would, just before one of apply's requests."""

    def __init__(self, account: InProcess, method: str, path: str, body: dict[str, Any]) -> None:
        self.account, self.method, self.path, self.body = account, method, path, body
        self.done = False

    async def __call__(self, request: httpx.Request) -> None:
        if self.done or request.method != self.method or request.url.path != self.path:
            return
        self.done = True
        foreign = httpx.Request(
            self.method, request.url, json=self.body, headers={"X-Hume-Api-Key": "k"}
        )
        response = await self.account.transport.handle_async_request(foreign)
        assert response.status_code < 300, await response.aread()


def portal(account: InProcess, root: Path, text: str) -> Any:
    """Plan ``text`` (before anything moves), for ``apply`` to carry out later."""
    write(root, text)
    manifests = load_manifests(root, {})

    async def go(client: HumeClient) -> Any:
        return plan(manifests, await snapshot_for(manifests, client))

    return with_client(account, go)


def applying(account: InProcess, planned: Any) -> list[Any]:
    return with_client(account, lambda client: apply(planned, client))


DESK = 'configs:\n  - {name: desk, evi_version: "3", prompt: greeter}\n'


@pytest.fixture
def account() -> Any:
    running = InProcess()
    yield running
    running.close()


def test_a_resource_edited_since_the_plan_is_not_written(
    account: InProcess, tmp_path: Path
) -> None:
    root = tmp_path / "m"
    account.apply(write(root, TOOLS + DESK))
    planned = portal(account, root, (TOOLS + DESK).replace("text: Hello", "text: Hello again"))
    greeter = live(account, "prompts", "greeter")
    edit_in_portal = account.client()
    asyncio.run(_post(edit_in_portal, greeter.id, {"text": "Portal words"}))
    outcomes = {f"{o.kind}/{o.name}": o for o in applying(account, planned)}
    assert outcomes["prompts/greeter"].status == "failed"
    assert outcomes["prompts/greeter"].detail == (
        "changed in Hume since the plan: now v1, the plan saw v0; not written (run plan again)"
    )
    assert outcomes["configs/desk"].status == "skipped"
    assert inventory(account)["prompts"]["greeter"] == [0, 1]
    assert live(account, "prompts", "greeter").text == "Portal words"


async def _post(client: HumeClient, id_: str, body: dict[str, Any]) -> None:
    async with client:
        await client.create_version("prompts", id_, body)


@pytest.mark.parametrize(
    ("theirs", "status_versions", "detail"),
    [
        (
            "Hello again",
            [0, 1],
            "another writer made v1 since the plan (which saw v0), with this content: adopted it",
        ),
        (
            "Something else",
            [0, 1, 2],
            "another writer made v1 since the plan (which saw v0); this apply's v2 is on top of "
            "it: check it should be",
        ),
    ],
    ids=["same-content", "other-content"],
)
def test_a_version_written_between_the_check_and_the_write_is_a_conflict(
    account: InProcess, tmp_path: Path, theirs: str, status_versions: list[int], detail: str
) -> None:
    root = tmp_path / "m"
    account.apply(write(root, TOOLS + DESK))
    planned = portal(account, root, (TOOLS + DESK).replace("text: Hello", "text: Hello again"))
    greeter = live(account, "prompts", "greeter")
    account.before = Interloper(account, "POST", f"/v0/evi/prompts/{greeter.id}", {"text": theirs})
    outcomes = {f"{o.kind}/{o.name}": o for o in applying(account, planned)}
    assert (outcomes["prompts/greeter"].status, outcomes["prompts/greeter"].detail) == (
        "conflict",
        detail,
    )
    assert outcomes["configs/desk"].status == "done"
    assert inventory(account)["prompts"]["greeter"] == status_versions
    desk = live(account, "configs", "desk")
    assert desk.prompt.version == status_versions[-1]


def test_a_lost_create_does_not_adopt_a_same_named_resource_with_other_content(
    account: InProcess, tmp_path: Path
) -> None:
    planned = portal(account, tmp_path / "m", TOOLS)
    account.before = Interloper(
        account, "POST", "/v0/evi/prompts", {"name": "greeter", "text": "x"}
    )
    account.faults(drop_rate=1.0, methods=["POST"], path="^/v0/evi/prompts$", limit=1)
    outcomes = {f"{o.kind}/{o.name}": o for o in applying(account, planned)}
    assert outcomes["prompts/greeter"].status == "failed"
    assert outcomes["prompts/greeter"].detail.startswith(
        "a prompt of this name with other content appeared in Hume (id "
    )


# 4. Exact diffs


def test_whitespace_differences_show_like_git(root: Path, db: Path) -> None:
    applied(root, db, TOOLS.replace("text: Hello", "text: Hello there."))
    write(root, TOOLS.replace("text: Hello", "text: |\n      Hello there."))
    text = run("plan", root, "--emulator", db).output
    assert (
        "      ~ text:\n"
        "          --- live v0\n"
        "          +++ manifests\n"
        "          @@ -1 +1 @@\n"
        "          -Hello there.\n"
        "          \\ No newline at end of file\n"
        "          +Hello there.\n"
    ) in text
    write(root, TOOLS.replace("text: Hello", 'text: "Hello there.  "'))
    assert "          +Hello there.··\n" in run("plan", root, "--emulator", db).output


def test_a_new_version_keeping_the_old_description_is_flagged(root: Path, db: Path) -> None:
    described = TOOLS.replace("text: Hello", "text: Hello\n    version_description: first cut")
    applied(root, db, described)
    write(root, described.replace("text: Hello", "text: Hello again"))
    text = run("plan", root, "--emulator", db).output
    assert "! version_description is the same as live v0's: describe what" in text


def test_drift_markdown_explains_a_resource_that_should_be_absent(root: Path, db: Path) -> None:
    applied(root, db)
    write(root, TOOLS.replace(LOOKUP_YAML, "    absent: true\n"))
    markdown = run("drift", root, "--emulator", db, "--format", "markdown").output
    block = markdown.split("```diff\n", 1)[1].split("```", 1)[0]
    assert block.startswith("- live version 0, ")
    assert block.rstrip().endswith("still exists: the manifests mark it absent")


# 5. Saved plans


def test_a_saved_plan_survives_edits_to_what_it_does_not_read(root: Path, db: Path) -> None:
    applied(root, db)
    edit(db, lambda c: c.create("prompts", {"name": "someone-elses", "text": "x"}))
    write(root, TOOLS.replace("text: Hello", "text: Hello again"))
    saved = root.parent / "plan.json"
    assert run("plan", root, "--emulator", db, "--out", saved).exit_code == 0

    async def unrelated(client: HumeClient) -> None:
        (other,) = await client.list("prompts", name="someone-elses")
        await client.create_version("prompts", other.id, {"text": "y"})

    edit(db, unrelated)
    result = run("apply", saved, "--emulator", db)
    assert result.exit_code == 0, result.output


def test_a_saved_plan_names_what_moved(root: Path, db: Path) -> None:
    applied(root, db)
    write(root, TOOLS.replace("text: Hello", "text: Hello again"))
    saved = root.parent / "plan.json"
    run("plan", root, "--emulator", db, "--out", saved)

    async def portal_edit(client: HumeClient) -> None:
        (lookup,) = await client.list("tools", name="lookup")
        await client.update_description("tools", lookup.id, 0, "patched in the portal")

    edit(db, portal_edit)
    result = run("apply", saved, "--emulator", db)
    assert str(result.exception) == (
        "the plan is stale: tool lookup v0 was edited in Hume since the plan (its description); "
        "run plan again"
    )


def test_a_saved_plan_with_other_variables_names_the_field(root: Path, db: Path) -> None:
    text = TOOLS.replace("text: Hello", "text: Hello ${WHO}")
    write(root, text)
    saved = root.parent / "plan.json"
    run("plan", root, "--emulator", db, "--out", saved, "--var", "WHO=you")
    result = run("apply", saved, "--emulator", db, "--var", "WHO=them")
    assert str(result.exception) == (
        "the plan is stale: prompts/greeter text resolves differently (other variables, or "
        "edited files?); run plan again"
    )


# 7. Drift exactness


def test_a_portal_edit_of_a_prompt_with_expansion_is_ahead(root: Path, db: Path) -> None:
    expanded = TOOLS.replace("text: Hello", "text: Hello\n    prompt_expansion: {enabled: false}")
    applied(root, db, expanded)

    async def portal_edit(client: HumeClient) -> None:
        (greeter,) = await client.list("prompts", name="greeter")
        body = {"text": "Portal", "prompt_expansion": {"enabled": False}}
        await client.create_version("prompts", greeter.id, body)

    edit(db, portal_edit)
    report = json.loads(run("drift", root, "--emulator", db, "--format", "json").output)
    (item,) = report["items"]
    assert (item["category"], item["matched_version"], item["introduced_by"]["version"]) == (
        "ahead",
        0,
        1,
    )
    assert report["summary"]["ahead"] == 1 and sum(report["summary"].values()) == 1


def test_a_config_re_pointed_in_the_portal_is_ahead_from_that_version(root: Path, db: Path) -> None:
    other = "  - name: other\n    text: Other\ntools:\n"
    applied(root, db, TOOLS.replace("tools:\n", other) + DESK)

    async def re_point(client: HumeClient) -> None:
        (desk,) = await client.list("configs", name="desk")
        (other,) = await client.list("prompts", name="other")
        body = {"evi_version": "3", "prompt": {"id": other.id, "version": 0}}
        await client.create_version("configs", desk.id, body)

    edit(db, re_point)
    report = json.loads(run("drift", root, "--emulator", db, "--format", "json").output)
    (item,) = report["items"]
    assert item["category"] == "ahead"
    assert (item["matched_version"], item["introduced_by"]["version"]) == (0, 1)
