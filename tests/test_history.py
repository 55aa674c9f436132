"""evictl history: each kind's changes between versions, --limit, --diff, JSON, errors, reads only."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result

from reconciler.cli import cli
from reconciler.client import HumeClient
from reconciler.errors import UserError
from reconciler.kinds import KINDS
from reconciler.workflow import Connection
from tests.conftest import KEY, RunningEmulator

V0 = """\
prompts:
  - name: greeter
    text: Hello there
    version_description: first
tools:
  - name: lookup
    parameters: {type: object, properties: {q: {type: string}}}
  - name: weather
    parameters: {type: object}
configs:
  - name: front-desk
    evi_version: "3"
    prompt: greeter
    tools: [lookup]
"""
V1 = """\
prompts:
  - name: greeter
    text: Hello, friend
    version_description: warmer
    prompt_expansion: {enabled: false}
tools:
  - name: lookup
    parameters: {type: object, properties: {q: {type: string}, unit: {type: string}}}
  - name: weather
    parameters: {type: object}
configs:
  - name: front-desk
    evi_version: "3"
    prompt: greeter
    tools: [lookup, weather]
    language_model: {model_provider: ANTHROPIC, model_resource: claude-sonnet-4-5-20250929}
"""


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def apply(root: Path, db: Path, manifest: str) -> None:
    (root / "evi.yaml").write_text(manifest, encoding="utf-8")
    result = run("apply", str(root), "--emulator", str(db), "--auto-approve")
    assert result.exit_code == 0, result.output


def edit(db: Path, action: Callable[[HumeClient], Awaitable[object]]) -> None:
    async def go() -> None:
        async with Connection(emulator=db).client() as client:
            await action(client)

    asyncio.run(go())


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """An account where greeter, lookup and front-desk have versions 0 and 1 (weather only 0)."""
    (tmp_path / "m").mkdir()
    account = tmp_path / "e.sqlite"
    apply(tmp_path / "m", account, V0)
    apply(tmp_path / "m", account, V1)
    return account


def history(db: Path, *args: str) -> str:
    result = run("history", *args, "--emulator", str(db))
    assert result.exit_code == 0, result.output
    return result.output


def test_prompt_history_diffs_the_text_newest_first(db: Path) -> None:
    lines = history(db, "prompts/greeter").splitlines()
    assert lines[0].startswith('prompt "greeter" (id ')
    assert lines[0].endswith("): 2 versions, newest first")
    assert lines[2].startswith("v1  20") and lines[2].endswith('Z  "warmer"')
    assert lines[10].startswith("v0  20") and lines[10].endswith('Z  "first"')
    assert lines[3:10] + lines[11:] == [
        "    ~ prompt_expansion.enabled: true → false",
        "    ~ text:",
        "        --- v0",
        "        +++ v1",
        "        @@ -1 +1 @@",
        "        -Hello there",
        "        +Hello, friend",
        "    first version",
    ]


def test_tool_history_diffs_the_parameters_pretty_printed(db: Path) -> None:
    text = history(db, "tools/lookup")
    assert "    ~ parameters:\n        --- v0\n        +++ v1\n" in text
    assert "           q: {type: string}\n        +  unit: {type: string}\n" in text


def test_config_history_names_pin_changes(db: Path) -> None:
    text = history(db, "configs/front-desk")
    assert "    ~ prompt greeter v0 → v1\n" in text
    assert "    ~ tool lookup v0 → v1\n" in text
    assert "    + tool weather v0\n" in text
    assert '    ~ language_model: (none) → {"model_provider": "ANTHROPIC", ' in text


def test_equal_by_the_canonicaliser_is_no_change(db: Path) -> None:
    """A version that only reorders a config's tools changes nothing plan would see."""
    kind = KINDS["configs"]

    async def reorder(client: HumeClient) -> None:
        (config,) = await client.list("configs", name="front-desk")
        body = {key: value for key, value in kind.live_body(config).items() if value is not None}
        body["tools"] = list(reversed(body["tools"]))
        await client.create_version("configs", config.id, body)

    edit(db, reorder)
    text = history(db, "configs/front-desk", "--limit", "1")
    assert text.splitlines()[0].endswith("): 1 of 3 versions, newest first")
    assert text.splitlines()[3:] == ["    no changes from v1"]


def test_a_deleted_version_is_skipped_over(db: Path) -> None:
    async def third_then_delete(client: HumeClient) -> None:
        (prompt,) = await client.list("prompts", name="greeter")
        await client.create_version("prompts", prompt.id, {"text": "Hi"})
        await client.delete_version("prompts", prompt.id, 1)

    edit(db, third_then_delete)
    text = history(db, "prompts/greeter")
    assert "    compared with v0\n" in text and "        --- v0\n        +++ v2\n" in text


def test_limit_shows_the_newest_versions_compared_with_the_one_before(db: Path) -> None:
    document = json.loads(history(db, "prompts/greeter", "--limit", "1", "--format", "json"))
    assert [e["version"] for e in document["entries"]] == [1]
    assert document["entries"][0]["compared_with"] == 0
    assert document["total_versions"] == 2


def test_diff_compares_any_two_versions_either_way(db: Path) -> None:
    text = history(db, "tools/lookup", "--diff", "1", "0")
    assert text.splitlines()[0].endswith(": v0 compared with v1")
    assert "        --- v1\n        +++ v0\n" in text
    assert "        -  unit: {type: string}\n" in text
    document = json.loads(history(db, "tools/lookup", "--diff", "0", "1", "--format", "json"))
    assert document["mode"] == "diff"
    ((entry),) = document["entries"]
    assert (entry["version"], entry["compared_with"]) == (1, 0)


