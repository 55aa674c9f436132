"""``evictl emulator``: serve the local emulator of Hume's EVI config API over HTTP."""

from __future__ import annotations

from pathlib import Path

import click

from reconciler.cli.options import NO_COLOR
from reconciler.errors import UserError


@click.command()
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
