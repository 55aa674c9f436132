"""Two real ``evictl apply`` processes against one emulator, at once: Hume has no conditional
writes, so evictl must detect the other writer, and the account must end without a duplicate
resource or two identical versions in a row."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.client import HumeClient, connect
from reconciler.emulator import EmulatorSettings, Faults
from reconciler.kinds import KINDS, REGISTRY
from reconciler.planner import canonical
from tests.conftest import KEY, RunningEmulator
from tests.plan_support import write

MANIFEST = """\
prompts:
  - name: greeter
    text: {text}
tools:
  - name: lookup
    parameters: {{type: object}}
configs:
  - name: desk
    evi_version: "3"
    prompt: greeter
    tools: [lookup]
"""
LATENCY_MS = 300
"""Long enough that both processes have planned before either writes."""


@pytest.fixture(params=[False, True], ids=["unique-names", "duplicate-names-allowed"])
def server(request: pytest.FixtureRequest) -> Iterator[RunningEmulator]:
    settings = EmulatorSettings(allow_duplicate_names=request.param)
    with RunningEmulator(settings) as running:
        yield running


def evictl_apply(server: RunningEmulator, root: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "HUME_API_KEY": KEY, "NO_COLOR": "1"}
    command = [sys.executable, "-m", "reconciler", "apply", str(root), "--auto-approve"]
    return subprocess.Popen(
        [*command, "--base-url", server.url],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def both(server: RunningEmulator, root: Path) -> list[tuple[int, str]]:
    """Two applies of ``root`` started together; each one's exit code and output."""
    server.app.emulator.faults = Faults(latency_ms=LATENCY_MS)
    processes = [evictl_apply(server, root) for _ in range(2)]
    results = [(p.wait(timeout=120), p.stdout.read() if p.stdout else "") for p in processes]
    server.app.emulator.faults = Faults()
    return results


def account_state(server: RunningEmulator) -> dict[str, dict[str, list[object]]]:
    """Every resource's versions as comparable content, oldest first, by kind and name."""

    async def read(client: HumeClient) -> dict[str, dict[str, list[object]]]:
        found: dict[str, dict[str, list[object]]] = {}
        for kind in REGISTRY:
            names = [item.name for item in await client.list(kind.name)]
            assert len(names) == len(set(names)), f"duplicate {kind.name}: {sorted(names)}"
            found[kind.name] = {}
            for item in await client.list(kind.name):
                versions = await client.list_versions(kind.name, item.id)
                found[kind.name][item.name] = [_content(kind.name, v) for v in versions]
        return found

    async def go() -> dict[str, dict[str, list[object]]]:
        async with connect(base_url=server.url, api_key=KEY) as client:
            return await read(client)

    return asyncio.run(go())


def _content(kind: str, version: object) -> object:
    body = KINDS[kind].live_body(version)  # type: ignore[arg-type]
    return canonical.content(kind, body), body.get("version_description")


def assert_no_repeats(state: dict[str, dict[str, list[object]]]) -> None:
    for kind, resources in state.items():
        for name, versions in resources.items():
            repeats = [n for n in range(1, len(versions)) if versions[n] == versions[n - 1]]
            assert repeats == [], f"{kind} {name}: versions {repeats} repeat the one before"


def assert_one_named_the_conflict(results: list[tuple[int, str]]) -> None:
    codes = sorted(code for code, _ in results)
    assert codes in ([0, 1], [1, 1]), results
    for code, output in results:
        if code == 1:
            assert any(
                words in output
                for words in (
                    "since the plan",
                    "another writer",
                    "already exists",
                    "is taken",
                )
            ), output
            assert "Traceback" not in output


def test_two_applies_of_new_versions_at_once(server: RunningEmulator, tmp_path: Path) -> None:
    root = write(tmp_path / "m", MANIFEST.format(text="Hello"))
    first = evictl_apply(server, root)
    assert first.wait(timeout=60) == 0
    write(root, MANIFEST.format(text="Hello again"))
    results = both(server, root)
    assert_one_named_the_conflict(results)
    state = account_state(server)
    assert_no_repeats(state)
    assert len(state["prompts"]["greeter"]) == 2


def test_two_applies_that_create_at_once(server: RunningEmulator, tmp_path: Path) -> None:
    root = write(tmp_path / "m", MANIFEST.format(text="Hello"))
    results = both(server, root)
    assert_one_named_the_conflict(results)
    state = account_state(server)
    assert_no_repeats(state)
    assert {kind: sorted(names) for kind, names in state.items()} == {
        "prompts": ["greeter"],
        "tools": ["lookup"],
        "configs": ["desk"],
    }
