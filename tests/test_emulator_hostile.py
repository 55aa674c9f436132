"""A corpus of hostile requests: each gets its exact 4xx as JSON, never a 500 and never a traceback.

Every case once measured as a 500 (or as unbounded memory) is in ``CORPUS``: integers past 2^63 in
paths, queries and bodies, lone surrogates, bodies nested 100k deep, bad fault settings; the body
size limit has tests of its own below. Requests go in process through httpx's ASGI transport,
which re-raises anything the app lets escape, so an unhandled error fails loudly here.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from reconciler.emulator import EmulatorSettings, create_app
from reconciler.emulator.app import MAX_BODY_BYTES
from reconciler.emulator.checks import INT64_MAX, MAX_DEPTH

APP = create_app(EmulatorSettings())
KEY = {"X-Hume-Api-Key": "hostile"}
ID = "00000000-0000-4000-8000-000000000000"
PROMPTS, CONFIGS, FAULTS = "/v0/evi/prompts", "/v0/evi/configs", "/_emulator/faults"
TOO_BIG = INT64_MAX + 1
INT64_MSG = "must be a 64-bit integer"
RANGE_MSG = f"between 0 and {INT64_MAX} (got {TOO_BIG})"


async def _send(method: str, path: str, content: Any = None, **headers: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=APP)
    async with httpx.AsyncClient(transport=transport, base_url="http://emulator") as client:
        return await client.request(method, path, content=content, headers={**KEY, **headers})


def send(method: str, path: str, content: Any = None, **headers: str) -> httpx.Response:
    """One request to the app in process."""
    return asyncio.run(_send(method, path, content, **headers))


def prompt(**fields: Any) -> bytes:
    """A valid prompt body with ``fields`` added or replaced."""
    return json.dumps({"name": "p", "text": "t", **fields}).encode()


def config(**fields: Any) -> bytes:
    """A valid config body with ``fields`` added or replaced."""
    return json.dumps({"name": "c", "evi_version": "3", **fields}).encode()


def nested(depth: int) -> bytes:
    """A prompt body whose ``text`` is a list nested ``depth`` levels below the body."""
    return b'{"name": "p", "text": ' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"


@dataclass(frozen=True)
class Hostile:
    """A request and what it must get: its status, a fragment of the message, the field's loc."""

    name: str
    method: str
    path: str
    body: bytes | None
    status: int
    fragment: str
    loc: tuple[str | int, ...] | None = None


