"""Run one evictl command for the action: mask, run, report, set outputs, comment, exit.

The step's result follows evictl's exit code without hiding anything: 1 (an error, or an apply
that failed or skipped something) fails the step; 2 from ``plan`` (changes) or ``drift`` (drift)
is a finding, not a failure, so the step succeeds with ``exitcode=2`` and ``has-changes=true``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.action.github import COMMENT_LIMIT, Context, GitHub, GitHubError, fit
from reconciler.errors import UserError

if TYPE_CHECKING:
    from reconciler.project import Environment

# evictl's own modules (models, renderers) are imported where one command needs them: every run
# of the step is a fresh interpreter, and their import costs more than most commands' work here.

SUCCESS = {"validate": {0}, "plan": {0, 2}, "apply": {0}, "drift": {0, 2}, "promote": {0}}
"""The exit codes after which the step succeeds."""
SECRET_REF = re.compile(r"\$\{secret:([A-Za-z_][A-Za-z0-9_]*)")
SUMMARY_LIMIT = 250_000
"""Characters of report in the job summary (GitHub takes 1 MiB per step, 4 bytes a character)."""
ERROR_LINES = 60


class InputError(Exception):
    """An input the action cannot use: an error annotation, and the step fails."""


def _flag(name: str, value: str) -> bool:
    if value.lower() not in ("true", "false"):
        raise InputError(f"input {name} must be true or false, not {value!r}")
    return value.lower() == "true"


@dataclass(frozen=True)
class Inputs:
    """The action's inputs, from the ``INPUT_*`` variables ``action.yml`` sets."""

    command: str = "plan"
    path: str = "."
    api_key: str = ""
    base_url: str = ""
    emulator: str = ""
    vars: str = ""
    plan_file: str = ""
    parallelism: str = "8"
    comment_on_pr: bool = False
    drift_issue: bool = False
    environment: str = ""
    issue_label: str = "evictl-drift"
    github_token: str = ""
    from_: str = ""
    to: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Inputs:
        """Read and check the inputs; an empty ``api-key`` falls back to ``HUME_API_KEY``."""
        values: dict[str, Any] = {}
        for item in dataclasses.fields(cls):
            raw = env.get(f"INPUT_{item.name.rstrip('_').upper()}", "")
            text = raw if item.name == "vars" else raw.strip()
            if text:
                values[item.name] = (
                    _flag(item.name.replace("_", "-"), text) if item.type == "bool" else text
                )
        inputs = cls(**values)
        if inputs.command not in SUCCESS:
            raise InputError(
                f"input command must be one of {', '.join(SUCCESS)}, not {inputs.command!r}"
            )
        if inputs.drift_issue and inputs.command != "drift":
            raise InputError("input drift-issue works only with command: drift")
        if (inputs.command == "promote") != bool(inputs.from_ and inputs.to):
            raise InputError("inputs from and to go together with command: promote, and only there")
        if not inputs.api_key and env.get("HUME_API_KEY"):
            inputs = dataclasses.replace(inputs, api_key=env["HUME_API_KEY"])
        return inputs

    @property
    def title(self) -> str:
        """``evictl plan: `manifests` (production)``, the report's heading."""
        where = f" ({self.environment})" if self.environment else ""
        if self.command == "promote":
            where = f" ({self.from_} → {self.to})"
        return f"evictl {self.command}: `{self.path}`{where}"

    @property
    def scope(self) -> str:
        """What a comment or issue is about: the path, and the environment if named."""
        return f"{self.path}:{self.environment}" if self.environment else self.path


@dataclass(frozen=True)
class Report:
    """What one command found, ready for outputs, summary, comment and issue."""

    exitcode: int
    summary: str
    markdown: str
    has_changes: bool = False
    plan_json: str = ""
    resources: str = ""
    """After an apply, ``evictl output --format json``: the ids and versions apps connect with."""

    @property
    def ok(self) -> bool:
        return self.exitcode in (0, 2)


@dataclass(frozen=True)
class Result:
    """A finished evictl process."""

    exitcode: int
    stdout: str
    stderr: str


def _escape(value: str) -> str:
    """Workflow command data escaping (``%``, CR, LF), so a value cannot end its command."""
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def annotate(level: str, message: str) -> None:
    """An ``::error::`` / ``::warning::`` / ``::notice::`` line for the run's annotations."""
    print(f"::{level} title=evictl::{_escape(message)}", flush=True)


