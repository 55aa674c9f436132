"""evictl drift: each category, the version that introduced it, read-only-ness, exit codes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result

from reconciler.cli import cli
from reconciler.client import HumeClient
from reconciler.drift import read_only, when
from reconciler.errors import UserError
from reconciler.workflow import Connection
from tests.conftest import KEY, RunningEmulator

MANIFEST = """\
prompts:
  - name: greeter
    text: Hello there
    version_description: first
  - name: closer
    text: Goodbye
tools:
  - name: lookup
    parameters: {type: object, properties: {q: {type: string}}}
configs:
  - name: front-desk
    evi_version: "3"
    prompt: greeter
    tools: [lookup]
    webhooks: [{url: "https://hooks.example.com/${secret:HOOK_TOKEN}", events: [chat_ended]}]
  - name: back-office
    evi_version: "3"
    prompt: closer
"""
TOKEN = "tok-5f2a9c"


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOOK_TOKEN", TOKEN)
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "evi.yaml").write_text(MANIFEST, encoding="utf-8")
    return tmp_path


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def applied(workspace: Path) -> Path:
    db = workspace / "e.sqlite"
    result = run("apply", str(workspace / "m"), "--emulator", str(db), "--auto-approve")
    assert result.exit_code == 0, result.output
    return db


def edit(db: Path, action: Callable[[HumeClient], Awaitable[object]]) -> None:
    async def go() -> None:
        async with Connection(emulator=db).client() as client:
            await action(client)

    asyncio.run(go())


async def latest(client: HumeClient, kind: str, name: str):
    (found,) = await client.list(kind, name=name)
    return found


def drift_json(workspace: Path, db: Path, *extra: str) -> tuple[int, dict]:
    result = run("drift", str(workspace / "m"), "--emulator", str(db), "--format", "json", *extra)
    return result.exit_code, json.loads(result.output)


def categories(report: dict) -> dict[str, str]:
    return {f"{i['change']['kind']}/{i['change']['name']}": i["category"] for i in report["items"]}


def test_no_drift_after_apply(workspace: Path) -> None:
    db = applied(workspace)
    result = run("drift", str(workspace / "m"), "--emulator", str(db))
    assert result.exit_code == 0
    assert "No drift" in result.output


def test_portal_edit_is_ahead_and_names_the_version_that_made_it(workspace: Path) -> None:
    db = applied(workspace)

    async def portal_edits(client: HumeClient) -> None:
        greeter = await latest(client, "prompts", "greeter")
        await client.create_version("prompts", greeter.id, {"text": "Hi (portal)"})
        await client.create_version("prompts", greeter.id, {"text": "Hi again (portal)"})

    edit(db, portal_edits)
    code, report = drift_json(workspace, db)
    assert code == 2
    assert categories(report) == {"prompts/greeter": "ahead"}
    (item,) = report["items"]
    assert item["matched_version"] == 0
    assert item["introduced_by"]["version"] == 1
    assert item["used_by"] == ["front-desk"]
    fields = {f["path"]: (f["before"], f["after"]) for f in item["change"]["fields"]}
    assert fields == {"text": ("Hi again (portal)", "Hello there")}
    text = run("drift", str(workspace / "m"), "--emulator", str(db)).output
    stamp = when(item["introduced_by"]["modified_on"])
    assert f"live version 1, {stamp}, is not what the manifests describe (version 0 was)" in text


def test_manifest_edit_not_applied_is_changed(workspace: Path) -> None:
    db = applied(workspace)
    manifest = workspace / "m" / "evi.yaml"
    manifest.write_text(MANIFEST.replace("text: Goodbye", "text: Farewell"), encoding="utf-8")
    code, report = drift_json(workspace, db)
    assert (code, categories(report)) == (2, {"prompts/closer": "changed"})
    assert report["items"][0]["introduced_by"] is None


def test_description_only(workspace: Path) -> None:
    db = applied(workspace)

    async def describe(client: HumeClient) -> None:
        greeter = await latest(client, "prompts", "greeter")
        await client.update_description("prompts", greeter.id, greeter.version, "portal note")

    edit(db, describe)
    assert categories(drift_json(workspace, db)[1]) == {"prompts/greeter": "description"}


def test_missing_and_a_likely_portal_rename(workspace: Path) -> None:
    db = applied(workspace)

    async def rename(client: HumeClient) -> None:
        closer = await latest(client, "prompts", "closer")
        await client.rename("prompts", closer.id, "closer-v2")

    edit(db, rename)
    code, report = drift_json(workspace, db)
    assert (code, categories(report)["prompts/closer"]) == (2, "missing")
    (item,) = [i for i in report["items"] if i["change"]["name"] == "closer"]
    (note,) = item["change"]["notes"]
    assert (note["type"], note["live_name"]) == ("possible_rename", "closer-v2")
    text = run("drift", str(workspace / "m"), "--emulator", str(db)).output
    assert f"live prompt 'closer-v2' (id {note['id']}) has the same content: renamed?" in text


def test_renamed_in_the_manifests_but_not_in_hume(workspace: Path) -> None:
    db = applied(workspace)
    text = MANIFEST.replace(
        "  - name: closer\n", "  - name: farewell\n    previous_names: [closer]\n"
    )
    (workspace / "m" / "evi.yaml").write_text(
        text.replace("prompt: closer", "prompt: farewell"), encoding="utf-8"
    )
    assert categories(drift_json(workspace, db)[1]) == {"prompts/farewell": "renamed"}


def test_config_pinned_to_an_older_version(workspace: Path) -> None:
    db = applied(workspace)

    async def repin(client: HumeClient) -> None:
        closer = await latest(client, "prompts", "closer")
        await client.create_version("prompts", closer.id, {"text": "Goodbye"})

    edit(db, repin)
    code, report = drift_json(workspace, db)
    assert (code, categories(report)) == (2, {"configs/back-office": "stale_pin"})
    assert report["items"][0]["notes"] == ["pins 'closer' at v0; the latest is v1"]


def test_should_be_absent(workspace: Path) -> None:
    db = applied(workspace)
    text = MANIFEST.replace("  - name: back-office\n    evi_version: \"3\"\n    prompt: closer\n",
                            "  - name: back-office\n    absent: true\n")  # fmt: skip
    (workspace / "m" / "evi.yaml").write_text(text, encoding="utf-8")
    assert categories(drift_json(workspace, db)[1]) == {"configs/back-office": "should_be_absent"}


def test_ignore_leaves_known_drift_out(workspace: Path) -> None:
    db = applied(workspace)

    async def describe(client: HumeClient) -> None:
        tool = await latest(client, "tools", "lookup")
        await client.update_description("tools", tool.id, tool.version, "known")

    edit(db, describe)
    code, report = drift_json(workspace, db, "--ignore", "tool/lookup")
    assert (code, report["items"], report["ignored"]) == (0, [], ["tools/lookup"])


def test_markdown_is_an_issue_body_and_secrets_stay_hidden(workspace: Path) -> None:
    db = applied(workspace)

    async def change_hook(client: HumeClient) -> None:
        config = await latest(client, "configs", "front-desk")
        body = {
            "evi_version": "3",
            "webhooks": [{"url": "https://evil.example.com/x", "events": ["chat_ended"]}],
        }
        await client.create_version("configs", config.id, body)

    edit(db, change_hook)
    for fmt in ("markdown", "text", "json"):
        output = run("drift", str(workspace / "m"), "--emulator", str(db), "--format", fmt).output
        assert TOKEN not in output
        assert "(secret)" in output
    markdown = run("drift", str(workspace / "m"), "--emulator", str(db), "--format", "markdown")
    assert markdown.output.startswith("### evictl drift")
    assert "<details><summary><code>config 'front-desk': live version ahead" in markdown.output


def test_bad_manifests_exit_1(workspace: Path) -> None:
    db = applied(workspace)
    (workspace / "m" / "evi.yaml").write_text("prompts: [{name: x}]\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["drift", str(workspace / "m"), "--emulator", str(db)])
    assert result.exit_code == 1


def test_drift_sends_only_reads(
    workspace: Path, emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUME_API_KEY", KEY)
    manifests = str(workspace / "m")
    assert run("apply", manifests, "--base-url", emulator.url, "--auto-approve").exit_code == 0
    with emulator.client() as api:
        greeter = api.get("/v0/evi/prompts", params={"name": "greeter"}).json()["prompts_page"][0]
        api.post(f"/v0/evi/prompts/{greeter['id']}", json={"text": "portal"})
    before = httpx.get(f"{emulator.url}/_emulator/requests").json()["counts"]
    result = run("drift", manifests, "--base-url", emulator.url)
    assert result.exit_code == 2
    after = httpx.get(f"{emulator.url}/_emulator/requests").json()["counts"]
    writes = {m: after.get(m, 0) - before.get(m, 0) for m in ("POST", "PATCH", "DELETE")}
    assert writes == {"POST": 0, "PATCH": 0, "DELETE": 0}
    assert after["GET"] > before["GET"]


def test_the_read_only_client_refuses_writes_before_sending(emulator: RunningEmulator) -> None:
    async def attempt() -> None:
        http = httpx.AsyncClient(base_url=emulator.url, headers={"X-Hume-Api-Key": KEY})
        async with read_only(HumeClient(http)) as client:
            await client.create("prompts", {"name": "x", "text": "y"})

    with pytest.raises(UserError, match="read-only: refused POST"):
        asyncio.run(attempt())
    log = httpx.get(f"{emulator.url}/_emulator/requests").json()["requests"]
    assert [entry for entry in log if entry["method"] != "GET"] == []
