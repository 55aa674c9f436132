"""The layering the architecture promises (docs/architecture.md), checked on real imports.

The emulator's own isolation is checked in ``test_emulator_kinds.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys

from reconciler.kinds import REGISTRY

IO_LIBRARIES = ("httpx", "tenacity", "uvicorn", "starlette")


def imported_after(*modules: str) -> set[str]:
    """The modules a fresh interpreter holds after importing ``modules``."""
    code = (
        "import importlib, json, sys\n"
        f"for name in {list(modules)!r}: importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    return set(json.loads(result.stdout))


def test_the_planner_imports_nothing_that_does_io() -> None:
    loaded = imported_after(
        "reconciler.planner",
        "reconciler.planner.planner",
        "reconciler.planner.plan",
        "reconciler.planner.canonical",
        "reconciler.drift",
        "reconciler.render",
        "reconciler.render.drift",
        "reconciler.history",
        "reconciler.render.history",
    )
    assert "reconciler.planner.planner" in loaded
    assert sorted(name for name in loaded if name.split(".")[0] in IO_LIBRARIES) == []


def test_the_client_imports_no_emulator() -> None:
    loaded = imported_after("reconciler.client", "reconciler.client.snapshot")
    assert "reconciler.client.api" in loaded
    assert sorted(name for name in loaded if name.startswith("reconciler.emulator")) == []


def test_the_registry_puts_each_kind_after_the_kinds_it_references() -> None:
    order = [kind.name for kind in REGISTRY]
    for position, kind in enumerate(REGISTRY):
        for ref in kind.refs:
            assert order.index(ref.target) < position
    assert order == ["prompts", "tools", "configs"]
