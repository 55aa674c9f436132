"""One test per error class: the exact message, file:line:column and field path."""

from __future__ import annotations

import pytest

from reconciler.manifest import ManifestErrors, load_manifests
from tests.manifest_support import errors

CONFIG_HEAD = """\
configs:
  - name: c
    evi_version: "3"
"""


def test_range_error_points_at_the_key(tmp_path):
    text = CONFIG_HEAD + "    language_model:\n      temperature: 1.4\n"
    assert errors(tmp_path, {"configs.yaml": text}) == [
        "configs.yaml:5:7: configs[0].language_model.temperature: must be between 0 and 1 (got 1.4)"
    ]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (
            "timeouts",
            "{inactivity: {enabled: true, duration_secs: 0}}",
            "must be between 1 and 1800 s (got 0)",
        ),
        (
            "timeouts",
            "{max_duration: {enabled: true, duration_secs: 1801}}",
            "must be between 1 and 1800 s (got 1801)",
        ),
        ("interruption", "{min_interruption_ms: 49}", "must be between 50 and 2000 ms (got 49)"),
        (
            "turn_detection",
            "{end_of_turn_silence_ms: 3001}",
            "must be between 500 and 3000 ms (got 3001)",
        ),
        ("turn_detection", "{prefix_padding_ms: -1}", "must be between 0 and 1000 ms (got -1)"),
        (
            "turn_detection",
            "{speech_detection_threshold: 1.5}",
            "must be between 0 and 1 (got 1.5)",
        ),
    ],
)
def test_every_prose_range_is_enforced(tmp_path, field, value, message):
    (error,) = errors(tmp_path, {"c.yaml": CONFIG_HEAD + f"    {field}: {value}\n"})
    assert error.startswith("c.yaml:4:") and error.endswith(message)


def test_unknown_key_with_hint(tmp_path):
    text = CONFIG_HEAD + "    language_model: {tempreature: 0.5}\n"
    assert errors(tmp_path, {"c.yaml": text}) == [
        "c.yaml:4:22: configs[0].language_model.tempreature: "
        "unknown field 'tempreature'; did you mean 'temperature'?"
    ]


def test_unknown_top_level_key_with_hint(tmp_path):
    assert errors(tmp_path, {"c.yaml": "config:\n  - name: c\n"}) == [
        "c.yaml:1:1: config: unknown key 'config'; did you mean 'configs'?"
    ]


def test_required_field_missing_points_at_the_resource(tmp_path):
    assert errors(tmp_path, {"c.yaml": "configs:\n  - name: c\n"}) == [
        "c.yaml:2:5: configs[0].evi_version: required field is missing"
    ]
    assert errors(tmp_path, {"c.yaml": "prompts:\n  - name: p\n"}) == [
        "c.yaml:2:5: prompts[0].text: one of text, text_file is required"
    ]


def test_nested_required_field(tmp_path):
    text = CONFIG_HEAD + "    webhooks:\n      - events: [chat_started]\n"
    assert errors(tmp_path, {"c.yaml": text}) == [
        "c.yaml:5:9: configs[0].webhooks[0].url: required field is missing"
    ]


def test_wrong_type(tmp_path):
    text = CONFIG_HEAD + "    nudges: {interval_secs: soon}\n    tools: web\n"
    assert errors(tmp_path, {"c.yaml": text}) == [
        "c.yaml:4:14: configs[0].nudges.interval_secs: must be an integer (got 'soon')",
        "c.yaml:5:5: configs[0].tools: must be a list (got 'web')",
    ]


def test_evi_version_integer_asks_for_quotes(tmp_path):
    text = "configs:\n  - name: c\n    evi_version: 3\n"
    assert errors(tmp_path, {"c.yaml": text}) == [
        'c.yaml:3:5: configs[0].evi_version: must be a string: quote it, evi_version: "3"'
    ]


def test_evi_version_outside_the_supported_set(tmp_path):
    text = "configs:\n  - name: c\n    evi_version: '2'\n  - name: d\n    evi_version: 4mini\n"
    assert errors(tmp_path, {"c.yaml": text}) == [
        "c.yaml:3:5: configs[0].evi_version: must be one of '3', '4-mini' (got '2')",
        "c.yaml:5:5: configs[1].evi_version: must be one of '3', '4-mini' (got '4mini'); "
        "did you mean '4-mini'?",
    ]


