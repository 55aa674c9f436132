"""evictl export on a rich account: export → plan shows no changes; references, filters, names."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result

from reconciler.cli import cli
from reconciler.client import HumeClient
from reconciler.client.connect import KEY_HEADER
from reconciler.emulator.embedded import EMBEDDED_API_KEY, EMBEDDED_BASE_URL, embedded_transport
from reconciler.manifest import Reference, load_manifests
from tests.conftest import KEY, RunningEmulator

SUPPORT_V0 = "You are Support.\nBe brief."
SUPPORT_V1 = "You are Support 🎧.\n日本語で答えてください。\nמענה בעברית גם כן.\n"
LOWER_TEXT = "lowercase support\n  indented line\n\ttab line"
SPACED_TEXT = "literal ${HOME} and $${X} and ${UNDEFINED_EXPORT_VAR} stay\nas written $"
CJK_TEXT = "مرحبا بك في خدمة العملاء، " * 6 + "客服 🎧 👩🏽‍💻"
INLINE_TEXT = "windows\r\nline ${HOME}"
PARAMETERS = {
    "type": "object",
    "properties": {
        "yes": {"type": "string", "pattern": "^\\$\\{[a-z]+\\}$"},
        "<<": {"type": "integer", "minimum": 3},
        "null": {"type": "boolean", "description": "null"},
        "3": {"enum": ["on", "off", "3", "1.5", "~", "2024-01-01"]},
    },
    "required": ["yes"],
}


def run(*args: str, fails: bool = False) -> Result:
    """``evictl ARGS``; with ``fails``, an error is caught (``result.exception``), else raised."""
    return CliRunner().invoke(cli, list(args), catch_exceptions=fails)


def against(db: Path, session: Callable[[HumeClient], Awaitable[Any]], **settings: Any) -> Any:
    """Run ``session`` with a client of the embedded emulator whose state is ``db``."""

    async def go() -> Any:
        http = httpx.AsyncClient(
            transport=embedded_transport(db, **settings),
            base_url=EMBEDDED_BASE_URL,
            headers={KEY_HEADER: EMBEDDED_API_KEY},
        )
        async with HumeClient(http) as client:
            return await session(client)

    return asyncio.run(go())


async def populate(client: HumeClient) -> dict[str, Any]:
    """A rich account; returns the ids (and versions) tests look at."""

    async def prompt(name: str, *texts: str, **extra: Any) -> str:
        created = await client.create("prompts", {"name": name, "text": texts[0], **extra})
        for text in texts[1:]:
            await client.create_version("prompts", created.id, {"text": text, **extra})
        return created.id

    support = await prompt("Support", SUPPORT_V0, SUPPORT_V1, version_description="v1: unicode")
    lower = await prompt("support", LOWER_TEXT, version_description="null")
    spaced = await prompt("support ", SPACED_TEXT, prompt_expansion={"enabled": False})
    cjk = await prompt("客服 🎧", CJK_TEXT)
    inline = await prompt("3", INLINE_TEXT, version_description="yes")
    legacy = await prompt("legacy", "old words", "new words")
    lookup = await client.create(
        "tools",
        {"name": "lookup", "parameters": json.dumps({"type": "object"}), "description": "v0"},
    )
    await client.create_version(
        "tools",
        lookup.id,
        {
            "parameters": json.dumps(PARAMETERS),
            "description": "Look up ${thing}",
            "fallback_content": "true",
            "version_description": "second",
        },
    )
    null_tool = await client.create(
        "tools", {"name": "null", "parameters": json.dumps({"type": "object"})}
    )
    full_body = {
        "evi_version": "3",
        "version_description": "every field",
        "prompt": {"id": support, "version": 1},
        "tools": [{"id": lookup.id, "version": 1}, {"id": null_tool.id}],
        "builtin_tools": [
            {"name": "web_search"},
            {"name": "hang_up", "fallback_content": "Bye ${NAME} 👋"},
        ],
        "voice": {"name": "ITO", "provider": "HUME_AI"},
        "language_model": {
            "model_provider": "ANTHROPIC",
            "model_resource": "claude-sonnet-4-5-20250929",
            "temperature": 0.35,
        },
        "ellm_model": {"allow_short_responses": True},
        "event_messages": {
            "on_new_chat": {"enabled": True, "text": "مرحبا! ${greeting}"},
            "on_inactivity_timeout": {"enabled": True},
            "on_max_duration_timeout": {"enabled": False, "text": "no"},
        },
        "interruption": {"min_interruption_ms": 300},
        "nudges": {"enabled": True, "interval_secs": 7},
        "timeouts": {
            "inactivity": {"enabled": True, "duration_secs": 600},
            "max_duration": {"enabled": True, "duration_secs": 900},
        },
        "turn_detection": {
            "end_of_turn_silence_ms": 900,
            "prefix_padding_ms": 0,
            "speech_detection_threshold": 0.6,
        },
        "webhooks": [
            {"url": "https://hooks.example.com/a?t=${x}", "events": ["tool_call", "chat_started"]},
            {"url": "https://hooks.example.com/b", "events": ["chat_ended"]},
        ],
    }
    full = await client.create("configs", {"name": "full", **full_body, "evi_version": "4-mini"})
    await client.create_version("configs", full.id, full_body)
    voice = await client.request(
        "POST", "/v0/tts/voices", json={"name": "narrator", "generation_id": "gen-1"}
    )
    pinned = await client.create(
        "configs",
        {
            "name": "pinned-old",
            "evi_version": "3",
            "prompt": {"id": legacy, "version": 0},
            "voice": {"id": voice["id"]},
        },
    )
    follows = await client.create(
        "configs",
        {"name": "follows", "evi_version": "3", "prompt": {"id": lower}, "tools": []},
    )
    defaults = await client.create(
        "configs",
        {
            "name": "defaults",
            "evi_version": "4-mini",
            "ellm_model": {"allow_short_responses": False},
            "nudges": {"enabled": False},
            "timeouts": {
                "inactivity": {"enabled": True, "duration_secs": 600},
                "max_duration": {"enabled": True},
            },
            "event_messages": {"on_new_chat": {"enabled": False}},
            "webhooks": [],
        },
    )
    return {
        "prompts": {
            "Support": support, "support": lower, "support ": spaced, "客服 🎧": cjk,
            "3": inline, "legacy": legacy,
        },
        "tools": {"lookup": lookup.id, "null": null_tool.id},
        "voice": voice["id"],
        "configs": {
            "full": full.id, "pinned-old": pinned.id, "follows": follows.id,
            "defaults": defaults.id,
        },
    }  # fmt: skip


@pytest.fixture(scope="module")
def account(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    db = tmp_path_factory.mktemp("account") / "e.sqlite"
    return db, against(db, populate)


def export(db: Path, out: Path, *extra: str) -> Result:
    result = run("export", "--out", str(out), "--emulator", str(db), *extra)
    assert result.exit_code == 0, result.output
    return result


def plan_exit(db: Path, out: Path) -> Result:
    return run("plan", str(out), "--emulator", str(db), "--detailed-exitcode")


def by_name(resources: tuple) -> dict[str, Any]:
    return {r.name: r for r in resources}


def test_round_trip_on_a_rich_account(account: tuple[Path, dict], tmp_path: Path) -> None:
    db, ids = account
    out = tmp_path / "out"
    export(db, out)
    result = plan_exit(db, out)
    assert result.exit_code == 0, result.output
    assert "No changes" in result.output

    manifests = load_manifests(out, {"HOME": "/home/x", "NAME": "n", "greeting": "g", "x": "y"})
    prompts, tools, configs = (
        by_name(manifests.of_kind(k)) for k in ("prompts", "tools", "configs")
    )
    assert set(prompts) == {"Support", "support", "support ", "客服 🎧", "3", "legacy"}
    assert prompts["Support"].text == SUPPORT_V1
    assert prompts["support "].text == SPACED_TEXT
    assert prompts["3"].text == INLINE_TEXT
    assert prompts["3"].version_description == "yes"
    assert prompts["support"].version_description == "null"
    files = {name: p.text_file for name, p in prompts.items()}
    assert files == {
        "Support": "prompts/support.md",
        "support": "prompts/support-2.md",
        "support ": "prompts/support-3.md",
        "客服 🎧": "prompts/prompt.md",
        "3": None,
        "legacy": None,
    }
    assert (out / "prompts" / "support-3.md").read_bytes() == SPACED_TEXT.encode()
    assert prompts["support "].prompt_expansion.enabled is False
    assert prompts["Support"].prompt_expansion is None

    assert tools["lookup"].parameters == PARAMETERS
    assert tools["lookup"].description == "Look up ${thing}"
    assert tools["lookup"].fallback_content == "true"

    full = configs["full"]
    assert full.prompt == Reference(name="Support")
    assert full.tools == (Reference(name="lookup"), Reference(id=ids["tools"]["null"]))
    assert full.voice.model_dump(exclude_none=True) == {"name": "ITO", "provider": "HUME_AI"}
    assert full.timeouts.model_dump(exclude_none=True) == {
        "max_duration": {"enabled": True, "duration_secs": 900}
    }
    assert full.event_messages.on_new_chat.text == "مرحبا! ${greeting}"
    assert full.webhooks[0].url == "https://hooks.example.com/a?t=${x}"
    assert configs["pinned-old"].prompt == Reference(id=ids["prompts"]["legacy"], version=0)
    assert configs["pinned-old"].voice.model_dump(exclude_none=True) == {"id": ids["voice"]}
    assert configs["follows"].prompt == Reference(id=ids["prompts"]["support"])
    assert configs["defaults"].model_dump(
        exclude_unset=True, exclude={"source", "secret_spans"}
    ) == {
        "name": "defaults",
        "evi_version": "4-mini",
    }
    text = (out / "configs.yaml").read_text(encoding="utf-8")
    assert '# prompt "legacy" v0 (the latest is v1)' in text
    assert '# prompt "support", following its latest version' in text


def test_kind_configs_alone_refers_by_id(account: tuple[Path, dict], tmp_path: Path) -> None:
    db, ids = account
    out = tmp_path / "out"
    output = export(db, out, "--kind", "configs").output
    assert sorted(p.name for p in out.iterdir()) == ["configs.yaml"]
    assert "Exported 4 configs" in output
    full = by_name(load_manifests(out, {}).of_kind("configs"))["full"]
    assert full.prompt == Reference(id=ids["prompts"]["Support"], version=1)
    assert full.tools == (
        Reference(id=ids["tools"]["lookup"], version=1),
        Reference(id=ids["tools"]["null"]),
    )
    assert plan_exit(db, out).exit_code == 0


def test_name_filter_is_exact(account: tuple[Path, dict], tmp_path: Path) -> None:
    db, _ = account
    out = tmp_path / "out"
    export(db, out, "--name", "support", "--name", "lookup")
    manifests = load_manifests(out, {})
    assert [p.name for p in manifests.of_kind("prompts")] == ["support"]
    assert [t.name for t in manifests.of_kind("tools")] == ["lookup"]
    assert manifests.of_kind("configs") == ()
    assert plan_exit(db, out).exit_code == 0

    missing = run(
        "export", "--out", str(tmp_path / "x"), "--emulator", str(db), "--name", "nope", fails=True
    )
    assert missing.exit_code == 1
    assert "nothing named 'nope' among the prompts, tools, configs" in str(missing.exception)
    assert not (tmp_path / "x").exists()


def test_exact_duplicate_names_fail_and_name_both(tmp_path: Path) -> None:
    db = tmp_path / "e.sqlite"

    async def duplicates(client: HumeClient) -> list[str]:
        first = await client.create("prompts", {"name": "dup", "text": "one"})
        second = await client.create("prompts", {"name": "dup", "text": "two"})
        await client.create("tools", {"name": "t", "parameters": "{}"})
        return [first.id, second.id]

    first, second = against(db, duplicates, allow_duplicate_names=True)
    out = tmp_path / "out"
    result = run("export", "--out", str(out), "--emulator", str(db), fails=True)
    assert result.exit_code == 1
    message = str(result.exception)
    assert f"2 prompts are named 'dup' ({first}, {second})" in message
    assert "rename or delete the extras in Hume, or leave them out with --kind or --name" in message
    assert not out.exists()
    export(db, out, "--kind", "tools")
    assert [t.name for t in load_manifests(out, {}).of_kind("tools")] == ["t"]


def test_an_omitted_prompt_expansion_is_seen_by_drift_not_plan(tmp_path: Path) -> None:
    """List items lack prompt_expansion: plan reads it only where set (documented), drift always."""
    db = tmp_path / "e.sqlite"

    async def disabled(client: HumeClient) -> None:
        await client.create(
            "prompts", {"name": "p", "text": "hi", "prompt_expansion": {"enabled": False}}
        )

    against(db, disabled)
    out = tmp_path / "out"
    export(db, out)
    written = (out / "prompts.yaml").read_text(encoding="utf-8")
    assert "    prompt_expansion: {enabled: false}\n" in written
    (out / "prompts.yaml").write_text(
        written.replace("    prompt_expansion: {enabled: false}\n", "")
    )
    assert plan_exit(db, out).exit_code == 0
    drift = run("drift", str(out), "--emulator", str(db), "--format", "json")
    assert drift.exit_code == 2
    (item,) = json.loads(drift.output)["items"]
    assert item["change"]["fields"] == [
        {"path": "prompt_expansion.enabled", "before": False, "after": True, "reference": False}
    ]


def test_round_trip_over_http(
    api: httpx.Client, emulator: RunningEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same through a real server: --base-url and HUME_API_KEY, every response spec-checked."""
    monkeypatch.setenv("HUME_API_KEY", KEY)
    prompt = api.post("/v0/evi/prompts", json={"name": "Greeter", "text": "Hi\nthere"}).json()
    api.post("/v0/evi/prompts", json={"name": "greeter", "text": "yes"}).raise_for_status()
    body = {"name": "desk", "evi_version": "3", "prompt": {"id": prompt["id"], "version": 0}}
    api.post("/v0/evi/configs", json=body).raise_for_status()
    out = tmp_path / "out"
    result = run("export", "--out", str(out), "--base-url", emulator.url)
    assert result.exit_code == 0, result.output
    assert [c.prompt for c in load_manifests(out, {}).of_kind("configs")] == [
        Reference(name="Greeter")
    ]
    planned = run("plan", str(out), "--base-url", emulator.url, "--detailed-exitcode")
    assert planned.exit_code == 0, planned.output
    assert emulator.app.emulator.counts["POST"] == 3
