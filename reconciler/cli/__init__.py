"""The ``evictl`` command line: one click group, one subcommand per pipeline stage.

Start-up is part of the interface: pre-commit hooks and editors run ``evictl validate`` on every
save. So this module imports only click and tiny modules, and each command lives in its own module
under ``reconciler.cli``, imported when that command runs (see ``LazyGroup``).
"""

from __future__ import annotations

import gc
import importlib
import logging
import sys
import types
from collections.abc import Mapping
from importlib.machinery import ModuleSpec
from typing import Any, NamedTuple

import click
from click.shell_completion import CompletionItem

from reconciler import __version__
from reconciler.cli.options import NO_COLOR
from reconciler.errors import UserError
from reconciler.terminal import safe


class _NoHttpxCommandLine:
    """httpx imports its own command line (``httpx._main``: rich and pygments, 40 ms and 6 MB)
    whenever it is imported, and evictl never runs it. This import hook answers that import with
    an empty module, so httpx defines a stub ``main`` instead, as it does when those packages are
    not installed. Nothing is imported until httpx is."""

    def find_spec(self, name: str, path: object, target: object = None) -> ModuleSpec | None:
        return ModuleSpec(name, self) if name == "httpx._main" else None

    def create_module(self, spec: ModuleSpec) -> None:
        return None

    def exec_module(self, module: types.ModuleType) -> None:
        return None


sys.meta_path.insert(0, _NoHttpxCommandLine())


class Lazy(NamedTuple):
    """Where a command is (``module:attribute``) and its summary, the line ``evictl --help``
    shows: the first sentence of its docstring, as click shortens it (a test keeps them equal)."""

    target: str
    summary: str


class LazyGroup(click.Group):
    """A group that imports a command's module only when that command is invoked, or its help or
    its options' completion is asked for; the group's own help and command-name completion read
    the summaries instead (click's "Lazily Loading Subcommands")."""

    def __init__(self, *args: Any, lazy: Mapping[str, Lazy], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            module, _, attribute = self.lazy[cmd_name].target.partition(":")
            self.add_command(getattr(importlib.import_module(module), attribute), cmd_name)
        return super().get_command(ctx, cmd_name)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        """A name that is no command loads them all first: click's "Did you mean" offers only
        loaded commands."""
        if args and args[0] not in self.lazy:
            for name in self.lazy:
                self.get_command(ctx, name)
        return super().resolve_command(ctx, args)

    def listed(self, cmd_name: str) -> click.Command:
        """``cmd_name`` as the group lists it: the command if loaded, else a stand-in with its
        summary as help, which click shortens to the width exactly as the command's docstring."""
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        return click.Command(cmd_name, help=self.lazy[cmd_name].summary)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        listing = {name: self.listed(name) for name in self.list_commands(ctx)}
        click.Group(commands=listing).format_commands(ctx, formatter)

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[CompletionItem]:
        names = [name for name in self.list_commands(ctx) if name.startswith(incomplete)]
        commands = [CompletionItem(n, help=self.listed(n).get_short_help_str()) for n in names]
        return commands + click.Command.shell_complete(self, ctx, incomplete)


COMMANDS = {
    "apply": Lazy(
        "reconciler.cli.apply:apply_command",
        "Make the Hume account match the manifests under SOURCE, or apply a saved plan file.",
    ),
    "drift": Lazy(
        "reconciler.cli.drift:drift",
        "Report where the account differs from the manifests (read-only).",
    ),
    "emulator": Lazy(
        "reconciler.cli.emulator:emulator",
        "Serve a local emulator of Hume's EVI config API (prompts, tools, configs).",
    ),
    "export": Lazy(
        "reconciler.cli.export:export",
        "Write manifests for the resources in the Hume account (onboarding from the portal).",
    ),
    "history": Lazy(
        "reconciler.cli.history:history",
        "Show every version of the live resource KIND/NAME (e.g. prompts/greeter), newest first, "
        "with what each changed from the version before it (read-only).",
    ),
    "output": Lazy(
        "reconciler.cli.output:output",
        "Print the id and latest version of each resource the manifests under PATH describe.",
    ),
    "plan": Lazy(
        "reconciler.cli.plan:plan",
        "Show what apply would change in the Hume account to match the manifests under PATH.",
    ),
    "probe": Lazy(
        "reconciler.cli.probe:probe",
        "Check, with scratch resources it deletes again, every assumption evictl makes about Hume.",
    ),
    "promote": Lazy(
        "reconciler.cli.promote:promote_command",
        "Apply the manifests under PATH to --to, once --from runs exactly them (no drift).",
    ),
    "rollback": Lazy(
        "reconciler.cli.rollback:rollback",
        "Make a new version of the live resource KIND/NAME equal to version --to (a config: with "
        "the same prompt and tool versions), then print the manifest entry that keeps it.",
    ),
    "schema": Lazy(
        "reconciler.cli.schema:schema",
        "Print the JSON Schema of the manifest format, or of evictl.toml (editor autocompletion).",
    ),
    "validate": Lazy(
        "reconciler.cli.validate:validate",
        "Check the manifests under PATH (a directory or one file), and its evictl.toml, offline.",
    ),
}
"""Every command. A new one is a module under ``reconciler.cli`` and one entry here."""


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="evictl")
@click.option("--debug", is_flag=True, help="Show Python tracebacks for errors.")
@NO_COLOR
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Configuration-as-code for Hume's Empathic Voice Interface (EVI)."""
    ctx.obj = {"debug": debug}


