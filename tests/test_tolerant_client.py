"""What the official SDKs say Hume may send, and what Hume may store, handled without a crash:
null list items and embedded entries, any 4xx body, a stored version unlike the posted one."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.client.api import _message
from tests.apply_support import InProcess, live
from tests.plan_support import write

MANIFEST = """\
prompts:
  - {name: greeter, text: Hello}
tools:
  - {name: lookup, parameters: {type: object}}
configs:
  - {name: desk, evi_version: "3", prompt: greeter, tools: [lookup]}
"""


@pytest.fixture
def account() -> Iterator[InProcess]:
    running = InProcess()
    yield running
    running.close()


def rewriting(change: Callable[[httpx.Request, Any], Any]) -> Any:
    """An ``InProcess.after`` hook that rewrites JSON answers with ``change(request, body)``."""

    async def after(request: httpx.Request, response: httpx.Response) -> httpx.Response:
        body = json.loads(await response.aread())
        text = json.dumps(change(request, body))
        return httpx.Response(
            response.status_code, headers={"content-type": "application/json"}, text=text
        )

    return after


def with_nulls(request: httpx.Request, body: Any) -> Any:
    """Null page items, and null entries in a config's embedded tools, as the SDKs allow."""
    if request.method != "GET" or not isinstance(body, dict):
        return body
    for key, items in body.items():
        if key.endswith("_page") and items:
            for item in items:
                if isinstance(item, dict) and isinstance(item.get("tools"), list):
                    item["tools"] = [None, *item["tools"]]
            body[key] = [None, *items, None]
    return body


def test_null_items_are_skipped_with_a_warning(
    account: InProcess, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    root = write(tmp_path / "m", MANIFEST)
    account.apply(root)
    account.after = rewriting(with_nulls)
    with caplog.at_level(logging.WARNING, logger="reconciler"):
        assert account.plan(root).pending == ()
    messages = [record.getMessage() for record in caplog.records]
    assert "the prompts listing had 2 null item(s); skipped" in messages
    assert "the configs listing: 'desk' had null entries in tools; dropped" in messages


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (
            400,
            {"code": "E0021", "error": "Bad Request", "message": "voice not found"},
            "voice not found (code E0021)",
        ),
        (400, {"error": "Bad Request"}, "Bad Request"),
        (422, {"detail": [{"loc": ["body", "name"], "msg": "too long"}]}, "body.name: too long"),
        (400, {"detail": "no such config"}, "no such config"),
        (400, "plain words  ", "plain words"),
        (400, {"weird": [1]}, '{"weird": [1]}'),
    ],
)
def test_any_error_body_becomes_a_clear_message(status: int, body: Any, message: str) -> None:
    if isinstance(body, str):
        response = httpx.Response(status, text=body)
    else:
        response = httpx.Response(status, json=body)
    assert _message(response) == message


def test_a_stored_version_unlike_the_posted_one_fails_apply(
    account: InProcess, tmp_path: Path
) -> None:
    root = write(tmp_path / "m", MANIFEST)

    def hume_enables_nudges(request: httpx.Request, body: Any) -> Any:
        if request.method == "POST" and request.url.path.startswith("/v0/evi/configs"):
            body["nudges"] = {"enabled": True, "interval_secs": 6}
        return body

    account.after = rewriting(hume_enables_nudges)
    _, outcomes = account.apply(root)
    desk = next(o for o in outcomes if o.name == "desk")
    assert desk.status == "failed"
    assert desk.detail == (
        "Hume stored nudges.enabled = true in v0; the manifests and evictl's defaults say "
        "false: run `evictl probe` to compare Hume with evictl's defaults"
    )
    assert {o.name: o.status for o in outcomes if o.name != "desk"} == {
        "greeter": "done",
        "lookup": "done",
    }
    assert live(account, "configs", "desk").version == 0