@pytest.mark.parametrize(
    ("yaml_value", "path", "message"),
    [
        (
            "language_model: {model_provider: ANTROPIC}",
            "language_model.model_provider",
            "must be one of GROQ, OPEN_AI, FIREWORKS, ANTHROPIC, CUSTOM_LANGUAGE_MODEL, GOOGLE, "
            "HUME_AI, AMAZON_BEDROCK, PERPLEXITY, SAMBANOVA, CEREBRAS, X_AI (got 'ANTROPIC'); "
            "did you mean 'ANTHROPIC'?",
        ),
        (
            "language_model: {model_resource: gpt-4oo}",
            "language_model.model_resource",
            "must be one of the 66 language model values of the API spec (see `evictl schema`) "
            "(got 'gpt-4oo'); did you mean 'gpt-4o'?",
        ),
        (
            "voice: {name: ITO, provider: HUME}",
            "voice.provider",
            "must be one of HUME_AI, CUSTOM_VOICE (got 'HUME'); did you mean 'HUME_AI'?",
        ),
        (
            "webhooks: [{url: 'https://x.example', events: [chat_start]}]",
            "webhooks[0].events[0]",
            "must be one of chat_started, chat_ended, tool_call (got 'chat_start'); "
            "did you mean 'chat_started'?",
        ),
        (
            "builtin_tools: [{name: hangup}]",
            "builtin_tools[0].name",
            "must be one of web_search, hang_up (got 'hangup'); did you mean 'hang_up'?",
        ),
    ],
)
def test_enums_come_from_the_spec(tmp_path, yaml_value, path, message):
    (error,) = errors(tmp_path, {"c.yaml": CONFIG_HEAD + f"    {yaml_value}\n"})
    assert error.startswith("c.yaml:4:") and error.endswith(f": configs[0].{path}: {message}")


def test_webhook_url_must_be_https(tmp_path):
    text = CONFIG_HEAD + "    webhooks:\n      - url: http://example.com/hook\n        events: []\n"
    assert errors(tmp_path, {"c.yaml": text}) == [
        "c.yaml:5:9: configs[0].webhooks[0].url: "
        "must be a valid https URL (got 'http://example.com/hook')"
    ]


def test_voice_needs_exactly_one_of_id_or_name(tmp_path):
    text = CONFIG_HEAD + "    voice: {provider: HUME_AI}\n"
    assert errors(tmp_path, {"c.yaml": text}) == [
        "c.yaml:4:5: configs[0].voice: give exactly one of id or name"
    ]


def test_external_reference_needs_a_uuid(tmp_path):
    text = CONFIG_HEAD + "    prompt: {id: abc, version: 1}\n    tools: [7]\n"
    assert errors(tmp_path, {"c.yaml": text}) == [
        "c.yaml:4:14: configs[0].prompt.id: must be a UUID (got 'abc')",
        "c.yaml:5:13: configs[0].tools[0]: "
        "must be a name or a mapping {id: <uuid>, version: <int>}",
    ]


def test_tool_parameters_must_be_a_json_schema(tmp_path):
    text = """\
    tools:
      - name: t
        parameters:
          type: object
          properties:
            location: {type: strng}
    """
    assert errors(tmp_path, {"t.yaml": text}) == [
        "t.yaml:6:20: tools[0].parameters.properties.location.type: "
        "not a valid JSON Schema: 'strng' is not valid under any of the given schemas"
    ]


def test_tool_parameters_must_be_a_mapping(tmp_path):
    text = 'tools:\n  - name: t\n    parameters: \'{"type": "object"}\'\n'
    assert errors(tmp_path, {"t.yaml": text}) == [
        't.yaml:3:5: tools[0].parameters: must be a mapping (got \'{"type": "object"}\')'
    ]


def test_duplicate_names_within_a_kind(tmp_path):
    files = {
        "a.yaml": "prompts:\n  - name: p\n    text: one\n",
        "b.yaml": "prompts:\n  - name: p\n    text: two\ntools:\n  - {name: p, parameters: {}}\n",
    }
    assert errors(tmp_path, files) == [
        "b.yaml:2:5: prompts[0].name: duplicate prompt name 'p' (also at a.yaml:2)"
    ]


