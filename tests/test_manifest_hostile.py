"""Hostile manifest input: exact located errors and exit code 1 from ``evictl validate``, never a
traceback, never a hang.

``tests/hostile/manifests/*.yaml`` are the cases a file can hold, each with its expected error
lines as trailing ``# expect:`` comments. Those git cannot hold (FIFOs, symlinks out of the tree,
files over the size limits) are built in ``tmp_path`` by the table below. Every case runs the
real command in a subprocess with a timeout.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from reconciler.manifest.limits import MAX_ALIASED_CHARS, MAX_DEPTH, MAX_FILE_BYTES, MAX_STRING
from tests.manifest_support import errors, load

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "tests" / "hostile" / "manifests"
EXPECT = "# expect: "
TIMEOUT = 60
"""Seconds: a case that hangs (a FIFO opened for reading) fails instead of blocking the suite."""


def assert_refused(path: Path, expected: list[str], *args: str) -> None:
    """``evictl validate path`` prints exactly ``expected`` and the count, and exits 1."""
    result = subprocess.run(
        [sys.executable, "-m", "reconciler", "validate", str(path), *args],
        capture_output=True,
        cwd=REPO,
        env={"PATH": os.environ.get("PATH", ""), "PYTHONIOENCODING": "utf-8"},
        timeout=TIMEOUT,
    )
    count = f"{len(expected)} error{'s' if len(expected) != 1 else ''}"
    stderr = result.stderr.decode("utf-8").splitlines()
    assert (result.returncode, result.stdout, stderr) == (
        1,
        b"",
        [*expected, f"{count}: the manifests are not valid"],
    )


@pytest.mark.parametrize("case", sorted(CORPUS.glob("*.yaml")), ids=lambda path: path.stem)
def test_corpus(case: Path) -> None:
    lines = case.read_text(encoding="utf-8").splitlines()
    expected = [line.removeprefix(EXPECT) for line in lines if line.startswith(EXPECT)]
    assert expected, f"{case.name} has no {EXPECT!r} lines"
    assert_refused(case, expected)


Case = tuple[Path, list[str], tuple[str, ...]]
"""What to validate, the error lines expected, and extra arguments."""

PROMPT_FILE = "prompts: [{name: p, text_file: %s}]\n"


def tree(tmp_path: Path, files: dict[str, str]) -> Path:
    """A manifest root with ``files``, and a sibling ``outside`` directory with a secret."""
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.yaml").write_text("prompts: [{name: leaked, textt: x}]\n")
    root = tmp_path / "root"
    root.mkdir()
    for name, text in files.items():
        (root / name).write_text(text, encoding="utf-8")
    return root


def fifo_text_file(tmp_path: Path) -> Case:
    root = tree(tmp_path, {"p.yaml": PROMPT_FILE % "pipe.md"})
    os.mkfifo(root / "pipe.md")
    return root, ["p.yaml:1:21: prompts[0].text_file: 'pipe.md' is a FIFO, not a regular file"], ()


def fifo_manifest(tmp_path: Path) -> Case:
    root = tree(tmp_path, {"ok.yaml": "prompts: [{name: p, text: x}]\n"})
    os.mkfifo(root / "pipe.yaml")
    return root, ["pipe.yaml:1:1: this file is a FIFO, not a regular file"], ()


def fifo_as_the_root(tmp_path: Path) -> Case:
    os.mkfifo(tmp_path / "pipe.yaml")
    return tmp_path / "pipe.yaml", ["pipe.yaml:1:1: this file is a FIFO, not a regular file"], ()


def manifest_symlink_out_of_the_root(tmp_path: Path) -> Case:
    root = tree(tmp_path, {})
    (root / "link.yaml").symlink_to(tmp_path / "outside" / "secret.yaml")
    expected = ["link.yaml:1:1: this file leads outside the manifest root through a symlink"]
    return root, expected, ()


def text_file_symlink_out_of_the_root(tmp_path: Path) -> Case:
    root = tree(tmp_path, {"p.yaml": PROMPT_FILE % "link.md"})
    (root / "link.md").symlink_to(tmp_path / "outside" / "secret.yaml")
    message = "'link.md' leads outside the manifest root through a symlink"
    return root, [f"p.yaml:1:21: prompts[0].text_file: {message}"], ()


def symlinked_directory_is_not_followed(tmp_path: Path) -> Case:
    root = tree(tmp_path, {"p.yaml": "prompts: [{name: p}]\n"})
    (root / "linked").symlink_to(tmp_path / "outside")
    return root, ["p.yaml:1:11: prompts[0].text: one of text, text_file is required"], ()


def dangling_symlink(tmp_path: Path) -> Case:
    root = tree(tmp_path, {})
    (root / "gone.yaml").symlink_to(root / "missing.yaml")
    return root, ["gone.yaml:1:1: cannot read file: No such file or directory"], ()


def text_file_is_a_directory(tmp_path: Path) -> Case:
    root = tree(tmp_path, {"p.yaml": PROMPT_FILE % "texts"})
    (root / "texts").mkdir()
    return (
        root,
        ["p.yaml:1:21: prompts[0].text_file: 'texts' is a directory, not a regular file"],
        (),
    )


def manifest_too_large(tmp_path: Path) -> Case:
    root = tree(tmp_path, {"big.yaml": "#" * MAX_FILE_BYTES + "\n"})
    return root, [f"big.yaml:1:1: this file is too large: more than {MAX_FILE_BYTES} bytes"], ()


def string_too_long(tmp_path: Path) -> Case:
    root = tree(tmp_path, {"p.yaml": f"prompts: [{{name: p, text: {'x' * (MAX_STRING + 1)}}}]\n"})
    message = f"longer than {MAX_STRING} characters ({MAX_STRING + 1})"
    return root, [f"p.yaml:1:27: prompts[0].text: {message}"], ()


def text_file_too_long(tmp_path: Path) -> Case:
    root = tree(tmp_path, {"p.yaml": PROMPT_FILE % "p.md", "p.md": "x" * (MAX_STRING + 1)})
    message = f"'p.md' is longer than {MAX_STRING} characters ({MAX_STRING + 1})"
    return root, [f"p.yaml:1:21: prompts[0].text_file: {message}"], ()


def too_long_after_interpolation(tmp_path: Path) -> Case:
    half = MAX_STRING // 2 + 1
    root = tree(tmp_path, {"p.yaml": "prompts: [{name: p, text: '${A}${A}'}]\n"})
    (tmp_path / "vars.env").write_text(f"A={'x' * half}\n")
    message = f"longer than {MAX_STRING} characters ({2 * half})"
    return (
        root,
        [f"p.yaml:1:21: prompts[0].text: {message}"],
        ("--var-file", str(tmp_path / "vars.env")),
    )


def aliases_repeating_long_strings(tmp_path: Path) -> Case:
    text = "y" * (MAX_STRING // 2)
    count = MAX_ALIASED_CHARS // len(text) + 1
    root = tree(tmp_path, {"a.yaml": f"a: &a {text}\nb: [{', '.join(['*a'] * count)}]\n"})
    column = len("b: [") + 1 + len("*a, ") * (count - 1)
    return root, [f"a.yaml:2:{column}: malformed YAML: too many alias expansions"], ()


def terminal_escapes_in_a_file_name(tmp_path: Path) -> Case:
    root = tree(tmp_path, {"\x1b]0;pwned\x07\u202e.yaml": "prompts: [{name: p, text: x}\n"})
    expected = [
        "\\x1b]0;pwned\\x07\\u202e.yaml:2:1: malformed YAML: did not find expected ',' or ']'"
    ]
    return root, expected, ()


BUILT: list[Callable[[Path], Case]] = [
    fifo_text_file,
    fifo_manifest,
    fifo_as_the_root,
    manifest_symlink_out_of_the_root,
    text_file_symlink_out_of_the_root,
    symlinked_directory_is_not_followed,
    dangling_symlink,
    text_file_is_a_directory,
    manifest_too_large,
    string_too_long,
    text_file_too_long,
    too_long_after_interpolation,
    aliases_repeating_long_strings,
    terminal_escapes_in_a_file_name,
]


@pytest.mark.parametrize("build", BUILT, ids=lambda build: build.__name__)
def test_built_case(tmp_path: Path, build: Callable[[Path], Case]) -> None:
    path, expected, args = build(tmp_path)
    assert_refused(path, expected, *args)


def nested_schema(levels: int) -> dict[str, Any]:
    """A JSON Schema of ``levels`` nested ``not`` keywords around ``{type: string}``."""
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(levels):
        schema = {"not": schema}
    return schema


def test_nesting_up_to_the_limit_loads_and_checks(tmp_path: Path) -> None:
    """The root (1), ``tools`` (2), the tool (3), ``parameters`` (4) and 59 ``not``: the string at
    the bottom is at level 64. The JSON Schema check recurses through all of it."""
    deepest = {"tools": [{"name": "t", "parameters": nested_schema(MAX_DEPTH - 5)}]}
    (tool,) = load(tmp_path, {"t.yaml": json.dumps(deepest)}).of_kind("tools")
    assert json.loads(tool.parameters_json) == deepest["tools"][0]["parameters"]
    deeper = {"tools": [{"name": "t", "parameters": nested_schema(MAX_DEPTH - 4)}]}
    (error,) = errors(tmp_path, {"t.yaml": json.dumps(deeper)})
    assert error.endswith(
        f": nested more than {MAX_DEPTH} levels deep: the rest of the file is not read"
    )


def test_values_at_the_limits_load(tmp_path: Path) -> None:
    text = "x" * MAX_STRING
    external = "{id: 6f1c2b4e-8d3a-4c5b-9e7f-1a2b3c4d5e6f, version: 9223372036854775807}"
    files = {
        "m.yaml": f"prompts: [{{name: p, text: {text}}}]\n"
        f'configs: [{{name: c, evi_version: "3", prompt: {external}}}]\n'
        "tools: [{name: t, parameters: {minimum: -9223372036854775808, maximum: 1.7e308}}]\n"
    }
    manifests = load(tmp_path, files)
    assert manifests.of_kind("prompts")[0].text == text
    assert manifests.of_kind("configs")[0].prompt.version == 2**63 - 1
    assert manifests.of_kind("tools")[0].parameters == {"minimum": -(2**63), "maximum": 1.7e308}
