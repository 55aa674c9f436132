"""evictl export and the files it writes: re-export in place, dry run, text files, safe scalars."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
import yaml

from reconciler import export, yamlwrite
from reconciler.client import HumeClient
from reconciler.kinds.fields import name_problem
from reconciler.manifest import load_manifests
from tests.test_export_roundtrip import against, plan_exit, run

EXAMPLES = Path(__file__).parent.parent / "examples" / "manifests"
LONG = "Line one of a long prompt.\nLine two."
NASTY = [
    "3", "yes", "no", "on", "off", "y", "n", "null", "Null", "~", "true", "False", "1.5", "1e3",
    "0x1F", "0o17", "-0", ".inf", ".nan", "2024-01-01", "12:30", "<<", "${HOME}", "$${HOME}",
    "$${", "${", "$", "$$", "${secret:X}", " lead", "trail ", "a: b", "- x", "-", "?", "#x",
    "x #y", "@x", "`x", "!tag", "&a", "*a", "%x", "|", ">", "{x}", "[x]", "'q'", '"d"', "---",
    "...", "line\nbreak\n", "tab\tx", "\u200f rtl", "\ufeffbom", "emoji 🎧", "back\\slash",
]  # fmt: skip


def files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def exported(db: Path, out: Path, *extra: str) -> str:
    result = run("export", "--out", str(out), "--emulator", str(db), *extra)
    assert result.exit_code == 0, result.output
    return result.output


async def small_account(client: HumeClient) -> dict[str, str]:
    short = await client.create("prompts", {"name": "short", "text": "Be kind."})
    long = await client.create("prompts", {"name": "long", "text": LONG})
    keep = await client.create("tools", {"name": "keep", "parameters": "{}"})
    gone = await client.create("tools", {"name": "gone", "parameters": "{}"})
    await client.create(
        "configs",
        {"name": "desk", "evi_version": "3", "prompt": {"id": short.id, "version": 0}},
    )
    return {"short": short.id, "long": long.id, "keep": keep.id, "gone": gone.id}


@pytest.fixture
def db(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    path = tmp_path / "e.sqlite"
    return path, against(path, small_account)


def test_reexport_keeps_comments_order_and_user_keys(db: tuple[Path, dict], tmp_path: Path) -> None:
    path, ids = db
    out = tmp_path / "out"
    exported(path, out)
    prompts = out / "prompts.yaml"
    assert prompts.read_text(encoding="utf-8").splitlines()[1:] == [
        "prompts:",
        "  - name: long",
        "    text_file: prompts/long.md",
        "  - name: short",
        "    text: Be kind.",
    ]
    prompts.write_text(
        "prompts:\n"
        "  # Our friendliest persona.\n"
        "  - name: short\n"
        "    previous_names: [tiny]\n"
        "    text: Be kind.   # keep it short\n"
        "  - name: long\n"
        "    text_file: prompts/long.md\n",
        encoding="utf-8",
    )

    async def portal(client: HumeClient) -> None:
        await client.create_version("prompts", ids["short"], {"text": "Be very kind."})
        await client.delete("tools", ids["gone"])
        await client.create("prompts", {"name": "added", "text": "New one."})

    against(path, portal)
    output = exported(path, out)
    assert prompts.read_text(encoding="utf-8") == (
        "prompts:\n"
        "  # Our friendliest persona.\n"
        "  - name: short\n"
        "    previous_names: [tiny]\n"
        "    text: Be very kind. # keep it short\n"
        "  - name: long\n"
        "    text_file: prompts/long.md\n"
        "  - name: added\n"
        "    text: New one.\n"
    )
    assert [t.name for t in load_manifests(out, {}).of_kind("tools")] == ["keep"]
    assert 'No longer in the account, dropped from the manifests: tools "gone"' in output
    assert "  wrote        prompts.yaml" in output
    assert "  unchanged    prompts/long.md" in output
    before = files(out)
    again = exported(path, out)
    assert files(out) == before
    assert again.splitlines()[-1] == "0 files written, 4 unchanged, 0 removed"


def test_dry_run_writes_nothing_and_names_what_would_change(
    db: tuple[Path, dict], tmp_path: Path
) -> None:
    path, ids = db
    out = tmp_path / "out"
    fresh = exported(path, out, "--dry-run")
    assert not out.exists()
    assert "  would write  prompts/long.md" in fresh
    assert (
        fresh.splitlines()[-1]
        == "4 files would change, 0 unchanged, 0 to remove (dry run: nothing written)"
    )
    exported(path, out)
    before = files(out)

    async def portal(client: HumeClient) -> None:
        await client.create_version("prompts", ids["long"], {"text": LONG + "\nLine three."})
        await client.delete("prompts", ids["short"])

    against(path, portal)
    output = exported(path, out, "--dry-run")
    assert files(out) == before
    assert output.splitlines()[1:] == [
        "  would write  configs.yaml",
        "  would write  prompts.yaml",
        "  unchanged    tools.yaml",
        "  would write  prompts/long.md",
        'No longer in the account, dropped from the manifests: prompts "short"',
        "3 files would change, 1 unchanged, 0 to remove (dry run: nothing written)",
    ]
    exported(path, out)
    assert (out / "prompts" / "long.md").read_text(encoding="utf-8").endswith("Line three.")
    assert plan_exit(path, out).exit_code == 0


def test_a_deleted_prompt_takes_its_text_file_along(db: tuple[Path, dict], tmp_path: Path) -> None:
    path, ids = db
    out = tmp_path / "out"
    exported(path, out)
    (out / "prompts" / "notes.md").write_text("mine", encoding="utf-8")

    async def portal(client: HumeClient) -> None:
        await client.delete("prompts", ids["long"])

    against(path, portal)
    output = exported(path, out)
    assert "  removed      prompts/long.md" in output
    assert sorted(files(out)) == ["configs.yaml", "prompts.yaml", "prompts/notes.md", "tools.yaml"]


def test_name_filter_leaves_other_entries_alone(db: tuple[Path, dict], tmp_path: Path) -> None:
    path, ids = db
    out = tmp_path / "out"
    exported(path, out)

    async def portal(client: HumeClient) -> None:
        await client.delete("tools", ids["gone"])
        await client.create_version("tools", ids["keep"], {"parameters": '{"type": "object"}'})

    against(path, portal)
    exported(path, out, "--name", "keep")
    tools = {t.name: t.parameters for t in load_manifests(out, {}).of_kind("tools")}
    assert tools == {"keep": {"type": "object"}, "gone": {}}


def test_a_new_long_prompt_never_overwrites_an_existing_file(
    db: tuple[Path, dict], tmp_path: Path
) -> None:
    path, _ = db
    out = tmp_path / "out"
    (out / "prompts").mkdir(parents=True)
    (out / "prompts" / "LONG.md").write_text("someone else's", encoding="utf-8")
    exported(path, out, "--kind", "prompts")
    assert (out / "prompts" / "LONG.md").read_text(encoding="utf-8") == "someone else's"
    assert (out / "prompts" / "long-2.md").read_text(encoding="utf-8") == LONG


def test_reexport_over_the_examples_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Explicit defaults, ${...} defaults and secrets, flow styles and comments all stay."""
    for name in ("SUPPORT_WEBHOOK_TOKEN", "TUTOR_VOICE", "TUTOR_NAME", "TARGET_LANGUAGE"):
        monkeypatch.delenv(name, raising=False)
    out = tmp_path / "manifests"
    shutil.copytree(EXAMPLES, out)
    db = tmp_path / "e.sqlite"
    applied = run("apply", str(out), "--emulator", str(db), "--auto-approve")
    assert applied.exit_code == 0, applied.output
    before = files(out)
    output = exported(db, out)
    assert files(out) == before
    assert output.splitlines()[-1] == "0 files written, 5 unchanged, 0 removed"


