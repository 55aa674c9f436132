"""The ``evictl-validate`` pre-commit hook, run by pre-commit itself on a throwaway repository.

The hook is taken from a snapshot of this repository's ``.pre-commit-hooks.yaml`` committed to a
temporary hook repository, so that a consumer's ``args`` (the manifest root) can be given as in a
real ``.pre-commit-config.yaml``; ``pre-commit try-repo`` takes no ``args``. Offline: the hook
runs the installed ``evictl`` (``language: system``), so pre-commit installs nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
HOOK_ID = "evictl-validate"


def git(cwd: Path, *args: str) -> str:
    identity = ("-c", "user.name=evictl tests", "-c", "user.email=tests@example.invalid")
    done = subprocess.run(
        ["git", *identity, *args], cwd=cwd, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A project holding the example manifests under ``manifests/`` and a pre-commit config
    that uses the hook on that root."""
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    shutil.copy(ROOT / ".pre-commit-hooks.yaml", hooks)
    git(hooks, "init", "-q")
    git(hooks, "add", "-A")
    git(hooks, "commit", "-qm", "hooks")
    rev = git(hooks, "rev-parse", "HEAD")
    project = tmp_path / "project"
    shutil.copytree(ROOT / "examples" / "manifests", project / "manifests")
    (project / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {hooks}\n    rev: {rev}\n"
        f"    hooks:\n      - id: {HOOK_ID}\n        args: [manifests]\n",
        encoding="utf-8",
    )
    git(project, "init", "-q")
    git(project, "add", "-A")
    return project


def pre_commit(project: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "PRE_COMMIT_HOME": str(project.parent / "pre-commit-home"),
        "NO_COLOR": "1",
    }
    return subprocess.run(
        [BIN / "pre-commit", "run", HOOK_ID, "--all-files", "--color", "never"],
        cwd=project,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_the_hook_passes_on_valid_manifests(repo: Path) -> None:
    result = pre_commit(repo)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "evictl validate" in result.stdout
    assert "Passed" in result.stdout


def test_the_hook_fails_naming_file_and_line(repo: Path) -> None:
    broken = repo / "manifests" / "broken.yaml"
    broken.write_text("configs:\n  - name: c\n    evi_version: 3\n", encoding="utf-8")
    git(repo, "add", "-A")
    result = pre_commit(repo)
    assert result.returncode == 1
    assert "Failed" in result.stdout
    assert "broken.yaml:3:5: configs[0].evi_version: must be a string" in result.stdout
