"""The ``evictl`` command line: one click group, one subcommand per pipeline stage."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import sys
from pathlib import Path

import click
import httpx
import pydantic

from reconciler import __version__, render
from reconciler.cli.console import ApplyConsole, finish_apply
from reconciler.cli.console import incomplete as _incomplete
from reconciler.cli.history import history
from reconciler.cli.options import (
    AUTO_APPROVE,
    NO_COLOR,
    PARALLELISM,
    TARGET,
    account_command,
    connection_options,
    format_option,
    manifest_options,
    traffic_options,
)
from reconciler.cli.output import output
from reconciler.cli.promote import promote_command
from reconciler.cli.rollback import rollback
from reconciler.client import ApiError, ResponseLost, unreachable
from reconciler.errors import UserError
from reconciler.kinds import NAMES
from reconciler.manifest import ManifestErrors, load_manifests
from reconciler.manifest.editorschema import manifest_schema
from reconciler.project import schema as project_schema
from reconciler.render import drift as drift_reports
from reconciler.terminal import safe
from reconciler.workflow import Connection, Traffic, apply_plan, drift_report, make_plan

RENDERERS = {"text": render.text, "json": render.as_json, "markdown": render.markdown}


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="evictl")
@click.option("--debug", is_flag=True, help="Show Python tracebacks for errors.")
@NO_COLOR
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Configuration-as-code for Hume's Empathic Voice Interface (EVI)."""
    ctx.obj = {"debug": debug}


@cli.command()
@NO_COLOR
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8123, show_default=True, type=int, help="Port to listen on.")
@click.option("--db", type=click.Path(dir_okay=False), help="SQLite file (default: in memory).")
@click.option("--api-key", envvar="EMULATOR_API_KEY", help="Accept only this key (default: any).")
@click.option("--allow-duplicate-names", is_flag=True, help="Let two resources share a name.")
@click.option("--latency-ms", default=0.0, type=float, help="Added latency per request.")
@click.option("--error-rate", default=0.0, type=float, help="Share of requests answered 5xx.")
@click.option("--rate-limit-rate", default=0.0, type=float, help="Share answered 429.")
@click.option("--retry-after", default=1, type=int, help="Retry-After seconds on a 429.")
@click.option(
    "--rate-limit", type=float, metavar="RPS", help="Enforce this many requests/s (else 429)."
)
@click.option(
    "--rate-burst", type=int, metavar="N", help="Requests at once under --rate-limit (default RPS)."
)
@click.option("--drop-rate", default=0.0, type=float, help="Share of writes stored, then dropped.")
@click.option("--fault-method", multiple=True, help="Limit faults to this method (repeatable).")
@click.option("--fault-path", help="Limit faults to paths matching this regex.")
@click.option("--seed", type=int, help="Seed for the fault dice, for repeatable runs.")
@click.option(
    "--defaults",
    "defaults_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Store these server defaults (a facts file) instead of evictl's: a Hume that differs.",
)
@click.option(
    "--error-style",
    type=click.Choice(["spec", "sdk"]),
    default="spec",
    show_default=True,
    help="sdk: every client error is a 400 ErrorResponse, as the official SDKs allow.",
)
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
    rate_limit: float | None,
    rate_burst: int | None,
    drop_rate: float,
    fault_method: tuple[str, ...],
    fault_path: str | None,
    seed: int | None,
    defaults_file: Path | None,
    error_style: str,
) -> None:
    """Serve a local emulator of Hume's EVI config API (prompts, tools, configs)."""
    from reconciler.emulator import EmulatorSettings, Faults
    from reconciler.emulator.faults import BadFaults
    from reconciler.emulator.ratelimit import RateLimit
    from reconciler.emulator.server import serve
    from reconciler.hume import facts

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
    try:
        limit = RateLimit.from_json({"rate": rate_limit, "burst": rate_burst})
    except BadFaults as exc:
        flags = {"rate": "--rate-limit", "burst": "--rate-burst"}
        raise UserError("; ".join(f"{flags[n]} {e}" for n, e in exc.errors.items())) from exc
    try:
        defaults = (
            facts.read_facts(defaults_file.read_text(encoding="utf-8"), str(defaults_file))
            if defaults_file
            else None
        )
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    settings = EmulatorSettings(
        db=db or ":memory:",
        api_key=api_key,
        allow_duplicate_names=allow_duplicate_names,
        faults=faults,
        rate_limit=limit,
        defaults=defaults,
        error_style=error_style,
    )
    click.echo(f"EVI emulator on http://{host}:{port} (state: {db or 'in memory'})", err=True)
    serve(host, port, settings)


