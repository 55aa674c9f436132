"""Listing: pages, most-recent restriction, the name filter, and the empty page past the end."""

from __future__ import annotations

import httpx
import pytest

from tests.test_emulator_resources import create_prompt


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
