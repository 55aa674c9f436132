"""Chats: ``GET /v0/evi/chats`` and ``/v0/evi/chats/{id}`` over real HTTP, ``POST /_emulator/chats``,
the official SDK's ``list_chats``, and ``HumeClient.chats``.

Every success response here goes through the ``api`` fixture's contract check (the spec's
``return_paged_chats`` / ``return_chat_paged_events``), so a test passes only on spec-shaped bodies.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from hume import HumeClient as SdkClient

from reconciler.chats import LiveChat
from reconciler.client import connect
from reconciler.emulator.embedded import EMBEDDED_API_KEY, EMBEDDED_BASE_URL, embedded_transport
from tests.conftest import KEY, RunningEmulator
from tests.contract import check_response

CHATS = "/v0/evi/chats"
STATUSES = (
    "ACTIVE",
    "USER_ENDED",
    "USER_TIMEOUT",
    "MAX_DURATION_TIMEOUT",
    "INACTIVITY_TIMEOUT",
    "ERROR",
)


def config(api: httpx.Client, name: str = "support", versions: int = 1) -> str:
    """A config with ``versions`` versions; its id."""
    created = api.post("/v0/evi/configs", json={"name": name, "evi_version": "3"})
    assert created.status_code == 201, created.text
    for _ in range(versions - 1):
        api.post(f"/v0/evi/configs/{created.json()['id']}", json={"evi_version": "3"})
    return created.json()["id"]


def seed(api: httpx.Client, **body: Any) -> dict[str, Any]:
    """A chat, through the control endpoint (it needs no key; the client's is ignored)."""
    response = api.post("/_emulator/chats", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def listed(api: httpx.Client, **params: Any) -> dict[str, Any]:
    response = api.get(CHATS, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def ids(page: dict[str, Any]) -> list[str]:
    return [chat["id"] for chat in page["chats_page"]]


# The list


def test_a_seeded_chat_is_listed_as_the_spec_shapes_it(api: httpx.Client) -> None:
    config_id = config(api, versions=2)
    chat = seed(api, config_id=config_id, config_version=0, start_timestamp=1_700_000_000)
    page = listed(api)
    assert page == {
        "chats_page": [chat],
        "page_number": 0,
        "page_size": 10,
        "total_pages": 1,
        "pagination_direction": "ASC",
    }
    assert chat["config"] == {"id": config_id, "version": 0}
    assert chat["status"] == "ACTIVE" and chat["end_timestamp"] is None
    assert chat["start_timestamp"] == 1_700_000_000
    assert uuid.UUID(chat["id"]) != uuid.UUID(chat["chat_group_id"])


def test_seeding_defaults_to_an_active_chat_of_the_latest_version_started_now(
    api: httpx.Client,
) -> None:
    config_id = config(api, versions=3)
    before = int(time.time())
    chat = seed(api, config_id=config_id)
    assert chat["config"] == {"id": config_id, "version": 2}
    assert chat["status"] == "ACTIVE"
    assert before <= chat["start_timestamp"] <= int(time.time()), "seconds, as the spec says"
    ended = seed(api, config_id=config_id, status="USER_ENDED", start_timestamp=50)
    assert (ended["start_timestamp"], ended["end_timestamp"]) == (50, 50)
    timed_out = seed(api, status="INACTIVITY_TIMEOUT", start_timestamp=5, end_timestamp=9)
    assert timed_out["end_timestamp"] == 9
    assert "config" not in timed_out, "a chat without a config has no config field (not null)"


def test_filters_by_config_and_status(api: httpx.Client) -> None:
    support, sales = config(api, "support"), config(api, "sales")
    active = seed(api, config_id=support, start_timestamp=1)
    ended = seed(api, config_id=support, status="USER_ENDED", start_timestamp=2)
    other = seed(api, config_id=sales, status="USER_ENDED", start_timestamp=3)
    unconfigured = seed(api, status="USER_ENDED", start_timestamp=4)
    assert ids(listed(api, config_id=support)) == [active["id"], ended["id"]]
    assert ids(listed(api, status="USER_ENDED")) == [ended["id"], other["id"], unconfigured["id"]]
    assert ids(listed(api, config_id=support, status="USER_ENDED")) == [ended["id"]]
    assert ids(listed(api, config_id=sales, status="ERROR")) == []
    assert listed(api, config_id=str(uuid.uuid4()))["total_pages"] == 0


def test_pages_in_start_order_both_ways(api: httpx.Client) -> None:
    config_id = config(api)
    starts = [(index * 7919) % 25 for index in range(25)]  # 0..24, shuffled
    by_start = {seed(api, config_id=config_id, start_timestamp=s)["id"]: s for s in starts}
    oldest_first = sorted(by_start, key=by_start.__getitem__)
    pages = [listed(api, page_size=10, page_number=n) for n in range(4)]
    assert [page["total_pages"] for page in pages] == [3, 3, 3, 3]
    assert [len(page["chats_page"]) for page in pages] == [10, 10, 5, 0]
    assert [i for page in pages for i in ids(page)] == oldest_first
    newest = [listed(api, page_size=10, page_number=n, ascending_order="false") for n in range(3)]
    assert {page["pagination_direction"] for page in newest} == {"DESC"}
    assert [i for page in newest for i in ids(page)] == oldest_first[::-1]
    assert ids(listed(api, ascending_order="true", page_size=3)) == oldest_first[:3]


def test_chats_that_start_together_keep_their_seeding_order(api: httpx.Client) -> None:
    tied = [seed(api, start_timestamp=10)["id"] for _ in range(3)]
    assert ids(listed(api)) == tied
    assert ids(listed(api, ascending_order="false")) == tied[::-1]


@pytest.mark.parametrize(
    ("params", "locs"),
    [
        ({"status": "FINISHED"}, [["query", "status"]]),
        ({"config_id": "not-a-uuid"}, [["query", "config_id"]]),
        ({"config_id": "x", "status": "y"}, [["query", "config_id"], ["query", "status"]]),
        ({"page_size": "0"}, [["query", "page_size"]]),
        ({"page_size": "101"}, [["query", "page_size"]]),
        ({"page_number": "-1"}, [["query", "page_number"]]),
        ({"ascending_order": "maybe"}, [["query", "ascending_order"]]),
        ({"status": "DONE", "page_size": "0"}, [["query", "page_size"], ["query", "status"]]),
        (
            {"ascending_order": "maybe", "page_number": "-1"},
            [["query", "page_number"], ["query", "ascending_order"]],
        ),
    ],
)
def test_bad_query_parameters_are_422_naming_each(
    api: httpx.Client, params: dict[str, str], locs: list[list[str]]
) -> None:
    response = api.get(CHATS, params=params)
    assert response.status_code == 422
    assert [problem["loc"] for problem in response.json()["detail"]] == locs


def test_the_chat_reads_need_a_key_and_allow_only_get(
    emulator: RunningEmulator, api: httpx.Client
) -> None:
    with emulator.client(key=None) as anonymous:
        assert anonymous.get(CHATS).status_code == 401
    refused = api.post(CHATS, json={})
    assert refused.status_code == 405 and refused.headers["allow"] == "GET"


def test_faults_and_the_request_log_cover_the_chat_reads(
    emulator: RunningEmulator, api: httpx.Client
) -> None:
    httpx.post(f"{emulator.url}/_emulator/faults", json={"error_rate": 1.0}).raise_for_status()
    assert api.get(CHATS).status_code == 503
    log = httpx.get(f"{emulator.url}/_emulator/requests").json()["requests"]
    assert log[-1] == {"method": "GET", "path": CHATS, "status": 503, "at": log[-1]["at"]}


# One chat


def test_one_chat_reads_with_no_events(api: httpx.Client) -> None:
    config_id = config(api)
    chat = seed(api, config_id=config_id, status="ERROR", start_timestamp=3)
    response = api.get(f"{CHATS}/{chat['id']}", params={"ascending_order": "false"})
    assert response.status_code == 200
    body = response.json()
    assert body["events_page"] == [] and body["total_pages"] == 0
    assert body["pagination_direction"] == "DESC"
    assert {key: body[key] for key in ("id", "chat_group_id", "config", "status")} == {
        key: chat[key] for key in ("id", "chat_group_id", "config", "status")
    }
    assert api.get(f"{CHATS}/{uuid.uuid4()}").status_code == 404
    assert api.get(f"{CHATS}/nope").json()["detail"][0]["loc"] == ["path", "id"]


# Seeding


def test_reset_forgets_chats(emulator: RunningEmulator, api: httpx.Client) -> None:
    seed(api)
    httpx.post(f"{emulator.url}/_emulator/reset").raise_for_status()
    assert listed(api)["chats_page"] == []


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"status": "FINISHED"}, 400, "status must be one of ACTIVE, USER_ENDED"),
        ({"status": None}, 400, "status must be one of"),
        ({"config_id": "nope"}, 400, "config_id must be a UUID"),
        ({"config_id": 7}, 400, "config_id must be a UUID"),
        ({"config_version": 0}, 400, "config_version needs a config_id"),
        ({"start_timestamp": -1}, 400, "start_timestamp must be an integer"),
        ({"start_timestamp": "now"}, 400, "start_timestamp must be an integer"),
        ({"start_timestamp": 2**63}, 400, "body.start_timestamp: must be a 64-bit integer"),
        ({"start_timestamp": 9, "status": "ERROR", "end_timestamp": 8}, 400, "is before"),
        ({"end_timestamp": 9}, 400, "an ACTIVE chat has not ended"),
        ({"config": "x"}, 400, "unknown field(s) config; a chat takes config_id"),
        ([], 400, "must be a JSON object"),
        ({"config_id": str(uuid.UUID(int=1))}, 404, "config 00000000-0000-0000-0000-000000000001"),
    ],
)
def test_bad_seeds_are_refused_with_a_message(
    emulator: RunningEmulator, api: httpx.Client, body: Any, status: int, words: str
) -> None:
    response = httpx.post(f"{emulator.url}/_emulator/chats", json=body)
    assert response.status_code == status
    assert words in response.json()["message"]
    assert listed(api)["chats_page"] == []


