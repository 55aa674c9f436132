"""Run action.yml's steps locally as a runner would, and a fake GitHub REST API to talk to.

No tests here: the helpers of tests/test_action_*.py. ``run_action`` reads action.yml, runs each
``run:`` step with bash (``uses:`` steps are simulated by their outputs), with env built from the
step's ``env:`` mapping where every ``${{ }}`` is replaced by a test value; an expression the
harness does not know fails the test, so action.yml cannot grow an untested one.

setup-python is played by a stub interpreter: ``-m venv DIR`` makes a venv whose python logs
``pip install`` calls and otherwise runs this project's Python. So the install step runs for real
on every run (cache hit, miss or broken restore) without a network or a minute of pip.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

ROOT = Path(__file__).resolve().parent.parent
ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
TOKEN = "ghs_fake_github_token_123"
BOT = "github-actions[bot]"
"""The token's user as REST names it; GraphQL's ``viewer`` names it ``github-actions``."""
REPOSITORY = "acme/voice"
PYTHON_VERSION = "3.11.9"

VENV_PYTHON = """#!/bin/bash
if [ "$1 $2 $3" = "-m pip install" ]; then echo "$@" >> "$(dirname "$0")/../pip.log"; exit 0; fi
exec {python} "$@"
"""
BASE_PYTHON = """#!/bin/bash
if [ "$1 $2" = "-m venv" ]; then
  mkdir -p "$3/bin" && cp {venv_python} "$3/bin/python" && echo "$3" >> {log}; exit 0
fi
exec {python} "$@"
"""


def parse_env_file(path: Path) -> dict[str, str]:
    """A ``$GITHUB_OUTPUT`` / ``$GITHUB_ENV`` file: ``K=V`` lines and ``K<<DELIM`` blocks."""
    values: dict[str, str] = {}
    lines = iter(path.read_text(encoding="utf-8").splitlines()) if path.exists() else iter(())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            body = []
            for item in lines:
                if item == delimiter:
                    break
                body.append(item)
            else:
                raise AssertionError(f"{path.name}: {name} is never closed by {delimiter}")
            values[name] = "\n".join(body)
        elif line:
            name, _, value = line.partition("=")
            values[name] = value
    return values


@dataclass
class Runner:
    """A runner's directories for one job: temp, the stub interpreters, the event payload."""

    root: Path
    event_name: str = "push"
    event: dict[str, Any] = field(default_factory=dict)
    api_url: str = "http://127.0.0.1:9"

    def __post_init__(self) -> None:
        self.temp = self.root / "runner-temp"
        self.temp.mkdir(parents=True, exist_ok=True)
        tools = self.root / "tools"
        tools.mkdir(exist_ok=True)
        self.venv_log = tools / "venvs.log"
        self.venv_python = tools / "venv-python"
        self.venv_python.write_text(VENV_PYTHON.format(python=sys.executable))
        self.base_python = tools / "python"
        self.base_python.write_text(
            BASE_PYTHON.format(
                python=sys.executable, venv_python=self.venv_python, log=self.venv_log
            )
        )
        for stub in (self.venv_python, self.base_python):
            stub.chmod(0o755)
        self.event_path = tools / "event.json"

    @property
    def venv(self) -> Path:
        return self.temp / "evictl-venv"

    def restore_cache(self, *, broken: bool = False) -> None:
        """What actions/cache leaves on a hit: the venv of an earlier job."""
        (self.venv / "bin").mkdir(parents=True, exist_ok=True)
        python = self.venv / "bin" / "python"
        python.write_text("#!/bin/bash\nexit 1\n" if broken else self.venv_python.read_text())
        python.chmod(0o755)

    def pip_installs(self) -> list[str]:
        log = self.venv / "pip.log"
        return log.read_text().splitlines() if log.exists() else []


@dataclass
class ActionRun:
    """What one run of the action left: its result as a step, its outputs, what it wrote."""

    returncode: int
    stdout: str
    stderr: str
    outputs: dict[str, str]
    step_outputs: dict[str, dict[str, str]]
    summary: str
    exported: dict[str, str]

    @property
    def report(self) -> str:
        return Path(self.outputs["report-markdown"]).read_text(encoding="utf-8")


