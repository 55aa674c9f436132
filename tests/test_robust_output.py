"""Output that cannot drive a terminal, errors that name what failed, and progress when Hume
answers only part of the time."""

from __future__ import annotations

import functools
import json
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner, Result

from reconciler import workflow
from reconciler.cli import cli
from reconciler.terminal import safe, safe_line
from reconciler.workflow import Connection
from tests.apply_support import SMALL_RETRY
from tests.conftest import KEY, RunningEmulator, free_port
from tests.plan_support import write

MANIFEST = """\
prompts:
  - name: greeter
    text: Hello
  - name: closer
    text: Bye
    prompt_expansion: {enabled: false}
configs:
  - {name: desk, evi_version: "3", prompt: greeter}
  - {name: night, evi_version: "3", prompt: closer}
"""


@pytest.fixture
def server(emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch) -> RunningEmulator:
    monkeypatch.setenv("HUME_API_KEY", KEY)
    monkeypatch.setattr(workflow, "Connection", functools.partial(Connection, retry=SMALL_RETRY))
    return emulator


def evictl(server: RunningEmulator, *args: str | Path) -> Result:
    command = [str(arg) for arg in args]
    return CliRunner().invoke(cli, [*command, "--base-url", server.url])


def faults(server: RunningEmulator, **settings: object) -> None:
    httpx.post(f"{server.url}/_emulator/faults", json=settings).raise_for_status()


@pytest.mark.parametrize(
    ("text", "multi_line", "one_line"),
    [
        ("\x1b]0;pwned\x07", "\\x1b]0;pwned\\x07", "\\x1b]0;pwned\\x07"),
        ("a\rb", "a\\x0db", "a\\x0db"),
        ("left\u202eright", "left\\u202eright", "left\\u202eright"),
        ("one\ntwo\tthree", "one\ntwo\tthree", "one\\x0atwo\\x09three"),
        ("caf\u00e9 \U0001f600", "caf\u00e9 \U0001f600", "caf\u00e9 \U0001f600"),
    ],
)
def test_control_and_bidi_characters_are_escaped(text: str, multi_line: str, one_line: str) -> None:
    assert (safe(text), safe_line(text)) == (multi_line, one_line)


def test_plan_text_never_carries_a_terminal_escape(server: RunningEmulator, tmp_path: Path) -> None:
    root = write(tmp_path / "m", MANIFEST)
    assert evictl(server, "apply", root, "--auto-approve").exit_code == 0
    with server.client() as api:
        api.post("/v0/evi/prompts", json={"name": "evil\x1b]0;pwned\x07", "text": "Hi \x1b[2J"})
    write(root, MANIFEST.replace("text: Hello", 'text: "Hi \\e[2J"'))
    for fmt in ("text", "markdown"):
        shown = evictl(server, "plan", root, "--format", fmt).output
        assert "\x1b]" not in shown and "\x1b[2J" not in shown and "\x07" not in shown
        assert "Hi \\x1b[2J" in shown
    document = json.loads(evictl(server, "plan", root, "--format", "json").output)
    (greeter,) = [c for c in document["changes"] if c["name"] == "greeter"]
    assert greeter["fields"][0]["after"] == "Hi \x1b[2J"  # JSON stays JSON


def test_a_server_that_is_down_is_named_at_once(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HUME_API_KEY", KEY)
    root = write(tmp_path / "m", MANIFEST)
    url = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    result = CliRunner().invoke(cli, ["plan", str(root), "--base-url", url])
    elapsed = time.monotonic() - started
    assert result.exit_code == 1
    assert isinstance(result.exception, httpx.ConnectError)
    from reconciler.client import unreachable

    message = unreachable(result.exception)
    assert message.startswith(f"cannot reach {url} (")
    assert message.endswith("check --base-url (or HUME_BASE_URL) and the network")
    assert elapsed < 3


def test_a_listing_that_cannot_be_read_is_named(server: RunningEmulator, tmp_path: Path) -> None:
    root = write(tmp_path / "m", MANIFEST)
    faults(server, error_rate=1.0, methods=["GET"], path="^/v0/evi/configs$")
    result = evictl(server, "plan", root)
    assert result.exit_code == 1
    assert str(result.exception).startswith(
        "could not read the configs listing from Hume: GET /v0/evi/configs failed with 503"
    )


def test_a_resource_hume_does_not_answer_for_is_left_out_not_the_run(
    server: RunningEmulator, tmp_path: Path
) -> None:
    root = write(tmp_path / "m", MANIFEST)
    assert evictl(server, "apply", root, "--auto-approve").exit_code == 0
    write(root, MANIFEST.replace("Hello", "Hello again").replace("Bye", "Bye now"))
    faults(server, error_rate=1.0, methods=["GET"], path="/version/")
    planned = evictl(server, "plan", root)
    assert planned.exit_code == 1
    assert '! prompt "closer": not planned, Hume did not answer for it (GET' in planned.output
    assert str(planned.exception) == (
        "the plan is incomplete: Hume did not answer for 1 resource(s), left out; run it again"
    )
    applied = evictl(server, "apply", root, "--auto-approve", "--format", "json")
    assert applied.exit_code == 1
    outcomes = {o["name"]: o for o in json.loads(applied.output)["outcomes"]}
    assert {name: o["status"] for name, o in outcomes.items()} == {
        "closer": "failed",
        "greeter": "done",
        "desk": "done",
    }  # night pins closer's live version, which the plan left alone
    assert outcomes["closer"]["detail"].startswith("not read from Hume: GET /v0/evi/prompts/")
    drift = evictl(server, "drift", root)
    assert drift.exit_code == 1
    assert "Not read (Hume did not answer): prompts/greeter, prompts/closer" in drift.output
    assert "Drift (incomplete: 2 not read): 0 resources differ from the manifests." in drift.output
    alone = write(tmp_path / "alone", MANIFEST.replace("Hello again", "Hello"))
    only_unread = evictl(server, "apply", alone, "--auto-approve")
    assert only_unread.exit_code == 1
    assert "No changes" not in only_unread.output
    faults(server)
    assert evictl(server, "apply", root, "--auto-approve").exit_code == 0
    assert evictl(server, "plan", root, "--detailed-exitcode").exit_code == 0
