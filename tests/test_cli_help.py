"""The CLI explains itself: every option has help text, and shells complete commands and options."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from reconciler.cli import cli

EVICTL = Path(sys.executable).parent / "evictl"


def commands(command: click.Command, path: str = "evictl") -> Iterator[tuple[str, click.Command]]:
    """Every command of the tree under ``command``, with the words that invoke it (the lazily
    loaded ones loaded)."""
    yield path, command
    if isinstance(command, click.Group):
        ctx = click.Context(command)
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            assert sub is not None, name
            yield from commands(sub, f"{path} {name}")


def test_every_option_of_every_command_has_help() -> None:
    missing = [
        f"{path} {'/'.join(param.opts)}"
        for path, command in commands(cli)
        for param in command.params
        if isinstance(param, click.Option) and not (param.help or "").strip()
    ]
    assert missing == [], "options without help text"


def complete(shell: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the installed console script the way a shell's completion hook does."""
    variables = {**os.environ, "_EVICTL_COMPLETE": shell, **env}
    return subprocess.run([EVICTL], capture_output=True, text=True, env=variables, check=True)


@pytest.mark.parametrize(
    ("shell", "hook"),
    [
        ("bash_source", "complete -o nosort -F _evictl_completion evictl"),
        ("zsh_source", "compdef _evictl_completion evictl"),
        ("fish_source", "complete --no-files --command evictl"),
    ],
)
def test_the_completion_script_is_produced(shell: str, hook: str) -> None:
    assert hook in complete(shell).stdout


def test_completion_offers_commands_and_options() -> None:
    commands_ = complete("bash_complete", COMP_WORDS="evictl va", COMP_CWORD="1")
    assert commands_.stdout.split() == ["plain,validate"]
    options = complete("bash_complete", COMP_WORDS="evictl plan --for", COMP_CWORD="2")
    assert options.stdout.split() == ["plain,--format"]