def test_a_seed_of_a_missing_version_is_404(emulator: RunningEmulator, api: httpx.Client) -> None:
    config_id = config(api)
    response = httpx.post(
        f"{emulator.url}/_emulator/chats", json={"config_id": config_id, "config_version": 1}
    )
    assert response.status_code == 404
    assert response.json()["message"] == f"config {config_id} version 1 does not exist"


def test_a_seed_that_is_not_json_is_400(emulator: RunningEmulator) -> None:
    response = httpx.post(f"{emulator.url}/_emulator/chats", content=b"{nope")
    assert response.status_code == 400
    assert "JSON decode error" in response.json()["message"]


# Readers


def test_the_official_sdk_lists_chats(emulator: RunningEmulator, api: httpx.Client) -> None:
    """The SDK's pager walks the pages (it stops at an empty one) and parses every chat."""
    config_id = config(api)
    chats = [seed(api, config_id=config_id, start_timestamp=n) for n in range(5)]
    seed(api, config_id=config_id, status="USER_TIMEOUT", start_timestamp=9)
    seed(api, start_timestamp=10)
    with httpx.Client(event_hooks={"response": [_checked]}, timeout=10) as http:
        sdk = SdkClient(api_key=KEY, base_url=emulator.url, httpx_client=http)
        pager = sdk.empathic_voice.chats.list_chats(
            config_id=config_id, status="ACTIVE", ascending_order=False, page_size=2
        )
        read = list(pager)
    assert [chat.id for chat in read] == [chat["id"] for chat in reversed(chats)]
    assert {(chat.config.id, chat.config.version) for chat in read if chat.config} == {
        (config_id, 0)
    }
    assert {chat.status for chat in read} == {"ACTIVE"}


