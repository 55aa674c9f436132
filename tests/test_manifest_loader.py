"""What the loader returns: resolved values, references, secrets, sources; and the examples."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.hume import facts, spec
from reconciler.kinds.configs import ConfigSpec
from reconciler.kinds.prompts import PromptSpec
from reconciler.kinds.tools import ToolSpec
from reconciler.manifest import Manifests, Reference, Source, load_manifests
from tests.manifest_support import errors, load

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "manifests"
CONFIG_HEAD = 'configs:\n  - name: c\n    evi_version: "3"\n'


@pytest.fixture(scope="module")
def examples() -> Manifests:
    return load_manifests(EXAMPLES, {})


def test_examples_validate(examples):
    assert examples.summary() == "4 prompts, 3 tools, 4 configs"
    assert (
        len(examples.of_kind("prompts")) >= 3
        and len(examples.of_kind("tools")) >= 3
        and len(examples.of_kind("configs")) >= 3
    )


def test_examples_use_every_posted_config_field(examples):
    used = set().union(
        *(c.model_dump(exclude_none=True, exclude_unset=True) for c in examples.of_kind("configs"))
    )
    assert set(spec.component("posted_config")["properties"]) <= used


def test_examples_have_a_text_file_prompt_and_a_nested_tool_schema(examples):
    support = next(p for p in examples.of_kind("prompts") if p.name == "support-agent")
    assert support.text_file == "prompts/support-agent.md"
    assert support.text.startswith("<role>\nYou are Nova")
    booking = next(t for t in examples.of_kind("tools") if t.name == "book_technician_visit")
    assert booking.parameters["properties"]["address"]["type"] == "object"


def test_models_cover_every_wire_field():
    """The manifest format stays in step with the spec: every posted_* field has a model field."""
    for spec_class, component in [
        (ConfigSpec, "posted_config"),
        (PromptSpec, "posted_prompt"),
        (ToolSpec, "posted_user_defined_tool"),
    ]:
        assert set(spec.component(component)["properties"]) <= set(spec_class.model_fields)


def test_resolved_values_and_sources(tmp_path):
    files = {
        "p/prompts.yaml": "prompts:\n  - name: p\n    text_file: texts/p.md\n",
        "p/texts/p.md": "Be brief.\n",
        "c.yaml": CONFIG_HEAD
        + "    prompt: p\n    tools: [t, {id: 6F1C2B4E-8D3A-4C5B-9E7F-1A2B3C4D5E6F}]\n",
        "t.yml": "tools:\n  - name: t\n    parameters: {type: object}\n",
    }
    manifests = load(tmp_path, files)
    (prompt,) = manifests.of_kind("prompts")
    assert prompt.text == "Be brief.\n"
    assert prompt.source == Source(file="p/prompts.yaml", line=2, column=5)
    (config,) = manifests.of_kind("configs")
    assert config.prompt == Reference(name="p")
    external = config.tools[1]
    assert external.version is None
    assert external.id == "6f1c2b4e-8d3a-4c5b-9e7f-1a2b3c4d5e6f"
    assert manifests.of_kind("tools")[0].parameters_json == '{"type": "object"}'


def test_external_reference_with_version(tmp_path):
    text = CONFIG_HEAD + "    prompt: {id: 6f1c2b4e-8d3a-4c5b-9e7f-1a2b3c4d5e6f, version: 4}\n"
    (config,) = load(tmp_path, {"c.yaml": text}).of_kind("configs")
    assert config.prompt == Reference(id="6f1c2b4e-8d3a-4c5b-9e7f-1a2b3c4d5e6f", version=4)


def test_previous_names_and_absent(tmp_path):
    text = """\
    prompts:
      - {name: new, previous_names: [old, older], text: hi}
      - {name: gone, absent: true}
    """
    new, gone = load(tmp_path, {"p.yaml": text}).of_kind("prompts")
    assert new.previous_names == ("old", "older") and not new.absent
    assert gone.absent and gone.text is None


def test_absent_configs_skip_required_fields_and_reference_checks(tmp_path):
    text = "configs:\n  - {name: c, absent: true, prompt: nowhere}\n"
    (config,) = load(tmp_path, {"c.yaml": text}).of_kind("configs")
    assert config.absent


def test_unset_fields_are_distinguishable_from_defaults(tmp_path):
    (config,) = load(tmp_path, {"c.yaml": CONFIG_HEAD}).of_kind("configs")
    assert config.model_dump(exclude_unset=True, exclude={"source", "secret_spans"}) == {
        "name": "c",
        "evi_version": "3",
    }


def test_interpolation_from_variables_with_defaults(tmp_path):
    text = """\
    prompts:
      - name: ${NAME}
        text: "Hi ${WHO:-there}, ${GREETING:-}cost $${PRICE}"
    """
    (prompt,) = load(tmp_path, {"p.yaml": text}, NAME="greeter").of_kind("prompts")
    assert prompt.name == "greeter"
    assert prompt.text == "Hi there, cost ${PRICE}"


def test_interpolated_numbers_are_typed_by_their_field(tmp_path):
    text = CONFIG_HEAD + "    language_model: {temperature: '${TEMP}'}\n"
    (config,) = load(tmp_path, {"c.yaml": text}, TEMP="0.25").of_kind("configs")
    assert config.language_model.temperature == 0.25
    assert errors(tmp_path, {"c.yaml": text}, TEMP="1.4") == [
        "c.yaml:4:22: configs[0].language_model.temperature: must be between 0 and 1 (got 1.4)"
    ]


def test_missing_variable_names_file_and_line(tmp_path):
    text = "prompts:\n  - name: p\n    text: Hello ${WHO}\n"
    assert errors(tmp_path, {"p.yaml": text}) == [
        "p.yaml:3:5: prompts[0].text: undefined variable 'WHO': set it in the environment, "
        "pass --var WHO=... or --var-file, or give a default ${WHO:-...}"
    ]


def test_malformed_interpolation(tmp_path):
    text = "prompts:\n  - name: p\n    text: Hello ${1X}\n"
    assert errors(tmp_path, {"p.yaml": text}) == [
        "p.yaml:3:5: prompts[0].text: malformed interpolation: "
        "write ${NAME}, ${NAME:-default} or ${secret:NAME}"
    ]


def test_environment_is_the_default_variable_source(tmp_path, monkeypatch):
    monkeypatch.setenv("EVICTL_TEST_PROMPT", "from env")
    root = tmp_path / "m"
    root.mkdir()
    (root / "p.yaml").write_text("prompts: [{name: p, text: '${EVICTL_TEST_PROMPT}'}]\n")
    assert load_manifests(root).of_kind("prompts")[0].text == "from env"


def test_secrets_are_recorded_and_redacted(tmp_path):
    text = (
        CONFIG_HEAD + "    webhooks:\n"
        "      - url: 'http://hooks.example/?token=${secret:TOKEN}'\n"
        "        events: [chat_ended]\n"
    )
    problems = errors(tmp_path, {"c.yaml": text}, TOKEN="s3cr3t-value")
    assert problems == [
        "c.yaml:5:9: configs[0].webhooks[0].url: "
        "must be a valid https URL (got 'http://hooks.example/?token=(secret)')"
    ]
    fixed = text.replace("http://", "https://")
    manifests = load(tmp_path, {"c.yaml": fixed}, TOKEN="s3cr3t-value")
    assert manifests.secrets == {"s3cr3t-value"}
    (span,) = manifests.of_kind("configs")[0].secret_spans
    assert (span.path, span.parts) == (
        "webhooks[0].url",
        ("https://hooks.example/?token=", None, ""),
    )
    assert manifests.redact(manifests.of_kind("configs")[0].webhooks[0].url) == (
        "https://hooks.example/?token=(secret)"
    )


def test_the_desired_state_round_trips_through_json(examples):
    assert Manifests.model_validate_json(examples.model_dump_json()) == examples


def test_yaml_12_scalars_anchors_and_merge_keys(tmp_path):
    text = """\
    prompts:
      - {name: "no", text: on}
    configs:
      - &base
        name: a
        evi_version: "3"
        language_model: &lm {model_provider: ANTHROPIC, temperature: 0.5}
      - <<: *base
        name: b
        language_model: *lm
    """
    manifests = load(tmp_path, {"m.yaml": text})
    assert (manifests.of_kind("prompts")[0].name, manifests.of_kind("prompts")[0].text) == (
        "no",
        "on",
    )
    a, b = manifests.of_kind("configs")
    assert b.name == "b" and b.evi_version == "3" and b.language_model == a.language_model


def test_alias_bombs_are_refused(tmp_path):
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    problems = errors(tmp_path, {"m.yaml": "\n".join(lines) + "\n"})
    assert problems[0].endswith("malformed YAML: too many alias expansions")


def test_hidden_directories_are_skipped(tmp_path):
    files = {"p.yaml": "prompts: [{name: p, text: x}]\n", ".git/x.yaml": "nonsense: ["}
    assert load(tmp_path, files).summary() == "1 prompt, 0 tools, 0 configs"


def test_missing_root_and_root_without_yaml(tmp_path):
    from reconciler.errors import UserError

    with pytest.raises(UserError, match="no such file or directory"):
        load_manifests(tmp_path / "nope", {})
    with pytest.raises(UserError, match=r"no \*\.yaml or \*\.yml files"):
        load_manifests(tmp_path, {})


def test_config_ranges_come_from_facts():
    """Every prose range of facts is enforced by the model (one source of truth)."""
    schema = ConfigSpec.model_json_schema()
    for rng in facts.CONFIG_RANGES:
        node = schema
        for key in rng.path:
            node = node["properties"][key]
            ref = next((o["$ref"] for o in node.get("anyOf", []) if "$ref" in o), None)
            if ref:
                node = schema["$defs"][ref.rsplit("/", 1)[-1]]
        assert (node["minimum"], node["maximum"]) == (rng.low, rng.high)


def test_an_empty_variable_takes_the_default_like_the_shell(tmp_path):
    text = "prompts:\n  - name: p\n    text: Voice ${V:-ITO}, bare [${V}]\n"
    (tmp_path / "p.yaml").write_text(text, encoding="utf-8")
    manifests = load_manifests(tmp_path, {"V": ""})
    assert manifests.of_kind("prompts")[0].text == "Voice ITO, bare []"
