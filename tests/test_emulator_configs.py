"""Config versions: defaults, inheritance, references to prompts and tools, prose ranges."""

from __future__ import annotations

import httpx
import pytest

from reconciler.hume import facts
from tests.test_emulator_resources import create_prompt, create_tool, detail

FULL = {
    "evi_version": "3",
    "version_description": "full",
    "voice": {"name": "ITO", "provider": "HUME_AI"},
    "language_model": {
        "model_provider": "ANTHROPIC",
        "model_resource": "claude-sonnet-4-5-20250929",
        "temperature": 0.7,
    },
    "ellm_model": {"allow_short_responses": True},
    "builtin_tools": [{"name": "web_search", "fallback_content": "No results"}],
    "event_messages": {"on_new_chat": {"enabled": True, "text": "Hi there"}},
    "timeouts": {"inactivity": {"enabled": True, "duration_secs": 120}},
    "nudges": {"enabled": True, "interval_secs": 6},
    "interruption": {"min_interruption_ms": 300},
    "turn_detection": {
        "end_of_turn_silence_ms": 700,
        "prefix_padding_ms": 200,
        "speech_detection_threshold": 0.5,
    },
    "webhooks": [{"url": "https://example.com/hook", "events": ["chat_started", "chat_ended"]}],
}


def create_config(api: httpx.Client, **fields: object) -> dict:
    response = api.post("/v0/evi/configs", json={"name": "cfg", "evi_version": "3", **fields})
    assert response.status_code == 201, response.text
    return response.json()


def test_omitted_fields_get_the_server_defaults_table(api: httpx.Client) -> None:
    config = create_config(api)
    for field, default in facts.SERVER_DEFAULTS["configs"].items():
        assert config[field] == default, field
    assert config["timeouts"]["inactivity"] == {"enabled": True, "duration_secs": 600}
    assert config["ellm_model"] == {"allow_short_responses": False}
    assert "voice" not in config and "prompt" not in config


def test_partial_nested_fields_are_completed_from_defaults(api: httpx.Client) -> None:
    config = create_config(api, timeouts={"inactivity": {"enabled": False}})
    assert config["timeouts"] == {
        "inactivity": {"enabled": False, "duration_secs": 600},
        "max_duration": {"enabled": True, "duration_secs": 1800},
    }


def test_every_posted_field_reads_back(api: httpx.Client) -> None:
    config = create_config(api, **FULL)
    for field in ("language_model", "interruption", "turn_detection", "webhooks"):
        assert config[field] == FULL[field]
    assert config["nudges"] == FULL["nudges"]
    assert config["event_messages"]["on_new_chat"] == {"enabled": True, "text": "Hi there"}
    assert config["event_messages"]["on_max_duration_timeout"]["enabled"] is False
    assert config["builtin_tools"] == [
        {"name": "web_search", "fallback_content": "No results", "tool_type": "BUILTIN"}
    ]
    assert config["voice"]["name"] == "ITO" and config["voice"]["provider"] == "HUME_AI"


def test_only_allow_short_responses_is_inherited(api: httpx.Client) -> None:
    config = create_config(api, **FULL)
    second = api.post(f"/v0/evi/configs/{config['id']}", json={"evi_version": "3"}).json()
    assert second["version"] == 1
    assert second["ellm_model"] == {"allow_short_responses": True}
    assert second["nudges"] == facts.SERVER_DEFAULTS["configs"]["nudges"]
    assert second["timeouts"] == facts.SERVER_DEFAULTS["configs"]["timeouts"]
    assert second["webhooks"] == [] and "voice" not in second
    third = api.post(
        f"/v0/evi/configs/{config['id']}",
        json={"evi_version": "3", "ellm_model": {"allow_short_responses": False}},
    ).json()
    assert third["ellm_model"] == {"allow_short_responses": False}


