"""The emulator's per-kind knowledge: one table per concern, each covering every spec kind."""

from __future__ import annotations

import subprocess
import sys

import pytest

from reconciler.emulator import checks, views
from reconciler.emulator.store import Store, Version
from reconciler.hume import facts, spec


def test_kinds_are_the_versioned_paths_of_the_document() -> None:
    assert spec.KINDS == ("configs", "prompts", "tools")
    for kind in spec.KINDS:
        assert len([op for op in spec.operations() if op.kind == kind]) == 9


def test_every_kind_has_a_view_and_server_defaults() -> None:
    assert set(views.VIEWS) == set(spec.KINDS)
    assert set(facts.SERVER_DEFAULTS) == set(spec.KINDS)
    assert set(checks.PROSE_RULES) <= set(spec.KINDS)


def test_a_kind_without_a_view_is_a_clear_error() -> None:
    voice = Version("voices", "id", "v", 0, 0, 0, {})
    with pytest.raises(KeyError, match=r"no view for voices: add one to views\.VIEWS"):
        views.views(Store(), [voice])


def test_stored_fields_are_those_of_the_new_version_request() -> None:
    assert spec.version_fields("prompts") == ("prompt_expansion", "text", "version_description")
    fields = spec.component("posted_config_version")["properties"]
    assert spec.version_fields("configs") == tuple(fields)


def test_singular() -> None:
    assert [spec.singular(kind) for kind in spec.KINDS] == ["config", "prompt", "tool"]


def test_the_emulator_reads_only_the_spec_and_facts() -> None:
    code = (
        "import sys, reconciler.emulator, reconciler.emulator.embedded, reconciler.emulator.server;"
        "print(' '.join(m for m in sys.modules if m.startswith('reconciler.')))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    packages = {name.split(".")[1] for name in loaded}
    assert packages == {"emulator", "hume"}