def test_name_that_is_also_a_previous_name(tmp_path):
    text = """\
    prompts:
      - {name: new, previous_names: [old], text: a}
      - {name: old, text: b}
      - {name: other, previous_names: [old, other], text: c}
    """
    assert errors(tmp_path, {"p.yaml": text}) == [
        "p.yaml:2:34: prompts[0].previous_names[0]: 'old' is also the name of the prompt at "
        "p.yaml:3: a name cannot be both current and previous",
        "p.yaml:4:36: prompts[2].previous_names[0]: 'old' is also the name of the prompt at "
        "p.yaml:3: a name cannot be both current and previous",
        "p.yaml:4:41: prompts[2].previous_names[1]: 'other' is this prompt's own name",
    ]


def test_two_resources_renamed_from_one_name(tmp_path):
    text = """\
    tools:
      - {name: a, previous_names: [old], parameters: {}}
      - {name: b, previous_names: [old], parameters: {}}
    """
    assert errors(tmp_path, {"t.yaml": text}) == [
        "t.yaml:3:32: tools[1].previous_names[0]: 'old' is also a previous name of tool 'a' "
        "(t.yaml:2): only one can be renamed from it"
    ]


def test_dangling_references(tmp_path):
    text = """\
    prompts:
      - {name: weather, text: hi, previous_names: [forecast]}
    tools:
      - {name: get_weather, parameters: {type: object}}
    configs:
      - name: c
        evi_version: "3"
        prompt: wether
        tools: [get_weather, get_wether, {name: nothing}]
      - name: d
        evi_version: "3"
        prompt: forecast
    """
    assert errors(tmp_path, {"m.yaml": text}) == [
        "m.yaml:8:5: configs[0].prompt: unknown prompt 'wether'; did you mean 'weather'?",
        "m.yaml:9:26: configs[0].tools[1]: unknown tool 'get_wether'; did you mean 'get_weather'?",
        "m.yaml:9:38: configs[0].tools[2]: unknown tool 'nothing'",
        "m.yaml:12:5: configs[1].prompt: unknown prompt 'forecast': it was renamed to 'weather'",
    ]


def test_ambiguous_reference(tmp_path):
    files = {
        "a.yaml": "prompts: [{name: p, text: a}]\n",
        "b.yaml": "prompts: [{name: p, text: b}]\n",
        "c.yaml": CONFIG_HEAD + "    prompt: p\n",
    }
    assert errors(tmp_path, files) == [
        "b.yaml:1:12: prompts[0].name: duplicate prompt name 'p' (also at a.yaml:1)",
        "c.yaml:4:5: configs[0].prompt: ambiguous prompt reference 'p': 2 prompts are named so "
        "(a.yaml:1, b.yaml:1)",
    ]


def test_reference_to_an_absent_resource(tmp_path):
    files = {
        "a.yaml": "prompts: [{name: p, absent: true}]\n",
        "c.yaml": CONFIG_HEAD + "    prompt: p\n",
    }
    assert errors(tmp_path, files) == [
        "c.yaml:4:5: configs[0].prompt: refers to prompt 'p', which is marked absent (a.yaml:1)"
    ]


def test_broken_resource_does_not_also_cause_dangling_references(tmp_path):
    text = "prompts: [{name: p, txt: a}]\n" + CONFIG_HEAD + "    prompt: p\n"
    assert errors(tmp_path, {"m.yaml": text}) == [
        "m.yaml:1:11: prompts[0].text: one of text, text_file is required",
        "m.yaml:1:21: prompts[0].txt: unknown field 'txt'; did you mean 'text'?",
    ]


def test_text_file_escaping_the_root(tmp_path):
    (tmp_path / "secret.md").write_text("outside", encoding="utf-8")
    text = "prompts:\n  - name: p\n    text_file: ../secret.md\n"
    assert errors(tmp_path / "root", {"p.yaml": text}) == [
        "p.yaml:3:5: prompts[0].text_file: '../secret.md' is outside the manifest root"
    ]


