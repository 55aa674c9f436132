"""The live-traffic guard: a config ACTIVE chats use is not deleted (plan refuses, apply checks
again right before the delete) unless ``--allow-active-chats``; a new version of a config chats
used lately carries a note. Chats are seeded with the emulator's ``POST /_emulator/chats``."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result

from reconciler.cli import cli
from reconciler.planner.guard import TIMES as X
from reconciler.planner.guard import guard, without_traffic
from reconciler.planner.plan import ActiveChats, Change, Plan, RecentChats
from reconciler.planner.planner import PlanError
from reconciler.snapshot import ChatUsage
from reconciler.workflow import Connection
from tests.conftest import KEY, RunningEmulator
from tests.plan_support import write

DESK = """\
prompts:
  - name: greeter
    text: {text}
configs:
  - name: desk
    evi_version: "3"
    prompt: greeter
"""
GONE = "configs:\n  - name: desk\n    absent: true\n"


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(arg) for arg in args])


def said(result: Result) -> str:
    """What the command printed, with the message of the error ``main`` would print."""
    return result.output + ("" if result.exception is None else str(result.exception))


def seed(db: Path, **chat: Any) -> dict[str, Any]:
    """A chat on the embedded emulator's account, through its control endpoint."""

    async def go() -> dict[str, Any]:
        async with Connection(emulator=db).client() as client:
            response = await client.http.post("/_emulator/chats", json=chat)
            assert response.status_code == 201, response.text
            return response.json()

    return asyncio.run(go())


def desk(db: Path) -> dict[str, Any]:
    async def go() -> Any:
        async with Connection(emulator=db).client() as client:
            return await client.list("configs", name="desk")

    (found,) = asyncio.run(go())
    return {"id": found.id, "version": found.version}


@pytest.fixture
def account(tmp_path: Path) -> tuple[Path, Path]:
    """Manifests applied twice (config desk at v0 and v1), and the emulator's file."""
    root, db = tmp_path / "m", tmp_path / "e.sqlite"
    for text in ("Hi", "Hello"):
        write(root, DESK.format(text=text))
        assert run("apply", root, "--emulator", db, "--auto-approve").exit_code == 0
    return root, db


def test_deleting_a_config_in_use_is_refused_by_plan(account: tuple[Path, Path]) -> None:
    root, db = account
    config = desk(db)
    for version in (0, 0, 1):
        seed(db, config_id=config["id"], config_version=version)
    seed(db, config_id=config["id"], config_version=1, status="USER_ENDED")
    (root / "evi.yaml").write_text(GONE, encoding="utf-8")
    result = run("plan", root, "--emulator", db)
    assert result.exit_code == 1
    assert (
        f"config 'desk' has 3 active chats (v0 {X}2, v1 {X}1); wait, or pass --allow-active-chats"
        in said(result)
    )
    allowed = run("plan", root, "--emulator", db, "--allow-active-chats")
    assert allowed.exit_code == 0, allowed.output
    assert f"3 active chats (v0 {X}2, v1 {X}1) lose their config" in allowed.output
    assert run("apply", root, "--emulator", db, "--auto-approve").exit_code == 1
    assert desk(db) == config  # nothing deleted
    done = run("apply", root, "--emulator", db, "--auto-approve", "--allow-active-chats")
    assert done.exit_code == 0, done.output


def test_apply_checks_again_right_before_the_delete(account: tuple[Path, Path]) -> None:
    root, db = account
    (root / "evi.yaml").write_text(GONE, encoding="utf-8")
    saved = root.parent / "plan.json"
    assert run("plan", root, "--emulator", db, "--out", saved).exit_code == 0
    config = desk(db)
    seed(db, config_id=config["id"], config_version=1)  # a call starts after the review
    result = run("apply", saved, "--emulator", db, "--no-usage")
    assert result.exit_code == 1
    assert (
        f"config 'desk' has 1 active chat (v1 {X}1) now; wait, or pass --allow-active-chats"
        in said(result)
    )
    assert desk(db) == config


def test_no_usage_skips_the_plan_time_read(account: tuple[Path, Path]) -> None:
    root, db = account
    config = desk(db)
    seed(db, config_id=config["id"])
    (root / "evi.yaml").write_text(GONE, encoding="utf-8")
    assert run("plan", root, "--emulator", db, "--no-usage").exit_code == 0


def test_a_new_version_notes_recent_chats(account: tuple[Path, Path]) -> None:
    root, db = account
    config = desk(db)
    now = int(time.time())
    seed(db, config_id=config["id"], status="USER_ENDED", start_timestamp=now - 3600)
    seed(db, config_id=config["id"], start_timestamp=now - 60)
    seed(db, config_id=config["id"], status="USER_ENDED", start_timestamp=now - 3 * 86400)
    write(root, DESK.format(text="Howdy"))
    note = (
        "2 chats in the last 24 h; clients that connect without config_version get the new version"
    )
    text = run("plan", root, "--emulator", db)
    assert note in text.output and text.exit_code == 0
    markdown = run("plan", root, "--emulator", db, "--format", "markdown")
    assert note in markdown.output
    document = json.loads(run("plan", root, "--emulator", db, "--format", "json").output)
    (changed,) = [c for c in document["changes"] if c["address"] == "configs/desk"]
    assert {"type": "recent_chats", "chats": 2, "hours": 24, "capped": False} in changed["notes"]
    assert "chats in the last" not in run("plan", root, "--emulator", db, "--no-usage").output


