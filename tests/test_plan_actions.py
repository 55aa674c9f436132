"""The planner against the emulator: each action, the cascade, convergence and live edits.

Every test asserts the whole plan (``shape``): which resources change, how, which fields, why.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import httpx
import pytest

from reconciler.errors import UserError
from tests.conftest import KEY, RunningEmulator
from tests.plan_support import Account, change_of, only, shape

BASE = """\
prompts:
  - name: greeter
    text: Hello there
    version_description: first
  - name: closer
    text: Goodbye
tools:
  - name: lookup
    description: Look something up
    parameters: {type: object, properties: {q: {type: string}}}
configs:
  - name: front-desk
    evi_version: "3"
    prompt: greeter
    tools: [lookup]
    language_model: {model_provider: ANTHROPIC, model_resource: claude-sonnet-4-5-20250929, temperature: 0.7}
  - name: back-office
    evi_version: "3"
    prompt: closer
"""
MODEL = {"model_provider": "ANTHROPIC", "model_resource": "claude-sonnet-4-5-20250929"}
PARAMS = {"type": "object", "properties": {"q": {"type": "string"}}}
EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "manifests"


@pytest.fixture
def account(
    emulator: RunningEmulator, api: httpx.Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Account:
    monkeypatch.setenv("HUME_API_KEY", KEY)
    return Account(emulator, tmp_path / "m", api)


@pytest.fixture
def applied(account: Account) -> Account:
    """``BASE`` applied: the account matches the manifests."""
    account.write(BASE)
    account.apply()
    return account


def edited(account: Account, old: str, new: str) -> Account:
    """The manifest with one edit (``old`` must occur exactly once)."""
    text = (account.root / "evi.yaml").read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    account.write(text.replace(old, new))
    return account


# Create, and convergence


def test_empty_account_creates_everything_in_dependency_order(account: Account) -> None:
    account.write(BASE)
    result = account.plan()
    assert [c.address for c in result.changes] == [
        "prompts/greeter",
        "prompts/closer",
        "tools/lookup",
        "configs/front-desk",
        "configs/back-office",
    ]
    assert shape(result) == {
        "prompts/greeter": only(("create",)),
        "prompts/closer": only(("create",)),
        "tools/lookup": only(("create",)),
        "configs/front-desk": only(
            ("create",), reasons=("prompt greeter → created", "tool lookup → created")
        ),
        "configs/back-office": only(("create",), reasons=("prompt closer → created",)),
    }
    front = change_of(result, "configs/front-desk")
    assert front.body == {"evi_version": "3", "language_model": {**MODEL, "temperature": 0.7}}
    assert [(ref.field, ref.target) for ref in front.refs] == [
        ("prompt", "prompts/greeter"),
        ("tools", "tools/lookup"),
    ]
    assert front.depends_on == ("prompts/greeter", "tools/lookup")
    assert change_of(result, "tools/lookup").body == {
        "description": "Look something up",
        "parameters": json.dumps(PARAMS),
    }
    assert front.source == "evi.yaml:12"
    assert result.summary() == (
        "Plan: 5 to create, 0 new versions, 0 renames, 0 description updates, 0 to delete."
    )


def test_after_apply_the_plan_is_empty(applied: Account) -> None:
    result = applied.plan()
    assert shape(result) == {}
    assert not result.has_changes
    assert change_of(result, "configs/front-desk").live_version == 0
    assert result.summary() == "No changes. The Hume account matches the manifests."


def test_every_config_field_converges(account: Account) -> None:
    """The examples set every field of a config; apply, then nothing is left to do."""
    for path in EXAMPLES.glob("**/*"):
        if path.is_file():
            target = account.root / path.relative_to(EXAMPLES)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
    first = account.apply()
    assert first.counts() == {"create": 9}
    assert shape(account.plan()) == {}


def test_a_second_apply_changes_nothing(applied: Account) -> None:
    before = applied.requests()
    assert applied.apply().has_changes is False
    writes = [r for r in applied.requests()[len(before) :] if r["method"] != "GET"]
    assert writes == []


# Manifest edits: one action each


def test_prompt_text_edit_is_a_new_version_and_cascades(applied: Account) -> None:
    result = edited(applied, "Hello there", "Hello, friend").plan()
    assert shape(result) == {
        "prompts/greeter": only(
            ("new_version",), fields={"text": ("Hello there", "Hello, friend")}
        ),
        "configs/front-desk": only(
            ("new_version",),
            fields={"prompt": ("greeter v0", "greeter (new version)")},
            reasons=("prompt greeter → new version",),
        ),
    }
    assert result.summary() == (
        "Plan: 0 to create, 2 new versions, 0 renames, 0 description updates, 0 to delete."
    )
    applied.apply()
    assert shape(applied.plan()) == {}
    assert applied.live("configs", "front-desk")["prompt"]["version"] == 1


def test_tool_parameters_edit_cascades_to_its_config(applied: Account) -> None:
    result = edited(applied, "q: {type: string}", "q: {type: string, minLength: 1}").plan()
    wider = {"type": "object", "properties": {"q": {"type": "string", "minLength": 1}}}
    assert shape(result) == {
        "tools/lookup": only(("new_version",), fields={"parameters": (PARAMS, wider)}),
        "configs/front-desk": only(
            ("new_version",),
            fields={"tools": (["lookup v0"], ["lookup (new version)"])},
            reasons=("tool lookup → new version",),
        ),
    }


def test_config_field_edit_is_a_new_version_of_that_config_only(applied: Account) -> None:
    result = edited(applied, "temperature: 0.7", "temperature: 0.2").plan()
    assert shape(result) == {
        "configs/front-desk": only(
            ("new_version",), fields={"language_model.temperature": (0.7, 0.2)}
        ),
    }


def test_new_field_in_manifest_is_a_new_version(applied: Account) -> None:
    result = edited(
        applied,
        "    prompt: closer\n",
        "    prompt: closer\n    nudges: {enabled: true, interval_secs: 5}\n",
    ).plan()
    assert shape(result) == {
        "configs/back-office": only(
            ("new_version",),
            fields={"nudges.enabled": (False, True), "nudges.interval_secs": (None, 5)},
        ),
    }
    applied.apply()
    assert shape(applied.plan()) == {}


def test_only_the_description_changed_patches_it_in_place(applied: Account) -> None:
    result = edited(applied, "version_description: first", "version_description: second").plan()
    assert shape(result) == {
        "prompts/greeter": only(("update_description",), description=("first", "second")),
    }
    applied.apply()
    assert applied.live("prompts", "greeter")["version"] == 0
    assert shape(applied.plan()) == {}


def test_description_and_content_together_make_one_new_version(applied: Account) -> None:
    edited(applied, "version_description: first", "version_description: second")
    result = edited(applied, "Hello there", "Hi").plan()
    assert shape(result)["prompts/greeter"] == only(
        ("new_version",), fields={"text": ("Hello there", "Hi")}, description=("first", "second")
    )


def test_removing_a_description_clears_it(applied: Account) -> None:
    result = edited(applied, "    version_description: first\n", "").plan()
    assert shape(result) == {
        "prompts/greeter": only(("update_description",), description=("first", "")),
    }


def test_previous_names_renames_instead_of_creating(applied: Account) -> None:
    edited(applied, "  - name: closer\n", "  - name: farewell\n    previous_names: [closer]\n")
    edited(applied, "prompt: closer", "prompt: farewell")
    result = applied.plan()
    live_id = applied.live("prompts", "closer")["id"]
    assert shape(result) == {"prompts/farewell": only(("rename",))}
    renamed = change_of(result, "prompts/farewell")
    assert (renamed.id, renamed.live_name, renamed.live_version) == (live_id, "closer", 0)
    applied.apply()
    assert applied.live("prompts", "farewell")["id"] == live_id
    assert shape(applied.plan()) == {}


def test_rename_and_new_content_together(applied: Account) -> None:
    edited(applied, "  - name: lookup\n", "  - name: search\n    previous_names: [lookup]\n")
    edited(applied, "tools: [lookup]", "tools: [search]")
    result = edited(applied, "Look something up", "Search for something").plan()
    assert shape(result) == {
        "tools/search": only(
            ("rename", "new_version"),
            fields={"description": ("Look something up", "Search for something")},
        ),
        "configs/front-desk": only(
            ("new_version",),
            fields={"tools": (["lookup v0"], ["search (new version)"])},
            reasons=("tool search → new version",),
        ),
    }
    applied.apply()
    assert shape(applied.plan()) == {}


def test_absent_deletes_only_what_exists(applied: Account) -> None:
    edited(applied, '  - name: back-office\n    evi_version: "3"\n    prompt: closer\n', "")
    applied.write(
        (applied.root / "evi.yaml").read_text()
        + "  - name: back-office\n    absent: true\n  - name: never-existed\n    absent: true\n"
    )
    result = applied.plan()
    assert shape(result) == {"configs/back-office": only(("delete",))}
    assert change_of(result, "configs/never-existed").actions == ()
    applied.apply()
    assert (
        applied.api.get("/v0/evi/configs", params={"name": "back-office"}).json()["configs_page"]
        == []
    )
    assert shape(applied.plan()) == {}


def test_resources_missing_from_the_manifests_are_left_alone(applied: Account) -> None:
    applied.create("prompts", {"name": "hand-made", "text": "made in the portal"})
    result = applied.plan()
    assert shape(result) == {}
    assert "prompts/hand-made" not in {c.address for c in result.changes}


# The cascade through live pins


def test_config_pinned_to_an_old_prompt_version_is_repinned(applied: Account) -> None:
    """A portal edit made the prompt's v1, then it was reverted to v2 = the manifest."""
    applied.post_version("prompts", "greeter", text="Howdy")
    applied.post_version("prompts", "greeter", text="Hello there")
    result = applied.plan()
    assert shape(result) == {
        "configs/front-desk": only(
            ("new_version",),
            fields={"prompt": ("greeter v0", "greeter v2")},
            reasons=("prompt greeter is pinned at v0; the manifests resolve it to v2",),
        ),
    }
    applied.apply()
    assert applied.live("configs", "front-desk")["prompt"]["version"] == 2
    assert shape(applied.plan()) == {}


