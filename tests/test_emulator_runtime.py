"""How the emulator runs: persistence, concurrency, embedded mode, the CLI, its own spec checks."""

from __future__ import annotations

import asyncio
import filecmp
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from reconciler.emulator import EmulatorSettings, Faults, views
from reconciler.emulator.embedded import EMBEDDED_BASE_URL, embedded_transport
from tests.conftest import KEY, RunningEmulator, free_port
from tests.contract import BUNDLED_SPEC, SHARED_SPEC


def test_bundled_spec_is_the_shared_contract() -> None:
    if not SHARED_SPEC.exists():
        pytest.skip("shared/spec is not beside this checkout")
    assert filecmp.cmp(SHARED_SPEC, BUNDLED_SPEC, shallow=False)


def test_sqlite_state_survives_a_restart(tmp_path: Path) -> None:
    settings = EmulatorSettings(db=str(tmp_path / "state.sqlite"))
    with RunningEmulator(settings) as running, running.client() as client:
        pid = client.post("/v0/evi/prompts", json={"name": "kept", "text": "t"}).json()["id"]
        client.post(f"/v0/evi/prompts/{pid}", json={"text": "t2"})
    with RunningEmulator(settings) as running, running.client() as client:
        assert client.get(f"/v0/evi/prompts/{pid}/version/1").json()["text"] == "t2"
        assert client.post(f"/v0/evi/prompts/{pid}", json={"text": "t3"}).json()["version"] == 2


def test_concurrent_new_versions_get_unique_numbers(api: httpx.Client) -> None:
    pid = api.post("/v0/evi/prompts", json={"name": "busy", "text": "0"}).json()["id"]

    def add(i: int) -> int:
        return api.post(f"/v0/evi/prompts/{pid}", json={"text": str(i)}).json()["version"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        numbers = sorted(pool.map(add, range(40)))
    assert numbers == list(range(1, 41))


def test_concurrent_creates_with_one_name_make_one_resource(api: httpx.Client) -> None:
    def create(_: int) -> int:
        return api.post("/v0/evi/tools", json={"name": "race", "parameters": "{}"}).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = sorted(pool.map(create, range(16)))
    assert statuses == [201] + [409] * 15


def test_embedded_mode_keeps_state_in_a_file(tmp_path: Path) -> None:
    db = tmp_path / "nested" / "emulator.sqlite"

    async def run(body: dict) -> list[str]:
        transport = embedded_transport(db)
        headers = {"X-Hume-Api-Key": "any"}
        async with httpx.AsyncClient(
            transport=transport, base_url=EMBEDDED_BASE_URL, headers=headers
        ) as client:
            assert (await client.post("/v0/evi/prompts", json=body)).status_code == 201
            page = (await client.get("/v0/evi/prompts")).json()
        return [p["name"] for p in page["prompts_page"]]

    assert asyncio.run(run({"name": "one", "text": "t"})) == ["one"]
    assert asyncio.run(run({"name": "two", "text": "t"})) == ["one", "two"]


def test_embedded_drop_looks_like_a_network_drop(tmp_path: Path) -> None:
    async def run() -> int:
        transport = embedded_transport(tmp_path / "e.sqlite", faults=Faults(drop_rate=1.0))
        async with httpx.AsyncClient(
            transport=transport, base_url=EMBEDDED_BASE_URL, headers={"X-Hume-Api-Key": "k"}
        ) as client:
            with pytest.raises(httpx.RemoteProtocolError):
                await client.post("/v0/evi/prompts", json={"name": "n", "text": "t"})
            transport.app.emulator.faults = Faults()
            return len((await client.get("/v0/evi/prompts")).json()["prompts_page"])

    assert asyncio.run(run()) == 1


def test_off_spec_responses_become_500(api: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(views, "tool_view", lambda version, **_: {"id": version.id})
    response = api.post("/v0/evi/tools", json={"name": "t", "parameters": "{}"})
    assert response.status_code == 500
    assert "breaks the spec" in response.json()["message"]


def test_cli_serves_over_http(tmp_path: Path) -> None:
    port = free_port()
    command = [sys.executable, "-m", "reconciler", "emulator", "--port", str(port)]
    command += ["--db", str(tmp_path / "cli.sqlite"), "--api-key", KEY]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                response = httpx.get(
                    f"http://127.0.0.1:{port}/v0/evi/configs", headers={"X-Hume-Api-Key": KEY}
                )
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline, "emulator did not start"
                time.sleep(0.1)
        assert response.status_code == 200
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=10)
    assert KEY not in stderr
    assert f"127.0.0.1:{port}" in stderr


def test_cli_rejects_bad_fault_flags_without_a_traceback() -> None:
    command = [sys.executable, "-m", "reconciler", "emulator", "--error-rate", "3"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert result.stderr.strip() == "error: error_rate must be between 0 and 1"
