"""Listing: pages, most-recent restriction, the name filter, and the empty page past the end."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from reconciler.emulator.embedded import EMBEDDED_BASE_URL, embedded_transport
from tests.test_emulator_configs import create_config
from tests.test_emulator_resources import create_prompt, create_tool


@pytest.fixture
def prompts(api: httpx.Client) -> list[dict]:
    created = [create_prompt(api, f"p{i:02}") for i in range(23)]
    api.post(f"/v0/evi/prompts/{created[0]['id']}", json={"text": "second"})
    return created


def test_page_size_defaults_to_ten(api: httpx.Client, prompts: list[dict]) -> None:
    page = api.get("/v0/evi/prompts").json()
    assert (page["page_number"], page["page_size"], page["total_pages"]) == (0, 10, 3)
    assert [p["name"] for p in page["prompts_page"]] == [f"p{i:02}" for i in range(10)]


def test_pages_cover_every_resource_once(api: httpx.Client, prompts: list[dict]) -> None:
    seen = []
    for number in range(3):
        page = api.get("/v0/evi/prompts", params={"page_number": number, "page_size": 10}).json()
        assert page["page_number"] == number
        seen += [p["id"] for p in page["prompts_page"]]
    assert seen == [p["id"] for p in prompts]


def test_page_past_the_end_is_empty_not_an_error(api: httpx.Client, prompts: list[dict]) -> None:
    response = api.get("/v0/evi/prompts", params={"page_number": 7, "page_size": 10})
    assert response.status_code == 200
    assert response.json()["prompts_page"] == []
    assert response.json()["total_pages"] == 3


def test_most_recent_only_by_default(api: httpx.Client, prompts: list[dict]) -> None:
    latest = api.get("/v0/evi/prompts", params={"page_size": 100}).json()["prompts_page"]
    assert len(latest) == 23
    assert (latest[0]["version"], latest[0]["text"]) == (1, "second")
    every = api.get(
        "/v0/evi/prompts", params={"page_size": 100, "restrict_to_most_recent": "false"}
    ).json()["prompts_page"]
    assert len(every) == 24


def test_version_lists_follow_the_same_default(api: httpx.Client, prompts: list[dict]) -> None:
    pid = prompts[0]["id"]
    latest = api.get(f"/v0/evi/prompts/{pid}").json()["prompts_page"]
    assert [v["version"] for v in latest] == [1]
    every = api.get(f"/v0/evi/prompts/{pid}", params={"restrict_to_most_recent": "false"}).json()
    assert [v["version"] for v in every["prompts_page"]] == [0, 1]


def test_name_filter_is_exact(api: httpx.Client, prompts: list[dict]) -> None:
    page = api.get("/v0/evi/prompts", params={"name": "p07"}).json()
    assert [p["id"] for p in page["prompts_page"]] == [prompts[7]["id"]]
    assert api.get("/v0/evi/prompts", params={"name": "p0"}).json()["prompts_page"] == []


def test_empty_kind_lists_nothing(api: httpx.Client) -> None:
    page = api.get("/v0/evi/tools", params={"page_size": 100}).json()
    assert (page["tools_page"], page["total_pages"]) == ([], 0)


def _config_page(api: httpx.Client) -> dict:
    (config,) = api.get("/v0/evi/configs").json()["configs_page"]
    return config


def test_listings_show_what_changed_since_the_last_listing(api: httpx.Client) -> None:
    """List items are encoded once per stored state (``views.Encoded``): a new version of what a
    config follows, a rename and a description patch each show in the next listing."""
    prompt, tool = create_prompt(api, "p"), create_tool(api, "t")
    config = create_config(
        api, prompt={"id": prompt["id"]}, tools=[{"id": tool["id"], "version": 0}]
    )
    before = _config_page(api)
    assert (before["prompt"]["text"], before["tools"][0]["name"]) == ("Hello", "t")
    assert _config_page(api) == before  # read again, unchanged
    api.post(f"/v0/evi/prompts/{prompt['id']}", json={"text": "Hello again"})
    api.patch(f"/v0/evi/tools/{tool['id']}", json={"name": "t2"})
    api.patch(f"/v0/evi/configs/{config['id']}/version/0", json={"version_description": "d"})
    after = _config_page(api)
    assert after["prompt"]["text"] == "Hello again"
    assert after["prompt"]["version"] == 1
    assert after["tools"][0]["name"] == "t2"
    assert after["version_description"] == "d"
    listed = api.get("/v0/evi/tools").json()["tools_page"]
    assert [t["name"] for t in listed] == ["t2"]


def test_a_listing_sees_writes_made_by_another_process(tmp_path: Path) -> None:
    """Two emulators on one file (two processes in embedded mode): each one's encoded items are
    keyed by what is stored, so one never serves the other's stale state."""
    db = tmp_path / "shared.sqlite"

    async def run() -> list[str]:
        names = []
        transports = [embedded_transport(db), embedded_transport(db)]
        clients = [
            httpx.AsyncClient(
                transport=t, base_url=EMBEDDED_BASE_URL, headers={"X-Hume-Api-Key": "k"}
            )
            for t in transports
        ]
        async with clients[0] as first, clients[1] as second:
            created = (await first.post("/v0/evi/prompts", json={"name": "a", "text": "t"})).json()
            names.append((await first.get("/v0/evi/prompts")).json()["prompts_page"][0]["name"])
            await second.patch(f"/v0/evi/prompts/{created['id']}", json={"name": "b"})
            names.append((await first.get("/v0/evi/prompts")).json()["prompts_page"][0]["name"])
        return names

    assert asyncio.run(run()) == ["a", "b"]