def test_references_are_embedded_in_full(api: httpx.Client) -> None:
    prompt = create_prompt(api)
    tool = create_tool(api)
    config = create_config(
        api,
        prompt={"id": prompt["id"], "version": 0},
        tools=[{"id": tool["id"], "version": 0}],
    )
    assert config["prompt"]["text"] == "Hello"
    assert config["prompt"]["version_type"] == "FIXED"
    assert config["prompt"]["prompt_expansion"] == {"enabled": True}
    assert config["tools"][0]["parameters"] == tool["parameters"]
    assert config["tools"][0]["version_type"] == "FIXED"


def test_pinned_references_stay_and_latest_references_follow(api: httpx.Client) -> None:
    prompt = create_prompt(api)
    tool = create_tool(api)
    pinned = create_config(api, prompt={"id": prompt["id"], "version": 0})
    following = api.post(
        "/v0/evi/configs",
        json={
            "name": "follows",
            "evi_version": "3",
            "prompt": {"id": prompt["id"]},
            "tools": [{"id": tool["id"], "version": None}],
        },
    ).json()
    api.post(f"/v0/evi/prompts/{prompt['id']}", json={"text": "Newer"})
    api.post(f"/v0/evi/tools/{tool['id']}", json={"parameters": "{}"})

    got = api.get(f"/v0/evi/configs/{pinned['id']}/version/0").json()
    assert (got["prompt"]["version"], got["prompt"]["text"]) == (0, "Hello")
    got = api.get(f"/v0/evi/configs/{following['id']}/version/0").json()
    assert (got["prompt"]["version"], got["prompt"]["version_type"]) == (1, "LATEST")
    assert (got["tools"][0]["version"], got["tools"][0]["version_type"]) == (1, "LATEST")


def test_list_items_embed_prompts_without_prompt_expansion(api: httpx.Client) -> None:
    prompt = create_prompt(api)
    create_config(api, prompt={"id": prompt["id"], "version": 0})
    item = api.get("/v0/evi/configs").json()["configs_page"][0]
    assert item["prompt"]["id"] == prompt["id"]
    assert "prompt_expansion" not in item["prompt"]


@pytest.mark.parametrize(
    ("reference", "loc"),
    [
        ({"prompt": {"id": "00000000-0000-4000-8000-000000000000"}}, ("body", "prompt")),
        ({"prompt": {"id": "not-a-uuid"}}, ("body", "prompt")),
        ({"tools": [{"id": "00000000-0000-4000-8000-000000000000"}]}, ("body", "tools", 0)),
    ],
)
def test_missing_references_are_rejected(api: httpx.Client, reference: dict, loc: tuple) -> None:
    response = api.post("/v0/evi/configs", json={"name": "c", "evi_version": "3", **reference})
    assert detail(response) == [(loc, "reference")]
    assert "missing" in response.json()["detail"][0]["msg"]
    assert api.get("/v0/evi/configs").json()["configs_page"] == []


def test_missing_reference_version_is_rejected(api: httpx.Client) -> None:
    prompt = create_prompt(api)
    response = api.post(
        "/v0/evi/configs",
        json={"name": "c", "evi_version": "3", "prompt": {"id": prompt["id"], "version": 9}},
    )
    assert detail(response) == [(("body", "prompt"), "reference")]
    assert "version 9" in response.json()["detail"][0]["msg"]


def test_prompt_text_without_id_creates_a_prompt(api: httpx.Client) -> None:
    config = create_config(api, prompt={"text": "Inline words"})
    assert config["prompt"]["text"] == "Inline words"
    prompts = api.get("/v0/evi/prompts").json()["prompts_page"]
    assert [(p["id"], p["name"]) for p in prompts] == [(config["prompt"]["id"], "cfg prompt")]


