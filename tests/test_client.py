"""evictl's API client and the snapshot: paging, errors, tolerance, and how many requests a read makes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.client import ApiError, HumeClient, connect
from reconciler.client.api import PAGE_SIZE, RetryPolicy
from reconciler.client.snapshot import fetch_snapshot
from reconciler.errors import UserError
from reconciler.workflow import Connection, make_plan
from tests.conftest import KEY, RunningEmulator
from tests.plan_support import write

Handler = Callable[[httpx.Request], Coroutine[Any, Any, httpx.Response]]
NO_WAIT = RetryPolicy(attempts=2, initial_wait=0, max_wait=0)


def prompt(number: int, **extra: Any) -> dict[str, Any]:
    return {"id": f"id-{number}", "version": 0, "name": f"p{number}", "text": "t", **extra}


def run_with(
    handler: Handler,
    call: Callable[[HumeClient], Coroutine[Any, Any, Any]],
    concurrency: int = 8,
) -> Any:
    """``call`` on a client whose requests ``handler`` answers."""

    async def go() -> Any:
        http = httpx.AsyncClient(
            transport=httpx.MockTransport(handler), base_url="https://api.example"
        )
        async with HumeClient(http, concurrency=concurrency, retry=NO_WAIT) as client:
            return await call(client)

    return asyncio.run(go())


class Pages:
    """A paged prompt listing with ``count`` items; records pages asked and peak concurrency."""

    def __init__(self, count: int, total_pages: int | None = -1, empty_from: int | None = None):
        self.count, self.empty_from = count, empty_from
        self.total_pages = -(-count // PAGE_SIZE) if total_pages == -1 else total_pages
        self.asked: list[int] = []
        self.in_flight = self.peak = 0

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        assert (params["page_size"], params["restrict_to_most_recent"]) == ("100", "true")
        number = int(params["page_number"])
        self.asked.append(number)
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        await asyncio.sleep(0.01)
        self.in_flight -= 1
        start = number * PAGE_SIZE
        end = min(start + PAGE_SIZE, self.count)
        if self.empty_from is not None and number >= self.empty_from:
            end = start
        body: dict[str, Any] = {
            "prompts_page": [prompt(i, surprise={"nested": i}) for i in range(start, end)],
            "page_number": number,
            "page_size": PAGE_SIZE,
            "added_later": "ignored",
        }
        if self.total_pages is not None:
            body["total_pages"] = self.total_pages
        return httpx.Response(200, json=body)


def test_listing_reads_page_zero_then_the_rest_concurrently() -> None:
    pages = Pages(450)
    listed = run_with(pages, lambda client: client.list("prompts"))
    assert [item.name for item in listed] == [f"p{i}" for i in range(450)]
    assert pages.asked[0] == 0
    assert sorted(pages.asked) == [0, 1, 2, 3, 4]
    assert pages.peak == 3, "slow start: 2 in flight, + 0.5 for page 0 served (limiter.py)"
    assert listed[0].model_extra == {"surprise": {"nested": 0}}


def test_concurrent_pages_are_bounded() -> None:
    pages = Pages(1000)
    listed = run_with(pages, lambda client: client.list("prompts"), concurrency=3)
    assert len(listed) == 1000
    assert (len(pages.asked), pages.peak) == (10, 3)


def test_listing_stops_at_an_empty_page_before_total_pages() -> None:
    pages = Pages(450, total_pages=9, empty_from=3)
    listed = run_with(pages, lambda client: client.list("prompts"))
    assert len(listed) == 300


def test_listing_without_total_pages_stops_at_the_first_empty_page() -> None:
    pages = Pages(250, total_pages=None)
    listed = run_with(pages, lambda client: client.list("prompts"))
    assert len(listed) == 250
    assert pages.asked == [0, 1, 2, 3]


def test_an_empty_account_is_one_request() -> None:
    pages = Pages(0)
    assert run_with(pages, lambda client: client.list("prompts")) == []
    assert pages.asked == [0]


@pytest.mark.parametrize("answer", [httpx.Response(200, text="OK"), httpx.Response(200, json={})])
def test_rename_accepts_plain_text_or_an_empty_object(answer: httpx.Response) -> None:
    seen: list[tuple[str, str, bytes]] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, request.url.path, request.content))
        return answer

    run_with(handler, lambda client: client.rename("prompts", "id-1", "new"))
    assert seen == [("PATCH", "/v0/evi/prompts/id-1", b'{"name":"new"}')]


def test_errors_carry_method_path_status_and_message_but_not_the_key(
    emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUME_API_KEY", KEY)

    async def go() -> None:
        async with connect(base_url=emulator.url, retry=NO_WAIT) as client:
            await client.create("prompts", {"name": "x"})

    with pytest.raises(ApiError) as caught:
        asyncio.run(go())
    error = caught.value
    assert (error.method, error.path, error.status) == ("POST", "/v0/evi/prompts", 422)
    assert "text" in error.message
    assert str(error).startswith("POST /v0/evi/prompts failed with 422: ")
    assert KEY not in f"{error} {error!r} {error.args}"


def test_server_message_of_a_plain_text_error_is_kept() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, text="no such prompt")

    with pytest.raises(
        ApiError, match=r"^GET /v0/evi/prompts/x/version/1 failed with 404: no such"
    ):
        run_with(handler, lambda client: client.get_version("prompts", "x", 1))


def test_a_missing_key_fails_before_any_request(
    emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("HUME_API_KEY", raising=False)
    root = write(tmp_path, "prompts:\n  - name: p\n    text: hi\n")
    with pytest.raises(UserError, match=r"^HUME_API_KEY is not set: .* --emulator PATH"):
        asyncio.run(make_plan(root, {}, Connection(base_url=emulator.url)))
    assert httpx.get(f"{emulator.url}/_emulator/requests").json()["counts"] == {}


def test_the_embedded_emulator_needs_no_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("HUME_API_KEY", raising=False)
    root = write(tmp_path / "m", "prompts:\n  - name: p\n    text: hi\n")
    _, result = asyncio.run(make_plan(root, {}, Connection(emulator=tmp_path / "e.sqlite")))
    assert [c.actions for c in result.changes] == [("create",)]


# The snapshot's requests, counted by the emulator


def _seed(api: httpx.Client, prompts: int, tools: int, configs: int) -> None:
    for i in range(prompts):
        api.post("/v0/evi/prompts", json={"name": f"p{i}", "text": "t"}).raise_for_status()
    params = json.dumps({"type": "object"})
    tool_ids = [
        api.post("/v0/evi/tools", json={"name": f"t{i}", "parameters": params}).json()["id"]
        for i in range(tools)
    ]
    first = api.get("/v0/evi/prompts", params={"name": "p0"}).json()["prompts_page"][0]
    for i in range(configs):
        body = {
            "name": f"c{i}",
            "evi_version": "3",
            "prompt": {"id": first["id"], "version": 0},
            "tools": [{"id": tid, "version": 0} for tid in tool_ids],
        }
        api.post("/v0/evi/configs", json=body).raise_for_status()


def _snapshot(server: RunningEmulator, expansion_of: tuple[str, ...] = ()) -> Any:
    async def go() -> Any:
        async with connect(base_url=server.url) as client:
            return await fetch_snapshot(client, detail_of={"prompts": expansion_of})

    return asyncio.run(go())


def _log(server: RunningEmulator) -> list[dict[str, Any]]:
    return httpx.get(f"{server.url}/_emulator/requests").json()["requests"]


def test_snapshot_reads_each_kind_through_its_list_pages(
    emulator: RunningEmulator, api: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUME_API_KEY", KEY)
    _seed(api, prompts=250, tools=2, configs=101)
    before = len(_log(emulator))
    snapshot = _snapshot(emulator, expansion_of=("p7",))
    reads = [(entry["method"], entry["path"]) for entry in _log(emulator)[before:]]
    p7 = next(p for p in snapshot.of_kind("prompts") if p.name == "p7")
    assert sorted(reads) == sorted(
        [("GET", "/v0/evi/prompts")] * 3
        + [("GET", "/v0/evi/tools")]
        + [("GET", "/v0/evi/configs")] * 2
        + [("GET", f"/v0/evi/prompts/{p7.id}/version/0")]
    )
    assert (
        len(snapshot.of_kind("prompts")),
        len(snapshot.of_kind("tools")),
        len(snapshot.of_kind("configs")),
    ) == (250, 2, 101)
    assert p7.prompt_expansion == {"enabled": True}
    assert {config.prompt.name for config in snapshot.of_kind("configs")} == {"p0"}
    assert [tool.name for tool in snapshot.of_kind("configs")[0].tools] == ["t0", "t1"]


def test_snapshot_shares_the_versions_configs_embed_with_their_own_listing(
    emulator: RunningEmulator, api: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A config's embedded prompt or tool, when it is the listed version, is that very model
    (memory, at 10,000 resources); an older pinned version stays the config's own."""
    monkeypatch.setenv("HUME_API_KEY", KEY)
    prompt_id = api.post("/v0/evi/prompts", json={"name": "p", "text": "t"}).json()["id"]
    tool_id = api.post("/v0/evi/tools", json={"name": "w", "parameters": "{}"}).json()["id"]
    for name, version in (("old", 0), ("new", 1)):
        if version:
            api.post(f"/v0/evi/prompts/{prompt_id}", json={"text": "t2"}).raise_for_status()
        body = {
            "name": name,
            "evi_version": "3",
            "prompt": {"id": prompt_id, "version": version},
            "tools": [{"id": tool_id, "version": 0}],
        }
        api.post("/v0/evi/configs", json=body).raise_for_status()
    snapshot = _snapshot(emulator)
    (prompt,), (tool,) = snapshot.of_kind("prompts"), snapshot.of_kind("tools")
    configs = {config.name: config for config in snapshot.of_kind("configs")}
    assert configs["new"].prompt is prompt
    assert configs["old"].prompt is not prompt
    assert (configs["old"].prompt.version, configs["old"].prompt.text) == (0, "t")
    assert configs["old"].tools[0] is configs["new"].tools[0] is tool