def test_text_file_unreadable(tmp_path):
    files = {
        "p.yaml": """\
            prompts:
              - {name: a, text_file: missing.md}
              - {name: b, text_file: bad.md}
            """,
        "bad.md": b"\xff\xfe",
    }
    assert errors(tmp_path, files) == [
        "p.yaml:2:15: prompts[0].text_file: cannot read 'missing.md': No such file or directory",
        "p.yaml:3:15: prompts[1].text_file: cannot read 'bad.md': not valid UTF-8",
    ]


def test_text_and_text_file_together(tmp_path):
    files = {"p.yaml": "prompts:\n  - {name: a, text: x, text_file: a.md}\n", "a.md": "y"}
    assert errors(tmp_path, files) == [
        "p.yaml:2:24: prompts[0].text_file: give either text or text_file, not both"
    ]


def test_malformed_yaml(tmp_path):
    assert errors(tmp_path, {"m.yaml": "prompts:\n  - name: [unclosed\n    text: x\n"}) == [
        "m.yaml:3:9: malformed YAML: did not find expected ',' or ']'"
    ]


def test_duplicate_yaml_key(tmp_path):
    assert errors(tmp_path, {"m.yaml": "prompts:\n  - name: a\n    name: b\n    text: x\n"}) == [
        "m.yaml:3:5: duplicate key 'name'"
    ]


def test_empty_file(tmp_path):
    assert errors(tmp_path, {"empty.yaml": "", "comments.yml": "# nothing yet\n"}) == [
        "comments.yml:1:1: empty file: expected prompts, tools and/or configs",
        "empty.yaml:1:1: empty file: expected prompts, tools and/or configs",
    ]


def test_non_utf8_file(tmp_path):
    assert errors(tmp_path, {"m.yaml": b"prompts:\n  - name: caf\xe9\n"}) == [
        "m.yaml:2:14: not valid UTF-8 (byte 0xe9)"
    ]


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("!!python/object/apply:os.system echo", "!!python/object/apply:os.system"),
        ("!custom x", "!custom"),
        ("!!str x", "!!str"),
        ("!!map {a: 1}", "!!map"),
    ],
)
def test_yaml_tags_are_rejected(tmp_path, value, shown):
    text = f"prompts:\n  - name: p\n    text: {value}\n"
    tag_error = f"m.yaml:3:11: YAML tags are not allowed (found {shown}): manifests are plain data"
    assert tag_error in errors(tmp_path, {"m.yaml": text})


def test_document_must_be_a_mapping_and_lists_hold_mappings(tmp_path):
    files = {"a.yaml": "- just\n- a list\n", "b.yaml": "prompts: nope\ntools: [3]\n"}
    assert errors(tmp_path, files) == [
        "a.yaml:1:1: a manifest document must be a mapping of prompts, tools, configs",
        "b.yaml:1:1: prompts: must be a list of prompts",
        "b.yaml:2:9: tools[0]: must be a mapping (a tool)",
    ]


def test_all_errors_across_files_are_reported_sorted(tmp_path):
    files = {
        "b.yaml": "prompts:\n  - name: p\n    text: x\n    bogus: 1\n",
        "a.yaml": "configs:\n  - name: c\n",
    }
    lines = errors(tmp_path, files)
    assert [line.split(":", 1)[0] for line in lines] == ["a.yaml", "b.yaml"]


def test_errors_name_the_file_itself_when_given_a_file(tmp_path):
    path = tmp_path / "deep" / "one.yaml"
    path.parent.mkdir()
    path.write_text("configs:\n  - name: c\n", encoding="utf-8")
    with pytest.raises(ManifestErrors) as caught:
        load_manifests(path, {})
    assert str(caught.value.errors[0]).startswith("one.yaml:2:5: ")


def test_reference_with_both_name_and_id_is_one_error(tmp_path):
    text = CONFIG_HEAD + "    tools: [{id: 6f1c2b4e-8d3a-4c5b-9e7f-1a2b3c4d5e6f, name: q}]\n"
    assert errors(tmp_path, {"c.yaml": text}) == [
        "c.yaml:4:13: configs[0].tools[0]: give exactly one of a name or an id"
    ]