@pytest.mark.parametrize(
    ("fields", "loc"),
    [
        ({"evi_version": "2"}, ("body", "evi_version")),
        ({"timeouts": {"inactivity": {"enabled": True, "duration_secs": 0}}}, ("body", "timeouts", "inactivity", "duration_secs")),
        ({"timeouts": {"max_duration": {"enabled": True, "duration_secs": 1801}}}, ("body", "timeouts", "max_duration", "duration_secs")),
        ({"language_model": {"temperature": 1.01}}, ("body", "language_model", "temperature")),
        ({"language_model": {"temperature": -0.1}}, ("body", "language_model", "temperature")),
        ({"interruption": {"min_interruption_ms": 49}}, ("body", "interruption", "min_interruption_ms")),
        ({"interruption": {"min_interruption_ms": 2001}}, ("body", "interruption", "min_interruption_ms")),
        ({"turn_detection": {"end_of_turn_silence_ms": 499}}, ("body", "turn_detection", "end_of_turn_silence_ms")),
        ({"turn_detection": {"prefix_padding_ms": 1001}}, ("body", "turn_detection", "prefix_padding_ms")),
        ({"turn_detection": {"speech_detection_threshold": 1.5}}, ("body", "turn_detection", "speech_detection_threshold")),
        ({"webhooks": [{"url": "http://example.com", "events": ["chat_ended"]}]}, ("body", "webhooks", 0, "url")),
    ],
)  # fmt: skip
def test_prose_ranges_are_enforced(api: httpx.Client, fields: dict, loc: tuple) -> None:
    body = {"name": "c", "evi_version": "3", **fields}
    assert [item[0] for item in detail(api.post("/v0/evi/configs", json=body))] == [loc]


@pytest.mark.parametrize(
    ("fields", "loc", "type_"),
    [
        ({"voice": {"provider": "HUME_AI"}}, ("body", "voice"), "oneOf"),
        ({"voice": {"name": "ITO", "provider": "ELEVEN"}}, ("body", "voice"), "oneOf"),
        ({"language_model": {"model_provider": "OPENAI"}}, ("body", "language_model", "model_provider"), "enum"),
        ({"language_model": {"model_resource": "gpt-9"}}, ("body", "language_model", "model_resource"), "enum"),
        ({"builtin_tools": [{"name": "calculator"}]}, ("body", "builtin_tools", 0, "name"), "enum"),
        ({"webhooks": [{"url": "https://x.com"}]}, ("body", "webhooks", 0, "events"), "missing"),
        ({"tools": [{"version": 1}]}, ("body", "tools", 0, "id"), "missing"),
        ({"timeouts": {"inactivity": {"duration_secs": 60}}}, ("body", "timeouts", "inactivity", "enabled"), "missing"),
        ({"nudges": {"interval_secs": "6"}}, ("body", "nudges", "interval_secs"), "type"),
    ],
)  # fmt: skip
def test_config_schema_errors(api: httpx.Client, fields: dict, loc: tuple, type_: str) -> None:
    body = {"name": "c", "evi_version": "3", **fields}
    assert detail(api.post("/v0/evi/configs", json=body)) == [(loc, type_)]


def test_all_problems_are_reported_at_once(api: httpx.Client) -> None:
    body = {"name": 1, "evi_version": "9", "language_model": {"temperature": 3}}
    locs = {item[0] for item in detail(api.post("/v0/evi/configs", json=body))}
    assert locs == {
        ("body", "name"),
        ("body", "evi_version"),
        ("body", "language_model", "temperature"),
    }


def test_config_version_requires_evi_version(api: httpx.Client) -> None:
    config = create_config(api)
    response = api.post(f"/v0/evi/configs/{config['id']}", json={"version_description": "x"})
    assert detail(response) == [(("body", "evi_version"), "missing")]


def test_config_rename_and_description(api: httpx.Client) -> None:
    config = create_config(api, **FULL)
    cid = config["id"]
    assert api.patch(f"/v0/evi/configs/{cid}", json={"name": "renamed"}).json() == {}
    described = api.patch(f"/v0/evi/configs/{cid}/version/0", json={"version_description": "d"})
    assert described.json()["name"] == "renamed"
    assert described.json()["version_description"] == "d"
    assert described.json()["webhooks"] == FULL["webhooks"]