DEEP = 100_000
CORPUS = [
    # Integers SQLite cannot hold: paths, queries, bodies.
    Hostile("version 2^63 in path", "GET", f"{PROMPTS}/{ID}/version/{TOO_BIG}", None, 422, RANGE_MSG, ("path", "version")),
    Hostile("version 2^63 in a patch", "PATCH", f"{PROMPTS}/{ID}/version/{TOO_BIG}", b"{}", 422, RANGE_MSG, ("path", "version")),
    Hostile("version 10^30 in a delete", "DELETE", f"{PROMPTS}/{ID}/version/{10**30}", None, 422, "between 0 and", ("path", "version")),
    Hostile("page_number 2^63", "GET", f"{PROMPTS}?page_number={TOO_BIG}", None, 422, "between 0 and 2147483647", ("query", "page_number")),
    Hostile("page_number 2^62 on versions", "GET", f"{PROMPTS}/{ID}?page_number={2**62}", None, 422, "between 0 and 2147483647", ("query", "page_number")),
    Hostile("page_size 2^63", "GET", f"{PROMPTS}?page_size={TOO_BIG}", None, 422, "between 1 and 100", ("query", "page_size")),
    Hostile("prompt.version 2^63 in a config", "POST", CONFIGS, config(prompt={"id": ID, "version": TOO_BIG}), 422, INT64_MSG, ("body", "prompt", "version")),
    Hostile("tools[0].version below -2^63", "POST", CONFIGS, config(tools=[{"id": ID, "version": -TOO_BIG - 1}]), 422, INT64_MSG, ("body", "tools", 0, "version")),
    Hostile("nudges.interval_secs 2^64", "POST", CONFIGS, config(nudges={"interval_secs": 2**64}), 422, INT64_MSG, ("body", "nudges", "interval_secs")),
    Hostile("2^63 in an unknown field", "POST", PROMPTS, prompt(extra=[TOO_BIG]), 422, INT64_MSG, ("body", "extra", 0)),
    Hostile("a 5000-digit integer", "POST", PROMPTS, b'{"name": "p", "text": "t", "n": 1' + b"0" * 5000 + b"}", 422, "JSON decode error", ("body",)),
    Hostile("1e400, an infinite float", "POST", CONFIGS, b'{"name": "c", "evi_version": "3", "language_model": {"temperature": 1e400}}', 422, "out of range", ("body",)),
    Hostile("NaN, not JSON", "POST", CONFIGS, b'{"name": "c", "evi_version": "3", "language_model": {"temperature": NaN}}', 422, "NaN is not JSON", ("body",)),
    # Invalid Unicode.
    Hostile("escaped lone surrogate in a name", "POST", PROMPTS, b'{"name": "\\ud800", "text": "t"}', 422, "not valid Unicode", ("body", "name")),
    Hostile("escaped lone low surrogate in a rename", "PATCH", f"{PROMPTS}/{ID}", b'{"name": "a\\udfffb"}', 422, "not valid Unicode", ("body", "name")),
    Hostile("lone surrogate in a key", "POST", PROMPTS, b'{"name": "p", "text": "t", "\\ud83d": 1}', 422, "key that is not valid Unicode", ("body",)),
    Hostile("UTF-8-encoded surrogate bytes", "POST", PROMPTS, b'{"name": "\xed\xa0\x80", "text": "t"}', 422, "is not UTF-8", ("body",)),
    Hostile("Latin-1 bytes", "POST", PROMPTS, b'{"name": "caf\xe9", "text": "t"}', 422, "is not UTF-8", ("body",)),
    # Nesting.
    Hostile("arrays nested 100k deep", "POST", PROMPTS, b"[" * DEEP + b"]" * DEEP, 422, f"deeper than {MAX_DEPTH} levels", ("body",)),
    Hostile("objects nested 100k deep", "POST", CONFIGS, b'{"a":' * DEEP + b"1" + b"}" * DEEP, 422, f"deeper than {MAX_DEPTH} levels", ("body",)),
    Hostile("unterminated arrays 100k deep", "POST", PROMPTS, b"[" * DEEP, 422, f"deeper than {MAX_DEPTH} levels", ("body",)),
    Hostile("one level past the limit", "POST", PROMPTS, nested(MAX_DEPTH + 1), 422, f"deeper than {MAX_DEPTH} levels", ("body",)),
    Hostile("at the limit: parsed, then schema-checked", "POST", PROMPTS, nested(MAX_DEPTH), 422, "is not of type", ("body", "text")),
    Hostile("brackets inside strings do not count", "POST", PROMPTS, prompt(text="[" * 1000), 201, "[[[["),
    Hostile("tool parameters nested 100k deep", "POST", "/v0/evi/tools", json.dumps({"name": "t", "parameters": "[" * DEEP}).encode(), 422, "deeper than", ("body", "parameters")),
    # Values that once crashed the prose checks or the views.
    Hostile("a webhook URL that cannot be split", "POST", CONFIGS, config(webhooks=[{"url": "https://[::1", "events": ["chat_started"]}]), 422, "must be a valid https URL", ("body", "webhooks", 0, "url")),
    Hostile("a voice with an empty name", "POST", CONFIGS, config(voice={"name": ""}), 201, '"voice":{"id":'),
    Hostile("a voice with an empty id", "POST", CONFIGS, config(voice={"id": ""}), 201, '"voice":{"id":"","name":""'),
    # Fault settings.
    Hostile("fault path: invalid regex", "POST", FAULTS, b'{"path": "(unclosed"}', 422, "not a valid regular expression", ("body", "path")),
    Hostile("fault path: a nested-group bomb", "POST", FAULTS, json.dumps({"path": "(" * 50_000 + ")" * 50_000}).encode(), 422, "not a valid regular expression", ("body", "path")),
    Hostile("fault path: repeat count overflow", "POST", FAULTS, b'{"path": "a{99999999999}"}', 422, "not a valid regular expression", ("body", "path")),
    Hostile("fault rate: a string", "POST", FAULTS, b'{"error_rate": "0.5"}', 422, "must be of type float", ("body", "error_rate")),
    Hostile("fault methods: a string", "POST", FAULTS, b'{"methods": "POST"}', 422, "must be of type list[str]", ("body", "methods")),
    Hostile("fault seed: 2^63", "POST", FAULTS, json.dumps({"seed": TOO_BIG}).encode(), 422, INT64_MSG, ("body", "seed")),
    Hostile("fault latency: a day", "POST", FAULTS, b'{"latency_ms": 86400000}', 422, "between 0 and 60000", ("body", "latency_ms")),
    Hostile("faults: a list", "POST", FAULTS, b"[1, 2]", 422, "must be an object", ("body",)),
    Hostile("faults: nested 100k deep", "POST", FAULTS, b"[" * DEEP, 422, "deeper than", ("body",)),
    # Methods the spec does not have.
    Hostile("PUT on a collection", "PUT", PROMPTS, prompt(), 405, "allowed: POST, GET"),
    Hostile("POST on a version", "POST", f"{PROMPTS}/{ID}/version/0", prompt(), 405, "allowed: GET, PATCH, DELETE"),
    Hostile("a made-up method", "BREW", f"{PROMPTS}/{ID}", None, 405, "BREW is not allowed"),
]  # fmt: skip