def test_a_prompt_created_again_cascades_as_created(applied: Account) -> None:
    prompt = applied.live("prompts", "closer")
    config = applied.live("configs", "back-office")
    applied.api.delete(f"/v0/evi/configs/{config['id']}").raise_for_status()
    applied.api.delete(f"/v0/evi/prompts/{prompt['id']}").raise_for_status()
    assert shape(applied.plan()) == {
        "prompts/closer": only(("create",)),
        "configs/back-office": only(("create",), reasons=("prompt closer → created",)),
    }


# Live edits (as made in the portal)


def test_live_prompt_edit_appears_with_its_cascade(applied: Account) -> None:
    applied.post_version("prompts", "greeter", text="Edited in the portal")
    assert shape(applied.plan()) == {
        "prompts/greeter": only(
            ("new_version",), fields={"text": ("Edited in the portal", "Hello there")}
        ),
        "configs/front-desk": only(
            ("new_version",),
            fields={"prompt": ("greeter v0", "greeter (new version)")},
            reasons=("prompt greeter → new version",),
        ),
    }


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            {"webhooks": [{"url": "https://portal.example/hook", "events": ["chat_ended"]}]},
            {
                "webhooks[0]": (
                    {"url": "https://portal.example/hook", "events": ["chat_ended"]},
                    None,
                )
            },
        ),
        (
            {"nudges": {"enabled": True, "interval_secs": 9}},
            {"nudges.enabled": (True, False), "nudges.interval_secs": (9, None)},
        ),
        (
            {"timeouts": {"inactivity": {"enabled": True, "duration_secs": 60}}},
            {"timeouts.inactivity.duration_secs": (60, 600)},
        ),
        (
            {"voice": {"name": "KORA", "provider": "HUME_AI"}},
            {"voice": ({"name": "KORA", "provider": "HUME_AI"}, None)},
        ),
        (
            {"builtin_tools": [{"name": "hang_up"}]},
            {"builtin_tools[0]": ({"name": "hang_up"}, None)},
        ),
        (
            {"event_messages": {"on_new_chat": {"enabled": True, "text": "Hi!"}}},
            {
                "event_messages.on_new_chat.enabled": (True, False),
                "event_messages.on_new_chat.text": ("Hi!", None),
            },
        ),
        (
            {"language_model": {**MODEL, "temperature": 0.3}},
            {"language_model.temperature": (0.3, 0.7)},
        ),
        (
            {"ellm_model": {"allow_short_responses": True}},
            {"ellm_model.allow_short_responses": (True, False)},
        ),
    ],
    ids=[
        "webhook",
        "nudges",
        "timeouts",
        "voice",
        "builtin_tools",
        "event_messages",
        "temperature",
        "ellm_model",
    ],
)
def test_live_config_edits_of_any_field_appear_and_apply_reverts_them(
    applied: Account, edit: dict, expected: dict
) -> None:
    applied.post_version("configs", "front-desk", **edit)
    assert shape(applied.plan()) == {"configs/front-desk": only(("new_version",), fields=expected)}
    applied.apply()
    assert shape(applied.plan()) == {}


