"""The click options the commands share: variables, the connection, and ``--target``."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from reconciler.manifest.interpolate import parse_var_pairs, read_var_file
from reconciler.workflow import Connection

F = TypeVar("F", bound=Callable[..., Any])


def _no_color(ctx: click.Context, _: click.Parameter, value: bool) -> None:
    if value or os.environ.get("NO_COLOR"):
        ctx.color = False


NO_COLOR = click.option(
    "--no-color",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_no_color,
    help="No colour, even on a terminal (also NO_COLOR=1, see no-color.org).",
)
"""On the group and on every command, so it works before or after the command's name."""
TARGET = click.option(
    "--target",
    multiple=True,
    metavar="KIND/NAME",
    help="Only this resource and what it uses, e.g. configs/support (repeatable).",
)


def manifest_options(command: F) -> F:
    """Add ``--var KEY=VALUE`` and ``--var-file FILE``; the command receives ``variables``.

    ``variables`` merges, lowest precedence first: the environment, each ``--var-file`` in order,
    each ``--var`` in order.
    """

    @click.option(
        "--var",
        "var_pairs",
        multiple=True,
        metavar="KEY=VALUE",
        help="Set a ${KEY} interpolation variable (repeatable; overrides --var-file).",
    )
    @click.option(
        "--var-file",
        "var_files",
        multiple=True,
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="Read KEY=VALUE lines (a .env file) as variables (repeatable).",
    )
    @functools.wraps(command)
    def wrapper(
        *args: Any, var_pairs: tuple[str, ...], var_files: tuple[Path, ...], **kwargs: Any
    ) -> Any:
        variables = dict(os.environ)
        for var_file in var_files:
            variables.update(read_var_file(var_file))
        variables.update(parse_var_pairs(var_pairs))
        return command(*args, variables=variables, **kwargs)

    return wrapper  # type: ignore[return-value]


def connection_options(command: F) -> F:
    """Add ``--emulator PATH``, ``--base-url URL`` and ``--facts FILE``; the command receives
    ``connection``."""

    @click.option(
        "--emulator",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Use the embedded emulator, state in this SQLite file (no key, no server).",
    )
    @click.option(
        "--base-url",
        envvar="HUME_BASE_URL",
        help="API base URL (default https://api.hume.ai; env HUME_BASE_URL). Key: HUME_API_KEY.",
    )
    @click.option(
        "--facts",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        help="Server defaults learned by `evictl probe --save` (default: hume-facts.json at the "
        "manifest root, if there is one).",
    )
    @functools.wraps(command)
    def wrapper(
        *args: Any, emulator: Path | None, base_url: str | None, facts: Path | None, **kwargs: Any
    ) -> Any:
        connection = Connection(emulator, base_url, facts=facts)
        return command(*args, connection=connection, **kwargs)

    return wrapper  # type: ignore[return-value]


def account_command(formats: list[str]) -> Callable[[F], F]:
    """What plan and drift take, in this order: PATH, variables, the connection, ``--format``
    (one of ``formats``), and ``--no-color``."""

    def decorate(command: F) -> F:
        command = click.option(
            "--format", "fmt", type=click.Choice(formats), default="text", show_default=True
        )(command)
        command = connection_options(command)
        command = manifest_options(command)
        command = click.argument("path", type=click.Path(path_type=Path))(command)
        return NO_COLOR(command)

    return decorate
