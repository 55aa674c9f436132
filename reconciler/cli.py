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
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8123, show_default=True, type=int, help="Port to listen on.")
@click.option("--db", type=click.Path(dir_okay=False), help="SQLite file (default: in memory).")
@click.option("--api-key", envvar="EMULATOR_API_KEY", help="Accept only this key (default: any).")
@click.option("--allow-duplicate-names", is_flag=True, help="Let two resources share a name.")
@click.option("--latency-ms", default=0.0, type=float, help="Added latency per request.")
@click.option("--error-rate", default=0.0, type=float, help="Share of requests answered 5xx.")
@click.option("--rate-limit-rate", default=0.0, type=float, help="Share answered 429.")
@click.option("--retry-after", default=1, type=int, help="Retry-After seconds on a 429.")
@click.option("--drop-rate", default=0.0, type=float, help="Share of writes stored, then dropped.")
@click.option("--fault-method", multiple=True, help="Limit faults to this method (repeatable).")
@click.option("--fault-path", help="Limit faults to paths matching this regex.")
@click.option("--seed", type=int, help="Seed for the fault dice, for repeatable runs.")
def emulator(
    host: str,
    port: int,
    db: str | None,
    api_key: str | None,
    allow_duplicate_names: bool,
    latency_ms: float,
    error_rate: float,
    rate_limit_rate: float,
    retry_after: int,
    drop_rate: float,
    fault_method: tuple[str, ...],
    fault_path: str | None,
    seed: int | None,
) -> None:
    """Serve a local emulator of Hume's EVI config API (prompts, tools, configs)."""
    from reconciler.emulator import EmulatorSettings, Faults
    from reconciler.emulator.server import serve

    try:
        faults = Faults(
            latency_ms=latency_ms,
            error_rate=error_rate,
            rate_limit_rate=rate_limit_rate,
            retry_after_s=retry_after,
            drop_rate=drop_rate,
            methods=list(fault_method),
            path=fault_path,
            seed=seed,
        )
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    settings = EmulatorSettings(
        db=db or ":memory:",
        api_key=api_key,
        allow_duplicate_names=allow_duplicate_names,
        faults=faults,
    )
    click.echo(f"EVI emulator on http://{host}:{port} (state: {db or 'in memory'})", err=True)
    serve(host, port, settings)


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
