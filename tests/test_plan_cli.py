"""``evictl plan``: the three renderings, --out, exit codes, --target, secrets and bad input."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from reconciler.cli import cli
from reconciler.workflow import read_saved_plan
from tests.plan_support import write

BEFORE = """\
prompts:
  - name: greeter
    text: |
      Hello there
      Be kind
    version_description: first
  - name: closer
    text: Goodbye
  - name: old
    text: bye
tools:
  - name: lookup
    description: Look something up
    parameters: {type: object, properties: {q: {type: string}}}
configs:
  - name: front-desk
    evi_version: "3"
    prompt: greeter
    tools: [lookup]
    webhooks: [{url: "https://hooks.example.com/${secret:HOOK_TOKEN}", events: [chat_ended]}]
"""
AFTER = """\
prompts:
  - name: greeter
    text: |
      Hello there
      Be very kind
    version_description: first
  - name: farewell
    previous_names: [closer]
    text: Goodbye
    version_description: now described
  - name: old
    absent: true
  - name: fresh
    text: New one
tools:
  - name: lookup
    description: Look something up
    parameters: {type: object, properties: {q: {type: string}, n: {type: integer}}}
configs:
  - name: front-desk
    evi_version: "3"
    prompt: greeter
    tools: [lookup]
    webhooks: [{url: "https://hooks.example.com/${secret:HOOK_TOKEN}", events: [chat_ended]}]
"""
TOKEN, ROTATED = "tok-5f2a9c", "tok-77e1b0"
EXPECTED_TEXT = """\
  ~ prompt "greeter": new version (live v0)  [evi.yaml:2]
      ! version_description is the same as live v0's: describe what the new version changes
      ~ text:
          --- live v0
          +++ manifests
          @@ -1,2 +1,2 @@
           Hello there
          -Be kind
          +Be very kind

  ~ prompt "farewell": renamed from "closer", description of v0 updated  [evi.yaml:7]
      ~ version_description: "" → "now described"

  - prompt "old": will be deleted (live v0)  [evi.yaml:11]

  + prompt "fresh": will be created  [evi.yaml:13]
      + text: New one

  ~ tool "lookup": new version (live v0)  [evi.yaml:16]
      ~ parameters:
          --- live v0
          +++ manifests
          @@ -1,3 +1,4 @@
           type: object
           properties:
             q: {type: string}
          +  n: {type: integer}

  ~ config "front-desk": new version (live v0)  [evi.yaml:20]
      because prompt greeter → new version
      because tool lookup → new version
      ~ prompt: "greeter v0" → "greeter (new version)"
      ~ tools: ["lookup v0"] → ["lookup (new version)"]

