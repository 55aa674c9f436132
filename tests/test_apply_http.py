"""``evictl apply --base-url`` against the emulator server: failures, resumption, Retry-After,
and no key or secret in the output.

Faults are set through ``POST /_emulator/faults``. The CLI's connection gets tiny retry waits
(``SMALL_RETRY``), so that a write that keeps failing gives up in milliseconds.
"""

from __future__ import annotations

import functools
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler import workflow
from reconciler.workflow import Connection
from tests.apply_support import (
    BASE,
    BASE_INVENTORY,
    SMALL_RETRY,
    evictl,
    inventory,
    live,
    pins,
    progress,
)
from tests.conftest import RunningEmulator
from tests.plan_support import write

API_KEY = "hume-key-DO-NOT-PRINT-5f2a"
TOKEN = "webhook-token-DO-NOT-PRINT-77c1"
HOOKED = """\
configs:
  - name: hooked
    evi_version: "3"
    prompt: greeter
    webhooks:
      - url: https://hooks.example/evi?token=${secret:HOOK_TOKEN}
        events: [chat_started]
"""


@pytest.fixture
def account(
    emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> tuple[RunningEmulator, Connection]:
    monkeypatch.setenv("HUME_API_KEY", API_KEY)
    monkeypatch.setattr(workflow, "Connection", functools.partial(Connection, retry=SMALL_RETRY))
    return emulator, Connection(base_url=emulator.url)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return write(tmp_path / "m", BASE)


def faults(emulator: RunningEmulator, **settings: Any) -> None:
    response = httpx.post(f"{emulator.url}/_emulator/faults", json=settings)
    assert response.status_code == 200, response.text


def apply(emulator: RunningEmulator, root: Path, *args: str) -> Any:
    return evictl("apply", root, "--base-url", emulator.url, "--auto-approve", *args)


def plan_of(emulator: RunningEmulator, root: Path) -> dict[str, list[str]]:
    """The pending changes ``evictl plan`` shows, ``{kind/name: actions}``."""
    result = evictl("plan", root, "--base-url", emulator.url, "--format", "json")
    assert result.exit_code == 0, result.output
    changes = json.loads(result.stdout)["changes"]
    return {f"{c['kind']}/{c['name']}": c["actions"] for c in changes if c["actions"]}


def statuses(document: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """``{kind/name: (status, detail)}`` of an ``apply --format json`` document."""
    return {f"{o['kind']}/{o['name']}": (o["status"], o["detail"]) for o in document["outcomes"]}


LOST = "POST /v0/evi/configs: no answer (status 503); it may or may not have happened"


def test_an_interrupted_apply_is_finished_by_the_next(
    account: tuple[RunningEmulator, Connection], root: Path
) -> None:
    emulator, connection = account
    faults(emulator, error_rate=1.0, methods=["POST"], path="/configs")
    result = apply(emulator, root)
    assert result.exit_code == 1
    assert sorted(line for line in progress(result.stdout) if "config " in line) == [
        f"failed  config desk: create: {LOST}",
        f"failed  config night: create: {LOST}",
    ]
    assert result.stdout.endswith("Apply finished: 4 done, 2 failed, 0 skipped.\n")
    faults(emulator)
    assert plan_of(emulator, root) == {"configs/desk": ["create"], "configs/night": ["create"]}
    finished = apply(emulator, root)
    assert finished.exit_code == 0, finished.output
    assert finished.stdout.endswith("Apply finished: 2 done, 0 failed, 0 skipped.\n")
    assert plan_of(emulator, root) == {}
    assert inventory(connection) == BASE_INVENTORY


def test_a_failed_prompt_skips_its_configs_and_nothing_else(
    account: tuple[RunningEmulator, Connection], root: Path
) -> None:
    emulator, connection = account
    apply(emulator, root)
    text = (root / "evi.yaml").read_text(encoding="utf-8")
    text = text.replace("text: Hello\n", "text: Hello again\n")
    write(root, text.replace("prompt: closer\n", "prompt: closer\n    nudges: {enabled: true}\n"))
    greeter = live(connection, "prompts", "greeter").id
    faults(emulator, error_rate=1.0, methods=["POST"], path=f"/prompts/{greeter}$")
    result = apply(emulator, root, "--format", "json")
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    lost = (
        f"POST /v0/evi/prompts/{greeter}: no answer (status 503); it may or may not have happened"
    )
    assert statuses(document) == {
        "prompts/greeter": ("failed", lost),
        "configs/desk": ("skipped", "prompt greeter did not apply"),
        "configs/night": ("done", ""),
    }
    assert document["summary"] == {"done": 1, "conflict": 0, "failed": 1, "skipped": 1}
    faults(emulator)
    assert plan_of(emulator, root) == {
        "prompts/greeter": ["new_version"],
        "configs/desk": ["new_version"],
    }
    assert apply(emulator, root).exit_code == 0
    assert plan_of(emulator, root) == {}
    assert inventory(connection) == {
        **BASE_INVENTORY,
        "prompts": {"greeter": [0, 1], "closer": [0], "retired": [0]},
        "configs": {"desk": [0, 1], "night": [0, 1]},
    }
    assert pins(connection, "desk") == {"prompt": "greeter v1", "tools": ["lookup v0"]}


def test_retry_after_is_honoured(account: tuple[RunningEmulator, Connection], root: Path) -> None:
    """The retry policy's own waits are under 0.05 s: only Retry-After can make it wait 1 s."""
    emulator, connection = account
    faults(emulator, rate_limit_rate=1.0, retry_after_s=1, methods=["POST"], limit=1)
    started = time.monotonic()
    result = apply(emulator, root)
    elapsed = time.monotonic() - started
    assert result.exit_code == 0, result.output
    assert elapsed >= 1.0
    log = httpx.get(f"{emulator.url}/_emulator/requests").json()["requests"]
    assert [e["status"] for e in log if e["method"] == "POST"][:2] == [429, 201]
    assert inventory(connection) == BASE_INVENTORY


def test_no_key_or_secret_reaches_the_output(
    account: tuple[RunningEmulator, Connection],
    root: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    emulator, connection = account
    write(root, HOOKED, "hooked.yaml")
    monkeypatch.setenv("HOOK_TOKEN", TOKEN)
    outputs = [apply(emulator, root).output]
    hook = live(connection, "configs", "hooked").model_dump()["webhooks"][0]["url"]
    assert hook == f"https://hooks.example/evi?token={TOKEN}"  # the secret was used
    monkeypatch.setenv("HOOK_TOKEN", TOKEN[::-1])
    outputs.append(apply(emulator, root, "--format", "json").output)
    monkeypatch.setenv("HOOK_TOKEN", TOKEN)
    faults(emulator, error_rate=1.0, methods=["POST"])
    failed = apply(emulator, root)
    assert failed.exit_code == 1
    outputs.append(failed.output)
    assert "(secret)" in outputs[0]
    for output in outputs:
        for value in (API_KEY, TOKEN, TOKEN[::-1]):
            assert value not in output