@pytest.fixture(autouse=True)
def _empty_emulator() -> None:
    assert send("POST", "/_emulator/reset").status_code == 200


@pytest.mark.parametrize("case", CORPUS, ids=[case.name for case in CORPUS])
def test_hostile_request_gets_its_status_as_json(case: Hostile) -> None:
    response = send(case.method, case.path, case.body)
    assert response.status_code == case.status, response.text[:500]
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert case.fragment in response.text
    if case.loc is not None:
        assert list(case.loc) in [problem["loc"] for problem in body["detail"]]
    if case.status == 405:
        assert response.headers["allow"] in body["message"]


async def _chunks(total: int, size: int, taken: list[int]) -> AsyncIterator[bytes]:
    for _ in range(total // size):
        taken.append(size)
        yield b" " * size


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_a_100_mb_body_is_413_after_reading_at_most_the_limit(declared: bool) -> None:
    taken: list[int] = []
    total = 100 * 1024 * 1024
    headers = {"Content-Length": str(total)} if declared else {}
    response = send("POST", PROMPTS, _chunks(total, 64 * 1024, taken), **headers)
    assert response.status_code == 413
    assert response.json() == {
        "error": "Content Too Large",
        "message": f"the request body is over {MAX_BODY_BYTES} bytes",
    }
    assert sum(taken) <= (0 if declared else MAX_BODY_BYTES + 64 * 1024)


@pytest.mark.parametrize("path", [PROMPTS, FAULTS])
def test_the_body_limit_is_exact(path: str) -> None:
    assert send("POST", path, b" " * (MAX_BODY_BYTES + 1)).status_code == 413
    assert send("POST", path, b" " * MAX_BODY_BYTES).status_code == 422


def test_an_unexpected_error_is_a_json_500_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("internal detail that must not leak")

    monkeypatch.setattr(APP.emulator.store, "list", broken)
    response = send("GET", PROMPTS)
    assert response.status_code == 500
    assert response.json() == {
        "error": "Internal Server Error",
        "message": "the emulator failed unexpectedly; its log has the details",
    }
    assert "internal detail" not in response.text