Plan: 1 to create, 3 new versions, 1 rename, 1 description update, 1 to delete.
"""


class Workspace:
    """Manifests in ``root``, an embedded emulator in ``db``: the CLI as a user runs it."""

    def __init__(self, tmp_path: Path) -> None:
        self.root, self.db = tmp_path / "m", tmp_path / "e.sqlite"

    def run(self, *args: str, token: str = TOKEN, color: bool = False) -> Result:
        where = ["--emulator", str(self.db), "--var", f"HOOK_TOKEN={token}"]
        return CliRunner().invoke(cli, [*args, *where], catch_exceptions=False, color=color)

    def plan(self, *args: str, token: str = TOKEN, color: bool = False) -> Result:
        return self.run("plan", str(self.root), *args, token=token, color=color)

    def apply(self, text: str) -> None:
        write(self.root, text)
        result = self.run("apply", str(self.root), "--auto-approve")
        assert result.exit_code == 0, result.output


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    """``BEFORE`` applied, ``AFTER`` written: one change of every kind pending."""
    space = Workspace(tmp_path)
    space.apply(BEFORE)
    write(space.root, AFTER)
    return space


def main(*args: str, env: dict[str, str] | None = None, **kwargs: object):
    """``python -m reconciler ARGS``, as the console script runs (errors handled by ``main``)."""
    return subprocess.run(
        [sys.executable, "-m", "reconciler", *args],
        capture_output=True,
        text=True,
        env=env if env is not None else os.environ.copy(),
        check=False,
        **kwargs,
    )


def test_text_output_like_terraform(workspace: Workspace) -> None:
    result = workspace.plan()
    assert (result.exit_code, result.output) == (0, EXPECTED_TEXT)


def test_no_changes_says_so(workspace: Workspace) -> None:
    workspace.apply(AFTER)
    result = workspace.plan("--detailed-exitcode")
    assert (result.exit_code, result.output) == (
        0,
        "No changes. The Hume account matches the manifests.\n",
    )


def test_detailed_exitcode_two_when_there_are_changes(workspace: Workspace) -> None:
    assert workspace.plan("--detailed-exitcode").exit_code == 2


def test_colour_only_when_asked_for_a_terminal(workspace: Workspace) -> None:
    coloured = workspace.plan(color=True).output
    assert '\x1b[32m\x1b[1m  + prompt "fresh": will be created' in coloured
    assert '\x1b[31m\x1b[1m  - prompt "old"' in coloured
    assert coloured.count("\x1b[33m") == 4
    assert "\x1b[" not in workspace.plan().output


def test_colour_on_a_tty_and_none_in_a_pipe(workspace: Workspace) -> None:
    args = [
        "plan",
        str(workspace.root),
        "--emulator",
        str(workspace.db),
        "--var",
        "HOOK_TOKEN=x-token-1",
    ]
    piped = main(*args)
    assert piped.returncode == 0, piped.stderr
    assert "\x1b" not in piped.stdout and "Plan: 1 to create" in piped.stdout
    leader, follower = pty.openpty()
    with os.fdopen(leader, "rb", buffering=0) as terminal:
        process = subprocess.Popen(
            [sys.executable, "-m", "reconciler", *args], stdout=follower, stderr=subprocess.PIPE
        )
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = terminal.read(4096)
            except OSError:  # the follower side closed: EIO on Linux
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert process.wait() == 0
    assert b"\x1b[32m" in b"".join(chunks)


def test_json_has_every_action_field_reason_and_the_fingerprint(workspace: Workspace) -> None:
    result = workspace.plan("--format", "json")
    document = json.loads(result.output)
    assert document["format_version"] == 2
    assert document["fingerprint"].startswith("sha256:") and len(document["fingerprint"]) == 71
    assert (document["path"], document["targets"]) == (str(workspace.root), [])
    assert document["summary"] == {
        "create": 1,
        "rename": 1,
        "new_version": 3,
        "update_description": 1,
        "delete": 1,
    }
    changes = {f"{c['kind']}/{c['name']}": c for c in document["changes"]}
    assert {address: c["actions"] for address, c in changes.items()} == {
        "prompts/greeter": ["new_version"],
        "prompts/farewell": ["rename", "update_description"],
        "prompts/old": ["delete"],
        "prompts/fresh": ["create"],
        "tools/lookup": ["new_version"],
        "configs/front-desk": ["new_version"],
    }
    config = changes["configs/front-desk"]
    assert config["address"] == "configs/front-desk"
    assert config["reasons"] == [
        {"type": "dependency_new_version", "subject": "prompts/greeter"},
        {"type": "dependency_new_version", "subject": "tools/lookup"},
    ]
    greeter_v0 = {"kind": "prompts", "name": "greeter", "version": 0, "pending": None}
    lookup_v0 = {"kind": "tools", "name": "lookup", "version": 0, "pending": None}
    assert config["fields"] == [
        {
            "path": "prompt",
            "before": greeter_v0,
            "after": {**greeter_v0, "version": None, "pending": "new_version"},
            "reference": True,
        },
        {
            "path": "tools",
            "before": [lookup_v0],
            "after": [{**lookup_v0, "version": None, "pending": "new_version"}],
            "reference": True,
        },
    ]
    assert config["refs"] == [
        {"field": "prompt", "target": "prompts/greeter", "id": None, "version": None},
        {"field": "tools", "target": "tools/lookup", "id": None, "version": None},
    ]
    assert config["depends_on"] == ["prompts/greeter", "tools/lookup"]
    assert changes["prompts/old"]["depends_on"] == ["configs/front-desk"]
    assert changes["prompts/farewell"]["description"] == {
        "path": "version_description",
        "before": "",
        "after": "now described",
        "reference": False,
    }
    assert changes["prompts/farewell"]["live_name"] == "closer"
    assert changes["prompts/greeter"]["fields"] == [
        {
            "path": "text",
            "before": "Hello there\nBe kind\n",
            "after": "Hello there\nBe very kind\n",
            "reference": False,
        }
    ]
    assert TOKEN not in result.output
    assert json.loads(workspace.plan("--format", "json").output) == document


def test_markdown_has_one_collapsible_block_per_changed_resource(workspace: Workspace) -> None:
    output = workspace.plan("--format", "markdown").output
    assert output.startswith(
        "### evictl plan\n\n"
        "**Plan: 1 to create, 3 new versions, 1 rename, 1 description update, 1 to delete.**\n"
    )
    assert output.count("<details><summary>") == output.count("</details>") == 6
    assert (
        '<details><summary><code>~ config "front-desk": new version (live v0)  [evi.yaml:20]'
        '</code></summary>\n\n```diff\n! prompt: "greeter v0" → "greeter (new version)"\n'
    ) in output
    assert (
        "| `~` | config <code>front-desk</code> | new version (live v0) "
        "| prompt greeter → new version; tool lookup → new version |"
    ) in output


def test_out_saves_the_json_plan(workspace: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    shown = workspace.plan("--format", "json", "--out", str(out)).output
    assert out.read_text(encoding="utf-8") == shown
    assert read_saved_plan(out) == json.loads(shown)
    text = workspace.plan("--out", str(out)).output
    assert text == EXPECTED_TEXT
    assert json.loads(out.read_text(encoding="utf-8")) == json.loads(shown)


def test_target_limits_the_plan(workspace: Workspace) -> None:
    def addresses(*targets: str) -> list[str]:
        args = [arg for target in targets for arg in ("--target", target)]
        document = json.loads(workspace.plan("--format", "json", *args).output)
        assert document["targets"] == list(targets)
        return [f"{c['kind']}/{c['name']}" for c in document["changes"]]

    assert addresses("configs/front-desk") == [
        "prompts/greeter",
        "tools/lookup",
        "configs/front-desk",
    ]
    assert addresses("prompts/fresh", "prompt/old") == ["prompts/old", "prompts/fresh"]
    assert "Plan: 1 to create, 0 new versions" in workspace.plan("--target", "prompts/fresh").output


def test_a_rotated_secret_is_redacted_in_every_format(workspace: Workspace, tmp_path: Path) -> None:
    """The live side holds the old secret, which the manifests no longer know."""
    out = tmp_path / "plan.json"
    outputs = [
        workspace.plan(*fmt, "--out", str(out), token=ROTATED).output
        for fmt in ([], ["--format", "json"], ["--format", "markdown"])
    ]
    outputs.append(out.read_text(encoding="utf-8"))
    for output in outputs:
        assert TOKEN not in output and ROTATED not in output
    assert (
        '~ webhooks[0].url: "https://hooks.example.com/(secret; differs)" → '
        '"https://hooks.example.com/(secret)"'
    ) in outputs[0]
    document = json.loads(outputs[1])
    (config,) = [c for c in document["changes"] if c["name"] == "front-desk"]
    assert config["body"]["webhooks"][0]["url"] == "https://hooks.example.com/(secret)"


def test_a_created_config_shows_its_body_with_secrets_redacted(tmp_path: Path) -> None:
    space = Workspace(tmp_path)
    write(space.root, BEFORE)
    result = space.plan("--target", "configs/front-desk")
    assert result.output == (
        '  + prompt "greeter": will be created  [evi.yaml:2]\n'
        "      + text:\n"
        "          Hello there\n"
        "          Be kind\n"
        '      + version_description: "first"\n'
        "\n"
        '  + tool "lookup": will be created  [evi.yaml:12]\n'
        '      + description: "Look something up"\n'
        "      + parameters:\n"
        "          type: object\n"
        "          properties:\n"
        "            q: {type: string}\n"
        "\n"
        '  + config "front-desk": will be created  [evi.yaml:16]\n'
        "      because prompt greeter → created\n"
        "      because tool lookup → created\n"
        '      + evi_version: "3"\n'
        '      + webhooks: [{"url": "https://hooks.example.com/(secret)", '
        '"events": ["chat_ended"]}]\n'
        '      + prompt: "greeter"\n'
        '      + tools: ["lookup"]\n'
        "\n"
        "Plan: 3 to create, 0 new versions, 0 renames, 0 description updates, 0 to delete.\n"
    )


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            ("prompt: greeter", "prompt: {id: 00000000-0000-0000-0000-000000000007}"),
            "error: evi.yaml:20: prompt 00000000-0000-0000-0000-000000000007 "
            "does not exist in Hume\n",
        ),
        (
            ('evi_version: "3"', "evi_version: 3"),
            "evi.yaml:21:5: configs[0].evi_version: must be a string",
        ),
    ],
    ids=["missing-external-ref", "invalid-manifest"],
)
def test_bad_input_is_a_message_and_exit_1(
    workspace: Workspace, edit: tuple[str, str], message: str
) -> None:
    write(workspace.root, AFTER.replace(*edit))
    args = ["plan", str(workspace.root), "--emulator", str(workspace.db), "--detailed-exitcode"]
    result = main(*args, "--var", "HOOK_TOKEN=x-token-1")
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.startswith(message)
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("greeter", "expected KIND/NAME, such as prompts/greeter (kinds: prompts, tools, configs)"),
        (
            "prompts/",
            "expected KIND/NAME, such as prompts/greeter (kinds: prompts, tools, configs)",
        ),
        ("promts/greeter", "unknown kind 'promts'; did you mean 'prompts'?"),
        (
            "prompt/Greeter",
            "no prompt named 'Greeter' in the manifests; did you mean 'prompts/greeter'?",
        ),
        (
            "prompts/greter",
            "no prompt named 'greter' in the manifests; did you mean 'prompts/greeter'?",
        ),
        ("configs/zzz", "no config named 'zzz' in the manifests"),
    ],
)
@pytest.mark.parametrize("option", ["--target", "--ignore"])
def test_addresses_are_checked_with_a_hint(
    tmp_path: Path, option: str, given: str, message: str
) -> None:
    root = write(tmp_path / "m", BEFORE)
    command = "plan" if option == "--target" else "drift"
    args = [command, str(root), "--emulator", str(tmp_path / "e"), option, given]
    result = CliRunner().invoke(cli, [*args, "--var", "HOOK_TOKEN=x-token-1"])
    assert str(result.exception) == f"{option} {given}: {message}"
    assert not (tmp_path / "e").exists()


def test_a_target_is_taken_in_any_case_of_kind(workspace: Workspace) -> None:
    document = json.loads(workspace.plan("--target", "Prompt/fresh", "--format", "json").output)
    assert [c["address"] for c in document["changes"]] == ["prompts/fresh"]


def test_no_color_and_the_no_color_flag_win_even_for_colour_requests(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "\x1b[" in workspace.plan(color=True).output
    assert "\x1b[" not in workspace.plan("--no-color", color=True).output
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b[" not in workspace.plan(color=True).output
    drift = CliRunner().invoke(
        cli,
        [
            "drift",
            str(workspace.root),
            "--emulator",
            str(workspace.db),
            "--var",
            "HOOK_TOKEN=x-token-1",
        ],
        color=True,
    )
    assert drift.exit_code == 2 and "\x1b[" not in drift.output


def test_unknown_target_and_missing_key_are_messages(tmp_path: Path) -> None:
    root = write(tmp_path / "m", BEFORE)
    env = {k: v for k, v in os.environ.items() if k != "HUME_API_KEY"}
    env["HOOK_TOKEN"] = TOKEN
    unknown = main("plan", str(root), "--emulator", str(tmp_path / "e"), "--target", "x/y", env=env)
    assert (unknown.returncode, unknown.stderr) == (
        1,
        "error: --target x/y: unknown kind 'x' (kinds: prompts, tools, configs)\n",
    )
    keyless = main("plan", str(root), "--base-url", "http://127.0.0.1:9", env=env)
    assert keyless.returncode == 1
    assert keyless.stderr.startswith("error: HUME_API_KEY is not set")
    assert "Traceback" not in keyless.stderr + unknown.stderr
