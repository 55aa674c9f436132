"""What the action knows of GitHub: the run's context, sticky PR comments and drift issues.

Comments and issues are found again by a hidden marker on their first line, among those the
token's own user wrote (``github-actions[bot]`` for GITHUB_TOKEN: a reviewer quoting the marker
is never edited), so each PR keeps one comment per command, path and environment (edited on
every push) and each environment one open drift issue (created when drift appears, edited while
it lasts, closed when it is gone).
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

COMMENT_LIMIT = 60_000
"""GitHub refuses comment and issue bodies over 65,536 characters; this keeps a margin."""
PAGE_SIZE = 100


@dataclass(frozen=True)
class Context:
    """The run, as GitHub describes it in ``GITHUB_*`` variables and the event payload."""

    repository: str = ""
    event_name: str = ""
    event: dict[str, Any] = field(default_factory=dict)
    api_url: str = "https://api.github.com"
    graphql_url: str = "https://api.github.com/graphql"
    server_url: str = "https://github.com"
    run_id: str = ""
    sha: str = ""

    @classmethod
    def from_env(cls, env: dict[str, str]) -> Context:
        event_path = Path(env.get("GITHUB_EVENT_PATH") or "")
        event = json.loads(event_path.read_text(encoding="utf-8")) if event_path.is_file() else {}
        return cls(
            repository=env.get("GITHUB_REPOSITORY", ""),
            event_name=env.get("GITHUB_EVENT_NAME", ""),
            event=event,
            api_url=env.get("GITHUB_API_URL") or cls.api_url,
            graphql_url=env.get("GITHUB_GRAPHQL_URL")
            or f"{env.get('GITHUB_API_URL') or cls.api_url}/graphql",
            server_url=env.get("GITHUB_SERVER_URL") or cls.server_url,
            run_id=env.get("GITHUB_RUN_ID", ""),
            sha=env.get("GITHUB_SHA", ""),
        )

    @property
    def run_url(self) -> str:
        """The workflow run's page, where the job summary is."""
        return f"{self.server_url}/{self.repository}/actions/runs/{self.run_id}"

    @property
    def pull_request(self) -> int | None:
        """The PR number on pull_request events, else None."""
        if self.event_name not in ("pull_request", "pull_request_target"):
            return None
        return self.event.get("pull_request", {}).get("number")

    @property
    def head_sha(self) -> str:
        """The commit under review (a PR's GITHUB_SHA is a merge commit nobody pushed)."""
        return self.event.get("pull_request", {}).get("head", {}).get("sha") or self.sha

    @property
    def from_fork(self) -> bool:
        """A fork's PR gets a read-only token: a refused comment is expected, not an error."""
        head = self.event.get("pull_request", {}).get("head", {}).get("repo") or {}
        return bool(head) and head.get("full_name") != self.repository

    def footer(self, what: str) -> str:
        """The last line of a comment or issue: which commit, which run."""
        return f"\n\n---\n<sub>{what} at {self.head_sha[:7]} · [workflow run]({self.run_url})</sub>"


RESOURCE_END = "</details>\n"
"""A report's resources are collapsible blocks: a cut right after one leaves whole resources."""
_FENCE = re.compile(r"(`{3,})[\w-]*")
_BOT = re.compile(r"\[bot\]$", re.IGNORECASE)


def _login(name: str) -> str:
    """A login as compared: GraphQL names a bot without REST's ``[bot]`` suffix, and GitHub
    logins ignore case."""
    return _BOT.sub("", name).strip().lower()


def fit(body: str, limit: int, pointer: str) -> str:
    """``body`` cut to ``limit`` characters after its last whole resource, then a summary of what
    is left out and ``pointer`` (where the whole report is).

    When not even one resource fits (one huge diff, a long table or error output), the cut is at
    a line end instead, and the fenced block and ``<details>`` it leaves open are closed, so the
    cut text still renders.
    """
    if len(body) <= limit:
        return body
    total = body.count("<details>")
    note = "\n**Cut here: the report is longer than GitHub allows.{shown} {pointer}**"
    cut = body[: limit - len(note) - len(pointer) - 200]
    end = cut.rfind(RESOURCE_END)
    if end != -1:
        cut = cut[: end + len(RESOURCE_END)]
    else:
        cut = cut[: cut.rfind("\n") + 1] if "\n" in cut else cut
    shown = f" Resources shown in full: {cut.count(RESOURCE_END)} of {total}." if total else ""
    return cut + _close(cut) + note.format(shown=shown, pointer=pointer)


