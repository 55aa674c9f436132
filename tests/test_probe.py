"""``evictl probe`` and facts files: evictl's assumptions checked against an account, and the
server defaults it learns used by plan, apply and drift."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from click.testing import CliRunner, Result

from reconciler.cli import cli
from reconciler.emulator import EmulatorSettings
from reconciler.hume import facts
from reconciler.planner import canonical
from reconciler.workflow import Connection
from tests.conftest import KEY, RunningEmulator
from tests.plan_support import write


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(arg) for arg in args])


def everything(db: Path) -> dict[str, list[str]]:
    async def read() -> dict[str, list[str]]:
        async with Connection(emulator=db).client() as client:
            return {
                kind: [item.name for item in await client.list(kind)]
                for kind in ("prompts", "tools", "configs")
            }

    return asyncio.run(read())


def test_the_probe_holds_on_the_emulator_and_leaves_nothing_behind(tmp_path: Path) -> None:
    db, saved = tmp_path / "e.sqlite", tmp_path / "hume-facts.json"
    result = run("probe", "--emulator", db, "--save", saved)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("evictl probe (evictl-probe-")
    assert "  ok   a rename applies to every version" in lines
    assert "  ok   an omitted config nudges is stored as evictl's default" in lines
    assert "All 21 assumptions hold." in lines
    assert everything(db) == {"prompts": [], "tools": [], "configs": []}
    document = json.loads(saved.read_text(encoding="utf-8"))
    assert document["format_version"] == facts.FACTS_FORMAT
    assert facts.read_facts(saved.read_text(encoding="utf-8"), str(saved)) == {
        kind: dict(table) for kind, table in facts.SERVER_DEFAULTS.items()
    }


NUDGING = 'configs:\n  - {name: desk, evi_version: "3"}\n'


def test_a_facts_file_at_the_root_decides_what_omitted_means(tmp_path: Path) -> None:
    root, db = write(tmp_path / "m", NUDGING), tmp_path / "e.sqlite"
    assert run("apply", root, "--emulator", db, "--auto-approve").exit_code == 0

    async def portal_enables_nudges() -> None:
        async with Connection(emulator=db).client() as client:
            (desk,) = await client.list("configs", name="desk")
            body = {"evi_version": "3", "nudges": {"enabled": True, "interval_secs": 6}}
            await client.create_version("configs", desk.id, body)

    asyncio.run(portal_enables_nudges())
    assert run("plan", root, "--emulator", db, "--detailed-exitcode").exit_code == 2
    table = {kind: dict(fields) for kind, fields in facts.SERVER_DEFAULTS.items()}
    table["configs"]["nudges"] = {"enabled": True, "interval_secs": 6}
    document = {"format_version": facts.FACTS_FORMAT, "server_defaults": table}
    (root / facts.FACTS_FILE).write_text(json.dumps(document), encoding="utf-8")
    try:
        assert run("plan", root, "--emulator", db, "--detailed-exitcode").exit_code == 0
        elsewhere = tmp_path / "other.json"
        elsewhere.write_text(json.dumps({"format_version": 1, "server_defaults": {}}))
        with_flag = run("plan", root, "--emulator", db, "--facts", elsewhere, "--detailed-exitcode")
        assert with_flag.exit_code == 2
    finally:
        canonical.use_facts(None)


def test_a_broken_facts_file_is_a_message(tmp_path: Path) -> None:
    root = write(tmp_path / "m", NUDGING)
    (root / facts.FACTS_FILE).write_text('{"format_version": 9}', encoding="utf-8")
    result = run("plan", root, "--emulator", tmp_path / "e.sqlite")
    assert result.exit_code == 1
    assert str(result.exception) == f"{root / facts.FACTS_FILE}: not a facts file of format 1"


def probe_on(settings: EmulatorSettings, *args: str) -> Result:
    with RunningEmulator(settings) as server:
        result = CliRunner().invoke(
            cli, ["probe", "--base-url", server.url, *args], env={"HUME_API_KEY": KEY}
        )
        with server.client() as api:
            left = {
                k: api.get(f"/v0/evi/{k}").json()[f"{k}_page"]
                for k in ("prompts", "tools", "configs")
            }
    assert left == {"prompts": [], "tools": [], "configs": []}, "the probe left resources behind"
    return result


def test_the_probe_names_each_difference_of_a_hume_with_other_defaults(tmp_path: Path) -> None:
    other = {kind: dict(table) for kind, table in facts.SERVER_DEFAULTS.items()}
    other["configs"]["nudges"] = {"enabled": True, "interval_secs": 6}
    other["tools"]["fallback_content"] = "Sorry, that failed."
    saved = tmp_path / "hume-facts.json"
    result = probe_on(EmulatorSettings(defaults=other), "--save", str(saved))
    assert result.exit_code == 1
    failures = [line for line in result.output.splitlines() if line.startswith("  FAIL")]
    assert failures == [
        "  FAIL an omitted tool fallback_content is stored as evictl's default: Hume stored "
        '"Sorry, that failed."; evictl assumes null',
        "  FAIL an omitted config nudges is stored as evictl's default: Hume stored "
        '{"enabled": true, "interval_secs": 6}; evictl assumes {"enabled": false, '
        '"interval_secs": null}',
    ]
    assert "2 of 21 assumptions do not hold" in result.output
    learned = facts.read_facts(saved.read_text(encoding="utf-8"), str(saved))
    assert learned["configs"]["nudges"] == {"enabled": True, "interval_secs": 6}
    assert learned["tools"]["fallback_content"] == "Sorry, that failed."


def test_the_probe_holds_when_every_client_error_is_a_400_error_response() -> None:
    result = probe_on(EmulatorSettings(error_style="sdk"))
    assert result.exit_code == 0, result.output
    assert "  ok   duplicate names are refused" in result.output
    assert "  ok   a missing resource is a 4xx error with a message" in result.output
