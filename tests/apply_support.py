"""Helpers for the apply tests: the manifests they apply, the CLI, and the account read back.

``BASE`` then ``CHANGED`` exercises every action type in one apply (see ``CHANGED_ACTIONS``).
``InProcess`` runs the applier against the emulator app in this process, where its faults, state
and request log are at hand and duplicate names are allowed, so that a repeated create would show
as a second resource instead of a 409.
"""

from __future__ import annotations

import asyncio
import re
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, Protocol, TypeVar

import httpx
from click.testing import CliRunner, Result

from reconciler.applier import Outcome, apply
from reconciler.cli import cli
from reconciler.client import HumeClient
from reconciler.client.api import RetryPolicy
from reconciler.client.connect import KEY_HEADER
from reconciler.emulator import EmulatorSettings, Faults
from reconciler.emulator.embedded import EMBEDDED_BASE_URL, EmbeddedTransport
from reconciler.kinds import LiveVersion
from reconciler.kinds.configs import LiveConfig
from reconciler.manifest import load_manifests
from reconciler.planner.plan import Plan
from reconciler.planner.planner import plan
from reconciler.workflow import snapshot_for

T = TypeVar("T")
KINDS = ("prompts", "tools", "configs")
SMALL_RETRY = RetryPolicy(initial_wait=0.01, max_wait=0.05)
"""The default attempts with tiny waits: retries stay real, tests stay fast."""

BASE = """\
prompts:
  - name: greeter
    text: Hello
    prompt_expansion: {enabled: false}
  - name: closer
    text: Bye
  - name: retired
    text: Old news
tools:
  - name: lookup
    description: Look something up
    parameters: {type: object, properties: {q: {type: string}}}
configs:
  - name: desk
    evi_version: "3"
    prompt: greeter
    tools: [lookup]
  - name: night
    evi_version: "3"
    prompt: closer
"""
BASE_INVENTORY = {
    "prompts": {"greeter": [0], "closer": [0], "retired": [0]},
    "tools": {"lookup": [0]},
    "configs": {"desk": [0], "night": [0]},
}

CHANGED = """\
prompts:
  - name: greeter
    text: Hello again
    prompt_expansion: {enabled: false}
  - name: farewell
    previous_names: [closer]
    text: Bye now
  - name: retired
    absent: true
tools:
  - name: lookup
    description: Look something up
    version_description: documented
    parameters: {type: object, properties: {q: {type: string}}}
  - name: search
    description: Search the web
    parameters: {type: object}
configs:
  - name: desk
    evi_version: "3"
    prompt: greeter
    tools: [lookup, search]
  - name: late
    previous_names: [night]
    evi_version: "3"
    prompt: farewell
"""
CHANGED_ACTIONS = {
    "prompts/greeter": ("new_version",),
    "prompts/farewell": ("rename", "new_version"),
    "prompts/retired": ("delete",),
    "tools/lookup": ("update_description",),
    "tools/search": ("create",),
    "configs/desk": ("new_version",),
    "configs/late": ("rename", "new_version"),
}
CHANGED_INVENTORY = {
    "prompts": {"greeter": [0, 1], "farewell": [0, 1]},
    "tools": {"lookup": [0], "search": [0]},
    "configs": {"desk": [0, 1], "late": [0, 1]},
}
CHANGED_PINS = {
    "desk": {"prompt": "greeter v1", "tools": ["lookup v0", "search v0"]},
    "late": {"prompt": "farewell v1", "tools": []},
}


class Connects(Protocol):
    """Anything that opens a client on an account: ``workflow.Connection`` or ``InProcess``."""

    def client(self, concurrency: int = 8) -> HumeClient: ...


def evictl(*args: str | Path, input: str | None = None) -> Result:
    """``evictl ARGS`` in-process; exceptions are left in ``result.exception``."""
    return CliRunner().invoke(cli, [str(arg) for arg in args], input=input)


def progress(stdout: str) -> list[str]:
    """The progress lines, checked to count up to the total, without their ``[n/total]``."""
    lines = [line for line in stdout.splitlines() if line.startswith("[")]
    total = len(lines)
    assert [line.split("] ", 1)[0] for line in lines] == [
        f"[{n}/{total}" for n in range(1, total + 1)
    ]
    return [line.split("] ", 1)[1] for line in lines]


def with_client(connects: Connects, call: Callable[[HumeClient], Awaitable[T]]) -> T:
    """``call`` on a fresh client of the account (a client never outlives its event loop)."""

    async def go() -> T:
        async with connects.client() as client:
            return await call(client)

    return asyncio.run(go())


