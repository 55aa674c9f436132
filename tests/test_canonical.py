"""The one equality definition, and the pure planner on hand-made snapshots."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.errors import UserError
from reconciler.kinds.configs import LiveConfig
from reconciler.kinds.prompts import LivePrompt
from reconciler.kinds.tools import LiveTool
from reconciler.manifest import load_manifests
from reconciler.planner import canonical
from reconciler.planner.planner import fingerprint, plan
from reconciler.snapshot import Snapshot
from tests.plan_support import only, shape, write

PROMPT_ID = "00000000-0000-0000-0000-000000000001"
TOOL_ID = "00000000-0000-0000-0000-000000000002"
CONFIG_ID = "00000000-0000-0000-0000-000000000003"
PARAMS = {"type": "object", "properties": {"q": {"type": "string"}}}


def config_content(**body: object) -> dict:
    return canonical.content("configs", {"evi_version": "3", **body})


@pytest.mark.parametrize(
    ("kind", "explicit", "omitted"),
    [
        ("prompts", {"text": "t", "prompt_expansion": {"enabled": True}}, {"text": "t"}),
        ("prompts", {"text": "t", "prompt_expansion": None}, {"text": "t"}),
        ("tools", {"parameters": "{}", "fallback_content": None}, {"parameters": "{}"}),
        (
            "configs",
            {
                "evi_version": "3",
                "nudges": {"enabled": False},
                "timeouts": {"max_duration": {"enabled": True, "duration_secs": 1800}},
                "ellm_model": {"allow_short_responses": False},
                "event_messages": {"on_new_chat": {"enabled": False}},
                "webhooks": [],
                "tools": None,
            },
            {"evi_version": "3"},
        ),
    ],
    ids=["expansion", "null-expansion", "tool-null", "config-defaults"],
)
def test_server_defaults_equal_omitted(kind: str, explicit: dict, omitted: dict) -> None:
    assert canonical.content(kind, explicit) == canonical.content(kind, omitted)


def test_a_non_default_value_is_a_difference() -> None:
    changed = config_content(timeouts={"inactivity": {"enabled": True, "duration_secs": 60}})
    assert canonical.differences(changed, config_content()) == {
        "timeouts.inactivity.duration_secs": (600, 60)
    }


def test_version_description_is_not_content_and_null_equals_empty() -> None:
    assert canonical.content("prompts", {"text": "t", "version_description": "x"}) == (
        canonical.content("prompts", {"text": "t"})
    )
    assert canonical.description(None) == canonical.description("") == ""
    assert canonical.description("x") == "x"


def test_tool_parameters_compare_as_parsed_json() -> None:
    compact = json.dumps(PARAMS, separators=(",", ":"))
    spaced = json.dumps(dict(reversed(PARAMS.items())), indent=3)
    assert canonical.content("tools", {"parameters": compact}) == (
        canonical.content("tools", {"parameters": spaced})
    )
    assert canonical.content("tools", {"parameters": compact})["parameters"] == PARAMS


@pytest.mark.parametrize(("live", "same"), [(0.7000001, True), (0.70001, False), (1, False)])
def test_floats_compare_with_a_small_tolerance(live: float, same: bool) -> None:
    def model(temperature: float) -> dict:
        return {"model_provider": "ANTHROPIC", "temperature": temperature}

    diff = canonical.differences(
        config_content(language_model=model(0.7)), config_content(language_model=model(live))
    )
    assert (diff == {}) is same


def test_integers_equal_their_float_form() -> None:
    desired = config_content(turn_detection={"speech_detection_threshold": 1})
    live = config_content(turn_detection={"speech_detection_threshold": 1.0})
    assert canonical.differences(desired, live) == {}


def test_unknown_live_fields_are_ignored_at_every_depth() -> None:
    live = config_content(
        brand_new_field={"x": 1},
        nudges={"enabled": True, "interval_secs": 5, "jitter": 2},
        webhooks=[{"url": "https://a.example", "events": ["chat_ended"], "secret": "s"}],
    )
    desired = config_content(
        nudges={"enabled": True, "interval_secs": 5},
        webhooks=[{"url": "https://a.example", "events": ["chat_ended"]}],
    )
    assert canonical.differences(desired, live) == {}


def test_unordered_lists_are_compared_as_sets() -> None:
    hooks = [
        {"url": "https://b.example", "events": ["tool_call", "chat_ended"]},
        {"url": "https://a.example", "events": ["chat_started"]},
    ]
    reordered = [
        {"url": "https://a.example", "events": ["chat_started"]},
        {"url": "https://b.example", "events": ["chat_ended", "tool_call"]},
    ]
    builtins = [{"name": "web_search"}, {"name": "hang_up"}]
    assert config_content(webhooks=hooks, builtin_tools=builtins) == config_content(
        webhooks=reordered, builtin_tools=builtins[::-1]
    )


def test_voice_compared_on_what_the_manifest_names() -> None:
    live = {"evi_version": "3", "voice": {"id": "v-1", "name": "ITO", "provider": "HUME_AI"}}
    by_name = {"evi_version": "3", "voice": {"name": "ITO", "provider": "HUME_AI"}}
    by_id = {"evi_version": "3", "voice": {"id": "v-1", "provider": "HUME_AI"}}
    for desired in (by_name, by_id):
        assert canonical.content("configs", desired) == (
            canonical.content("configs", live, like=desired)
        )
    no_provider = {"evi_version": "3", "voice": {"name": "ITO"}}
    assert canonical.differences(
        canonical.content("configs", no_provider), canonical.content("configs", live)
    ) == {"voice.provider": ("HUME_AI", "CUSTOM_VOICE")}


# The pure planner on hand-made snapshots


def _prompt(**extra: object) -> LivePrompt:
    fields = {"id": PROMPT_ID, "version": 0, "name": "greeter", "text": "Hi", **extra}
    return LivePrompt.model_validate(fields)


def _tool() -> LiveTool:
    fields = {"id": TOOL_ID, "version": 0, "name": "lookup", "parameters": json.dumps(PARAMS)}
    return LiveTool.model_validate(fields)


def _config(**extra: object) -> LiveConfig:
    return LiveConfig.model_validate(
        {
            "id": CONFIG_ID,
            "version": 2,
            "name": "desk",
            "evi_version": "3",
            "prompt": {**_prompt().model_dump(), "version_type": "FIXED"},
            "tools": [{**_tool().model_dump(), "version_type": "FIXED"}],
            **extra,
        }
    )


MANIFEST = """\
prompts:
  - name: greeter
    text: Hi
