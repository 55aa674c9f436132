"""Export never writes or removes outside ``--out`` through a symlink, and never opens a special
file in the output tree (a FIFO would block it forever)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reconciler import export
from reconciler.errors import UserError
from reconciler.export import FileChange

OUT = "the output directory (--out)"


@pytest.fixture
def out(tmp_path: Path) -> Path:
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "victim.md").write_text("untouched")
    (tmp_path / "out").mkdir()
    return tmp_path / "out"


def test_no_write_through_a_symlinked_directory(out: Path) -> None:
    (out / "prompts").symlink_to(out.parent / "outside")
    changes = [
        FileChange("prompts.yaml", "write", "prompts: []\n"),
        FileChange("prompts/victim.md", "write", "overwritten"),
    ]
    with pytest.raises(UserError) as caught:
        export.write(out, changes)
    assert str(caught.value) == (
        f"refusing to write {out}/prompts/victim.md: it leads outside {OUT} through a symlink; "
        "nothing was written"
    )
    assert (out.parent / "outside" / "victim.md").read_text() == "untouched"
    assert not (out / "prompts.yaml").exists()


def test_no_remove_through_a_symlinked_directory(out: Path) -> None:
    (out / "prompts").symlink_to(out.parent / "outside")
    with pytest.raises(UserError, match="leads outside"):
        export.write(out, [FileChange("prompts/victim.md", "remove")])
    assert (out.parent / "outside" / "victim.md").exists()


def test_no_write_through_a_symlinked_file(out: Path) -> None:
    (out / "configs.yaml").symlink_to(out.parent / "outside" / "victim.md")
    with pytest.raises(UserError, match="leads outside"):
        export.write(out, [FileChange("configs.yaml", "write", "configs: []\n")])
    assert (out.parent / "outside" / "victim.md").read_text() == "untouched"


def test_no_write_over_a_fifo(out: Path) -> None:
    os.mkfifo(out / "long.md")
    with pytest.raises(UserError) as caught:
        export.write(out, [FileChange("long.md", "write", "text")])
    assert "it is a FIFO, not a regular file" in str(caught.value)


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda out: os.mkfifo(out / "tools.yaml"), "is a FIFO, not a regular file"),
        (
            lambda out: (out / "tools.yaml").symlink_to(out.parent / "outside" / "victim.md"),
            f"leads outside {OUT} through a symlink",
        ),
    ],
    ids=["fifo", "symlink"],
)
def test_existing_manifests_are_refused_before_reading(out: Path, make, problem: str) -> None:
    make(out)
    with pytest.raises(UserError) as caught:
        export.yaml_files(out)
    assert str(caught.value) == f"cannot update {out}/tools.yaml: it {problem}"


def test_symlinks_inside_the_output_directory_are_fine(out: Path) -> None:
    (out / "real.yaml").write_text("prompts: []\n")
    (out / "alias.yaml").symlink_to(out / "real.yaml")
    (out / "texts").mkdir()
    (out / "prompts").symlink_to(out / "texts")
    assert export.yaml_files(out) == ["alias.yaml", "real.yaml"]
    export.write(out, [FileChange("prompts/a.md", "write", "text")])
    assert (out / "texts" / "a.md").read_text() == "text"


def test_an_existing_file_nested_too_deep_is_a_message_not_a_crash(tmp_path) -> None:
    from click.testing import CliRunner

    from reconciler.cli import cli

    out = tmp_path / "out"
    out.mkdir()
    (out / "prompts.yaml").write_text("prompts: " + "[" * 5000 + "]" * 5000 + "\n")
    result = CliRunner().invoke(
        cli, ["export", "--out", str(out), "--emulator", str(tmp_path / "e.sqlite")]
    )
    assert result.exit_code == 1
    assert str(result.exception).startswith(f"cannot update {out / 'prompts.yaml'}: line 1: ")
