"""evictl.toml and ``--env``: two emulated accounts (real servers, each with its own key) chosen
by name, the variables each environment brings, and the errors a project file can cause."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from reconciler.errors import UserError
from reconciler.project import PROJECT_FILE, load_project
from tests.apply_support import evictl
from tests.plan_support import write
from tests.project_support import KEYS, Project

ROOT = Path(__file__).resolve().parent.parent


def cli(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """evictl as a user runs it: its own process, exit code and stderr as printed."""
    return subprocess.run(
        [sys.executable, "-m", "reconciler", *map(str, args)],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip


def error(*args: str | Path) -> str:
    """The message of a command that must fail with a UserError (exit 1 from ``main``)."""
    result = evictl(*args)
    assert isinstance(result.exception, UserError), result.output
    return str(result.exception)


def test_env_picks_the_account_its_key_and_its_variables(project: Project) -> None:
    applied = evictl("apply", project.root, "--env", "production", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert applied.stdout.startswith("evictl apply (production)\n\n")
    assert project.names("production") == ["greeter"]
    assert project.text("production") == "Hello from production"
    assert project.names("staging") == []
    planned = evictl("plan", project.root, "--env", "staging", "--format", "json")
    assert planned.exit_code == 0, planned.output
    changes = {c["address"]: c["actions"] for c in json.loads(planned.stdout)["changes"]}
    assert changes == {"prompts/greeter": ["create"], "configs/desk": ["create"]}


def test_evictl_env_chooses_when_no_flag_does(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVICTL_ENV", "staging")
    assert evictl("apply", project.root, "--auto-approve").exit_code == 0
    assert project.names("staging") == ["greeter"]
    assert project.text("staging") == "Hello from staging"
    drift = evictl("drift", project.root)
    assert drift.exit_code == 0, drift.output
    assert drift.stdout.startswith("evictl drift (staging)\n\n")
    flag = evictl("plan", project.root, "--env", "production", "--format", "markdown")
    assert flag.stdout.startswith("### evictl plan (production)\n")


def test_environments_defined_but_none_chosen_lists_them(project: Project) -> None:
    message = error("plan", project.root)
    assert message == (
        f"{project.root / PROJECT_FILE} defines environments (staging, production): "
        "choose one with --env NAME (or EVICTL_ENV)"
    )


def test_an_unknown_environment_suggests_the_closest(project: Project) -> None:
    message = error("drift", project.root, "--env", "prod")
    assert message == (
        f"--env prod: no such environment in {project.root / PROJECT_FILE}"
        "; did you mean 'production'? (defined: staging, production)"
    )


def test_the_environments_base_url_beats_hume_base_url(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HUME_BASE_URL may be left in a shell; the environment chosen by name must win over it."""
    monkeypatch.setenv("HUME_BASE_URL", "http://127.0.0.1:9")
    applied = evictl("apply", project.root, "--env", "staging", "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert project.names("staging") == ["greeter"]


def test_env_without_a_project_file_is_an_error(tmp_path: Path) -> None:
    root = write(tmp_path / "m", "prompts: []\n")
    message = error("plan", root, "--env", "staging", "--emulator", tmp_path / "a.sqlite")
    assert message == "--env staging: no environments are defined (there is no evictl.toml)"
    (root / PROJECT_FILE).write_text('[ownership]\nnames = ["x-*"]\n', encoding="utf-8")
    message = error("plan", root, "--env", "staging", "--emulator", tmp_path / "a.sqlite")
    assert (
        message
        == f"--env staging: no environments are defined ({root / PROJECT_FILE} defines none)"
    )


def test_validate_checks_the_project_file_too(tmp_path: Path) -> None:
    root = write(tmp_path / "m", "prompts: []\n")
    (root / PROJECT_FILE).write_text('[ownership]\nnamez = ["x-*"]\n', encoding="utf-8")
    message = error("validate", root)
    assert message.startswith(f"{root / PROJECT_FILE}:2: ownership.namez")


def test_malformed_toml_is_located_without_a_traceback(project: Project) -> None:
    toml = project.root / PROJECT_FILE
    toml.write_text('[environments.staging]\napi_key_env = "X"\nvars = { A = }\n')
    result = cli("plan", project.root, "--env", "staging")
    assert result.returncode == 1
    assert result.stderr == f"error: {toml}:3:14: not valid TOML: Invalid value\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[environments.staging]\nbase_url = "http://x"\napi_key_var = "K"\n',
            "3: environments.staging.api_key_var: unknown key; did you mean 'api_key_env'?",
        ),
        (
            '[environment.staging]\napi_key_env = "K"\n',
            "1: environment: unknown key; did you mean 'environments'?",
        ),
        ("[ownership]\nnames = 'support-*'\n", "2: ownership.names: Input should be a valid list"),
        (
            '[environments.staging]\nvars = { "my-var" = "x" }\n',
            "2: environments.staging.vars.my-var.[key]: 'my-var' is not allowed here (a variable name like MY_VAR)",
        ),
        (
            '[environments."bad name"]\napi_key_env = "K"\n',
            "1: environments.bad name.[key]: 'bad name' is not allowed here (environment names "
            "must match ^[A-Za-z0-9][A-Za-z0-9_.-]*$: a letter or digit, then letters, digits, "
            "'_', '.' or '-')",
        ),
        (
            '[environments.staging]\n\napi_key_env = "HUME KEY"\n',
            "3: environments.staging.api_key_env: 'HUME KEY' is not allowed here (a variable name like MY_VAR)",
        ),
    ],
)
def test_schema_errors_name_file_line_and_field(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / PROJECT_FILE).write_text(text)
    with pytest.raises(UserError) as caught:
        load_project(tmp_path)
    assert str(caught.value) == f"{tmp_path / PROJECT_FILE}:{message}"


