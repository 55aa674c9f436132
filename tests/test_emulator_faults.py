"""Injected faults: latency, 5xx, 429 with Retry-After, commit-then-drop, and their scoping."""

from __future__ import annotations

import time

import httpx
import pytest

from reconciler.emulator import EmulatorSettings, Faults
from tests.conftest import RunningEmulator


def set_faults(emulator: RunningEmulator, **faults: object) -> dict:
    response = httpx.post(f"{emulator.url}/_emulator/faults", json=faults)
    assert response.status_code == 200, response.text
    return response.json()


def test_error_rate_answers_the_configured_5xx(
    emulator: RunningEmulator, api: httpx.Client
) -> None:
    set_faults(emulator, error_rate=1.0, error_status=502)
    response = api.get("/v0/evi/prompts")
    assert response.status_code == 502
    assert response.json()["message"] == "injected failure"


def test_rate_limit_sends_retry_after(emulator: RunningEmulator, api: httpx.Client) -> None:
    set_faults(emulator, rate_limit_rate=1.0, retry_after_s=3)
    response = api.post("/v0/evi/prompts", json={"name": "p", "text": "t"})
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3"
    set_faults(emulator)
    assert api.get("/v0/evi/prompts").json()["prompts_page"] == []


def test_commit_then_drop_stores_the_write_but_loses_the_response(
    emulator: RunningEmulator, api: httpx.Client
) -> None:
    set_faults(emulator, drop_rate=1.0)
    with pytest.raises(httpx.RemoteProtocolError):
        api.post("/v0/evi/prompts", json={"name": "lost", "text": "t"})
    assert api.get("/v0/evi/prompts").json()["prompts_page"][0]["name"] == "lost"
    log = httpx.get(f"{emulator.url}/_emulator/requests").json()["requests"]
    assert [entry["status"] for entry in log if entry["method"] == "POST"] == [201, "dropped"]


def test_faults_can_be_scoped_by_method_and_path(
    emulator: RunningEmulator, api: httpx.Client
) -> None:
    set_faults(emulator, error_rate=1.0, methods=["post"], path="/tools")
    assert api.post("/v0/evi/tools", json={"name": "t", "parameters": "{}"}).status_code == 503
    assert api.post("/v0/evi/prompts", json={"name": "p", "text": "t"}).status_code == 201
    assert api.get("/v0/evi/tools").status_code == 200


def test_limit_stops_injecting_after_n_faults(emulator: RunningEmulator, api: httpx.Client) -> None:
    set_faults(emulator, error_rate=1.0, limit=2)
    statuses = [api.get("/v0/evi/prompts").status_code for _ in range(4)]
    assert statuses == [503, 503, 200, 200]


def test_rates_are_probabilities_and_seedable(emulator: RunningEmulator, api: httpx.Client) -> None:
    def run() -> list[int]:
        set_faults(emulator, error_rate=0.5, seed=7)
        return [api.get("/v0/evi/tools").status_code for _ in range(40)]

    first = run()
    assert first == run()
    assert 5 < first.count(503) < 35


def test_latency_is_added(emulator: RunningEmulator, api: httpx.Client) -> None:
    set_faults(emulator, latency_ms=150)
    started = time.monotonic()
    api.get("/v0/evi/prompts")
    assert time.monotonic() - started >= 0.15


def test_reset_clears_faults_and_state(emulator: RunningEmulator, api: httpx.Client) -> None:
    api.post("/v0/evi/prompts", json={"name": "p", "text": "t"})
    set_faults(emulator, error_rate=1.0)
    assert httpx.post(f"{emulator.url}/_emulator/reset").status_code == 200
    assert httpx.get(f"{emulator.url}/_emulator/faults").json()["error_rate"] == 0.0
    assert api.get("/v0/evi/prompts").json()["prompts_page"] == []


@pytest.mark.parametrize(
    ("faults", "setting"),
    [
        ({"error_rate": 2}, "error_rate"),
        ({"eror_rate": 0.5}, "eror_rate"),
        ({"error_status": 404}, "error_status"),
        ({"latency_ms": -1}, "latency_ms"),
        ({"latency_ms": 1e9}, "latency_ms"),
        ({"error_rate": True}, "error_rate"),
        ({"methods": "POST"}, "methods"),
        ({"seed": "7"}, "seed"),
        ({"limit": -1}, "limit"),
        ({"path": "(unclosed"}, "path"),
    ],
)
def test_bad_fault_settings_are_422_naming_the_setting(
    emulator: RunningEmulator, faults: dict, setting: str
) -> None:
    set_faults(emulator, error_rate=0.5)
    response = httpx.post(f"{emulator.url}/_emulator/faults", json=faults)
    assert response.status_code == 422
    assert [problem["loc"] for problem in response.json()["detail"]] == [["body", setting]]
    assert httpx.get(f"{emulator.url}/_emulator/faults").json()["error_rate"] == 0.5


def test_faults_from_settings_apply_from_the_start() -> None:
    settings = EmulatorSettings(faults=Faults(error_rate=1.0, limit=1))
    with RunningEmulator(settings) as running, running.client(check=False) as client:
        assert client.get("/v0/evi/configs").status_code == 503
        assert client.get("/v0/evi/configs").status_code == 200
