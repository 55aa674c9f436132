"""evictl export over a team's manifests: comments, absent entries, ${VAR} and ${secret:...}.

Every test runs the CLI over the embedded emulator and checks the files byte for byte.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from reconciler.client import HumeClient
from tests.test_export_roundtrip import against, plan_exit, run

TOKEN = "s3cr3t-hook-token"
ROTATED = "r0tated-hook-token"
HOOK = "https://hooks.example.com/evi?token="


def files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def write(root: Path, texts: dict[str, str]) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for name, text in texts.items():
        (root / name).write_text(text, encoding="utf-8")


def export(db: Path, out: Path, *extra: str) -> Result:
    result = run("export", "--out", str(out), "--emulator", str(db), *extra)
    assert result.exit_code == 0, result.output
    return result


def warnings(result: Result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("warning: ")]


def hooks(*urls: str) -> list[dict[str, Any]]:
    return [{"url": url, "events": ["chat_started"]} for url in urls]


# Comments and absent entries


PROMPTS = """\
# Team prompts.
prompts:
  # Alpha is our greeter.
  - name: alpha
    text: Be kind.   # keep it short
    # below alpha text
  # Beta goes away.
  - name: beta
    text: Be brief.
    # below beta
  # Gamma is retired.
  - name:   gamma   # retired
    previous_names: [ gamma-old ]
    absent:  true
# end of prompts
"""
TOOLS = """\
tools:
  - name: lookup
    # What it does.
    description: Finds things  # shown to the model
    # Parameters below.
    parameters:
      type: object  # always an object
# end of tools
"""
CONFIGS = """\
# Team configs.
configs:
  # The front desk.
  - name: desk  # beside name
    evi_version: "3"
    prompt: alpha
    tools:
      - lookup  # the only tool
    nudges:
      enabled: true
      interval_secs: 7  # seconds
      # nudge comment below
    webhooks:
      # first hook
      - url: https://hooks.example.com/a
        events: [chat_started]
      # second hook
      - url: https://hooks.example.com/b  # b
        events: [chat_ended]
        # below b
    # below webhooks
# end of configs
"""


def desk(alpha: str, lookup: str, version: int, interval: int, *webhooks: Any) -> dict:
    return {
        "evi_version": "3",
        "prompt": {"id": alpha, "version": version},
        "tools": [{"id": lookup, "version": version}],
        "nudges": {"enabled": True, "interval_secs": interval},
        "webhooks": list(webhooks),
    }


A_HOOK = {"url": "https://hooks.example.com/a", "events": ["chat_started"]}
B_HOOK = {"url": "https://hooks.example.com/b", "events": ["chat_ended"]}


@pytest.fixture
def team(tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    """An account, and the team's hand-edited manifests of it (comments everywhere)."""
    db = tmp_path / "e.sqlite"

    async def account(client: HumeClient) -> dict[str, str]:
        alpha = await client.create("prompts", {"name": "alpha", "text": "Be kind."})
        beta = await client.create("prompts", {"name": "beta", "text": "Be brief."})
        gamma = await client.create("prompts", {"name": "gamma", "text": "Old."})
        body = {"name": "lookup", "parameters": '{"type": "object"}', "description": "Finds things"}
        lookup = await client.create("tools", body)
        config = desk(alpha.id, lookup.id, 0, 7, A_HOOK, B_HOOK)
        front = await client.create("configs", {"name": "desk", **config})
        return {"alpha": alpha.id, "beta": beta.id, "gamma": gamma.id, "lookup": lookup.id,
                "desk": front.id}  # fmt: skip

    ids = against(db, account)
    out = tmp_path / "out"
    write(out, {"prompts.yaml": PROMPTS, "tools.yaml": TOOLS, "configs.yaml": CONFIGS})
    return db, out, ids


