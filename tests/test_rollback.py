"""``evictl rollback KIND/NAME --to VERSION`` on the embedded emulator: the new version repeats
the old one exactly (a config's pins too), refusals, confirmation, and what drift says after."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from reconciler.client import HumeClient
from reconciler.errors import UserError
from reconciler.kinds import KINDS
from reconciler.kinds.configs import LiveConfig
from reconciler.manifest import Manifests
from reconciler.rollback import restore
from reconciler.workflow import Connection
from tests.apply_support import InProcess, evictl, inventory, live, pins, with_client
from tests.conftest import KEY, RunningEmulator
from tests.plan_support import write
from tests.test_apply_cli import account as account  # fixtures: the embedded account
from tests.test_apply_cli import db as db

FIRST = """\
prompts:
  - name: greeter
    text: Hello
tools:
  - name: lookup
    description: Look something up
    parameters: {type: object, properties: {q: {type: string}}}
configs:
  - name: desk
    evi_version: "3"
    version_description: first
    prompt: greeter
    tools: [lookup]
"""
SECOND = """\
prompts:
  - name: greeter
    text: "Hello again,\\nhow can I help?"
tools:
  - name: lookup
    description: Look it up
    parameters: {type: object}
configs:
  - name: desk
    evi_version: "3"
    version_description: second
    prompt: greeter
    tools: [lookup]
    nudges: {enabled: true, interval_secs: 30}
"""


@pytest.fixture
def second(tmp_path: Path, db: Path) -> Path:
    """An account where every resource has v0 (``FIRST``) and v1 (``SECOND``); SECOND's root."""
    for name, text in (("first", FIRST), ("second", SECOND)):
        root = write(tmp_path / name, text)
        result = evictl("apply", root, "--emulator", db, "--auto-approve")
        assert result.exit_code == 0, result.output
    return tmp_path / "second"


def entry(output: str) -> str:
    """The manifest entry a rollback prints, as a file would hold it."""
    lines = output.split("as `evictl export` writes it:\n\n", 1)[1].split("\n\n", 1)[0]
    return "".join(line[2:] + "\n" for line in lines.splitlines())


def assert_entry_keeps_it(tmp_path: Path, db: Path, output: str) -> None:
    """The printed entry, as the only manifest, describes the account exactly: no drift."""
    root = tmp_path / "kept"
    root.mkdir()
    (root / "evi.yaml").write_text(entry(output), encoding="utf-8")
    drift = evictl("drift", root, "--emulator", db)
    assert drift.exit_code == 0, drift.output


def test_a_prompt_rolls_back_and_drift_then_calls_it_ahead(
    tmp_path: Path, db: Path, account: Connection, second: Path
) -> None:
    result = evictl("rollback", "prompts/greeter", "--to", "0", "--emulator", db, "--auto-approve")

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(
        "Rollback of prompt 'greeter' to v0: a new version with its settings, on top of live v1.\n"
        "Values are shown as Hume holds them: without manifests (PATH), evictl cannot tell which "
        "are secrets.\n"
        '  ~ prompt "greeter": new version (live v1)\n'
    )
    assert "Its values are written as Hume holds them: no manifest entry (PATH)" in result.stdout
    assert "[1/1] done    prompt greeter: new_version → v2" in result.stdout
    assert "prompt 'greeter' v2 now repeats v0." in result.stdout
    assert entry(result.stdout) == "prompts:\n  - name: greeter\n    text: Hello\n"
    assert live(account, "prompts", "greeter").text == "Hello"
    assert inventory(account)["prompts"] == {"greeter": [0, 1, 2]}
    assert_entry_keeps_it(tmp_path, db, result.stdout)

    drift = evictl("drift", second, "--emulator", db)
    assert drift.exit_code == 2, drift.output
    assert "prompt 'greeter': live version ahead of the manifests" in drift.stdout
    assert "live version 2" in drift.stdout and "(version 1 was)" in drift.stdout

    again = evictl("rollback", "prompts/greeter", "--to", "0", "--emulator", db, "--auto-approve")
    assert (again.exit_code, again.stdout) == (
        0,
        "prompt 'greeter': live v2 already has the settings of v0; nothing to do.\n",
    )
    assert inventory(account)["prompts"] == {"greeter": [0, 1, 2]}


