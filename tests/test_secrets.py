"""Secrets by position: exactly the substituted span is hidden, in every field and every output,
whatever escaping an output applies; the rest of the value stays visible."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from click.testing import CliRunner, Result

from reconciler.cli import cli
from reconciler.kinds import KINDS
from reconciler.manifest.model import redact
from reconciler.secrets import DIFFERS, MAY_DIFFER, SECRET, SecretSpan, template
from reconciler.workflow import Connection
from tests.apply_support import with_client
from tests.plan_support import write

HOOK = SecretSpan(
    path="webhooks[0].url",
    keys=("webhooks", "url"),
    parts=("https://hooks.acme.example/evi?token=", None, ""),
)


def no_redaction(text: str) -> str:
    return text


@pytest.mark.parametrize(
    ("live", "shown"),
    [
        (
            "https://hooks.acme.example/evi?token=abc123",
            f"https://hooks.acme.example/evi?token={SECRET}",
        ),
        (
            "https://hooks.acme.example/evi?token=OLD",
            f"https://hooks.acme.example/evi?token={DIFFERS}",
        ),
        ("https://evil.example/evi?token=abc123", f"https://evil.example/evi?token={SECRET}"),
        ("https://evil.example/evi?token=OLD", f"https://{MAY_DIFFER}"),
        ("ftp://x/OLD", MAY_DIFFER),
    ],
    ids=["same", "rotated", "host-edited", "host-and-token-edited", "unrelated"],
)
def test_a_live_value_is_masked_where_the_template_places_the_secret(live: str, shown: str) -> None:
    assert HOOK.mask_live(live, lambda text: redact(text, {"abc123"})) == shown


def test_a_template_splits_around_every_secret() -> None:
    assert template("a-S1-b-S2", {"S1", "S2"}) == ("a-", None, "-b-", None, "")
    assert template("plain", set()) == ("plain",)


@pytest.mark.parametrize("secret", ['quo"te\\back\tslash', "ünïcødé-sécret", "a b&c=d/e"])
def test_redaction_by_value_covers_escaped_forms(secret: str) -> None:
    forms = [secret, json.dumps(secret)[1:-1], quote(secret, safe=""), quote_plus(secret)]
    text = " | ".join(forms)
    assert redact(text, {secret}) == " | ".join([SECRET] * len(forms))


TOOL = """\
tools:
  - name: crm
    description: CRM lookup
    parameters:
      type: object
      properties:
        key: {type: string, default: "${secret:CRM_KEY}"}
        note: {type: string, default: "visible ${WHO}"}
prompts:
  - name: greeter
    text: "Hello. The code word is ${secret:WORD}. Be brief."
configs:
  - name: desk
    evi_version: "3"
    prompt: greeter
    tools: [crm]
    webhooks: [{url: "https://hooks.acme.example/evi?token=${secret:HOOK}", events: [chat_ended]}]