def test_live_tool_edit_of_an_omitted_field_appears(applied: Account) -> None:
    applied.post_version("tools", "lookup", fallback_content="Try later")
    assert shape(applied.plan()) == {
        "tools/lookup": only(("new_version",), fields={"fallback_content": ("Try later", None)}),
        "configs/front-desk": only(
            ("new_version",),
            fields={"tools": (["lookup v0"], ["lookup (new version)"])},
            reasons=("tool lookup → new version",),
        ),
    }


def test_live_description_edit_is_patched_back(applied: Account) -> None:
    applied.describe("prompts", "greeter", "changed in the portal")
    assert shape(applied.plan()) == {
        "prompts/greeter": only(
            ("update_description",), description=("changed in the portal", "first")
        ),
    }


def test_live_rename_is_seen_as_missing(applied: Account) -> None:
    """Identity is the name: a resource renamed in the portal is no longer the managed one."""
    applied.rename("prompts", "closer", "closer-old")
    assert shape(applied.plan()) == {
        "prompts/closer": only(("create",)),
        "configs/back-office": only(
            ("new_version",),
            fields={"prompt": ("closer-old v0", "closer (created)")},
            reasons=("prompt closer → created",),
        ),
    }


# Equality: what is not a difference


def test_server_defaults_written_out_equal_omitted(applied: Account) -> None:
    edited(
        applied,
        "    prompt: closer\n",
        "    prompt: closer\n"
        "    nudges: {enabled: false}\n"
        "    timeouts: {inactivity: {enabled: true, duration_secs: 600}}\n"
        "    ellm_model: {allow_short_responses: false}\n"
        "    webhooks: []\n"
        "    builtin_tools: []\n"
        "    version_description: null\n",
    )
    edited(
        applied, "    text: Goodbye\n", "    text: Goodbye\n    prompt_expansion: {enabled: true}\n"
    )
    assert shape(applied.plan()) == {}


