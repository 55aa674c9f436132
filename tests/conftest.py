"""Fixtures: a real emulator server on a random loopback port, and clients that check the spec."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
import uvicorn

from reconciler.emulator import EmulatorSettings, create_app
from tests.contract import check_response

if TYPE_CHECKING:
    from tests.project_support import Project

KEY = "test-key"


@pytest.fixture(autouse=True)
def own_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test its own ``EVICTL_CACHE_DIR`` (also for the CLIs it starts): a rate limit one
    test's emulator taught the client must not pace another's, nor a developer's own commands."""
    folder = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("EVICTL_CACHE_DIR", str(folder))
    return folder


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RunningEmulator:
    """A uvicorn server in a thread, serving one emulator app on 127.0.0.1."""

    def __init__(self, settings: EmulatorSettings):
        self.app = create_app(settings)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="warning", http="h11"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> RunningEmulator:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "emulator did not start"
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.app.emulator.store.close()

    def client(self, key: str | None = KEY, *, check: bool = True) -> httpx.Client:
        headers = {"X-Hume-Api-Key": key} if key else {}
        hooks = {"response": [lambda r: (r.read(), check_response(r))]} if check else {}
        return httpx.Client(base_url=self.url, headers=headers, event_hooks=hooks, timeout=10)


@pytest.fixture(scope="session")
def server() -> Iterator[RunningEmulator]:
    with RunningEmulator(EmulatorSettings()) as running:
        yield running


@pytest.fixture
def emulator(server: RunningEmulator) -> Iterator[RunningEmulator]:
    """The session's server, emptied (state, faults, request log) before each test."""
    httpx.post(f"{server.url}/_emulator/reset").raise_for_status()
    yield server


@pytest.fixture
def api(emulator: RunningEmulator) -> Iterator[httpx.Client]:
    """An authenticated client whose every response is checked against the spec."""
    with emulator.client() as client:
        yield client


@pytest.fixture
def account(tmp_path: Path) -> str:
    """An empty emulated Hume account (embedded emulator state), in a folder of its own."""
    (tmp_path / "hume").mkdir()
    return str(tmp_path / "hume" / "account.sqlite")


@pytest.fixture(scope="session")
def servers() -> Iterator[dict[str, RunningEmulator]]:
    """Two emulated accounts, staging and production, each accepting only its own key."""
    from tests.project_support import two_accounts

    with two_accounts() as pair:
        yield pair


@pytest.fixture
def project(
    tmp_path: Path, servers: dict[str, RunningEmulator], monkeypatch: pytest.MonkeyPatch
) -> Project:
    """Manifests with an evictl.toml naming the two accounts as environments."""
    from tests.project_support import make_project

    return make_project(tmp_path, servers, monkeypatch)