_EXPECTED = {
    "reconciler.manifest.errors": ("ManifestErrors",),
    "reconciler.client.api": ("ApiError", "ResponseLost"),
    "httpx": ("HTTPError",),
    "sqlite3": ("Error",),
    "pydantic_core": ("ValidationError",),
}
"""What becomes a message and exit 1 instead of a traceback (unless ``--debug``), besides
``UserError`` and ``OSError``. Named by module and looked up only in modules already imported:
an error class whose module no command imported cannot have been raised, and importing httpx or
pydantic only to name their errors would slow every command's start-up."""


def _loaded(module: str, name: str) -> type[BaseException] | None:
    """The class ``module.name`` if ``module`` has been imported, else None."""
    found = sys.modules.get(module)
    return None if found is None else getattr(found, name, None)


def _is(exc: BaseException, module: str, name: str) -> bool:
    kind = _loaded(module, name)
    return kind is not None and isinstance(exc, kind)


def _expected(exc: BaseException) -> bool:
    """Whether ``exc`` is one of the errors ``_EXPECTED`` names (or a ``UserError``/``OSError``)."""
    return isinstance(exc, UserError | OSError) or any(
        _is(exc, module, name) for module, names in _EXPECTED.items() for name in names
    )


def _error_message(exc: BaseException) -> str:
    """The words for an expected error: located manifest errors as they are, others ``error:``."""
    if _is(exc, "reconciler.manifest.errors", "ManifestErrors"):
        return str(exc)
    if _is(exc, "httpx", "HTTPError"):
        from reconciler.client.api import unreachable

        return f"error: {unreachable(exc)}"  # type: ignore[arg-type]
    if _is(exc, "pydantic_core", "ValidationError"):
        fields = ", ".join(".".join(map(str, e["loc"])) for e in exc.errors())  # type: ignore[attr-defined]
        return f"error: the API answered in an unexpected shape ({fields})"
    return f"error: {exc}"


class _Warnings(logging.Handler):
    """``warning: ...`` on stderr for what the client tolerated (null items Hume sent)."""

    def emit(self, record: logging.LogRecord) -> None:
        click.echo(f"warning: {safe(record.getMessage())}", err=True)


def main() -> None:
    """Console entry point: user errors become a message on stderr and exit code 1."""
    debug = "--debug" in sys.argv[1:]
    logger = logging.getLogger("reconciler")
    logger.addHandler(_Warnings(logging.WARNING))
    logger.propagate = False
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(1 if exc.exit_code == 2 else exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:
        if debug or not _expected(exc):
            raise
        click.echo(safe(_error_message(exc)), err=True)
        sys.exit(1)
    finally:
        # The interpreter's last garbage collection, on its way out, would walk every object the
        # command left (a 10,000-resource plan: ~0.08 s) to free nothing the exit does not.
        gc.freeze()