def _evaluate(template: str, context: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        expression = match.group(1)
        assert expression in context, f"the harness has no value for ${{{{ {expression} }}}}"
        return context[expression]

    return EXPRESSION.sub(value, str(template))


def run_action(
    runner: Runner, inputs: dict[str, str], *, cache_hit: bool = True, cwd: Path = ROOT
) -> ActionRun:
    """Run action.yml's steps in order, stopping at the first that fails, like a runner."""
    runner.event_path.write_text(json.dumps(runner.event))
    context = {
        "github.action_path": str(ROOT),
        "github.token": TOKEN,
        "runner.temp": str(runner.temp),
        "runner.os": "Linux",
        "runner.arch": "X64",
    }
    assert set(inputs) <= set(ACTION["inputs"]), set(inputs) - set(ACTION["inputs"])
    for name, spec in ACTION["inputs"].items():
        context[f"inputs.{name}"] = inputs.get(name, _evaluate(spec.get("default", ""), context))
    simulated = {
        "actions/setup-python": {
            "python-path": str(runner.base_python),
            "python-version": PYTHON_VERSION,
        },
        "actions/cache": {"cache-hit": "true" if cache_hit else "false"},
    }
    summary_file = runner.temp / "step-summary.md"
    env_file = runner.temp / "github-env"
    base_env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(runner.root),
        "LANG": "C.UTF-8",
        "GITHUB_ACTION_PATH": str(ROOT),
        "GITHUB_WORKSPACE": str(cwd),
        "GITHUB_STEP_SUMMARY": str(summary_file),
        "GITHUB_ENV": str(env_file),
        "GITHUB_EVENT_NAME": runner.event_name,
        "GITHUB_EVENT_PATH": str(runner.event_path),
        "GITHUB_REPOSITORY": REPOSITORY,
        "GITHUB_API_URL": runner.api_url,
        "GITHUB_SERVER_URL": "https://github.example",
        "GITHUB_RUN_ID": "4242",
        "GITHUB_SHA": "0123456789abcdef",
        "RUNNER_TEMP": str(runner.temp),
    }
    stdout, stderr = [], []
    step_outputs: dict[str, dict[str, str]] = {}
    returncode = 0
    for number, step in enumerate(ACTION["runs"]["steps"]):
        assert set(step) <= {"name", "id", "uses", "with", "shell", "env", "run"}, step
        if "uses" in step:
            for key in step.get("with", {}).values():
                _evaluate(key, context)
            outputs = simulated[step["uses"].split("@")[0]]
        else:
            assert step["shell"] == "bash"
            output_file = runner.temp / f"output-{number}"
            output_file.write_text("")
            env = {**base_env, **parse_env_file(env_file), "GITHUB_OUTPUT": str(output_file)}
            env |= {name: _evaluate(value, context) for name, value in step.get("env", {}).items()}
            process = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
                cwd=cwd, env=env, capture_output=True, text=True, check=False,
            )  # fmt: skip
            stdout.append(process.stdout)
            stderr.append(process.stderr)
            outputs = parse_env_file(output_file)
            if process.returncode != 0:
                returncode = process.returncode
        if "id" in step:
            step_outputs[step["id"]] = outputs
            context |= {f"steps.{step['id']}.outputs.{k}": v for k, v in outputs.items()}
        if returncode:
            break
    action_outputs = {
        name: EXPRESSION.sub(lambda m: context.get(m.group(1), ""), spec["value"])
        for name, spec in ACTION["outputs"].items()
    }
    return ActionRun(
        returncode,
        "".join(stdout),
        "".join(stderr),
        action_outputs,
        step_outputs,
        summary_file.read_text(encoding="utf-8") if summary_file.exists() else "",
        parse_env_file(env_file),
    )