def test_a_tool_rolls_back_to_its_old_parameters_and_description(
    tmp_path: Path, db: Path, account: Connection, second: Path
) -> None:
    result = evictl("rollback", "tool/lookup", "--to", "0", "--emulator", db, "--auto-approve")

    assert result.exit_code == 0, result.output
    assert '~ description: "Look it up" → "Look something up"' in result.stdout
    restored = live(account, "tools", "lookup")
    assert restored.version == 2
    assert json.loads(restored.parameters) == {
        "type": "object",
        "properties": {"q": {"type": "string"}},
    }
    assert restored.description == "Look something up"
    assert_entry_keeps_it(tmp_path, db, result.stdout)


def test_a_config_rolls_back_with_exactly_the_prompt_and_tool_versions_it_pinned(
    tmp_path: Path, db: Path, account: Connection, second: Path
) -> None:
    assert pins(account, "desk") == {"prompt": "greeter v1", "tools": ["lookup v1"]}

    result = evictl("rollback", "configs/desk", "--to", "0", "--emulator", db, "--auto-approve")

    assert result.exit_code == 0, result.output
    assert '~ prompt: "greeter v1" → "greeter v0"' in result.stdout
    assert '~ tools: ["lookup v1"] → ["lookup v0"]' in result.stdout
    assert pins(account, "desk") == {"prompt": "greeter v0", "tools": ["lookup v0"]}
    config = live(account, "configs", "desk")
    assert isinstance(config, LiveConfig)
    assert (config.version, config.version_description) == (2, "first")
    assert config.nudges == live_version(account, "configs", "desk", 0).nudges
    assert inventory(account)["prompts"] == {"greeter": [0, 1]}  # nothing else moved
    printed = entry(result.stdout)
    prompt_id = live(account, "prompts", "greeter").id
    assert f'prompt: {{id: {prompt_id}, version: 0}}  # prompt "greeter" v0 (the latest is v1)' in (
        printed
    )
    assert_entry_keeps_it(tmp_path, db, result.stdout)

    drift = evictl("drift", second, "--emulator", db)
    assert drift.exit_code == 2, drift.output
    assert "config 'desk': live version ahead of the manifests" in drift.stdout


def live_version(account: Connection, kind: str, name: str, version: int) -> LiveConfig:
    found = live(account, kind, name)
    return with_client(account, lambda client: client.get_version(kind, found.id, version))


HOOKED = FIRST + (
    "    webhooks:\n"
    "      - url: https://hooks.example.com/evi?token=${secret:HOOK_TOKEN}  # rotated monthly\n"
    "        events: [chat_started]\n"
)
OLD_TOKEN, NEW_TOKEN = "tok-8f2e61c3a9", "tok-77d04be5c1"


def hooked_account(tmp_path: Path, db: Path, second_token: str) -> Path:
    """desk v0 with its webhook's token ``OLD_TOKEN``, v1 with nudges and ``second_token``;
    the manifests' root (v1's)."""
    root = write(tmp_path / "m", HOOKED)
    applied = evictl(
        "apply", root, f"--var=HOOK_TOKEN={OLD_TOKEN}", "--emulator", db, "--auto-approve"
    )
    assert applied.exit_code == 0, applied.output
    write(root, HOOKED + "    nudges: {enabled: true, interval_secs: 30}\n")
    token = f"--var=HOOK_TOKEN={second_token}"
    applied = evictl("apply", root, token, "--emulator", db, "--auto-approve")
    assert applied.exit_code == 0, applied.output
    return root