def test_tool_parameters_compare_as_json(applied: Account) -> None:
    reordered = {"properties": {"q": {"type": "string"}}, "type": "object"}
    applied.post_version("tools", "lookup", parameters=json.dumps(reordered, indent=4))
    live = applied.live("tools", "lookup")
    assert (live["version"], live["parameters"]) == (1, json.dumps(reordered, indent=4))
    result = applied.plan()
    assert shape(result) == {
        "configs/front-desk": only(
            ("new_version",),
            fields={"tools": (["lookup v0"], ["lookup v1"])},
            reasons=("tool lookup is pinned at v0; the manifests resolve it to v1",),
        ),
    }


def test_floats_compare_with_a_tolerance(applied: Account) -> None:
    model = {**MODEL, "temperature": 0.70000000001}
    applied.post_version("configs", "front-desk", language_model=model)
    assert shape(applied.plan()) == {}


def test_null_description_equals_empty(applied: Account) -> None:
    applied.describe("prompts", "closer", "")
    assert shape(applied.plan()) == {}


# External references


def test_external_reference_is_only_checked_to_exist(applied: Account) -> None:
    outside = applied.create("prompts", {"name": "shared", "text": "managed elsewhere"})
    applied.post_version("prompts", "shared", text="a newer one")
    edited(applied, "prompt: closer", f"prompt: {{id: {outside['id']}, version: 0}}")
    result = applied.plan()
    assert shape(result) == {
        "configs/back-office": only(
            ("new_version",), fields={"prompt": ("closer v0", "shared v0")}
        ),
    }
    applied.apply()
    assert shape(applied.plan()) == {}
    edited(applied, ", version: 0}", "}")
    assert shape(applied.plan()) == {
        "configs/back-office": only(
            ("new_version",),
            fields={"prompt": ("shared v0", "shared latest")},
            reasons=("prompt shared is pinned at v0; the manifests resolve it to latest",),
        ),
    }
    applied.apply()
    assert shape(applied.plan()) == {}