def inventory(connects: Connects) -> dict[str, dict[str, list[int]]]:
    """Every version in the account, ``{kind: {name: [version, ...]}}``; names must be unique."""

    async def read(client: HumeClient) -> dict[str, dict[str, list[int]]]:
        found: dict[str, dict[str, list[int]]] = {}
        for kind in KINDS:
            ids: dict[str, set[str]] = defaultdict(set)
            versions: dict[str, list[int]] = defaultdict(list)
            for item in await client.list(kind, latest_only=False):
                ids[item.name].add(item.id)
                versions[item.name].append(item.version)
            repeated = {name: sorted(held) for name, held in ids.items() if len(held) > 1}
            assert not repeated, f"duplicate {kind}: {repeated}"
            found[kind] = {name: sorted(numbers) for name, numbers in versions.items()}
        return found

    return with_client(connects, read)


def live(connects: Connects, kind: str, name: str) -> LiveVersion:
    """The latest version of the one resource called ``name``."""
    (found,) = with_client(connects, lambda client: client.list(kind, name=name))
    return found


def pins(connects: Connects, name: str) -> dict[str, Any]:
    """What a live config embeds, as ``{"prompt": "greeter v1", "tools": ["lookup v0"]}``."""
    config = live(connects, "configs", name)
    assert isinstance(config, LiveConfig)
    prompt = f"{config.prompt.name} v{config.prompt.version}" if config.prompt else None
    tools = sorted(f"{tool.name} v{tool.version}" for tool in config.tools or ())
    return {"prompt": prompt, "tools": tools}


def by_address(outcomes: list[Outcome]) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Each outcome as ``{kind/name: (status, actions)}`` (outcomes finish in any order)."""
    return {f"{o.kind}/{o.name}": (o.status, o.actions) for o in outcomes}


class _Shared(httpx.AsyncBaseTransport):
    """The in-process transport, kept open across clients; counts writes in flight."""

    def __init__(self, owner: InProcess) -> None:
        self.owner = owner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        owner = self.owner
        if owner.before is not None:
            await owner.before(request)
        write = request.method != "GET"
        owner.in_flight += write
        owner.peak = max(owner.peak, owner.in_flight)
        try:
            response = await owner.transport.handle_async_request(request)
        finally:
            owner.in_flight -= write
        if owner.after is not None:
            response = await owner.after(request, response)
        return response


class InProcess:
    """The emulator app in this process, as an account the applier works on."""

    def __init__(self) -> None:
        settings = EmulatorSettings(db=":memory:", allow_duplicate_names=True)
        self.transport = EmbeddedTransport(settings)
        self.emulator = self.transport.app.emulator
        self.in_flight = self.peak = 0
        self.before: Callable[[httpx.Request], Awaitable[None]] | None = None
        """Called with each request before it is served (another writer's moment to act)."""
        self.after: Callable[[httpx.Request, httpx.Response], Awaitable[httpx.Response]] | None
        self.after = None
        """Turns each answer into another (a Hume that answers differently from the spec)."""

    def client(self, concurrency: int = 8) -> HumeClient:
        http = httpx.AsyncClient(
            transport=_Shared(self), base_url=EMBEDDED_BASE_URL, headers={KEY_HEADER: "k"}
        )
        return HumeClient(http, concurrency=concurrency, retry=SMALL_RETRY)

    def faults(self, **settings: Any) -> None:
        """Inject faults from now on (none: stop injecting)."""
        self.emulator.faults = Faults(**settings)

    def plan(self, root: Path, variables: Mapping[str, str] | None = None) -> Plan:
        """What ``evictl plan`` would show."""
        manifests = load_manifests(root, variables or {})
        return plan(manifests, with_client(self, lambda c: snapshot_for(manifests, c)))

    def apply(
        self, root: Path, *, parallelism: int = 8, variables: Mapping[str, str] | None = None
    ) -> tuple[Plan, list[Outcome]]:
        """Plan, then apply through the applier; the plan and every outcome."""
        manifests = load_manifests(root, variables or {})

        async def run(client: HumeClient) -> tuple[Plan, list[Outcome]]:
            planned = plan(manifests, await snapshot_for(manifests, client))
            return planned, await apply(planned, client, parallelism=parallelism)

        return with_client(self, run)

    def statuses(self, method: str, path: str = "") -> list[int | str]:
        """The statuses the emulator answered ``method`` requests on paths matching ``path``."""
        return [
            entry["status"]
            for entry in self.emulator.log
            if entry["method"] == method and re.search(path, entry["path"])
        ]

    def close(self) -> None:
        self.emulator.store.close()