def test_with_the_manifests_the_entry_names_what_they_define_and_keeps_their_secrets(
    tmp_path: Path, db: Path, account: Connection
) -> None:
    root = hooked_account(tmp_path, db, OLD_TOKEN)
    secret = f"--var=HOOK_TOKEN={OLD_TOKEN}"

    result = evictl(
        "rollback", "configs/desk", root, secret, "--to", "0", "--emulator", db, "--auto-approve"
    )

    assert result.exit_code == 0, result.output
    assert OLD_TOKEN not in result.output
    assert "To keep it, the manifests must say (the entry at evi.yaml:9)" in result.stdout
    assert "Hume holds them" not in result.stdout
    printed = entry(result.stdout)
    assert "(secret)" not in printed
    assert "    prompt: greeter\n    tools: [lookup]\n" in printed
    assert (
        "url: https://hooks.example.com/evi?token=${secret:HOOK_TOKEN}  # rotated monthly\n"
    ) in printed
    assert "warning" not in result.stdout
    kept = write(tmp_path / "kept", FIRST.split("configs:")[0])
    write(kept, printed, "configs.yaml")
    planned = evictl("plan", kept, secret, "--emulator", db)
    assert planned.exit_code == 0, planned.output
    assert "No changes" in planned.stdout


@pytest.mark.parametrize("applied", [True, False], ids=["rotated-and-applied", "rotated-since"])
def test_a_secret_rotated_since_is_never_printed_and_the_entry_keeps_it(
    tmp_path: Path, db: Path, account: Connection, applied: bool
) -> None:
    """v0 holds the old token; the secret now resolves to the new one (applied to v1, or not
    yet): neither token is printed, the plan masks the slot, and the entry keeps
    ``${secret:HOOK_TOKEN}`` with a warning naming the field."""
    root = hooked_account(tmp_path, db, NEW_TOKEN if applied else OLD_TOKEN)

    result = evictl(
        "rollback", "configs/desk", root, f"--var=HOOK_TOKEN={NEW_TOKEN}", "--to", "0",
        "--emulator", db, "--auto-approve",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    for token in (OLD_TOKEN, NEW_TOKEN):
        assert token not in result.stdout and token not in result.stderr
    if applied:
        assert "https://hooks.example.com/evi?token=(secret)" in result.stdout  # the plan
    printed = entry(result.stdout)
    assert "(secret)" not in printed
    assert "url: https://hooks.example.com/evi?token=${secret:HOOK_TOKEN}" in printed
    assert (
        "warning: evi.yaml:15: configs/desk: webhooks[0].url: v0 holds another value here than "
        "the entry's ${secret:...} resolves to now"
    ) in result.stdout
    desk = live(account, "configs", "desk")
    assert desk.webhooks[0]["url"] == f"https://hooks.example.com/evi?token={OLD_TOKEN}"


def test_json_masks_a_rotated_secret_in_the_plan_and_the_entry(
    tmp_path: Path, db: Path, account: Connection
) -> None:
    root = hooked_account(tmp_path, db, NEW_TOKEN)

    result = evictl(
        "rollback", "configs/desk", root, f"--var=HOOK_TOKEN={NEW_TOKEN}", "--to", "0",
        "--emulator", db, "--auto-approve", "--format", "json",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert OLD_TOKEN not in result.stdout and NEW_TOKEN not in result.stdout
    document = json.loads(result.stdout)
    assert "${secret:HOOK_TOKEN}" in document["manifest"]
    assert [(n["field"], n["outcome"]) for n in document["notices"]] == [
        ("webhooks[0].url", "secret_kept")
    ]


def test_the_latest_version_is_nothing_to_do(db: Path, account: Connection, second: Path) -> None:
    result = evictl("rollback", "configs/desk", "--to", "1", "--emulator", db)

    assert (result.exit_code, result.stdout) == (
        0,
        "config 'desk': v1 is already its latest version; nothing to do.\n",
    )
    assert inventory(account)["configs"] == {"desk": [0, 1]}


@pytest.mark.parametrize(
    ("target", "version", "message"),
    [
        ("configs/desk", "7", "config 'desk' has no version 7 (its versions: 0-1)"),
        (
            "prompts/greter",
            "0",
            "rollback prompts/greter: no prompt named 'greter' in Hume; "
            "did you mean 'prompts/greeter'?",
        ),
        ("greeter", "0", "rollback greeter: expected KIND/NAME, such as prompts/greeter"),
    ],
)
def test_what_is_not_there_is_refused(
    db: Path, account: Connection, second: Path, target: str, version: str, message: str
) -> None:
    result = evictl("rollback", target, "--to", version, "--emulator", db, "--auto-approve")

    assert result.exit_code == 1
    assert isinstance(result.exception, UserError)
    assert str(result.exception).startswith(message)
    assert inventory(account)["configs"] == {"desk": [0, 1]}


def test_without_a_terminal_it_needs_auto_approve(
    db: Path, account: Connection, second: Path
) -> None:
    result = evictl("rollback", "configs/desk", "--to", "0", "--emulator", db)

    assert result.exit_code == 1
    assert "no terminal to confirm on" in str(result.exception)
    assert '~ config "desk": new version (live v1)' in result.stdout  # shown, then refused
    assert inventory(account)["configs"] == {"desk": [0, 1]}
    json_asked = evictl("rollback", "configs/desk", "--to", "0", "--emulator", db, "--format=json")
    assert "--format json prints no plan to confirm" in str(json_asked.exception)


def test_json_reports_the_plan_the_outcome_and_the_entry(
    db: Path, account: Connection, second: Path
) -> None:
    result = evictl(
        "rollback", "prompts/greeter", "--to", "0", "--emulator", db, "--auto-approve",
        "--format", "json",
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert {key: document[key] for key in ("address", "to_version", "live_version", "status")} == {
        "address": "prompts/greeter",
        "to_version": 0,
        "live_version": 1,
        "status": "applied",
    }
    assert [change["actions"] for change in document["plan"]["changes"]] == [["new_version"]]
    assert [(o["status"], o["version"]) for o in document["outcomes"]] == [("done", 2)]
    assert document["manifest"] == "prompts:\n  - name: greeter\n    text: Hello\n"


def test_a_pin_deleted_while_the_rollback_reads_is_refused() -> None:
    hume = InProcess()

    async def scenario(client: HumeClient) -> None:
        prompt = await client.create("prompts", {"name": "greeter", "text": "Hello"})
        await client.create_version("prompts", prompt.id, {"text": "Hello again"})
        pinned = {"evi_version": "3", "prompt": {"id": prompt.id, "version": 0}}
        config = await client.create("configs", {"name": "desk", **pinned})
        newer = {**pinned, "prompt": {"id": prompt.id, "version": 1}}
        await client.create_version("configs", config.id, newer)

        async def delete_it(request: httpx.Request, response: httpx.Response) -> httpx.Response:
            """Someone deletes prompt v0 in the portal right after the rollback read config v0."""
            if request.url.path == f"/v0/evi/configs/{config.id}/version/0":
                hume.emulator.store.delete_version("prompts", prompt.id, 0)
            return response

        hume.after = delete_it
        with pytest.raises(UserError) as refused:
            await restore(
                client, KINDS["configs"], "desk", 0, Manifests(),
                approve=lambda *_: True, report=lambda _: None,
            )  # fmt: skip
        assert str(refused.value) == (
            "config 'desk' v0 pins prompt 'greeter' v0, deleted from Hume since: it cannot be "
            "restored exactly; roll back to another version"
        )
        assert [v.version for v in await client.list_versions("configs", config.id)] == [0, 1]

    with_client(hume, scenario)


def test_a_pin_deleted_before_is_left_out_by_hume_and_the_plan_warns(
    db: Path, account: Connection, second: Path
) -> None:
    greeter = live(account, "prompts", "greeter")
    with_client(account, lambda client: client.delete_version("prompts", greeter.id, 0))

    result = evictl("rollback", "configs/desk", "--to", "0", "--emulator", db)

    assert result.exit_code == 1  # no terminal: shown, not applied
    assert (
        "! prompt: v0 references none where live v1 references 1. Hume leaves a version deleted "
        "since out of its answer: if v0 used one, the rollback drops it\n"
    ) in result.stdout
    assert '~ prompt: "greeter v1" → (none)' in result.stdout
    document = json.loads(
        evictl(
            "rollback", "configs/desk", "--to", "0", "--emulator", db, "--format", "json",
            "--auto-approve",
        ).stdout
    )  # fmt: skip
    assert document["drops_references"] == ["prompt"]  # said in JSON too, not only in words


def test_a_rollback_to_what_the_manifests_say_leaves_them_nothing_to_change(
    db: Path, account: Connection, second: Path
) -> None:
    back = evictl("rollback", "prompts/greeter", "--to", "0", "--emulator", db, "--auto-approve")
    assert back.exit_code == 0, back.output

    result = evictl(
        "rollback", "prompts/greeter", second, "--to", "1", "--emulator", db, "--auto-approve"
    )

    assert result.exit_code == 0, result.output
    assert result.stdout.endswith(
        "prompt 'greeter' v3 now repeats v1, which the manifests describe (the entry at "
        "evi.yaml:2): nothing to change in them.\n"
    )
    drift = evictl("drift", second, "--emulator", db)
    assert "prompt 'greeter'" not in drift.stdout
    # a config pins prompt versions: it still pins v1, not the rollback's v3, until an apply
    assert drift.stdout.startswith("  ! config 'desk': pinned to an older version")


def test_no_usage_reads_no_chats(
    tmp_path: Path, emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A config's rollback reads its chats for the live-traffic note, unless ``--no-usage``."""
    monkeypatch.setenv("HUME_API_KEY", KEY)
    for name, text in (("first", FIRST), ("second", SECOND)):
        root = write(tmp_path / name, text)
        applied = evictl("apply", root, "--base-url", emulator.url, "--auto-approve")
        assert applied.exit_code == 0, applied.output

    def chat_reads(*flags: str) -> list[str]:
        before = len(httpx.get(f"{emulator.url}/_emulator/requests").json()["requests"])
        result = evictl(
            "rollback", "configs/desk", "--to", "0", "--base-url", emulator.url,
            "--auto-approve", *flags,
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        log = httpx.get(f"{emulator.url}/_emulator/requests").json()["requests"][before:]
        return [entry["path"] for entry in log if entry["path"].startswith("/v0/evi/chats")]

    assert chat_reads("--no-usage") == []
    back = evictl(
        "rollback", "configs/desk", "--to", "1", "--base-url", emulator.url, "--auto-approve"
    )
    assert back.exit_code == 0, back.output
    assert chat_reads() != []


def test_an_old_value_that_no_longer_fits_the_entry_is_masked_whole(
    tmp_path: Path, db: Path, account: Connection
) -> None:
    """v0 called another host with the old token: where its secret sits in that value cannot be
    told from the entry's template, so the plan masks all of it."""
    root = write(tmp_path / "m", HOOKED.replace("hooks.example.com", "old-hooks.example.com"))
    token = f"--var=HOOK_TOKEN={OLD_TOKEN}"
    assert evictl("apply", root, token, "--emulator", db, "--auto-approve").exit_code == 0
    write(root, HOOKED)
    token = f"--var=HOOK_TOKEN={NEW_TOKEN}"
    assert evictl("apply", root, token, "--emulator", db, "--auto-approve").exit_code == 0

    result = evictl(
        "rollback", "configs/desk", root, token, "--to", "0", "--emulator", db, "--auto-approve"
    )

    assert result.exit_code == 0, result.output
    assert OLD_TOKEN not in result.output and NEW_TOKEN not in result.output
    assert '~ webhooks[0].url: "(secret; differs)" → "(secret)"' in result.stdout
    assert "token=${secret:HOOK_TOKEN}" in entry(result.stdout)
    assert "warning: evi.yaml:15: configs/desk: webhooks[0].url: v0 holds" in result.stdout


TWO_TOOLS = """\
tools:
  - name: lookup
    description: {text}
    parameters: {{type: object}}
  - name: weather
    parameters: {{type: object}}
configs:
  - name: desk
    evi_version: "3"
    tools: [lookup, weather]
"""


def test_an_entry_whose_flow_list_gets_a_comment_turns_to_block_style(tmp_path: Path) -> None:
    root, db = tmp_path / "m", tmp_path / "e.sqlite"
    for text in ("Look it up", "Look it up, again"):
        write(root, TWO_TOOLS.format(text=text))
        assert evictl("apply", root, "--emulator", db, "--auto-approve").exit_code == 0
    result = evictl(
        "rollback", "configs/desk", root, "--to", "0", "--emulator", db, "--auto-approve"
    )
    assert result.exit_code == 0, result.output
    entry = result.stdout[result.stdout.index("configs:") :]
    assert "- {id: " in entry and '# tool "lookup" v0' in entry and "- weather" in entry
    assert not any(line.startswith(",") for line in entry.splitlines())  # no [ ... # ...\n, ]
