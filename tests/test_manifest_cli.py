"""``evictl validate`` and ``evictl schema`` through click, plus one real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import cli
from tests.manifest_support import write

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "manifests"
PROMPT = "prompts:\n  - name: p\n    text: ${WHO}\n"


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, list(args), env=env)


def test_validate_examples_succeeds():
    result = run("validate", str(EXAMPLES))
    assert result.exit_code == 0, result.output
    assert result.stdout == "4 prompts, 3 tools, 4 configs: valid\n"


def test_validate_reports_errors_on_stderr_and_exits_1(tmp_path):
    write(tmp_path, {"c.yaml": "configs:\n  - name: c\n    evi_version: 3\n    bogus: 1\n"})
    result = run("validate", str(tmp_path))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        'c.yaml:3:5: configs[0].evi_version: must be a string: quote it, evi_version: "3"\n'
        "c.yaml:4:5: configs[0].bogus: unknown field 'bogus'\n"
        "2 errors: the manifests are not valid\n"
    )


def test_validate_a_single_file_names_it(tmp_path):
    write(tmp_path, {"sub/only.yaml": "prompts:\n  - name: p\n"})
    result = run("validate", str(tmp_path / "sub" / "only.yaml"))
    assert result.exit_code == 1
    assert result.stderr.startswith("only.yaml:2:5: prompts[0].text: ")


def test_var_overrides_var_file_which_overrides_environment(tmp_path):
    write(tmp_path, {"m/p.yaml": PROMPT + "    version_description: ${DESC}\n"})
    var_file = tmp_path / "vars.env"
    var_file.write_text("# comment\nexport WHO='file'\nDESC=\"from file\"\n\n")
    env = {"WHO": "env", "DESC": "env"}
    result = run("validate", str(tmp_path / "m"), "--var-file", str(var_file), env=env)
    assert result.exit_code == 0, result.output
    # The value itself is not printed by validate, so check through the loader's error path:
    write(tmp_path, {"m/c.yaml": 'configs: [{name: c, evi_version: "${WHO}"}]\n'})
    result = run(
        "validate", str(tmp_path / "m"), "--var-file", str(var_file), "--var", "WHO=cli", env=env
    )
    assert "(got 'cli')" in result.stderr
    result = run("validate", str(tmp_path / "m"), "--var-file", str(var_file), env=env)
    assert "(got 'file')" in result.stderr


def test_bad_var_options(tmp_path):
    write(tmp_path, {"p.yaml": PROMPT})
    result = run("validate", str(tmp_path), "--var", "no-equals")
    assert result.exit_code == 1
    bad_file = tmp_path / "bad.env"
    bad_file.write_text("JUST A LINE\n")
    result = run("validate", str(tmp_path), "--var-file", str(bad_file))
    assert result.exit_code == 1


def test_secret_values_never_reach_the_output(tmp_path):
    write(tmp_path, {"c.yaml": 'configs: [{name: c, evi_version: "${secret:V}"}]\n'})
    result = run("validate", str(tmp_path), "--var", "V=hunter2")
    assert result.exit_code == 1
    assert "hunter2" not in result.output + result.stderr
    assert "(got '(secret)')" in result.stderr


def test_schema_is_the_json_schema_of_a_manifest_document():
    result = run("schema")
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert set(schema["properties"]) == {"prompts", "tools", "configs"}
    assert schema["additionalProperties"] is False
    provider = schema["$defs"]["LanguageModel"]["properties"]["model_provider"]["anyOf"][0]
    assert "ANTHROPIC" in provider["enum"]


def test_examples_validate_against_the_generated_json_schema():
    """What editors check (the JSON Schema) accepts what evictl accepts."""
    import yaml
    from jsonschema import Draft202012Validator

    from reconciler.manifest.editorschema import manifest_schema

    validator = Draft202012Validator(manifest_schema())
    for path in EXAMPLES.glob("*.yaml"):
        for document in yaml.safe_load_all(path.read_text()):
            assert not list(validator.iter_errors(document)), path


def test_evictl_console_script_exit_codes(tmp_path):
    evictl = Path(sys.executable).parent / "evictl"
    good = subprocess.run([evictl, "validate", EXAMPLES], capture_output=True, text=True)
    assert (good.returncode, good.stdout) == (0, "4 prompts, 3 tools, 4 configs: valid\n")
    write(tmp_path, {"bad.yaml": b"\xff"})
    bad = subprocess.run([evictl, "validate", tmp_path], capture_output=True, text=True)
    assert bad.returncode == 1
    assert bad.stderr.startswith("bad.yaml:1:1: not valid UTF-8 (byte 0xff)\n")
    assert "Traceback" not in bad.stderr


def test_committed_schema_file_is_current():
    """schema/evictl-manifest.schema.json (used by the examples' editor hint) matches the models."""
    committed = EXAMPLES.parent.parent / "schema" / "evictl-manifest.schema.json"
    assert committed.read_text() == run("schema").stdout, "regenerate: evictl schema > " + str(
        committed
    )


@pytest.mark.parametrize(
    ("provider", "model", "family"),
    [("OPEN_AI", "claude-sonnet-4-5-20250929", "ANTHROPIC"), ("ANTHROPIC", "gpt-4o", "OPEN_AI")],
)
def test_a_model_of_another_provider_is_a_warning_not_an_error(
    tmp_path, provider: str, model: str, family: str
) -> None:
    (tmp_path / "c.yaml").write_text(
        "configs:\n  - name: desk\n    evi_version: '3'\n"
        f"    language_model: {{model_provider: {provider}, model_resource: {model}}}\n",
        encoding="utf-8",
    )
    result = run("validate", str(tmp_path))
    assert result.exit_code == 0
    assert result.stderr == (
        f"warning: c.yaml:4:22: configs[0].language_model.model_provider: '{model}' is a "
        f"{family} model, but model_provider is {provider}: Hume may refuse it or use another "
        "model\n"
    )
    assert result.stdout == "0 prompts, 0 tools, 1 config: valid\n"
