"""The click options the commands share: variables, the connection, and ``--target``.

Every command imports this module, and the group imports it for ``--no-color``: so it imports only
click at the top, and what the options turn into (``Connection``, ``Project``) when a command runs.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from click.core import ParameterSource

if TYPE_CHECKING:
    from reconciler.project import Environment, Project
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


DEFAULT_KEY_VARIABLE = "HUME_API_KEY"


@dataclass(frozen=True)
class Overrides:
    """``--var-file`` and ``--var``: what the command line sets over an environment's variables."""

    var_files: tuple[Path, ...] = ()
    var_pairs: tuple[str, ...] = ()

    def variables(self, environment: Environment | None) -> dict[str, str]:
        """Merged, lowest precedence first: the process environment, the evictl.toml
        environment's var files in order and its ``vars``, each ``--var-file`` in order, each
        ``--var`` in order."""
        from reconciler.manifest.interpolate import parse_var_pairs, read_var_file

        variables = dict(os.environ)
        if environment is not None:
            variables.update(environment.variables())
        for var_file in self.var_files:
            variables.update(read_var_file(var_file))
        variables.update(parse_var_pairs(self.var_pairs))
        for key in _key_variables(environment):
            variables.pop(key, None)
        return variables


def _key_variables(environment: Environment | None) -> set[str]:
    """The variables holding an API key, never interpolated: a manifest (a pull request's, say)
    could otherwise put the key into a plan, a plan file or a PR comment."""
    keys = {DEFAULT_KEY_VARIABLE}
    if environment is not None and environment.api_key_env:
        keys.add(environment.api_key_env)
    return keys


def override_options(command: F) -> F:
    """Add ``--var KEY=VALUE`` and ``--var-file FILE``; the command receives ``overrides``."""

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
        return command(*args, overrides=Overrides(var_files, var_pairs), **kwargs)

    return wrapper  # type: ignore[return-value]


def manifest_options(command: F) -> F:
    """Add ``--var KEY=VALUE`` and ``--var-file FILE``; the command receives ``variables``,
    merged as ``Overrides.variables`` says over the ``--env`` environment's (when the command
    has ``--env``)."""

    @override_options
    @functools.wraps(command)
    def wrapper(*args: Any, overrides: Overrides, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        environment = selected_environment(ctx) if "env" in ctx.params else None
        return command(*args, variables=overrides.variables(environment), **kwargs)

    return wrapper  # type: ignore[return-value]


def command_project(ctx: click.Context) -> Project:
    """The evictl.toml of the manifests this command reads: at PATH (or SOURCE, or a saved plan's
    manifests), at export's ``--out``, else in the current directory."""
    from reconciler.project import Project, load_project
    from reconciler.workflow import is_saved_plan, read_saved_plan, saved_source

    params = ctx.params
    for name in ("path", "source"):
        value = params.get(name)
        if isinstance(value, Path):
            if is_saved_plan(value):
                # Its manifests must be here before their evictl.toml can name an environment.
                manifests, _ = saved_source(value, read_saved_plan(value), ())
                return load_project(manifests)
            return load_project(value)
    out = params.get("out")
    if ctx.command.name == "export" and isinstance(out, Path):
        return load_project(out) if out.is_dir() else Project()
    return load_project(Path.cwd())


def selected_environment(ctx: click.Context) -> Environment | None:
    """The ``--env`` environment of this command (read once per command)."""
    if "evictl.environment" not in ctx.meta:
        ctx.meta["evictl.environment"] = command_project(ctx).environment(ctx.params.get("env"))
    return ctx.meta["evictl.environment"]


def environment_connection(
    environment: Environment | None,
    *,
    emulator: Path | None = None,
    base_url: str | None = None,
    facts: Path | None = None,
) -> Connection:
    """The connection to ``environment``'s account; ``base_url`` (an explicit flag) wins over
    its ``base_url``."""
    from reconciler import workflow

    if environment is None:
        return workflow.Connection(emulator, base_url, facts=facts)
    return workflow.Connection(
        emulator,
        base_url or environment.base_url,
        facts=facts,
        api_key_env=environment.api_key_env or DEFAULT_KEY_VARIABLE,
        environment=environment.name,
    )


def connection_options(command: F) -> F:
    """Add ``--env NAME``, ``--emulator PATH``, ``--base-url URL`` and ``--facts FILE``; the
    command receives ``connection``."""

    @click.option(
        "--env",
        "env",
        envvar="EVICTL_ENV",
        metavar="NAME",
        help="The evictl.toml environment to use: its account, key variable and variables "
        "(env EVICTL_ENV).",
    )
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
        *args: Any,
        env: str | None,
        emulator: Path | None,
        base_url: str | None,
        facts: Path | None,
        **kwargs: Any,
    ) -> Any:
        ctx = click.get_current_context()
        environment = selected_environment(ctx)
        if environment is not None and environment.base_url:
            flag = ctx.get_parameter_source("base_url") is ParameterSource.COMMANDLINE
            base_url = base_url if flag else None
        connection = environment_connection(
            environment, emulator=emulator, base_url=base_url, facts=facts
        )
        return command(*args, connection=connection, **kwargs)

    return wrapper  # type: ignore[return-value]


def format_option(formats: list[str]) -> Callable[[F], F]:
    """``--format`` as ``fmt``: one of ``formats``, the first by default."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(formats),
        default=formats[0],
        show_default=True,
        help="Output format.",
    )


AUTO_APPROVE = click.option(
    "--auto-approve", is_flag=True, help="Apply without asking (needed without a TTY)."
)
PARALLELISM = click.option(
    "--parallelism",
    default=8,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Writes in flight at once.",
)


def account_command(formats: list[str]) -> Callable[[F], F]:
    """What plan and drift take, in this order: PATH, variables, the connection, ``--format``
    (one of ``formats``), and ``--no-color``."""

    def decorate(command: F) -> F:
        command = format_option(formats)(command)
        command = connection_options(command)
        command = manifest_options(command)
        command = click.argument("path", type=click.Path(path_type=Path))(command)
        return NO_COLOR(command)

    return decorate


def traffic_options(command: F) -> F:
    """Add the live-traffic guard's ``--no-usage`` and ``--allow-active-chats``; the command
    receives ``traffic``."""

    @click.option(
        "--no-usage",
        is_flag=True,
        help="Do not read the chats of the configs the plan changes (no live-traffic guard).",
    )
    @click.option(
        "--allow-active-chats",
        is_flag=True,
        help="Delete configs even while ACTIVE chats use them.",
    )
    @functools.wraps(command)
    def wrapper(*args: Any, no_usage: bool, allow_active_chats: bool, **kwargs: Any) -> Any:
        from reconciler.workflow import Traffic

        traffic = Traffic(usage=not no_usage, allow_active=allow_active_chats)
        return command(*args, traffic=traffic, **kwargs)

    return wrapper  # type: ignore[return-value]