def test_safe_scalars_load_back_exactly(tmp_path: Path) -> None:
    """Names, texts and parameter keys that YAML or ${...} would misread load back unchanged
    (as names, those that no name may be: blank, or with a control or bidi character)."""
    prompts = [
        {"name": s if name_problem(s) is None else f"unnamed {i}", "text": s}
        for i, s in enumerate(["", *NASTY])
    ]
    parameters = {"type": "object", "properties": {s: {"description": s} for s in NASTY}}
    tools = [{"name": "keys", "parameters": parameters, "description": "${HOME}"}]
    document = {
        "prompts": [export.entry_node("prompts", p, {}) for p in prompts],
        "tools": [export.entry_node("tools", t, {}) for t in tools],
    }
    stream = io.StringIO()
    export.round_trip_yaml().dump(document, stream)
    (tmp_path / "m.yaml").write_text(stream.getvalue(), encoding="utf-8")
    yaml11 = yaml.safe_load(stream.getvalue())
    assert [p["name"] for p in yaml11["prompts"]] == [
        p["name"].replace("${", "$${") for p in prompts
    ]
    loaded = load_manifests(tmp_path, {"HOME": "/root", "X": "x"})
    assert [(p.name, p.text) for p in loaded.of_kind("prompts")] == [
        (p["name"], p["text"]) for p in prompts
    ]
    (tool,) = loaded.of_kind("tools")
    assert (tool.parameters, tool.description) == (parameters, "${HOME}")
    assert json.dumps(tool.parameters) == json.dumps(parameters)


@pytest.mark.parametrize(
    ("text", "quoted"),
    [("3", True), ("yes", True), ("null", True), ("2024-01-01", True), ("<<", True),
     ("4-mini", False), ("hello", False), ("${X}", False)],
)  # fmt: skip
def test_ambiguous_scalars_are_quoted(text: str, quoted: bool) -> None:
    assert yamlwrite.ambiguous(text) is quoted


def test_reference_comments_follow_the_reference(db: tuple[Path, dict], tmp_path: Path) -> None:
    path, ids = db
    out = tmp_path / "out"

    async def newer_prompt(client: HumeClient) -> None:
        await client.create_version("prompts", ids["short"], {"text": "Be kinder."})

    against(path, newer_prompt)
    exported(path, out, "--kind", "prompts", "--kind", "configs")
    configs = (out / "configs.yaml").read_text(encoding="utf-8")
    pin = (
        f'    prompt: {{id: {ids["short"]}, version: 0}}  # prompt "short" v0 (the latest is v1)\n'
    )
    assert pin in configs

    async def repin(client: HumeClient) -> None:
        (desk,) = await client.list("configs", name="desk")
        body = {"evi_version": "3", "prompt": {"id": ids["short"], "version": 1}}
        await client.create_version("configs", desk.id, body)

    against(path, repin)
    exported(path, out, "--kind", "configs")
    configs = (out / "configs.yaml").read_text(encoding="utf-8")
    assert configs.splitlines()[1:] == [
        "configs:",
        "  - name: desk",
        '    evi_version: "3"',
        "    prompt: short",
    ]
    assert plan_exit(path, out).exit_code == 0