def _fenced(text: str) -> str:
    """``text`` as a code block whose fence no line of it can close."""
    fence = "`" * max(3, max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    return f"{fence}text\n{text}\n{fence}"


def _one_line(text: str, limit: int = 300) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _already_redacted(text: str) -> str:
    """evictl redacts secrets before it writes JSON, so what the action renders from it is clean."""
    return text


def _retitle(markdown: str, title: str) -> str:
    """Replace the ``### ...`` first line of a rendered report."""
    first, _, rest = markdown.partition("\n")
    return f"### {title}\n{rest}" if first.startswith("### ") else f"### {title}\n\n{markdown}"


def secret_refs(path: Path) -> set[str]:
    """Names the manifests use as ``${secret:NAME}``: their values are masked too."""
    from reconciler.manifest.files import Refused, read_bytes

    root = path.parent if path.is_file() else path
    files: Iterable[Path] = [path] if path.is_file() else path.rglob("*.y*ml")
    names: set[str] = set()
    for file in files:
        try:  # never a FIFO (it would hang the job) nor a symlink out of the tree
            text = read_bytes(file, root, "the manifest root").decode("utf-8")
        except (Refused, OSError, UnicodeDecodeError):
            continue
        names.update(SECRET_REF.findall(text))
    return names


def secret_values(inputs: Inputs, var_file: Path | None) -> list[str]:
    """The key, the token, and the value of each var the manifests use as ``${secret:NAME}``.

    Only those: a name says nothing (``MAX_TOKENS=9`` is configuration, and masking it would turn
    every ``9`` in the log into ``***``). Nor is a value shorter than evictl's ``MIN_SECRET``
    masked: evictl refuses such a secret, naming it, before it prints anything. A var file evictl
    will reject (and say where) is masked value by value, by the same length rule.
    """
    values = [inputs.api_key, inputs.github_token]
    if var_file is not None:
        from reconciler.manifest.interpolate import MIN_SECRET, read_var_file

        try:
            variables = read_var_file(var_file)
        except UserError:
            found = [line.partition("=")[2].strip() for line in inputs.vars.splitlines()]
        else:
            secret = secret_refs(Path(inputs.path))
            found = [value for name, value in variables.items() if name in secret]
        values += [value for value in found if len(value) >= MIN_SECRET]
    return sorted({value for value in values if value}, key=len, reverse=True)


class Action:
    """One run of the action: inputs, the masked values, a private work directory."""

    def __init__(self, inputs: Inputs, env: Mapping[str, str], workdir: Path) -> None:
        self.inputs = inputs
        self.workdir = workdir
        self.var_file = workdir / "vars.env" if inputs.vars.strip() else None
        if self.var_file is not None:
            self.var_file.touch(mode=0o600)
            self.var_file.write_text(inputs.vars, encoding="utf-8")
        self.secrets = secret_values(inputs, self.var_file)
        self.stderr: list[str] = []
        self.child_env = {k: v for k, v in env.items() if not k.startswith("INPUT_")}
        self.child_env["PYTHONIOENCODING"] = "utf-8"
        self.environment = _environment(Path(inputs.path), inputs.to or inputs.environment)
        key_env = (self.environment and self.environment.api_key_env) or "HUME_API_KEY"
        if inputs.api_key and (key_env == "HUME_API_KEY" or env.get("INPUT_API_KEY", "").strip()):
            self.child_env[key_env] = inputs.api_key  # not HUME_API_KEY's value over the env's key

    def mask(self) -> None:
        """Ask the runner to hide every secret value from the log, before anything else prints."""
        for value in self.secrets:
            print(f"::add-mask::{_escape(value)}", flush=True)

    def scrub(self, text: str) -> str:
        """``text`` with every secret value replaced: nothing the action writes can hold one."""
        for value in self.secrets:
            text = text.replace(value, "***")
        return text

    def evictl(self, *args: str, connect: bool = True) -> Result:
        """Run evictl with the vars file (and the connection options when it talks to Hume)."""
        argv = [*args]
        if self.var_file is not None:
            argv += ["--var-file", str(self.var_file)]
        if connect and self.environment is not None:
            argv += ["--env", self.environment.name]
        if connect and self.inputs.emulator:
            argv += ["--emulator", self.inputs.emulator]
        if connect and self.inputs.base_url:
            argv += ["--base-url", self.inputs.base_url]
        process = subprocess.run(
            [sys.executable, "-m", "reconciler", *argv],
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            env=self.child_env,
            check=False,
        )
        self.stderr.append(self.scrub(process.stderr))
        return Result(process.returncode, process.stdout, process.stderr)

    def failed(self, result: Result, markdown: str = "") -> Report:
        """An error: its first line is the summary, the end of evictl's stderr is the report."""
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        reason = lines[0] if lines else "no message (see the log)"
        summary = f"evictl {self.inputs.command} failed (exit {result.exitcode}): {reason}"
        body = markdown or f"### {self.inputs.title}\n\n**{_one_line(summary)}**\n"
        if lines:
            body += "\n" + _fenced("\n".join(lines[-ERROR_LINES:])) + "\n"
        return Report(result.exitcode, summary, body)

    def validate(self) -> Report:
        result = self.evictl("validate", self.inputs.path, connect=False)
        if result.exitcode != 0:
            return self.failed(result)
        summary = result.stdout.strip().splitlines()[-1]
        return Report(0, summary, f"### {self.inputs.title}\n\n**{summary}**\n")

    def plan(self) -> Report:
        from reconciler import render
        from reconciler.planner.plan import Plan

        out = Path(self.inputs.plan_file or self.workdir / "plan.json").resolve()
        out.parent.mkdir(parents=True, exist_ok=True)
        result = self.evictl(
            "plan", self.inputs.path, "--detailed-exitcode", "--format", "json", "--out", str(out)
        )
        if result.exitcode not in SUCCESS["plan"]:
            return self.failed(result)
        plan = Plan.model_validate_json(out.read_text(encoding="utf-8"))
        markdown = render.markdown(plan, _already_redacted, title=self.inputs.title)
        return Report(result.exitcode, plan.summary(), markdown, result.exitcode == 2, str(out))

    def apply(self) -> Report:
        saved = Path(self.inputs.plan_file).resolve() if self.inputs.plan_file else None
        result = self.evictl(
            "apply",
            str(saved or self.inputs.path),
            "--auto-approve",
            "--parallelism",
            self.inputs.parallelism,
            "--format",
            "json",
        )
        return self.applied(result, saved)

    def applied(self, result: Result, saved: Path | None = None) -> Report:
        """The report of an apply, or a promotion's, from its JSON outcomes."""
        try:
            document = json.loads(result.stdout)
        except ValueError:
            return self.failed(result)
        from reconciler.applier import summary as finished

        outcomes, counts = document["outcomes"], document["summary"]
        summary = finished(counts) if outcomes else "No changes: nothing to apply."
        markdown = f"### {self.inputs.title}\n\n**{summary}**\n\n" + _outcome_table(outcomes)
        done = any(outcome["status"] == "done" for outcome in outcomes)
        if result.exitcode != 0:
            return dataclasses.replace(
                self.failed(result, markdown), summary=summary, has_changes=done
            )
        manifests = json.loads(saved.read_text(encoding="utf-8"))["path"] if saved else None
        output = self.evictl("output", manifests or self.inputs.path, "--format", "json")
        if output.exitcode != 0:
            return dataclasses.replace(self.failed(output, markdown), has_changes=done)
        return Report(0, summary, markdown, done, str(saved or ""), resources=output.stdout.strip())

    def drift(self) -> Report:
        from reconciler.drift import DriftReport
        from reconciler.render.drift import as_markdown as drift_markdown

        result = self.evictl("drift", self.inputs.path, "--format", "json")
        if result.exitcode not in SUCCESS["drift"]:
            return self.failed(result)
        report = DriftReport.model_validate_json(result.stdout)
        markdown = _retitle(drift_markdown(report, _already_redacted), self.inputs.title)
        return Report(result.exitcode, report.summary(), markdown, report.has_drift)

    def promote(self) -> Report:
        """Apply to ``to`` what ``from`` runs; when ``from`` drifted, its drift is the report."""
        from reconciler.drift import DriftReport
        from reconciler.render.drift import as_markdown as drift_markdown

        result = self.evictl(
            "promote", self.inputs.path, "--from", self.inputs.from_, "--to", self.inputs.to,
            "--auto-approve", "--parallelism", self.inputs.parallelism, "--format", "json",
            connect=False,
        )  # fmt: skip
        try:
            drift = DriftReport.model_validate_json(result.stdout)
        except ValueError:
            return self.applied(result)
        markdown = _retitle(drift_markdown(drift, _already_redacted), self.inputs.title)
        return dataclasses.replace(self.failed(result, markdown), has_changes=False)

    def run(self) -> Report:
        """The command, with everything it produced scrubbed of secrets."""
        commands: dict[str, Callable[[], Report]] = {
            "validate": self.validate,
            "plan": self.plan,
            "apply": self.apply,
            "drift": self.drift,
            "promote": self.promote,
        }
        try:
            report = commands[self.inputs.command]()
        finally:
            if self.var_file is not None:
                self.var_file.unlink(missing_ok=True)
        return dataclasses.replace(
            report,
            summary=_one_line(self.scrub(report.summary)),
            markdown=self.scrub(report.markdown),
            resources=self.scrub(report.resources),
        )


def _environment(path: Path, name: str) -> Environment | None:
    """The evictl.toml environment ``name`` when the project defines environments (else the
    ``environment`` input is only a label); a broken file is left for evictl to report."""
    from reconciler.project import Environment, load_project

    try:
        project = load_project(path)
    except UserError:
        return None
    if not name or not project.environments:
        return None
    return project.environments.get(name) or Environment(name, None, None, (), {})


def _cell(value: Any) -> str:
    return _one_line(str(value if value is not None else "")).replace("|", "\\|")


def _outcome_table(outcomes: list[dict[str, Any]]) -> str:
    from reconciler.kinds import KINDS

    if not outcomes:
        return ""
    rows = [
        "| status | resource | actions | version | id | detail |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for o in outcomes:
        version = f"v{o['version']}" if o.get("version") is not None else ""
        resource = f"{KINDS[o['kind']].singular} `{_cell(o['name'])}`"
        cells = [
            o["status"],
            resource,
            ", ".join(o["actions"]),
            version,
            o.get("id"),
            o.get("detail"),
        ]
        rows.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    return "\n".join(rows) + "\n"


def write_outputs(path: str | None, outputs: Mapping[str, str]) -> None:
    """``$GITHUB_OUTPUT`` entries in the delimiter form, safe for any value."""
    if not path:
        return
    with open(path, "a", encoding="utf-8") as out:
        for name, value in outputs.items():
            delimiter = f"ghadelimiter_{uuid.uuid4()}"
            out.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")


def log(title: str, *texts: str) -> None:
    """Print ``texts`` in a folded group, with workflow commands off: manifests are user text."""
    token = uuid.uuid4().hex
    print(f"::group::{title}\n::stop-commands::{token}", flush=True)
    for text in texts:
        if text.strip():
            print(text.rstrip("\n"), flush=True)
    print(f"::{token}::\n::endgroup::", flush=True)


def publish(action: Action, context: Context, report: Report) -> bool:
    """The PR comment and the drift issue; False if GitHub refused (a fork's PR only warns)."""
    inputs = action.inputs
    if not (inputs.comment_on_pr or inputs.drift_issue):
        return True
    pointer = f"The whole report is in the [job summary]({context.run_url})."
    try:
        with GitHub(context, inputs.github_token) as github:
            if inputs.comment_on_pr:
                number = context.pull_request
                if number is None:
                    print(f"comment-on-pr: not a pull request ({context.event_name}); no comment.")
                else:
                    footer = context.footer(f"evictl {inputs.command}")
                    body = fit(report.markdown, COMMENT_LIMIT - len(footer), pointer) + footer
                    marker = f"<!-- evictl:{inputs.command}:{inputs.scope} -->"
                    print(f"PR comment: {github.upsert_comment(number, marker, body)}")
            if inputs.drift_issue and report.ok:
                where = inputs.environment or inputs.path
                footer = context.footer("Last checked")
                body = fit(report.markdown, COMMENT_LIMIT - len(footer), pointer) + footer
                done = github.sync_issue(
                    marker=f"<!-- evictl:drift:{where} -->",
                    label=inputs.issue_label,
                    title=f"evictl: drift in {where}",
                    body=body if report.has_changes else None,
                    closing=f"No drift any more ([workflow run]({context.run_url})): closing.",
                )
                print(f"Drift issue: {done or 'no drift, no open issue'}")
    except GitHubError as exc:
        message = action.scrub(str(exc))
        if exc.status == 403 and context.from_fork:
            annotate("warning", f"{message} (a fork's pull request gets a read-only token)")
            return True
        annotate("error", message)
        return False
    return True


def main(env: Mapping[str, str] = os.environ) -> int:
    """The step: 0 when evictl succeeded (changes and drift included) and GitHub took the report."""
    try:
        inputs = Inputs.from_env(env)
    except InputError as exc:
        annotate("error", str(exc))
        return 1
    workdir = Path(tempfile.mkdtemp(prefix="evictl-", dir=env.get("RUNNER_TEMP") or None))
    action = Action(inputs, env, workdir)
    action.mask()
    report = action.run()
    report_file = workdir / "report.md"
    report_file.write_text(report.markdown, encoding="utf-8")
    log(f"evictl {inputs.command} report", report.markdown, *action.stderr)
    if summary_file := env.get("GITHUB_STEP_SUMMARY"):
        pointer = f"The whole report is in {report_file} (output report-markdown)."
        with open(summary_file, "a", encoding="utf-8") as summary:
            summary.write(fit(report.markdown, SUMMARY_LIMIT, pointer) + "\n")
    write_outputs(
        env.get("GITHUB_OUTPUT"),
        {
            "exitcode": str(report.exitcode),
            "has-changes": str(report.has_changes).lower(),
            "summary": report.summary,
            "plan-json": report.plan_json,
            "report-markdown": str(report_file),
            "resources": report.resources,
        },
    )
    succeeded = report.exitcode in SUCCESS[inputs.command]
    if succeeded:
        print(report.summary)
    else:
        annotate("error", report.summary)
    published = publish(action, Context.from_env(dict(env)), report)
    return 0 if succeeded and published else 1