@cli.command()
@NO_COLOR
@click.argument("path", type=click.Path(path_type=Path))
@manifest_options
def validate(path: Path, variables: dict[str, str]) -> None:
    """Check the manifests under PATH (a directory or one file) offline."""
    try:
        manifests = load_manifests(path, variables)
    except ManifestErrors as exc:
        click.echo(safe(str(exc)), err=True)
        sys.exit(1)
    for warning in manifests.warnings:
        click.echo(f"warning: {safe(warning)}", err=True)
    click.echo(f"{manifests.summary()}: valid")


@cli.command()
@NO_COLOR
@click.option("--project", is_flag=True, help="The project file's (evictl.toml) schema instead.")
def schema(project: bool) -> None:
    """Print the JSON Schema of the manifest format, or of evictl.toml (editor autocompletion)."""
    document = project_schema() if project else manifest_schema()
    click.echo(json.dumps(document, indent=2))


def _words(fmt: str, connection: Connection) -> dict[str, str | None]:
    """What a text or markdown report names besides the plan: the environment (JSON, a typed
    document, has no heading)."""
    return {} if fmt == "json" else {"environment": connection.environment}


@cli.command()
@account_command(list(RENDERERS))
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="Save the plan (JSON)."
)
@click.option("--detailed-exitcode", is_flag=True, help="Exit 0: no changes, 2: changes, 1: error.")
@TARGET
@traffic_options
def plan(
    path: Path,
    variables: dict[str, str],
    connection: Connection,
    fmt: str,
    out: Path | None,
    detailed_exitcode: bool,
    target: tuple[str, ...],
    traffic: Traffic,
) -> None:
    """Show what apply would change in the Hume account to match the manifests under PATH."""
    manifests, result = asyncio.run(make_plan(path, variables, connection, target, traffic))
    click.echo(RENDERERS[fmt](result, manifests.redact, **_words(fmt, connection)))
    if out is not None:
        out.write_text(render.as_json(result, manifests.redact) + "\n", encoding="utf-8")
    if result.unreadable:
        raise UserError(_incomplete(len(result.unreadable)))
    if detailed_exitcode and result.has_changes:
        sys.exit(2)


@cli.command(name="apply")
@NO_COLOR
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@manifest_options
@connection_options
@AUTO_APPROVE
@PARALLELISM
@format_option(["text", "json"])
@TARGET
@traffic_options
def apply_command(
    source: Path,
    variables: dict[str, str],
    connection: Connection,
    auto_approve: bool,
    parallelism: int,
    fmt: str,
    target: tuple[str, ...],
    traffic: Traffic,
) -> None:
    """Make the Hume account match the manifests under SOURCE, or apply a saved plan file.

    A saved plan was reviewed when it was made, so it is applied without asking.
    """
    saved = source.suffix == ".json" and source.is_file()
    if fmt == "json" and not (saved or auto_approve):
        raise UserError(
            "--format json prints no plan to confirm: pass --auto-approve (or a plan file)"
        )
    console = ApplyConsole(fmt, ask=not (saved or auto_approve), environment=connection.environment)
    manifests, result, outcomes = asyncio.run(
        apply_plan(
            source, variables, connection, targets=target, parallelism=parallelism,
            approve=console.approve, report=console.report, traffic=traffic,
        )
    )  # fmt: skip
    finish_apply(manifests, result, outcomes, fmt)


DRIFT_RENDERERS = {
    "text": drift_reports.as_text,
    "json": drift_reports.as_json,
    "markdown": drift_reports.as_markdown,
}