class FakeGitHub:
    """Issues, labels and issue comments of one repository, on a loopback port, and GraphQL's
    ``viewer`` (the token's user, the author of what the action writes).

    Records every request; ``refuse`` makes the next matching requests answer a status instead.
    """

    def __init__(self) -> None:
        self.issues: dict[int, dict[str, Any]] = {}
        self.comments: dict[int, dict[str, Any]] = {}
        self.requests: list[tuple[str, str, Any]] = []
        self.refusals: dict[tuple[str, str], int] = {}
        self._next = 1
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                return

            def _answer(self, method: str) -> None:
                url = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                fake.requests.append((method, url.path, body))
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    status, answer = 401, {"message": "Bad credentials"}
                elif (method, url.path) == ("POST", "/graphql"):
                    assert body == {"query": "query { viewer { login } }"}, body
                    status, answer = 200, {"data": {"viewer": {"login": "github-actions"}}}
                else:
                    status, answer = fake.handle(method, url.path, parse_qs(url.query), body)
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                self._answer("GET")

            def do_POST(self) -> None:
                self._answer("POST")

            def do_PATCH(self) -> None:
                self._answer("PATCH")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def __enter__(self) -> FakeGitHub:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _id(self) -> int:
        self._next += 1
        return self._next

    def add_issue(
        self, body: str, labels: list[str], *, pull_request: bool = False, author: str = BOT
    ) -> dict[str, Any]:
        number = self._id()
        issue = {
            "number": number,
            "title": "seeded",
            "body": body,
            "user": {"login": author},
            "state": "open",
            "labels": [{"name": name} for name in labels],
            "html_url": f"https://github.example/{REPOSITORY}/issues/{number}",
            "comments": [],
        }
        if pull_request:
            issue["pull_request"] = {"url": "..."}
        self.issues[number] = issue
        return issue

    def add_comment(self, number: int, body: str, author: str = "octocat") -> dict[str, Any]:
        ident = self._id()
        comment = {
            "id": ident,
            "issue": number,
            "body": body,
            "user": {"login": author},
            "html_url": f"https://github.example/{REPOSITORY}/pull/{number}#issuecomment-{ident}",
        }
        self.comments[ident] = comment
        return comment

    def writes(self) -> list[tuple[str, str, Any]]:
        """The requests that change something (GraphQL's ``viewer`` query only reads)."""
        return [r for r in self.requests if r[0] != "GET" and r[1] != "/graphql"]

    def handle(
        self, method: str, path: str, query: dict[str, list[str]], body: Any
    ) -> tuple[int, Any]:
        prefix = f"/repos/{REPOSITORY}/issues"
        assert path.startswith(prefix), path
        rest = path[len(prefix) :].strip("/").split("/")
        for (refused_method, pattern), status in self.refusals.items():
            if method == refused_method and re.fullmatch(pattern, path):
                return status, {"message": "Resource not accessible by integration"}
        page = int(query.get("page", ["1"])[0])
        per_page = int(query.get("per_page", ["30"])[0])

        def paged(items: list[dict[str, Any]]) -> tuple[int, Any]:
            return 200, items[(page - 1) * per_page : page * per_page]

        if rest == [""] and method == "GET":
            label = query.get("labels", [""])[0]
            state = query.get("state", ["open"])[0]
            return paged(
                [
                    issue
                    for issue in self.issues.values()
                    if issue["state"] == state and label in [x["name"] for x in issue["labels"]]
                ]
            )
        if rest == [""] and method == "POST":
            issue = self.add_issue(body["body"], body.get("labels", []))
            issue["title"] = body["title"]
            return 201, issue
        if len(rest) == 1 and method == "PATCH":
            issue = self.issues[int(rest[0])]
            issue.update(body)
            return 200, issue
        if len(rest) == 2 and rest[1] == "comments":
            number = int(rest[0])
            if method == "GET":
                return paged([c for c in self.comments.values() if c["issue"] == number])
            return 201, self.add_comment(number, body["body"], BOT)
        if rest[0] == "comments" and method == "PATCH":
            comment = self.comments[int(rest[1])]
            comment["body"] = body["body"]
            return 200, comment
        return 404, {"message": "Not Found"}


MANIFESTS = "examples/manifests"


def evictl(runner: Runner, account: str, command: str, **inputs: str) -> Any:
    """The action run with ``command`` on the example manifests, against an emulated account."""
    return run_action(
        runner, {"command": command, "path": MANIFESTS, "emulator": account, **inputs}
    )


CREATED = [
    ("prompts", "weather-assistant"),
    ("prompts", "support-agent"),
    ("prompts", "language-tutor"),
    ("tools", "get_current_weather"),
    ("tools", "lookup_account"),
    ("tools", "book_technician_visit"),
    ("configs", "weather-config"),
    ("configs", "support-line"),
    ("configs", "language-tutor"),
]
"""The example manifests' resources, in the order a plan lists them."""