def _checked(response: httpx.Response) -> None:
    response.read()
    check_response(response)


def _read_chats(emulator: RunningEmulator, config_id: str, **options: Any) -> list[LiveChat]:
    async def go() -> list[LiveChat]:
        async with connect(base_url=emulator.url, api_key=KEY) as client:
            return await client.chats(config_id, **options)

    return asyncio.run(go())


def _chat_reads(emulator: RunningEmulator) -> list[str]:
    log = httpx.get(f"{emulator.url}/_emulator/requests").json()["requests"]
    return [entry["path"] for entry in log if entry["path"] == CHATS]


def test_the_client_reads_a_configs_chats_newest_first(
    emulator: RunningEmulator, api: httpx.Client
) -> None:
    config_id, other = config(api, versions=2), config(api, "other")
    for start in range(150):
        seed(api, config_id=config_id, config_version=start % 2, start_timestamp=start)
    seed(api, config_id=other, start_timestamp=1000)
    chats = _read_chats(emulator, config_id)
    assert [chat.start_timestamp for chat in chats] == list(range(149, -1, -1))
    assert chats[0] == LiveChat(
        id=chats[0].id,
        config_id=config_id,
        config_version=1,
        status="ACTIVE",
        start_timestamp=149,
    )
    assert len(_chat_reads(emulator)) == 2, "two pages of 100"


