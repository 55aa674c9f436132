"""Over the network, plan, drift and apply request the account's listings while the manifests
load (``workflow.loaded_while_listing``); errors still come as when the load ran first."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
import pytest

from reconciler.errors import UserError
from reconciler.manifest import ManifestErrors
from reconciler.workflow import Connection, apply_plan, drift_report, make_plan
from tests.conftest import RunningEmulator
from tests.plan_support import write

GOOD = "prompts:\n  - name: greeter\n    text: Hello\n"
BAD = "prompts:\n  - name: greeter\n    txt: Hello\n"
ERROR = re.escape("evi.yaml:3:5: prompts[0].txt")


@pytest.fixture(autouse=True)
def key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUME_API_KEY", "test-key")


def requests(emulator: RunningEmulator) -> list[tuple[str, str]]:
    log = httpx.get(f"{emulator.url}/_emulator/requests").json()["requests"]
    return [(entry["method"], entry["path"]) for entry in log]


def test_a_manifest_error_comes_before_a_missing_key(
    emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("HUME_API_KEY", raising=False)
    root = write(tmp_path / "m", BAD)
    with pytest.raises(ManifestErrors, match=ERROR):
        asyncio.run(make_plan(root, {}, Connection(base_url=emulator.url)))
    assert requests(emulator) == []


@pytest.mark.parametrize("command", ["plan", "drift", "apply"])
def test_a_manifest_error_stops_the_listings_and_is_the_error(
    emulator: RunningEmulator, tmp_path: Path, command: str
) -> None:
    root = write(tmp_path / "m", BAD)
    connection = Connection(base_url=emulator.url)
    pipeline = {
        "plan": lambda: make_plan(root, {}, connection),
        "drift": lambda: drift_report(root, {}, connection),
        "apply": lambda: apply_plan(
            root, {}, connection, approve=lambda *_: True, report=lambda _: None
        ),
    }[command]
    with pytest.raises(ManifestErrors, match=ERROR):
        asyncio.run(pipeline())
    assert {method for method, _ in requests(emulator)} <= {"GET"}


def test_a_target_typo_fails_before_any_write(emulator: RunningEmulator, tmp_path: Path) -> None:
    root = write(tmp_path / "m", GOOD)
    connection = Connection(base_url=emulator.url)
    with pytest.raises(UserError, match=r"^--target prompts/greter: no prompt named 'greter'"):
        asyncio.run(
            apply_plan(
                root,
                {},
                connection,
                targets=["prompts/greter"],
                approve=lambda *_: True,
                report=lambda _: None,
            )
        )
    assert {method for method, _ in requests(emulator)} <= {"GET"}
    _, result = asyncio.run(make_plan(root, {}, connection))
    assert [change.actions for change in result.changes] == [("create",)]


def test_the_listings_read_while_loading_are_the_ones_planned(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    root = write(tmp_path / "m", GOOD)
    connection = Connection(base_url=emulator.url)
    asyncio.run(apply_plan(root, {}, connection, approve=lambda *_: True, report=lambda _: None))
    write(root, GOOD.replace("Hello", "Hello again"))
    before = len(requests(emulator))
    _, result = asyncio.run(make_plan(root, {}, connection))
    assert [change.actions for change in result.changes] == [("new_version",)]
    listed = [path for method, path in requests(emulator)[before:] if method == "GET"]
    assert sorted(listed) == ["/v0/evi/configs", "/v0/evi/prompts", "/v0/evi/tools"]