@pytest.mark.parametrize("version", ["", ", version: 0", ", version: 3"])
def test_missing_external_reference_is_an_error_at_its_line(applied: Account, version: str) -> None:
    missing = uuid.UUID(int=7)
    edited(applied, "prompt: closer", f"prompt: {{id: {missing}{version}}}")
    at = f" version {version[-1]}" if version else ""
    with pytest.raises(UserError) as caught:
        applied.plan()
    assert str(caught.value) == f"evi.yaml:17: prompt {missing}{at} does not exist in Hume"


def test_external_reference_to_a_version_not_yet_made(applied: Account) -> None:
    tool = applied.live("tools", "lookup")
    edited(applied, "tools: [lookup]", f"tools: [lookup, {{id: {tool['id']}, version: 1}}]")
    with pytest.raises(UserError, match=r"^evi.yaml:12: tool .* version 1 does not exist"):
        applied.plan()


# Targets


def test_target_limits_the_plan_to_a_config_and_what_it_uses(account: Account) -> None:
    account.write(BASE)
    result = account.plan("configs/front-desk")
    assert [c.address for c in result.changes] == [
        "prompts/greeter",
        "tools/lookup",
        "configs/front-desk",
    ]
    assert shape(account.plan("prompt/closer")) == {"prompts/closer": only(("create",))}
    account.apply()
    edited(account, "Hello there", "Hi")
    edited(account, "Goodbye", "Bye")
    assert set(shape(account.plan("tools/lookup"))) == set()
    assert set(shape(account.plan("configs/back-office"))) == {
        "prompts/closer",
        "configs/back-office",
    }


def test_unknown_target_is_an_error(applied: Account) -> None:
    with pytest.raises(
        UserError, match=r"^--target configs/nope: no config named 'nope' in the manifests$"
    ):
        applied.plan("configs/nope")


def test_plan_is_stable_and_fingerprints_the_live_state(applied: Account) -> None:
    first, second = applied.plan(), applied.plan()
    assert first == second
    assert first.fingerprint.startswith("sha256:")
    applied.describe("prompts", "closer", "x")
    assert applied.plan().fingerprint != first.fingerprint
