"""``evictl output``: ids and versions read from the account, in each format, read-only."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from reconciler.errors import UserError
from reconciler.kinds import LiveVersion
from reconciler.kinds.configs import LiveConfig
from reconciler.manifest import load_manifests
from reconciler.outputs import outputs
from reconciler.snapshot import Snapshot
from reconciler.workflow import Connection
from tests.apply_support import evictl, live, with_client
from tests.conftest import KEY, RunningEmulator
from tests.plan_support import write
from tests.test_action_support import CREATED as MANAGED
from tests.test_action_support import Runner
from tests.test_action_support import evictl as action
from tests.test_architecture import IO_LIBRARIES, imported_after

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "manifests"
TOKEN = "hook-token-7c1d"


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An account the example manifests were applied to; then a portal edit of a prompt, so
    the latest versions differ from what the configs pin."""
    monkeypatch.setenv("SUPPORT_WEBHOOK_TOKEN", TOKEN)
    path = tmp_path / "e.sqlite"
    applied = evictl("apply", EXAMPLES, "--emulator", path, "--auto-approve")
    assert applied.exit_code == 0, applied.output
    agent = live(Connection(emulator=path), "prompts", "support-agent")
    with_client(
        Connection(emulator=path),
        lambda client: client.create_version("prompts", agent.id, {"text": "portal edit"}),
    )
    return path


def output(path: Path, db: Path, fmt: str) -> tuple[int, str, str]:
    """``evictl output`` in-process, where it succeeds."""
    result = evictl("output", path, "--emulator", db, "--format", fmt)
    assert result.exception is None, result.exception
    return result.exit_code, result.stdout, result.stderr


def failing(path: Path, db: Path, fmt: str) -> tuple[int, str, str]:
    """``evictl output`` as a process, where it fails: its message and exit code, no traceback."""
    argv = ["output", str(path), "--emulator", str(db), "--format", fmt]
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", *argv], capture_output=True, text=True, check=False
    )
    assert "Traceback" not in done.stderr
    return done.returncode, done.stdout, done.stderr


def test_json_has_each_resource_as_the_account_has_it(db: Path) -> None:
    code, stdout, stderr = output(EXAMPLES, db, "json")
    assert (code, stderr) == (0, "")
    document = json.loads(stdout)
    assert document["format_version"] == 1
    assert document["missing"] == []
    assert [(r["kind"], r["name"]) for r in document["resources"]] == MANAGED
    account = Connection(emulator=db)
    for resource in document["resources"]:
        item = live(account, resource["kind"], resource["name"])
        assert (resource["id"], resource["version"]) == (item.id, item.version)
    support = document["resources"][7]
    agent, lookup, book = (
        live(account, kind, name)
        for kind, name in [
            ("prompts", "support-agent"),
            ("tools", "lookup_account"),
            ("tools", "book_technician_visit"),
        ]
    )
    assert document["resources"][1]["version"] == 1  # the portal edit
    assert support["uses"] == {
        "prompt": {"kind": "prompts", "name": "support-agent", "id": agent.id, "version": 0},
        "tools": [
            {"kind": "tools", "name": "lookup_account", "id": lookup.id, "version": 0},
            {"kind": "tools", "name": "book_technician_visit", "id": book.id, "version": 0},
        ],
    }
    assert document["resources"][0]["uses"] == {}
    assert support["source"] == "configs.yaml:25"


def test_env_lines_name_each_resource_by_kind_and_name(db: Path) -> None:
    code, stdout, _ = output(EXAMPLES, db, "env")
    assert code == 0
    variables = dict(line.split("=", 1) for line in stdout.splitlines())
    account = Connection(emulator=db)
    expected = {}
    for kind, name in MANAGED:
        item = live(account, kind, name)
        prefix = f"EVI_{kind[:-1]}_{name}".upper().replace("-", "_")
        expected |= {f"{prefix}_ID": item.id, f"{prefix}_VERSION": str(item.version)}
    assert variables == expected
    assert variables["EVI_PROMPT_SUPPORT_AGENT_VERSION"] == "1"
    assert "EVI_CONFIG_SUPPORT_LINE_ID" in variables
    assert "EVI_TOOL_GET_CURRENT_WEATHER_ID" in variables


def test_text_is_a_table_with_what_each_config_pins(db: Path) -> None:
    code, stdout, _ = output(EXAMPLES, db, "text")
    assert code == 0
    config = live(Connection(emulator=db), "configs", "support-line")
    row = next(line for line in stdout.splitlines() if line.startswith("config  support-line"))
    assert row.split()[2:5] == [config.id, "0", "prompt"]
    assert row.endswith(
        "prompt support-agent v0; tools lookup_account v0, book_technician_visit v0"
    )
    assert stdout.splitlines()[0].split() == ["KIND", "NAME", "ID", "VERSION", "USES"]
    assert stdout.endswith("\n9 of 9 resources in the account.\n")
    assert "tools (none)" in next(x for x in stdout.splitlines() if "config  language-tutor" in x)


@pytest.mark.parametrize("fmt", ["json", "env", "text"])
def test_no_secret_in_any_format(db: Path, fmt: str) -> None:
    assert TOKEN not in output(EXAMPLES, db, fmt)[1]