def test_reexport_keeps_every_comment_where_it_was(team: tuple[Path, Path, dict]) -> None:
    db, out, ids = team
    before = files(out)
    unchanged = export(db, out)
    assert files(out) == before
    assert unchanged.stdout.splitlines()[-2:] == [
        'absent: true in the manifests, left alone: prompts "gamma"',
        "0 files written, 3 unchanged, 0 removed",
    ]

    async def portal(client: HumeClient) -> None:
        await client.create_version("prompts", ids["alpha"], {"text": "Be very kind."})
        await client.delete("prompts", ids["beta"])
        await client.create("prompts", {"name": "delta", "text": "New."})
        await client.create_version("tools", ids["lookup"], {"parameters": '{"type": "object"}'})
        b_hook = {**B_HOOK, "events": ["chat_ended", "tool_call"]}
        c_hook = {"url": "https://hooks.example.com/c", "events": ["chat_started"]}
        config = desk(ids["alpha"], ids["lookup"], 1, 9, A_HOOK, b_hook, c_hook)
        await client.create_version("configs", ids["desk"], config)

    against(db, portal)
    result = export(db, out)
    assert warnings(result) == []
    assert (out / "prompts.yaml").read_text(encoding="utf-8") == (
        "# Team prompts.\n"
        "prompts:\n"
        "  # Alpha is our greeter.\n"
        "  - name: alpha\n"
        "    text: Be very kind. # keep it short\n"
        "    # below alpha text\n"
        "  # Beta goes away.\n"
        "    # below beta\n"
        "  # Gamma is retired.\n"
        "  - name:   gamma   # retired\n"
        "    previous_names: [ gamma-old ]\n"
        "    absent:  true\n"
        "  - name: delta\n"
        "    text: New.\n"
        "# end of prompts\n"
    )
    assert (out / "tools.yaml").read_text(encoding="utf-8") == (
        "tools:\n"
        "  - name: lookup\n"
        "    # What it does.\n"
        "    # Parameters below.\n"
        "    parameters:\n"
        "      type: object  # always an object\n"
        "# end of tools\n"
    )
    assert (out / "configs.yaml").read_text(encoding="utf-8") == CONFIGS.replace(
        "interval_secs: 7", "interval_secs: 9"
    ).replace(
        "        events: [chat_ended]\n        # below b\n",
        "        events: [chat_ended, tool_call]\n"
        "        # below b\n"
        "      - url: https://hooks.example.com/c\n"
        "        events: [chat_started]\n",
    )
    planned = plan_exit(db, out)
    assert planned.exit_code == 2
    assert "Plan: 0 to create, 0 new versions, 0 renames, 0 description updates, 1 to delete." in (
        planned.output
    )
    assert 'prompt "gamma": will be deleted' in planned.output


def test_absent_entries_stay_byte_identical_in_any_layout(tmp_path: Path) -> None:
    """A file laid out otherwise (lists flush with their key, 4-space mappings) keeps its layout,
    and its absent entry its bytes, while the entry above it changes."""
    db = tmp_path / "e.sqlite"

    async def account(client: HumeClient) -> str:
        kept = await client.create(
            "prompts", {"name": "kept", "text": "One.", "prompt_expansion": {"enabled": False}}
        )
        await client.create("prompts", {"name": "retired", "text": "Still live."})
        return kept.id

    kept = against(db, account)
    out = tmp_path / "out"
    absent = (
        "- name: 'retired'    # the manifest says: delete it\n"
        "  absent: True\n"
        "  text:     |\n"
        "      Old words,\n"
        "\n"
        "      kept as they were.\n"
    )
    layout = (
        "prompts:\n"
        "- name: kept\n"
        "  text: One.\n"
        "  prompt_expansion:\n"
        "      enabled: false  # no expansion\n"
    )
    write(out, {"prompts.yaml": layout + absent + "# the end\n"})

    async def portal(client: HumeClient) -> None:
        body = {"text": "Two.", "prompt_expansion": {"enabled": False}}
        await client.create_version("prompts", kept, body)

    against(db, portal)
    result = export(db, out, "--kind", "prompts")
    assert "  wrote        prompts.yaml" in result.stdout
    assert 'absent: true in the manifests, left alone: prompts "retired"' in result.stdout
    assert "Exported 1 prompt to" in result.stdout
    text = (out / "prompts.yaml").read_text(encoding="utf-8")
    assert text == layout.replace("One.", "Two.") + absent + "# the end\n"


# ${VAR}


VAR_PROMPTS = """\
prompts:
  - name: greeter
    text: ${GREETING}  # per environment
  - name: closer
    text: Bye from ${TEAM:-support}.
  - name: literal
    text: costs $${PRICE}
"""


