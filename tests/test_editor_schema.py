"""The editor schema (``evictl schema``): described in the spec's words, and as lenient about
``${...}`` as the loader."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from reconciler.errors import UserError
from reconciler.hume import spec
from reconciler.manifest import ManifestDocument, load_manifests
from reconciler.manifest.editorschema import manifest_schema
from tests.manifest_support import write

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = manifest_schema()
VALIDATOR = Draft202012Validator(SCHEMA)


def properties(schema: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(model, property, schema) of the document's properties and of every ``$defs`` model's."""
    for model, node in [("<document>", schema), *schema["$defs"].items()]:
        for name, prop in node.get("properties", {}).items():
            yield model, name, prop


def nested_properties(node: Any, where: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every property anywhere in the schema, inside ``anyOf`` branches too: editors show any
    of them on hover."""
    if isinstance(node, dict):
        for name, prop in node.get("properties", {}).items():
            yield f"{where}.{name}", prop
        for key, value in node.items():
            yield from nested_properties(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from nested_properties(value, f"{where}[{index}]")


def spec_descriptions(node: Any) -> Iterator[str]:
    """Every description the spec document holds."""
    if isinstance(node, dict):
        if isinstance(node.get("description"), str):
            yield node["description"]
        for value in node.values():
            yield from spec_descriptions(value)
    elif isinstance(node, list):
        for value in node:
            yield from spec_descriptions(value)


def test_every_property_has_a_description() -> None:
    found = list(properties(SCHEMA))
    assert len(found) > 60
    assert [f"{model}.{name}" for model, name, prop in found if not prop.get("description")] == []
    assert [where for where, prop in nested_properties(SCHEMA) if not prop.get("description")] == []


def test_descriptions_the_models_do_not_give_are_the_specs_words() -> None:
    own = {
        (m, n): p.get("description") for m, n, p in properties(ManifestDocument.model_json_schema())
    }
    words = set(spec_descriptions(spec.document()))
    borrowed = [(m, n, p["description"]) for m, n, p in properties(SCHEMA) if not own.get((m, n))]
    assert len(borrowed) > 40
    assert [(m, n) for m, n, text in borrowed if text not in words] == []


@pytest.mark.parametrize(
    ("model", "prop", "component"),
    [
        ("LanguageModel", "temperature", "posted_language_model"),
        ("ConfigSpec", "evi_version", "posted_config_version"),
        ("PromptSpec", "text", "posted_prompt_version"),
        ("ToolSpec", "parameters", "posted_user_defined_tool_version"),
        ("Voice", "provider", "VoiceName"),
        ("Webhook", "url", "posted_webhook_spec"),
        ("TurnDetection", "prefix_padding_ms", "posted_turn_detection_spec"),
    ],
)
def test_a_property_carries_its_spec_counterparts_description(
    model: str, prop: str, component: str
) -> None:
    expected = spec.component(component)["properties"][prop]["description"]
    assert SCHEMA["$defs"][model]["properties"][prop]["description"] == expected


def test_evictls_own_words_win_where_the_spec_would_mislead() -> None:
    """The spec describes a user-defined tool's ``name`` as a built-in tool's: evictl's wins."""
    tool_name = SCHEMA["$defs"]["ToolSpec"]["properties"]["name"]["description"]
    assert "built-in" not in tool_name
    assert "Identifier for a Prompt" not in str(SCHEMA["$defs"]["Reference"])


def config(**fields: str) -> str:
    lines = "".join(f"    {key}: {value}\n" for key, value in fields.items())
    return f"configs:\n  - name: desk\n{lines}"


VALID = "'3'"
CASES = [
    ("temperature", config(evi_version=VALID, language_model='{temperature: "${TEMP}"}')),
    ("evi_version", config(evi_version='"${EVI}"')),
    ("enum", config(evi_version=VALID, language_model='{model_provider: "${PROVIDER}"}')),
    ("bool", config(evi_version=VALID, nudges='{enabled: "${ON}", interval_secs: "${SECS}"}')),
    (
        "https",
        config(evi_version=VALID, webhooks='[{url: "${secret:HOOK}", events: [chat_ended]}]'),
    ),
    (
        "enum item",
        config(evi_version=VALID, webhooks='[{url: "https://a.b", events: ["${EVENT}"]}]'),
    ),
    (
        "version",
        config(
            evi_version=VALID, tools='[{id: 6f1c2b4e-8d3a-4c5b-9e7f-1a2b3c4d5e6f, version: "${V}"}]'
        ),
    ),
    ("absent", config(absent='"${GONE}"')),
    ("default", config(evi_version='"${EVI:-3}"')),
]
VARIABLES = {
    "TEMP": "0.5",
    "EVI": "3",
    "PROVIDER": "ANTHROPIC",
    "ON": "true",
    "SECS": "30",
    "HOOK": "https://hooks.example.com/evi",
    "EVENT": "chat_started",
    "V": "2",
    "GONE": "true",
}


@pytest.mark.parametrize(("case", "text"), CASES, ids=[case for case, _ in CASES])
def test_the_schema_accepts_interpolation_where_the_loader_does(
    tmp_path: Path, case: str, text: str
) -> None:
    import yaml

    write(tmp_path, {"c.yaml": text})
    assert load_manifests(tmp_path, VARIABLES).of_kind("configs")
    assert list(VALIDATOR.iter_errors(yaml.safe_load(text))) == [], case


@pytest.mark.parametrize(
    "text",
    [
        config(evi_version=VALID, language_model="{temperature: hot}"),
        config(evi_version=VALID, language_model="{temperature: 2}"),
        config(evi_version='"4"'),
        config(evi_version=VALID, webhooks='[{url: "http://a.b", events: [chat_ended]}]'),
        config(evi_version=VALID, nudges="{enabled: sometimes}"),
    ],
)
def test_the_schema_and_the_loader_both_refuse_a_bad_value(tmp_path: Path, text: str) -> None:
    import yaml

    write(tmp_path, {"c.yaml": text})
    with pytest.raises(UserError):
        load_manifests(tmp_path, {})
    assert list(VALIDATOR.iter_errors(yaml.safe_load(text)))


def test_examples_name_the_committed_schema_on_their_first_line() -> None:
    for path in sorted((ROOT / "examples" / "manifests").glob("*.yaml")):
        first = path.read_text(encoding="utf-8").splitlines()[0]
        prefix = "# yaml-language-server: $schema="
        assert first.startswith(prefix), path
        target = (path.parent / first.removeprefix(prefix)).resolve()
        assert target == ROOT / "schema" / "evictl-manifest.schema.json", path


def test_the_schema_is_a_valid_2020_12_schema() -> None:
    Draft202012Validator.check_schema(SCHEMA)
