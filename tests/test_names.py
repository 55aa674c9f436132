"""Names are data, never syntax: punctuation that plan prose uses (`` → ``, quotes, slashes)
plans, applies and drifts like any other name, because stages exchange typed values."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from click.testing import CliRunner, Result

from reconciler.cli import cli
from reconciler.workflow import Connection

PROMPT = "greeter → v2 / «main»"
CONFIG = "desk → front, 'quoted' \"double\""
TOOL = "look/up → now"
MANIFEST = f"""\
prompts:
  - name: {json.dumps(PROMPT)}
    text: {{text}}
  - name: plain
    text: Plain
tools:
  - name: {json.dumps(TOOL)}
    parameters: {{{{type: object}}}}
configs:
  - name: {json.dumps(CONFIG)}
    evi_version: "3"
    prompt: {json.dumps(PROMPT)}
    tools: [{json.dumps(TOOL)}]
  - name: other
    evi_version: "3"
    prompt: plain
"""


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(arg) for arg in args])


def test_punctuated_names_plan_apply_and_drift(tmp_path: Path) -> None:
    root, db = tmp_path / "m", tmp_path / "e.sqlite"
    root.mkdir()
    (root / "evi.yaml").write_text(MANIFEST.format(text="Hello"), encoding="utf-8")
    assert run("apply", root, "--emulator", db, "--auto-approve").exit_code == 0
    assert run("plan", root, "--emulator", db, "--detailed-exitcode").exit_code == 0

    (root / "evi.yaml").write_text(MANIFEST.format(text="Hello again"), encoding="utf-8")
    planned = run("plan", root, "--emulator", db, "--format", "json")
    changes = {c["address"]: c for c in json.loads(planned.output)["changes"]}
    config = changes[f"configs/{CONFIG}"]
    assert config["actions"] == ["new_version"]
    assert config["reasons"] == [{"type": "dependency_new_version", "subject": f"prompts/{PROMPT}"}]
    assert config["depends_on"] == [f"prompts/{PROMPT}", f"tools/{TOOL}"]
    text = run("plan", root, "--emulator", db).output
    assert f"because prompt {PROMPT} → new version" in text
    applied = run("apply", root, "--emulator", db, "--auto-approve")
    assert applied.exit_code == 0, applied.output
    assert run("plan", root, "--emulator", db, "--detailed-exitcode").exit_code == 0

    async def portal_edit() -> None:
        async with Connection(emulator=db).client() as client:
            (prompt,) = await client.list("prompts", name=PROMPT)
            await client.create_version("prompts", prompt.id, {"text": "Edited in the portal"})

    asyncio.run(portal_edit())
    drift = run("drift", root, "--emulator", db, "--format", "json")
    assert drift.exit_code == 2
    (item,) = json.loads(drift.output)["items"]
    assert (item["change"]["name"], item["category"]) == (PROMPT, "ahead")
    assert item["used_by"] == [CONFIG]
    words = run("drift", root, "--emulator", db).output
    assert f"used by configs: {CONFIG}" in words