@pytest.fixture
def var_account(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    db = tmp_path / "e.sqlite"

    async def account(client: HumeClient) -> dict[str, str]:
        created = {}
        for name, text in (
            ("greeter", "Hello from staging."),
            ("closer", "Bye from support."),
            ("literal", "costs ${PRICE}"),
        ):
            created[name] = (await client.create("prompts", {"name": name, "text": text})).id
        return created

    return db, against(db, account)


def test_a_var_that_resolves_to_the_live_value_is_kept(
    var_account: tuple[Path, dict], tmp_path: Path
) -> None:
    db, _ = var_account
    out = tmp_path / "out"
    write(out, {"prompts.yaml": VAR_PROMPTS})
    var_file = tmp_path / "staging.env"
    var_file.write_text('GREETING="Hello from staging."\n', encoding="utf-8")
    for flags in (["--var", "GREETING=Hello from staging."], ["--var-file", str(var_file)]):
        result = export(db, out, *flags)
        assert (out / "prompts.yaml").read_text(encoding="utf-8") == VAR_PROMPTS
        assert result.stderr == ""
        assert "0 files written, 1 unchanged, 0 removed" in result.stdout


def test_a_var_that_differs_is_replaced_with_a_warning(
    var_account: tuple[Path, dict], tmp_path: Path
) -> None:
    db, _ = var_account
    out = tmp_path / "out"
    write(out, {"prompts.yaml": VAR_PROMPTS})
    result = export(db, out, "--var", "GREETING=Hello from production.", "--var", "TEAM=sales")
    assert warnings(result) == [
        "warning: prompts.yaml:3: prompts/greeter: text: the live value differs from what its "
        "${...} resolves to: the live value replaces it (the interpolation is gone)",
        "warning: prompts.yaml:5: prompts/closer: text: the live value differs from what its "
        "${...} resolves to: the live value replaces it (the interpolation is gone)",
    ]
    assert (out / "prompts.yaml").read_text(encoding="utf-8") == (
        "prompts:\n"
        "  - name: greeter\n"
        "    text: Hello from staging. # per environment\n"
        "  - name: closer\n"
        "    text: Bye from support.\n"
        "  - name: literal\n"
        "    text: costs $${PRICE}\n"
    )
    assert plan_exit(db, out).exit_code == 0


def test_an_unset_var_is_kept_with_a_warning(
    var_account: tuple[Path, dict], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GREETING", raising=False)
    db, _ = var_account
    out = tmp_path / "out"
    write(out, {"prompts.yaml": VAR_PROMPTS})
    result = export(db, out)
    assert warnings(result) == [
        "warning: prompts.yaml:3: prompts/greeter: text: cannot tell whether the live value "
        "equals its ${...} (a variable is not set: pass it with --var or --var-file): the entry "
        "stays"
    ]
    assert (out / "prompts.yaml").read_text(encoding="utf-8") == VAR_PROMPTS


# ${secret:...}


SECRET_CONFIGS = f"""\
configs:
  - name: desk
    evi_version: "3"
    webhooks:
      - url: {HOOK}${{secret:HOOK_TOKEN}}  # the token lives in the vault
        events: [chat_started]
"""


def secret_account(db: Path, token: str) -> str:
    async def account(client: HumeClient) -> str:
        body = {"name": "desk", "evi_version": "3", "webhooks": hooks(HOOK + token)}
        return (await client.create("configs", body)).id

    return against(db, account)


def assert_no_secret(out: Path, result: Result) -> None:
    """Neither token is in any file under ``out`` or in anything the command printed."""
    for token in (TOKEN, ROTATED):
        assert token not in result.output
        for name, content in files(out).items():
            assert token.encode() not in content, name


def test_a_secret_that_resolves_to_the_live_value_is_kept(tmp_path: Path) -> None:
    db = tmp_path / "e.sqlite"
    secret_account(db, TOKEN)
    out = tmp_path / "out"
    write(out, {"configs.yaml": SECRET_CONFIGS})
    result = export(db, out, "--var", f"HOOK_TOKEN={TOKEN}")
    assert result.stderr == ""
    assert (out / "configs.yaml").read_text(encoding="utf-8") == SECRET_CONFIGS
    assert_no_secret(out, result)


@pytest.mark.parametrize("given", [[], ["--var", f"HOOK_TOKEN={TOKEN}"]])
def test_a_secret_that_differs_is_kept_and_never_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, given: list[str]
) -> None:
    """The live token was rotated in the portal: the entry stays, whether or not the secret is
    given, and neither the old nor the live token reaches a file or the output."""
    monkeypatch.delenv("HOOK_TOKEN", raising=False)
    db = tmp_path / "e.sqlite"
    secret_account(db, ROTATED)
    out = tmp_path / "out"
    write(out, {"configs.yaml": SECRET_CONFIGS})
    result = export(db, out, *given)
    outcome = (
        "the live value differs, and the entry holds a ${secret:...}, so it was kept (export "
        "never writes a secret into a file); update the entry, or apply"
        if given
        else "cannot tell whether the live value equals its ${...} (a variable is not set: pass "
        "it with --var or --var-file): the entry stays"
    )
    assert warnings(result) == [
        f"warning: configs.yaml:5: configs/desk: webhooks[0].url: {outcome}"
    ]
    assert (out / "configs.yaml").read_text(encoding="utf-8") == SECRET_CONFIGS
    assert_no_secret(out, result)


def test_a_known_secret_in_a_new_value_is_written_as_its_interpolation(tmp_path: Path) -> None:
    """A webhook added in the portal with the same token: export writes ``${secret:HOOK_TOKEN}``
    in its place, and the plan with the secret given shows no changes."""
    db = tmp_path / "e.sqlite"
    config = secret_account(db, TOKEN)
    out = tmp_path / "out"
    write(out, {"configs.yaml": SECRET_CONFIGS})

    async def portal(client: HumeClient) -> None:
        body = {"evi_version": "3", "webhooks": hooks(HOOK + TOKEN, f"{HOOK}{TOKEN}&v=2")}
        await client.create_version("configs", config, body)
        await client.create(
            "configs", {"name": "other", "evi_version": "3", "webhooks": hooks(HOOK + TOKEN)}
        )

    against(db, portal)
    result = export(db, out, "--var", f"HOOK_TOKEN={TOKEN}")
    assert result.stderr == ""
    assert (out / "configs.yaml").read_text(encoding="utf-8") == SECRET_CONFIGS + (
        f"      - url: {HOOK}${{secret:HOOK_TOKEN}}&v=2\n"
        "        events: [chat_started]\n"
        "  - name: other\n"
        '    evi_version: "3"\n'
        "    webhooks:\n"
        f"      - url: {HOOK}${{secret:HOOK_TOKEN}}\n"
        "        events: [chat_started]\n"
    )
    assert_no_secret(out, result)
    planned = run(
        "plan",
        str(out),
        "--emulator",
        str(db),
        "--detailed-exitcode",
        "--var",
        f"HOOK_TOKEN={TOKEN}",
    )
    assert planned.exit_code == 0, planned.output


def test_a_secret_in_a_text_file_stops_the_export(tmp_path: Path) -> None:
    """A prompt text file cannot interpolate: a live text holding a known secret is refused."""
    db = tmp_path / "e.sqlite"
    secret_account(db, TOKEN)

    async def portal(client: HumeClient) -> None:
        await client.create("prompts", {"name": "leaky", "text": f"Line one.\nUse {TOKEN}."})

    against(db, portal)
    out = tmp_path / "out"
    write(out, {"configs.yaml": SECRET_CONFIGS})
    before = files(out)
    result = run(
        "export", "--out", str(out), "--emulator", str(db), "--var", f"HOOK_TOKEN={TOKEN}",
        fails=True,
    )  # fmt: skip
    assert result.exit_code == 1
    message = str(result.exception)
    assert "prompts/leaky.md: the live text holds the value of ${secret:HOOK_TOKEN}" in message
    assert TOKEN not in message
    assert files(out) == before


def test_a_field_gone_live_takes_its_var_along_with_a_warning(tmp_path: Path) -> None:
    db = tmp_path / "e.sqlite"

    async def account(client: HumeClient) -> None:
        created = await client.create(
            "tools", {"name": "lookup", "parameters": "{}", "description": "Finds things"}
        )
        await client.create_version("tools", created.id, {"parameters": "{}"})

    against(db, account)
    out = tmp_path / "out"
    write(out, {"tools.yaml": "tools:\n  - name: lookup\n    description: ${DESC}\n"})
    result = export(db, out, "--var", "DESC=Finds things")
    assert warnings(result) == [
        "warning: tools.yaml:3: tools/lookup: description: the live resource no longer has this "
        "field: it goes, with its ${...}"
    ]
    assert (out / "tools.yaml").read_text(encoding="utf-8") == (
        "tools:\n  - name: lookup\n    parameters: {}\n"
    )
