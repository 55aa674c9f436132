"""What an apply says on the terminal, shared by ``evictl apply`` and ``evictl promote``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from reconciler import render
from reconciler.applier import STATUSES, Outcome, summary
from reconciler.errors import UserError
from reconciler.manifest import Manifests
from reconciler.planner.plan import Plan
from reconciler.workflow import Connection


def report_words(fmt: str, connection: Connection) -> dict[str, str | None]:
    """What a text or markdown report names besides the plan: the environment (JSON, a typed
    document, has no heading)."""
    return {} if fmt == "json" else {"environment": connection.environment}


def incomplete(count: int) -> str:
    return (
        f"the plan is incomplete: Hume did not answer for {count} resource(s), left out; "
        "run it again"
    )


class ApplyConsole:
    """What apply says while it runs: the plan, the confirmation, a line per finished action.

    On a terminal, a run of ``BAR_FROM`` actions or more also keeps a progress bar on stderr,
    redrawn under the lines (which stay plain, so logs and pipes get only the lines).
    ``environment`` names the evictl.toml environment in the plan's heading; ``out`` saves the
    plan that is about to be applied.
    """

    BAR_FROM = 20
    BAR_WIDTH = 30

    def __init__(
        self,
        fmt: str,
        ask: bool,
        *,
        environment: str | None = None,
        command: str = "apply",
        out: Path | None = None,
    ) -> None:
        self.fmt, self.ask = fmt, ask
        self.environment, self.command, self.out = environment, command, out
        self.total = self.done = 0
        self.bar = fmt == "text" and sys.stderr.isatty()
        self.redact: render.Redact = str

    def approve(self, manifests: Manifests, result: Plan) -> bool:
        self.total = len(result.pending)
        self.redact = manifests.redact
        if self.out is not None:
            self.out.write_text(render.as_json(result, manifests.redact) + "\n", encoding="utf-8")
        if self.fmt == "text":
            click.echo(
                render.text(
                    result, manifests.redact, environment=self.environment, command=self.command
                )
            )
        if not self.ask:
            return True
        if not sys.stdin.isatty():
            raise UserError(
                "no terminal to confirm on: review with `evictl plan`, then --auto-approve"
            )
        return click.confirm("Apply these changes?", default=False)

    def report(self, outcome: Outcome) -> None:
        self.done += 1
        if self.fmt != "text":
            return
        bar = self.bar and self.total >= self.BAR_FROM
        if bar:
            click.echo("\r\x1b[K", nl=False, err=True)
        click.echo(self.redact(f"[{self.done}/{self.total}] {outcome.line()}"))
        if bar:
            filled = self.BAR_WIDTH * self.done // self.total
            meter = "#" * filled + "-" * (self.BAR_WIDTH - filled)
            click.echo(f"[{meter}] {self.done}/{self.total}", nl=False, err=True)
            if self.done == self.total:
                click.echo("", err=True)


def finish_apply(manifests: Manifests, result: Plan, outcomes: list[Outcome], fmt: str) -> None:
    """Print how an apply ended and exit 1 unless everything planned was done."""
    counts = {status: sum(o.status == status for o in outcomes) for status in STATUSES}
    if fmt == "json":
        outcomes_json = [o.model_dump(mode="json") for o in outcomes]
        document = {"format_version": 1, "outcomes": outcomes_json, "summary": counts}
        click.echo(render.json_document(document, manifests.redact))
    elif outcomes:
        click.echo(summary(counts))
    elif result.has_changes:
        click.echo("Apply cancelled; nothing was changed.")
        sys.exit(1)  # as Terraform's: a pipeline must not take "no" for success
    elif result.unreadable:
        raise UserError(incomplete(len(result.unreadable)))
    else:
        click.echo(result.summary())
    if counts["conflict"] or counts["failed"] or counts["skipped"]:
        sys.exit(1)