tools:
  - name: lookup
    parameters: {type: object, properties: {q: {type: string}}}
configs:
  - name: desk
    evi_version: "3"
    prompt: greeter
    tools: [lookup]
"""


def _plan(tmp_path: Path, snapshot: Snapshot, text: str = MANIFEST):
    return plan(load_manifests(write(tmp_path, text), {}), snapshot)


def test_unknown_live_fields_make_no_plan(tmp_path: Path) -> None:
    snapshot = Snapshot.of(
        prompts=(_prompt(added_in_2030=True),),
        tools=(_tool(),),
        configs=(_config(added_in_2030={"a": 1}, nudges={"enabled": False, "new_knob": 3}),),
    )
    assert shape(_plan(tmp_path, snapshot)) == {}


def test_two_live_resources_with_one_name_is_an_error(tmp_path: Path) -> None:
    twin = _prompt(id="00000000-0000-0000-0000-000000000009")
    snapshot = Snapshot.of(prompts=(_prompt(), twin), tools=(_tool(),), configs=(_config(),))
    with pytest.raises(UserError) as caught:
        _plan(tmp_path, snapshot)
    assert str(caught.value) == (
        f"evi.yaml:2: 2 live prompts are named 'greeter' ({PROMPT_ID}, {twin.id}); "
        "evictl identifies resources by name: rename or delete the extras in Hume"
    )


def test_a_config_following_latest_is_repinned(tmp_path: Path) -> None:
    latest = {**_prompt().model_dump(), "version_type": "LATEST"}
    snapshot = Snapshot.of(
        prompts=(_prompt(),), tools=(_tool(),), configs=(_config(prompt=latest),)
    )
    assert shape(_plan(tmp_path, snapshot)) == {
        "configs/desk": only(
            ("new_version",),
            fields={"prompt": ("greeter latest", "greeter v0")},
            reasons=("prompt greeter is pinned at latest; the manifests resolve it to v0",),
        )
    }


def test_the_plan_is_pure(tmp_path: Path) -> None:
    snapshot = Snapshot.of(prompts=(_prompt(text="Old"),), tools=(_tool(),), configs=(_config(),))
    first, second = _plan(tmp_path, snapshot), _plan(tmp_path, snapshot)
    assert first == second
    assert first.fingerprint == fingerprint(first.reads)
    assert set(first.reads) == {f"prompts#{PROMPT_ID}", f"tools#{TOOL_ID}", f"configs#{CONFIG_ID}"}
    assert shape(first)["configs/desk"]["reasons"] == ("prompt greeter → new version",)