def test_a_saved_plan_is_not_stale_because_traffic_moved(account: tuple[Path, Path]) -> None:
    root, db = account
    config = desk(db)
    seed(db, config_id=config["id"])
    write(root, DESK.format(text="Howdy"))
    saved = root.parent / "plan.json"
    assert run("plan", root, "--emulator", db, "--out", saved).exit_code == 0
    seed(db, config_id=config["id"])
    result = run("apply", saved, "--emulator", db)
    assert result.exit_code == 0, result.output
    assert desk(db)["version"] == 2


# The pure guard

DELETE = Change(kind="configs", name="desk", id="c1", actions=("delete",), source="evi.yaml:3")
VERSION = Change(kind="configs", name="desk", id="c1", actions=("new_version",))
BUSY = ChatUsage(active=((4, 2), (5, 1)), recent=7)


def test_guard_refuses_or_notes_and_leaves_quiet_configs_alone() -> None:
    with pytest.raises(PlanError, match=r"^evi.yaml:3: config 'desk' has 3 active chats"):
        guard(Plan(fingerprint="f", changes=(DELETE,)), {"configs/desk": BUSY})
    allowed = guard(
        Plan(fingerprint="f", changes=(DELETE,)), {"configs/desk": BUSY}, allow_active=True
    )
    assert allowed.changes[0].notes == (ActiveChats(versions=((4, 2), (5, 1))),)
    versioned = guard(Plan(fingerprint="f", changes=(VERSION,)), {"configs/desk": BUSY})
    assert versioned.changes[0].notes == (RecentChats(chats=7, hours=24),)
    quiet = guard(Plan(fingerprint="f", changes=(VERSION,)), {"configs/desk": ChatUsage()})
    assert quiet.changes[0].notes == ()


def test_without_traffic_drops_only_the_guards_notes() -> None:
    document = {"changes": [{"notes": [{"type": "recent_chats"}, {"type": "same_description"}]}]}
    assert without_traffic(document) == {"changes": [{"notes": [{"type": "same_description"}]}]}


def test_a_rollback_notes_recent_chats_too(account: tuple[Path, Path]) -> None:
    _, db = account
    seed(db, config_id=desk(db)["id"], status="USER_ENDED")
    write(db.parent / "m", DESK.format(text="Howdy"))
    assert run("apply", db.parent / "m", "--emulator", db, "--auto-approve").exit_code == 0
    result = run("rollback", "configs/desk", "--to", "0", "--emulator", db, "--auto-approve")
    assert result.exit_code == 0, said(result)
    assert "1 chat in the last 24 h; clients that connect without config_version" in result.output


def test_an_active_chat_without_a_config_version_is_counted_not_a_crash() -> None:
    usage = ChatUsage(active=((2, 1), (None, 2)))
    with pytest.raises(PlanError, match=rf"3 active chats \(v2 {X}1, v\? {X}2\)"):
        guard(Plan(fingerprint="f", changes=(DELETE,)), {"configs/desk": usage})


MANY = "prompts:\n  - name: greeter\n    text: {text}\nconfigs:\n" + "".join(
    f'  - name: desk{n}\n    evi_version: "3"\n    prompt: greeter\n' for n in range(6)
)


def test_a_cascade_reads_the_accounts_recent_chats_once(
    tmp_path: Path, emulator: RunningEmulator, api: httpx.Client
) -> None:
    root = write(tmp_path / "m", MANY.format(text="Hi"))
    env = {"HUME_API_KEY": KEY}

    def evictl(*args: str | Path) -> Result:
        return CliRunner(env=env).invoke(cli, [*map(str, args), "--base-url", emulator.url])

    assert evictl("apply", root, "--auto-approve").exit_code == 0
    ids = {c["name"]: c["id"] for c in api.get("/v0/evi/configs").json()["configs_page"]}
    for name, chats in (("desk0", 2), ("desk3", 1)):
        for _ in range(chats):
            seeded = api.post(
                "/_emulator/chats", json={"config_id": ids[name], "status": "USER_ENDED"}
            )
            assert seeded.status_code == 201
    write(root, MANY.format(text="Hello"))
    before = len(api.get("/_emulator/requests").json()["requests"])
    document = json.loads(evictl("plan", root, "--format", "json").output)
    notes = {
        c["name"]: [n["chats"] for n in c["notes"] if n["type"] == "recent_chats"]
        for c in document["changes"]
        if c["kind"] == "configs"
    }
    assert notes == {f"desk{n}": {0: [2], 3: [1]}.get(n, []) for n in range(6)}
    log = api.get("/_emulator/requests").json()["requests"][before:]
    assert len([r for r in log if r["path"] == "/v0/evi/chats"]) == 1  # not one per config


def test_one_active_chat_reads_in_the_singular() -> None:
    from reconciler import render

    words = render.note(ActiveChats(versions=((1, 1),)), "config")
    assert words.startswith(f"1 active chat (v1 {X}1) loses its config")
