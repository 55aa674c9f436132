"""The ``evictl`` command line: one click group, one subcommand per pipeline stage."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from reconciler import __version__
from reconciler.errors import UserError
from reconciler.manifest import ManifestDocument, ManifestErrors, load_manifests
from reconciler.manifest.options import manifest_options


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="evictl")
@click.option("--debug", is_flag=True, help="Show Python tracebacks for errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Configuration-as-code for Hume's Empathic Voice Interface (EVI)."""
    ctx.obj = {"debug": debug}


@cli.command()
@click.argument("path", type=click.Path(path_type=Path))
@manifest_options
def validate(path: Path, variables: dict[str, str]) -> None:
    """Check the manifests under PATH (a directory or one file) offline."""
    try:
        manifests = load_manifests(path, variables)
    except ManifestErrors as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    click.echo(f"{manifests.summary()}: valid")


@cli.command()
def schema() -> None:
    """Print the JSON Schema of the manifest format (for editor autocompletion)."""
    click.echo(json.dumps(ManifestDocument.model_json_schema(), indent=2))


def main() -> None:
    """Console entry point: user errors become one line on stderr and exit code 1."""
    debug = "--debug" in sys.argv[1:]
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(1 if exc.exit_code == 2 else exc.exit_code)
    except UserError as exc:
        if debug:
            raise
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
