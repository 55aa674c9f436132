"""``evictl promote``: apply to one environment what another one already runs."""

from __future__ import annotations

from pathlib import Path

import click

from reconciler import aio
from reconciler.cli.console import ApplyConsole, finish_apply
from reconciler.cli.options import (
    AUTO_APPROVE,
    NO_COLOR,
    PARALLELISM,
    Overrides,
    environment_connection,
    format_option,
    override_options,
    traffic_options,
)
from reconciler.errors import UserError
from reconciler.project import Environment, load_project
from reconciler.promote import Account, promote
from reconciler.render import drift as drift_reports
from reconciler.workflow import Traffic


@click.command(name="promote")
@NO_COLOR
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--from", "source", required=True, metavar="ENV", help="The environment to copy.")
@click.option("--to", "target", required=True, metavar="ENV", help="The environment to change.")
@override_options
@AUTO_APPROVE
@PARALLELISM
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path), help="Save the plan (JSON)."
)
@format_option(["text", "json"])
@traffic_options
def promote_command(
    path: Path,
    source: str,
    target: str,
    overrides: Overrides,
    auto_approve: bool,
    parallelism: int,
    out: Path | None,
    fmt: str,
    traffic: Traffic,
) -> None:
    """Apply the manifests under PATH to --to, once --from runs exactly them (no drift).

    Both are environments of the evictl.toml at PATH. --var and --var-file override both
    environments' variables.
    """
    project = load_project(path)
    if source == target:
        raise UserError(f"--from and --to are both {source}: promote copies between two")
    if fmt == "json" and not auto_approve:
        raise UserError("--format json prints no plan to confirm: pass --auto-approve")
    environments = [
        project.environment(name, option) for name, option in ((source, "--from"), (target, "--to"))
    ]
    accounts = [_account(environment, overrides) for environment in environments]
    console = ApplyConsole(fmt, ask=not auto_approve, environment=target, out=out)
    done = aio.run(
        promote(
            path, *accounts, parallelism=parallelism,
            approve=console.approve, report=console.report, traffic=traffic,
        )
    )  # fmt: skip
    if done.plan is None:
        render = drift_reports.as_json if fmt == "json" else drift_reports.as_text
        words = {} if fmt == "json" else {"environment": source}
        click.echo(render(done.drift, done.manifests.redact, **words))
        drifted = ", ".join(item.change.address for item in done.drift.items)
        if done.drift.unreadable:
            raise UserError(
                f"{source} could not be read in full: Hume did not answer for "
                f"{len(done.drift.unreadable)} resource(s), and what was not read may be what "
                "differs; promote again"
            )
        raise UserError(
            f"{source} does not run these manifests: {drifted} differ; "
            f"apply them to {source} first, then promote"
        )
    finish_apply(done.manifests, done.plan, done.outcomes, fmt)


def _account(environment: Environment | None, overrides: Overrides) -> Account:
    assert environment is not None  # load_project().environment(name) raises without one
    return Account(environment_connection(environment), overrides.variables(environment))