def test_the_project_file_is_read_with_paths_made_absolute(tmp_path: Path) -> None:
    assert load_project(tmp_path).environments == {}
    (tmp_path / PROJECT_FILE).write_text(
        '[environments.dev]\nvar_files = ["env/dev.env", "common.env"]\n'
        '[ownership]\nnames = ["support-*", "tutor-*"]\n'
    )
    project = load_project(tmp_path / "some.yaml")
    dev = project.environments["dev"]
    assert dev.var_files == (tmp_path / "env/dev.env", tmp_path / "common.env")
    assert (dev.api_key_env, dev.base_url, dev.vars) == (None, None, {})
    assert project.owned == ("support-*", "tutor-*")
    assert project.environment("dev") is dev


def test_variables_layer_process_env_files_vars_then_the_command_line(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(project.root, 'prompts:\n  - name: layers\n    text: "${A} ${B} ${C} ${D} ${E}"\n')
    for name in "ABCDE":
        monkeypatch.setenv(name, "process")
    write(project.root / "env", "B=file\nC=file\nD=file\nE=file\n", "staging.env")
    toml = (project.root / PROJECT_FILE).read_text()
    toml = toml.replace(
        'vars = { TIER = "staging" }', 'vars = { C = "vars", D = "vars", E = "vars" }'
    )
    (project.root / PROJECT_FILE).write_text(toml)
    cli_file = write(tmp_path, "D=cli-file\nE=cli-file\n", "cli.env") / "cli.env"
    planned = evictl(
        "plan", project.root, "--env", "staging", "--var-file", cli_file, "--var", "E=cli",
        "--format", "json",
    )  # fmt: skip
    assert planned.exit_code == 0, planned.output
    [change] = json.loads(planned.stdout)["changes"]
    assert change["body"]["text"] == "process file vars cli-file cli"


def test_an_unset_key_variable_is_named_and_no_key_is_printed(project: Project) -> None:
    env = {k: v for k, v in __import__("os").environ.items() if k != "HUME_API_KEY_PRODUCTION"}
    result = cli("plan", project.root, "--env", "production", env=env)
    assert result.returncode == 1
    assert result.stderr.startswith("error: HUME_API_KEY_PRODUCTION is not set: export your")
    assert project.servers["production"].url in result.stderr
    for key in KEYS.values():
        assert key not in result.stdout + result.stderr


def test_an_explicit_base_url_wins_over_the_environments(project: Project) -> None:
    """The staging key sent to the production server: refused, so the flag was followed."""
    production = project.servers["production"].url
    result = evictl("plan", project.root, "--env", "staging", "--base-url", production)
    assert result.exit_code == 1
    assert "invalid API key" in str(result.exception)
    for key in KEYS.values():
        assert key not in result.output + str(result.exception)


def test_export_finds_the_project_file_at_out(project: Project, tmp_path: Path) -> None:
    assert evictl("apply", project.root, "--env", "production", "--auto-approve").exit_code == 0
    out = tmp_path / "exported"
    out.mkdir()
    (out / PROJECT_FILE).write_bytes((project.root / PROJECT_FILE).read_bytes())
    missing = error("export", "--out", out, "--env", "production", "--kind", "prompts")
    assert missing == f"environment production: var_files: {out}/env/production.env is not a file"
    shutil.copytree(project.root / "env", out / "env")
    exported = evictl("export", "--out", out, "--env", "production", "--kind", "prompts")
    assert exported.exit_code == 0, exported.output
    assert "Hello from production" in "".join(p.read_text() for p in out.glob("*.yaml"))


def test_committed_project_schema_is_current() -> None:
    committed = ROOT / "schema" / "evictl-project.schema.json"
    result = evictl("schema", "--project")
    assert committed.read_text() == result.stdout, (
        f"regenerate: evictl schema --project > {committed}"
    )


def test_a_saved_plan_finds_the_project_file_of_its_manifests(
    project: Project, tmp_path: Path
) -> None:
    """The plan file lives elsewhere; its manifests' evictl.toml is the one read."""
    saved = tmp_path / "elsewhere" / "plan.json"
    saved.parent.mkdir()
    planned = evictl("plan", project.root, "--env", "staging", "--out", saved)
    assert planned.exit_code == 0, planned.output
    applied = evictl("apply", saved, "--env", "staging")
    assert applied.exit_code == 0, applied.output
    assert project.names("staging") == ["greeter"]
    assert project.names("production") == []


def test_a_saved_plan_applied_away_from_its_manifests_says_where_to_apply_it(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plan names its manifests relative to where plan ran: elsewhere, --env cannot find
    their evictl.toml, and the message says why rather than "no environments are defined"."""
    saved = tmp_path / "s.json"
    monkeypatch.chdir(project.root.parent)
    planned = evictl("plan", project.root.name, "--env", "staging", "--out", saved)
    assert planned.exit_code == 0, planned.output
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert error("apply", saved, "--env", "staging") == (
        f"{saved}: the manifests it was made from ({project.root.name}) are not here; "
        "apply it from the directory `evictl plan` ran in"
    )
    assert project.names("staging") == []