def test_json_document(db: Path) -> None:
    document = json.loads(history(db, "configs/front-desk", "--format", "json"))
    assert set(document) == {
        "format_version", "mode", "address", "kind", "name", "id", "total_versions", "entries",
    }  # fmt: skip
    assert document["format_version"] == 1 and document["mode"] == "history"
    assert (document["address"], document["total_versions"]) == ("configs/front-desk", 2)
    newest, first = document["entries"]
    assert set(newest) == {
        "version", "time", "description", "compared_with", "fields", "pins",
    }  # fmt: skip
    assert newest["time"].endswith("Z") and newest["time"][:4] == first["time"][:4]
    assert (newest["version"], newest["compared_with"]) == (1, 0)
    assert (first["compared_with"], first["fields"], first["pins"]) == (None, [], [])
    assert newest["fields"] == [
        {
            "path": "language_model",
            "before": None,
            "after": {
                "model_provider": "ANTHROPIC",
                "model_resource": "claude-sonnet-4-5-20250929",
            },
        }
    ]
    prompt = next(p for p in newest["pins"] if p["field"] == "prompt")
    assert prompt["before"]["name"] == prompt["after"]["name"] == "greeter"
    assert (prompt["before"]["version"], prompt["after"]["version"]) == (0, 1)
    assert prompt["before"]["kind"] == "prompts" and prompt["before"]["id"]
    added = next(p for p in newest["pins"] if p["before"] is None)
    assert (added["field"], added["after"]["name"]) == ("tools", "weather")


def test_unknown_name_kind_or_version_is_a_message(db: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "reconciler", "history", "prompts/gretter", "--emulator", str(db)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr == (
        "error: history prompts/gretter: no prompt named 'gretter' in Hume; "
        "did you mean 'prompts/greeter'?\n"
    )
    with pytest.raises(UserError, match=r"prompt 'greeter' has no version 7 \(its versions: 0-1\)"):
        run("history", "prompts/greeter", "--diff", "0", "7", "--emulator", str(db))
    with pytest.raises(UserError, match="unknown kind 'widgets'"):
        run("history", "widgets/x", "--emulator", str(db))
    with pytest.raises(UserError, match="--limit and --diff"):
        run("history", "prompts/greeter", "--limit", "1", "--diff", "0", "1", "--emulator", str(db))


def test_history_sends_only_reads_and_never_the_key(
    tmp_path: Path, emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUME_API_KEY", KEY)
    (tmp_path / "m").mkdir()
    for manifest in (V0, V1):
        (tmp_path / "m" / "evi.yaml").write_text(manifest, encoding="utf-8")
        assert run("apply", str(tmp_path / "m"), "--base-url", emulator.url, "--auto-approve")
    before = httpx.get(f"{emulator.url}/_emulator/requests").json()["counts"]
    outputs = [
        run("history", address, "--base-url", emulator.url, *fmt).output
        for address in ("prompts/greeter", "tools/lookup", "configs/front-desk")
        for fmt in ((), ("--format", "json"))
    ]
    after = httpx.get(f"{emulator.url}/_emulator/requests").json()["counts"]
    writes = {m: after.get(m, 0) - before.get(m, 0) for m in ("POST", "PATCH", "DELETE")}
    assert writes == {"POST": 0, "PATCH": 0, "DELETE": 0}
    assert "~ prompt greeter v0 → v1" in outputs[4]
    assert all(KEY not in output for output in outputs)


HOOKED = """\
configs:
  - name: desk
    evi_version: "3"
    webhooks:
      - url: https://hooks.example.com/evi?token=${secret:HOOK_TOKEN}
        events: [chat_started]
"""
OLD_TOKEN, NEW_TOKEN = "tok-5be01f9d22", "tok-c3a87e0416"


@pytest.fixture
def rotated(tmp_path: Path) -> tuple[Path, Path]:
    """desk v0 calls its webhook with ``OLD_TOKEN``; v1, after the secret was rotated, with
    ``NEW_TOKEN``. The manifests' root, and the account."""
    root, account = tmp_path / "hooked", tmp_path / "hooked.sqlite"
    root.mkdir()
    (root / "evi.yaml").write_text(HOOKED, encoding="utf-8")
    for token in (OLD_TOKEN, NEW_TOKEN):
        result = run(
            "apply", str(root), f"--var=HOOK_TOKEN={token}", "--emulator", str(account),
            "--auto-approve",
        )  # fmt: skip
        assert result.exit_code == 0, result.output
    return root, account


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_with_the_manifests_no_token_is_shown_old_or_current(
    rotated: tuple[Path, Path], fmt: str
) -> None:
    root, account = rotated
    shown = history(
        account, "configs/desk", str(root), f"--var=HOOK_TOKEN={NEW_TOKEN}", "--format", fmt
    )
    assert OLD_TOKEN not in shown and NEW_TOKEN not in shown
    if fmt == "text":
        assert (
            '~ webhooks[0].url: "https://hooks.example.com/evi?token=(secret; differs)" → '
            '"https://hooks.example.com/evi?token=(secret)"'
        ) in shown
    else:
        (field,) = json.loads(shown)["entries"][0]["fields"]
        assert field["before"] == "https://hooks.example.com/evi?token=(secret; differs)"


def test_without_the_manifests_values_are_shown_as_hume_holds_them(
    rotated: tuple[Path, Path],
) -> None:
    """Documented: history alone cannot know which values are secrets."""
    _, account = rotated
    shown = history(account, "configs/desk")
    assert OLD_TOKEN in shown and NEW_TOKEN in shown