def test_the_client_stops_at_the_limit_and_at_since(
    emulator: RunningEmulator, api: httpx.Client
) -> None:
    config_id = config(api)
    for start in range(250):
        status = "USER_ENDED" if start % 5 == 0 else "ACTIVE"
        seed(api, config_id=config_id, status=status, start_timestamp=start)
    before = len(_chat_reads(emulator))
    limited = _read_chats(emulator, config_id, limit=120)
    assert [chat.start_timestamp for chat in limited] == list(range(249, 129, -1))
    assert len(_chat_reads(emulator)) - before == 2, "the third page is never read"
    recent = _read_chats(emulator, config_id, since=160)
    assert [chat.start_timestamp for chat in recent] == list(range(249, 159, -1))
    assert len(_chat_reads(emulator)) - before == 3, "one page reaches an older chat"
    ended = _read_chats(emulator, config_id, status="USER_ENDED", since=100, limit=5)
    assert [chat.start_timestamp for chat in ended] == [245, 240, 235, 230, 225]
    assert {chat.status for chat in ended} == {"USER_ENDED"}
    assert _read_chats(emulator, str(uuid.uuid4())) == []


def test_the_client_reads_chats_from_the_embedded_emulator(tmp_path: Path) -> None:
    """Chats persist in the state file: seeded through one transport, read through another."""
    db = tmp_path / "account.sqlite"

    async def go() -> list[LiveChat]:
        transport = embedded_transport(db)
        async with httpx.AsyncClient(transport=transport, base_url=EMBEDDED_BASE_URL) as http:
            headers = {"X-Hume-Api-Key": EMBEDDED_API_KEY}
            body = {"name": "embedded", "evi_version": "3"}
            config_id = (await http.post("/v0/evi/configs", json=body, headers=headers)).json()
            seeded = await http.post("/_emulator/chats", json={"config_id": config_id["id"]})
            assert seeded.status_code == 201
        async with connect(
            base_url=EMBEDDED_BASE_URL, transport=embedded_transport(db), api_key=EMBEDDED_API_KEY
        ) as client:
            return await client.chats(config_id["id"])

    (chat,) = asyncio.run(go())
    assert chat.status == "ACTIVE" and chat.config_version == 0


def test_a_live_chat_tolerates_new_statuses_and_milliseconds() -> None:
    """Statuses beyond the spec's enum read as themselves; 13-digit timestamps are milliseconds."""
    chat = LiveChat.model_validate(
        {
            "id": "c",
            "chat_group_id": "g",
            "status": "SILENCE_TIMEOUT",
            "start_timestamp": 1_716_244_940_648,
            "end_timestamp": 1_716_244_999_000,
            "config": {"id": "cfg", "version": None},
        }
    )
    assert (chat.status, chat.start_timestamp, chat.end_timestamp) == (
        "SILENCE_TIMEOUT",
        1_716_244_940,
        1_716_244_999,
    )
    assert (chat.config_id, chat.config_version) == ("cfg", None)
    bare = LiveChat.model_validate({"id": "c", "status": "ACTIVE", "start_timestamp": 1})
    assert (bare.config_id, bare.start_timestamp) == (None, 1)