def test_a_resource_not_applied_is_missing_and_exits_1(db: Path, tmp_path: Path) -> None:
    manifests = tmp_path / "m"
    shutil.copytree(EXAMPLES, manifests)
    (manifests / "extra.yaml").write_text(
        "configs:\n  - name: night-line\n    evi_version: '3'\n    prompt: support-agent\n"
        "  - name: old-line\n    absent: true\n",
        encoding="utf-8",
    )
    (manifests / "configs.yaml").write_text(
        (manifests / "configs.yaml")
        .read_text(encoding="utf-8")
        .replace(
            "  - name: weather-config\n",
            "  - name: weather-bot\n    previous_names: [weather-config]\n",
        ),
        encoding="utf-8",
    )
    message = "error: not applied yet: configs/weather-bot, configs/night-line; run evictl apply\n"

    code, stdout, stderr = failing(manifests, db, "json")
    document = json.loads(stdout)
    assert (code, stderr) == (1, message)
    assert document["missing"] == ["configs/weather-bot", "configs/night-line"]
    night = next(r for r in document["resources"] if r["name"] == "night-line")
    assert night == {
        "kind": "configs", "name": "night-line", "id": None, "version": None,
        "source": "extra.yaml:2", "uses": {},
    }  # fmt: skip
    assert "old-line" not in [r["name"] for r in document["resources"]]  # absent

    code, stdout, stderr = failing(manifests, db, "text")
    assert (code, stderr) == (1, message)
    row = next(line for line in stdout.splitlines() if "night-line" in line)
    assert re.split(" {2,}", row) == [
        "config",
        "night-line",
        "(not in the account)",
        "-",
        "[extra.yaml:2]",
    ]
    assert stdout.endswith("\n8 of 10 resources in the account, 2 not applied yet.\n")

    code, stdout, stderr = failing(manifests, db, "env")
    assert (code, stdout) == (1, "")
    assert stderr.startswith("error: not applied yet: configs/weather-bot, configs/night-line;")
    assert "all or nothing" in stderr


def test_two_names_for_one_variable_are_an_error_naming_both(tmp_path: Path) -> None:
    root = write(
        tmp_path / "m",
        "prompts:\n  - name: Night.Shift\n    text: a\n  - name: night-shift\n    text: b\n"
        "  - name: café\n    text: c\n",
    )
    db = tmp_path / "e.sqlite"
    collision = (
        1,
        "",
        "error: evi.yaml:2: prompts/Night.Shift and evi.yaml:4: prompts/night-shift both become "
        "EVI_PROMPT_NIGHT_SHIFT_ID: rename one of them\n",
    )
    assert failing(root, db, "env") == collision  # before any apply: no apply would help
    assert evictl("apply", root, "--emulator", db, "--auto-approve").exit_code == 0
    assert failing(root, db, "env") == collision
    (root / "evi.yaml").write_text(
        "prompts:\n  - name: Night.Shift\n    text: a\n  - name: café\n    text: c\n",
        encoding="utf-8",
    )
    code, stdout, _ = output(root, db, "env")
    assert code == 0
    assert [line.split("=")[0] for line in stdout.splitlines()] == [
        "EVI_PROMPT_NIGHT_SHIFT_ID",
        "EVI_PROMPT_NIGHT_SHIFT_VERSION",
        "EVI_PROMPT_CAF__ID",
        "EVI_PROMPT_CAF__VERSION",
    ]


def test_output_sends_only_reads(
    emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUME_API_KEY", KEY)
    monkeypatch.setenv("SUPPORT_WEBHOOK_TOKEN", TOKEN)
    applied = evictl("apply", EXAMPLES, "--base-url", emulator.url, "--auto-approve")
    assert applied.exit_code == 0, applied.output
    before = httpx.get(f"{emulator.url}/_emulator/requests").json()["counts"]
    result = evictl("output", EXAMPLES, "--base-url", emulator.url, "--format", "json")
    assert result.exit_code == 0, result.output
    after = httpx.get(f"{emulator.url}/_emulator/requests").json()["counts"]
    assert {m: after.get(m, 0) - before.get(m, 0) for m in ("POST", "PATCH", "DELETE")} == {
        "POST": 0,
        "PATCH": 0,
        "DELETE": 0,
    }
    assert after["GET"] - before["GET"] == 3  # one listing per kind
    assert KEY not in result.output


def test_two_live_resources_with_the_name_are_an_error(tmp_path: Path) -> None:
    manifests = load_manifests(
        write(tmp_path / "m", "prompts:\n  - name: greeter\n    text: a\n"), {}
    )
    twins = [LiveVersion(id=id_, version=0, name="greeter") for id_ in ("p-1", "p-2")]
    with pytest.raises(
        UserError, match=r"evi.yaml:2: 2 live prompts are named 'greeter' \(p-1, p-2\)"
    ):
        outputs(manifests, Snapshot.of(prompts=twins))


def test_outputs_and_their_renderers_do_no_io() -> None:
    loaded = imported_after("reconciler.outputs", "reconciler.render.outputs")
    assert "reconciler.outputs" in loaded
    assert sorted(name for name in loaded if name.split(".")[0] in IO_LIBRARIES) == []


def test_the_action_sets_resources_after_an_apply(tmp_path: Path, account: str) -> None:
    runner = Runner(tmp_path / "job")
    planned = action(runner, account, "plan")
    assert (planned.returncode, planned.outputs["resources"]) == (0, "")
    applied = action(runner, account, "apply")
    assert applied.returncode == 0, applied.stderr
    document = json.loads(applied.outputs["resources"])
    assert [(r["kind"], r["name"]) for r in document["resources"]] == MANAGED
    config = live(Connection(emulator=Path(account)), "configs", "support-line")
    assert isinstance(config, LiveConfig)
    support = document["resources"][7]
    assert (support["id"], support["version"]) == (config.id, config.version)
    assert support["uses"]["prompt"]["id"] == config.prompt.id
    again = action(runner, account, "apply")
    assert json.loads(again.outputs["resources"]) == document  # no changes: the same ids