def _close(text: str) -> str:
    """What closes the code block and the ``<details>`` that ``text`` leaves open."""
    fence = ""
    for line in text.splitlines():
        match = _FENCE.fullmatch(line)
        if not fence and match:
            fence = match.group(1)
        elif fence and line.startswith(fence) and not line.strip("`"):
            fence = ""
    closing = f"{fence}\n" if fence else ""
    return closing + "</details>\n" * (text.count("<details>") - text.count("</details>"))


class GitHubError(Exception):
    """A refused REST call, with GitHub's message (never the token)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class GitHub:
    """GitHub's REST API for one repository, through httpx."""

    def __init__(
        self, context: Context, token: str, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.context = context
        self.repo = f"/repos/{context.repository}"
        self.http = httpx.Client(
            base_url=context.api_url,
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
            },
            timeout=30,
            transport=transport,
        )

    def __enter__(self) -> GitHub:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.http.close()

    def call(self, method: str, url: str, **kwargs: Any) -> Any:
        """One request; a 4xx/5xx becomes a GitHubError naming the call."""
        try:
            response = self.http.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            raise GitHubError(0, f"GitHub API {method} {url}: {type(exc).__name__}") from exc
        if response.is_error:
            try:
                message = response.json().get("message", "")
            except ValueError:
                message = response.text[:200]
            raise GitHubError(
                response.status_code,
                f"GitHub API {method} {url}: {response.status_code} {message}",
            )
        return response.json() if response.content else None

    def every(self, url: str, **params: str) -> list[dict[str, Any]]:
        """All pages of a list."""
        items: list[dict[str, Any]] = []
        page = 1
        while True:
            batch = self.call("GET", url, params={**params, "per_page": PAGE_SIZE, "page": page})
            items += batch
            if len(batch) < PAGE_SIZE:
                return items
            page += 1

    @functools.cached_property
    def login(self) -> str:
        """Who the token acts as, compared with ``_login``. Asked of GraphQL's ``viewer``: REST's
        ``/user`` refuses an installation token such as GITHUB_TOKEN."""
        url = self.context.graphql_url
        answer = self.call("POST", url, json={"query": "query { viewer { login } }"}) or {}
        login = ((answer.get("data") or {}).get("viewer") or {}).get("login")
        if not login:
            raise GitHubError(0, f"GitHub API POST {url}: no viewer login in the answer")
        return _login(login)

    def own(self, items: list[dict[str, Any]], marker: str) -> dict[str, Any] | None:
        """The first of ``items`` (comments, issues) that the token's user wrote starting with
        ``marker``."""
        return next(
            (
                item
                for item in items
                if (item.get("body") or "").startswith(marker)
                and _login((item.get("user") or {}).get("login") or "") == self.login
            ),
            None,
        )

    def upsert_comment(self, number: int, marker: str, body: str) -> str:
        """Edit this PR's comment of ours that starts with ``marker``, or post it; returns its
        URL."""
        text = f"{marker}\n{body}"
        mine = self.own(self.every(f"{self.repo}/issues/{number}/comments"), marker)
        if mine is None:
            made = self.call("POST", f"{self.repo}/issues/{number}/comments", json={"body": text})
        else:
            made = self.call(
                "PATCH", f"{self.repo}/issues/comments/{mine['id']}", json={"body": text}
            )
        return made["html_url"]

    def sync_issue(
        self, marker: str, label: str, title: str, body: str | None, closing: str
    ) -> str | None:
        """Keep one open issue (``marker`` + ``label``) while ``body`` is given; close it on None.

        Returns what was done, for the log, or None when there was nothing to do.
        """
        issues = self.every(f"{self.repo}/issues", state="open", labels=label)
        found = self.own([issue for issue in issues if "pull_request" not in issue], marker)
        if body is not None:
            text = f"{marker}\n{body}"
            if found is None:
                made = self.call(
                    "POST",
                    f"{self.repo}/issues",
                    json={"title": title, "body": text, "labels": [label]},
                )
                return f"opened {made['html_url']}"
            self.call("PATCH", f"{self.repo}/issues/{found['number']}", json={"body": text})
            return f"updated {found['html_url']}"
        if found is None:
            return None
        self.call("POST", f"{self.repo}/issues/{found['number']}/comments", json={"body": closing})
        self.call(
            "PATCH",
            f"{self.repo}/issues/{found['number']}",
            json={"state": "closed", "state_reason": "completed"},
        )
        return f"closed {found['html_url']}"