@cli.command()
@account_command(list(DRIFT_RENDERERS))
@click.option(
    "--ignore", multiple=True, metavar="KIND/NAME", help="Known drift to leave out (repeatable)."
)
def drift(
    path: Path,
    variables: dict[str, str],
    connection: Connection,
    fmt: str,
    ignore: tuple[str, ...],
) -> None:
    """Report where the account differs from the manifests (read-only). Exit 2 on drift."""
    manifests, report = asyncio.run(drift_report(path, variables, connection, ignore))
    click.echo(DRIFT_RENDERERS[fmt](report, manifests.redact, **_words(fmt, connection)))
    if report.unreadable:
        raise UserError(_incomplete(len(report.unreadable)))
    if report.has_drift:
        sys.exit(2)


@cli.command()
@NO_COLOR
@manifest_options
@connection_options
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory to write the manifests to (existing files are edited in place).",
)
@click.option("--name", "names", multiple=True, help="Export only resources with this name.")
@click.option(
    "--kind", "kinds", multiple=True, type=click.Choice(NAMES),
    help="Export only this kind (repeatable).",
)  # fmt: skip
@click.option("--dry-run", is_flag=True, help="Show which files would change; write nothing.")
def export(
    variables: dict[str, str],
    connection: Connection,
    out: Path,
    names: tuple[str, ...],
    kinds: tuple[str, ...],
    dry_run: bool,
) -> None:
    """Write manifests for the resources in the Hume account (onboarding from the portal).

    --var/--var-file resolve the ${...} in manifests already under --out, so that one that
    still equals the live value is kept as written."""
    from reconciler import export as exporter
    from reconciler.reexport import describe

    report, notices = asyncio.run(
        exporter.run(
            connection, out, names=names, kinds=kinds, variables=variables, dry_run=dry_run
        )
    )
    for notice in notices:
        click.echo(f"warning: {safe(describe(notice))}", err=True)
    click.echo(safe(report))


_EXPECTED = (
    ManifestErrors,
    UserError,
    ApiError,
    ResponseLost,
    httpx.HTTPError,
    OSError,
    sqlite3.Error,
    pydantic.ValidationError,
)
"""What becomes a message and exit 1 instead of a traceback (unless ``--debug``)."""


def _error_message(exc: BaseException) -> str:
    """The words for an expected error: located manifest errors as they are, others ``error:``."""
    if isinstance(exc, ManifestErrors):
        return str(exc)
    if isinstance(exc, httpx.HTTPError):
        return f"error: {unreachable(exc)}"
    if isinstance(exc, pydantic.ValidationError):
        fields = ", ".join(".".join(map(str, e["loc"])) for e in exc.errors())
        return f"error: the API answered in an unexpected shape ({fields})"
    return f"error: {exc}"


class _Warnings(logging.Handler):
    """``warning: ...`` on stderr for what the client tolerated (null items Hume sent)."""

    def emit(self, record: logging.LogRecord) -> None:
        click.echo(f"warning: {safe(record.getMessage())}", err=True)


@cli.command()
@NO_COLOR
@connection_options
@click.option(
    "--save",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the server defaults observed as a facts file (e.g. hume-facts.json at the root).",
)
def probe(connection: Connection, save: Path | None) -> None:
    """Check, with scratch resources it deletes again, every assumption evictl makes about Hume.

    Run it once against a real account before trusting plans. Exit 0 when every assumption
    holds, 1 when one does not (each is named).
    """
    from reconciler.probe import run_probe

    text, document, holds = asyncio.run(run_probe(connection))
    click.echo(safe(text))
    if save is not None:
        save.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        click.echo(f"Wrote {save}: plan, apply and drift compare with these defaults.")
    if not holds:
        sys.exit(1)


cli.add_command(output)
cli.add_command(promote_command)
cli.add_command(history)
cli.add_command(rollback)


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
    except _EXPECTED as exc:
        if debug:
            raise
        click.echo(safe(_error_message(exc)), err=True)
        sys.exit(1)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
