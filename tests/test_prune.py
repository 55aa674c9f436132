"""Ownership and prune in the pure planner: a live resource whose name an ``[ownership]`` glob
matches, and that no manifest describes, is deleted; nothing outside the globs ever is."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler import render
from reconciler.cli import cli
from reconciler.drift import classify
from reconciler.manifest import load_manifests
from reconciler.planner.plan import OwnedNotDescribed
from reconciler.planner.planner import Ownership, PlanError, plan
from reconciler.workflow import Connection
from tests.plan_support import write
from tests.test_planner_table import BASE, account, config, prompt, tool

OWNED = Ownership(globs=("support-*", "desk"), source="evictl.toml")


def planned(tmp_path: Path, manifest: str, live, **kwargs):  # type: ignore[no-untyped-def]
    write(tmp_path, manifest)
    manifests = load_manifests(tmp_path, {})
    return manifests, plan(manifests, live, **kwargs)


def deletes(result) -> dict[str, tuple]:  # type: ignore[no-untyped-def]
    return {c.address: c.reasons for c in result.pending if "delete" in c.actions}


def test_owned_and_undescribed_is_deleted_outside_the_globs_never(tmp_path: Path) -> None:
    live = account(
        prompt(), tool(), config(),
        prompt("support-old"), prompt("supportive"), prompt("Support-caps"), tool("support-x"),
    )  # fmt: skip
    _, result = planned(tmp_path, BASE, live, ownership=OWNED)
    assert deletes(result) == {
        "prompts/support-old": (OwnedNotDescribed(globs=("support-*",)),),
        "tools/support-x": (OwnedNotDescribed(globs=("support-*",)),),
    }
    change = next(c for c in result.pending if c.address == "prompts/support-old")
    assert change.source == "evictl.toml"
    assert render.reason(change.reasons[0]) == "owned by these manifests (support-*), not in them"
    assert "prompts#" + change.id in "".join(result.reads)  # a saved plan notices it moving


def test_without_ownership_nothing_is_pruned(tmp_path: Path) -> None:
    _, result = planned(tmp_path, BASE, account(prompt(), tool(), config(), prompt("support-1")))
    assert not result.has_changes


def test_a_resource_managed_under_a_previous_name_is_not_pruned(tmp_path: Path) -> None:
    manifest = "prompts: [{name: support-new, previous_names: [support-old], text: Hi}]\n"
    _, result = planned(tmp_path, manifest, account(prompt("support-old")), ownership=OWNED)
    assert [c.actions for c in result.pending] == [("rename",)]


def test_a_targeted_plan_prunes_nothing(tmp_path: Path) -> None:
    live = account(prompt(), tool(), config(), prompt("support-old"))
    _, result = planned(tmp_path, BASE, live, ownership=OWNED, targets=["prompts/greeter"])
    assert not result.has_changes


def test_pruning_what_a_live_config_still_uses_stops_the_plan(tmp_path: Path) -> None:
    used = prompt("support-greeter")
    live = account(used, tool(), config("legacy", prompt=used))
    with pytest.raises(
        PlanError, match=r"is owned by \[ownership\] \(support-\*\) but in no manifest"
    ):
        planned(tmp_path, "prompts: [{name: other, text: Hi}]\n", live, ownership=OWNED)


def test_a_pruned_config_goes_first_and_frees_what_it_used(tmp_path: Path) -> None:
    used = prompt("support-greeter")
    live = account(used, tool(), config("desk", prompt=used))
    _, result = planned(tmp_path, "prompts: [{name: other, text: Hi}]\n", live, ownership=OWNED)
    assert set(deletes(result)) == {"prompts/support-greeter", "configs/desk"}
    prompt_delete = next(c for c in result.pending if c.address == "prompts/support-greeter")
    assert "configs/desk" in prompt_delete.depends_on
    assert prompt_delete.notes == ()  # the config's versions go with it: none is left pinning


def test_drift_reports_owned_but_undescribed_as_unmanaged(tmp_path: Path) -> None:
    live = account(prompt(), tool(), config(), prompt("support-old"))
    manifests, result = planned(tmp_path, BASE, live, ownership=OWNED, strict=False)
    report = classify(manifests, live, result, {})
    assert [(i.category, i.change.address) for i in report.items] == [
        ("unmanaged", "prompts/support-old")
    ]


def test_two_live_resources_with_one_owned_name_is_an_error(tmp_path: Path) -> None:
    twin = prompt("support-old").model_copy(update={"id": "another-id"})
    live = account(prompt("support-old"), twin)
    with pytest.raises(PlanError, match="two live prompts are named 'support-old'"):
        planned(tmp_path, "prompts: [{name: other, text: Hi}]\n", live, ownership=OWNED)


# Over the embedded emulator, with the project file

MANIFEST = "prompts:\n  - name: support-greeter\n    text: Hi\n"


def test_prune_through_the_project_file(tmp_path: Path) -> None:
    root, db = write(tmp_path / "m", MANIFEST), tmp_path / "e.sqlite"
    (root / "evictl.toml").write_text('[ownership]\nnames = ["support-*"]\n', encoding="utf-8")

    def evictl(*args: str | Path) -> tuple[int, str]:
        result = CliRunner().invoke(cli, [str(a) for a in (*args, "--emulator", db)])
        return result.exit_code, result.output

    async def portal() -> set[str]:
        async with Connection(emulator=db).client() as client:
            for name in ("support-old", "billing-greeter"):
                await client.create("prompts", {"name": name, "text": "Hello"})
            return {p.name for p in await client.list("prompts")}

    assert evictl("apply", root, "--auto-approve")[0] == 0
    assert asyncio.run(portal()) == {"support-greeter", "support-old", "billing-greeter"}
    code, out = evictl("drift", root, "--format", "json")
    report = json.loads(out)
    assert code == 2
    assert [(i["category"], i["change"]["name"]) for i in report["items"]] == [
        ("unmanaged", "support-old")
    ]
    code, out = evictl("plan", root)
    assert "owned by these manifests (support-*), not in them" in out
    assert "billing-greeter" not in out
    assert evictl("apply", root, "--auto-approve")[0] == 0

    async def names() -> set[str]:
        async with Connection(emulator=db).client() as client:
            return {p.name for p in await client.list("prompts")}

    assert asyncio.run(names()) == {"support-greeter", "billing-greeter"}
    assert evictl("drift", root)[0] == 0


def test_ownership_refuses_a_single_file_path(tmp_path: Path) -> None:
    root = write(tmp_path / "m", MANIFEST)
    (root / "evictl.toml").write_text('[ownership]\nnames = ["support-*"]\n', encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["plan", str(root / "evi.yaml"), "--emulator", str(tmp_path / "e")]
    )
    assert result.exit_code == 1
    assert "[ownership] deletes what no manifest under the root describes" in str(result.exception)
