"""Helpers for the plan tests: an account on the emulator server, and plans reduced to values.

``Account`` drives the session's emulator over real HTTP: ``apply`` and ``plan`` go through the
same workflow as the CLI, and ``post_version`` / ``rename`` / ``describe`` edit the account
directly, as someone in Hume's portal would. ``shape`` reduces a plan to plain data, so each test
can assert the whole plan in one comparison.
"""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path
from typing import Any

import httpx

from reconciler import render
from reconciler.planner.plan import Change, Plan
from reconciler.workflow import Connection, apply_plan, make_plan
from tests.conftest import RunningEmulator

PATHS = {"prompts": "/v0/evi/prompts", "tools": "/v0/evi/tools", "configs": "/v0/evi/configs"}


def fields(change: Change) -> dict[str, tuple[Any, Any]]:
    """A change's field differences as ``{path: (before, after)}``, references in words."""
    return {
        field.path: (render.pin(field.before), render.pin(field.after))
        if field.reference
        else (field.before, field.after)
        for field in change.fields
    }


def shape(plan: Plan) -> dict[str, dict[str, Any]]:
    """Every pending change as ``{address: {actions, fields, description, reasons}}``, the typed
    reasons as the renderers word them."""
    return {
        change.address: {
            "actions": change.actions,
            "fields": fields(change),
            "description": (change.description.before, change.description.after)
            if change.description
            else None,
            "reasons": tuple(render.reason(reason) for reason in change.reasons),
        }
        for change in plan.pending
    }


def only(actions: tuple[str, ...], **extra: Any) -> dict[str, Any]:
    """The ``shape`` entry of a change with no field, description or reason unless given."""
    return {"actions": actions, "fields": {}, "description": None, "reasons": (), **extra}


def change_of(plan: Plan, address: str) -> Change:
    """The change for ``kind/name`` (pending or not)."""
    (found,) = [change for change in plan.changes if change.address == address]
    return found


def write(root: Path, text: str, name: str = "evi.yaml") -> Path:
    """Write one manifest file (dedented) under ``root``; return ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    (root / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return root


class Account:
    """The emulator server seen as a Hume account, with manifests under ``root``."""

    def __init__(self, server: RunningEmulator, root: Path, api: httpx.Client) -> None:
        self.server, self.root, self.api = server, root, api
        self.connection = Connection(base_url=server.url)

    def write(self, text: str, name: str = "evi.yaml") -> Path:
        return write(self.root, text, name)

    def plan(self, *targets: str, variables: dict[str, str] | None = None) -> Plan:
        """What ``evictl plan`` computes for the manifests now."""
        _, result = asyncio.run(make_plan(self.root, variables or {}, self.connection, targets))
        return result

    def apply(self, variables: dict[str, str] | None = None) -> Plan:
        """Apply the manifests (every change must succeed); the plan that was applied."""
        _, result, outcomes = asyncio.run(
            apply_plan(
                self.root,
                variables or {},
                self.connection,
                approve=lambda *_: True,
                report=lambda _: None,
            )
        )
        assert [o for o in outcomes if o.status != "done"] == []
        return result

    def live(self, kind: str, name: str) -> dict[str, Any]:
        """The latest version of the one live resource called ``name``."""
        page = self.api.get(PATHS[kind], params={"name": name}).json()
        (found,) = page[f"{kind}_page"]
        return found

    def post_version(self, kind: str, name: str, **changes: Any) -> dict[str, Any]:
        """A portal edit: a new version of ``name``, its latest content with ``changes``."""
        live = self.live(kind, name)
        body = {**posted(kind, live), **changes}
        response = self.api.post(f"{PATHS[kind]}/{live['id']}", json=body)
        assert response.is_success, response.text
        return response.json()

    def create(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        """A resource made in the portal."""
        response = self.api.post(PATHS[kind], json=body)
        assert response.is_success, response.text
        return response.json()

    def rename(self, kind: str, name: str, new_name: str) -> None:
        """A portal rename."""
        live = self.live(kind, name)
        response = self.api.patch(f"{PATHS[kind]}/{live['id']}", json={"name": new_name})
        assert response.is_success, response.text

    def describe(self, kind: str, name: str, description: str) -> None:
        """A portal edit of the latest version's description."""
        live = self.live(kind, name)
        response = self.api.patch(
            f"{PATHS[kind]}/{live['id']}/version/{live['version']}",
            json={"version_description": description},
        )
        assert response.is_success, response.text

    def requests(self) -> list[dict[str, Any]]:
        """The emulator's request log, oldest first."""
        return httpx.get(f"{self.server.url}/_emulator/requests").json()["requests"]


_SERVER_ONLY = {"id", "version", "name", "version_type", "created_on", "modified_on", "tool_type"}


def posted(kind: str, live: dict[str, Any]) -> dict[str, Any]:
    """A live version as the body that would post it again (references by id and version)."""
    body = {key: value for key, value in live.items() if key not in _SERVER_ONLY}
    if kind == "configs":
        if live.get("prompt"):
            body["prompt"] = _pin(live["prompt"])
        body["tools"] = [_pin(tool) for tool in live.get("tools") or ()]
        body["builtin_tools"] = [
            {"name": t["name"], "fallback_content": t.get("fallback_content")}
            for t in live.get("builtin_tools") or ()
        ]
        if live.get("voice"):
            body["voice"] = {"name": live["voice"]["name"], "provider": live["voice"]["provider"]}
    return body


def _pin(embedded: dict[str, Any]) -> dict[str, Any]:
    return {"id": embedded["id"], "version": embedded["version"]}