"""
HARD = {"CRM_KEY": 'k"e\\y\twith-ünïcødé', "WORD": "swordfish-42", "HOOK": "hook/tok en&=1"}


def run(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, [str(arg) for arg in args], env=env)


def leaks(output: str) -> list[str]:
    """Every form of a secret value that ``output`` contains."""
    found = []
    for secret in HARD.values():
        forms = {
            secret,
            json.dumps(secret)[1:-1],
            json.dumps(secret, ensure_ascii=False)[1:-1],
            quote(secret, safe=""),
            quote_plus(secret),
        }
        found += [form for form in forms if form in output]
    found += [part for secret in HARD.values() for part in _parts(secret) if part in output]
    return found


def _parts(secret: str) -> list[str]:
    """Halves of a secret: a partial leak counts too."""
    return [secret[: len(secret) // 2 + 1], secret[len(secret) // 2 :]]


def test_secrets_in_any_field_never_reach_any_output(tmp_path: Path) -> None:
    root, db = write(tmp_path / "m", TOOL), tmp_path / "e.sqlite"
    env = {**HARD, "WHO": "everyone"}
    outputs = []
    out = tmp_path / "plan.json"
    for fmt in ("text", "json", "markdown"):
        outputs.append(
            run("plan", root, "--emulator", db, "--format", fmt, "--out", out, env=env).output
        )
        outputs.append(out.read_text(encoding="utf-8"))
    applied = run("apply", root, "--emulator", db, "--auto-approve", env=env)
    assert applied.exit_code == 0, applied.output
    outputs.append(applied.output)
    rotated = {**env, "CRM_KEY": "n3w-crm-key-value", "WORD": "dolphin-77", "HOOK": "rotated-hook"}
    for fmt in ("text", "json", "markdown"):
        outputs.append(run("plan", root, "--emulator", db, "--format", fmt, env=rotated).output)
        outputs.append(run("drift", root, "--emulator", db, "--format", fmt, env=rotated).output)
    outputs.append(
        run(
            "apply", root, "--emulator", db, "--auto-approve", "--format", "json", env=rotated
        ).output
    )
    for index, output in enumerate(outputs):
        assert leaks(output) == [], (index, output)
    assert "visible everyone" in outputs[0]
    diff = run("plan", root, "--emulator", db, env={**rotated, "WORD": "otter-3"}).output
    assert "-Hello. The code word is (secret; differs). Be brief." in diff
    assert "+Hello. The code word is (secret). Be brief." in diff
    assert "dolphin-77" not in diff and "otter-3" not in diff


def test_a_portal_edit_of_the_host_is_visible_next_to_a_hidden_token(tmp_path: Path) -> None:
    root, db = write(tmp_path / "m", TOOL), tmp_path / "e.sqlite"
    env = {**HARD, "WHO": "everyone"}
    assert run("apply", root, "--emulator", db, "--auto-approve", env=env).exit_code == 0

    async def edit_host(client) -> None:
        (desk,) = await client.list("configs", name="desk")
        body = {k: v for k, v in KINDS["configs"].live_body(desk).items() if v is not None}
        body["webhooks"] = [
            {"url": f"https://evil.example/evi?token={HARD['HOOK']}", "events": ["chat_ended"]}
        ]
        await client.create_version("configs", desk.id, body)

    with_client(Connection(emulator=db), edit_host)
    text = run("plan", root, "--emulator", db, env=env).output
    assert (
        '~ webhooks[0].url: "https://evil.example/evi?token=(secret)" → '
        '"https://hooks.acme.example/evi?token=(secret)"'
    ) in text
    assert leaks(text) == []


@pytest.mark.parametrize("value", ["on", "1", "0", "abcde"])
def test_a_secret_too_short_to_hide_is_an_error_naming_it(tmp_path: Path, value: str) -> None:
    root = write(tmp_path / "m", TOOL)
    result = run("validate", root, env={**HARD, "WHO": "x", "WORD": value})
    assert result.exit_code == 1
    assert (
        f"evi.yaml:11:5: prompts[0].text: secret 'WORD' is {len(value)} character(s) long: too "
        "short to keep out of every output (at least 6)"
    ) in result.output
    assert "Traceback" not in result.output


ODD_KEYS = """\
tools:
  - name: odd
    parameters:
      type: object
      properties:
        "123": {type: string, default: "${secret:CRM}"}
        "api.key": {type: string, default: "${secret:CRM2}"}
        plain: {type: string, enum: ["${secret:CRM}", "visible-choice"]}
"""


def test_keys_with_dots_or_digits_do_not_let_an_old_secret_through(tmp_path: Path) -> None:
    root, db = write(tmp_path / "m", ODD_KEYS), tmp_path / "e.sqlite"
    old = {"CRM": "crmsecret111", "CRM2": "apikey111"}
    assert run("apply", root, "--emulator", db, "--auto-approve", env=old).exit_code == 0
    new = {"CRM": "crmsecret222", "CRM2": "apikey222"}
    for command in ("plan", "drift"):
        for fmt in ("text", "json", "markdown"):
            output = run(command, root, "--emulator", db, "--format", fmt, env=new).output
            for value in (*old.values(), *new.values()):
                assert value not in output, (command, fmt)
    text = run("plan", root, "--emulator", db, env=new).output
    assert '-  "123": {type: string, default: (secret; differs)}' in text


def test_no_api_key_variable_can_be_interpolated(tmp_path: Path) -> None:
    """A manifest (a pull request's) must not read the key into a plan or a PR comment."""
    root = tmp_path / "m"
    root.mkdir()
    (root / "evi.yaml").write_text(
        'prompts:\n  - name: p\n    text: "${HUME_API_KEY} ${KEY_PR}"\n', encoding="utf-8"
    )
    (root / "evictl.toml").write_text(
        '[environments.production]\napi_key_env = "KEY_PR"\n', encoding="utf-8"
    )
    env = {"HUME_API_KEY": "default-key-0000001", "KEY_PR": "production-key-000002"}
    for args in (["validate", str(root)], ["plan", str(root), "--env", "production"]):
        result = CliRunner(env=env).invoke(cli, args)
        said = result.output + str(result.exception)
        assert result.exit_code == 1, said
        assert "undefined variable 'HUME_API_KEY'" in said or "undefined variable 'KEY_PR'" in said
        assert not any(key in said for key in env.values())
