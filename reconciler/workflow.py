"""The pipeline every command shares: load manifests → fetch live snapshot → plan → apply.

Commands differ only in what they do with the result (render it, apply it, report drift), so the
stages are wired here once and the CLI stays a thin layer of options and printing.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError

from reconciler import addresses
from reconciler.applier import Outcome, apply
from reconciler.client import HumeClient, connect
from reconciler.client.api import RetryPolicy
from reconciler.client.snapshot import chat_usage, fetch_snapshot, latest_listings
from reconciler.drift import DriftReport, classify, needs_history, read_only
from reconciler.errors import UserError
from reconciler.hume import facts
from reconciler.kinds import KINDS, REGISTRY, LiveVersion, referencing
from reconciler.manifest import Manifests, load_manifests
from reconciler.manifest.loader import load_in_steps
from reconciler.planner import canonical, guard
from reconciler.planner.plan import FORMAT_VERSION, Change, Plan
from reconciler.planner.planner import Ownership, plan
from reconciler.project import load_project
from reconciler.snapshot import Snapshot

READ_CONCURRENCY = 8
"""Reads in flight at once; apply's ``--parallelism`` bounds its writes, not its reads."""


@dataclass(frozen=True)
class Connection:
    """Where the account is: the embedded emulator's file, or an API base URL."""

    emulator: Path | None = None
    base_url: str | None = None
    retry: RetryPolicy | None = None
    """How hard the client tries (None: the defaults, which suit Hume; tests shrink the waits)."""
    facts: Path | None = None
    """A facts file (``evictl probe --save``); None: ``hume-facts.json`` at the manifest root."""
    api_key_env: str = "HUME_API_KEY"
    """The environment variable holding the key (an environment's ``api_key_env``)."""
    environment: str | None = None
    """The evictl.toml environment this account is (``--env``), named in reports."""

    def use_facts(self, manifests: Path) -> None:
        """Compare with the server defaults this account is known to have (the facts file), or
        with evictl's built-in table when there is none."""
        root = manifests if manifests.is_dir() else manifests.parent
        path = self.facts or (root / facts.FACTS_FILE)
        if self.facts is None and not path.is_file():
            canonical.use_facts(None)
            return
        try:
            canonical.use_facts(facts.read_facts(path.read_text(encoding="utf-8"), str(path)))
        except (OSError, ValueError) as exc:
            raise UserError(str(exc)) from exc

    def client(self, concurrency: int = 8) -> HumeClient:
        """A client for this connection: the embedded emulator's transport, or the network
        (where the key is read from the variable ``api_key_env``)."""
        if self.emulator is None:
            return connect(
                base_url=self.base_url,
                key_env=self.api_key_env,
                concurrency=concurrency,
                retry=self.retry,
            )
        from reconciler.emulator.embedded import (
            EMBEDDED_API_KEY,
            EMBEDDED_BASE_URL,
            embedded_transport,
        )

        return connect(
            base_url=EMBEDDED_BASE_URL,
            transport=embedded_transport(self.emulator),
            api_key=EMBEDDED_API_KEY,
            concurrency=concurrency,
            retry=self.retry,
        )


async def snapshot_for(
    manifests: Manifests,
    client: HumeClient,
    *,
    every: bool = False,
    pruning: bool = False,
    listed: Awaitable[dict[str, list[LiveVersion]]] | None = None,
) -> Snapshot:
    """The live state these manifests are compared with.

    When the manifests delete something (or, ``pruning``, may delete what they own), every
    version of the kinds that may use it is listed too, so the plan can name older versions that
    still pin it.

    List items leave out some fields (``Kind.list_omits``: a prompt's ``prompt_expansion``). Plan
    reads those (one GET each) only for resources whose manifests set them, to keep a plan at one
    listing per kind; drift, whose job is to catch portal edits, reads them for ``every``
    resource the manifests manage.

    ``listed``: the latest listings already under way (``loaded_while_listing``).
    """
    detail_of = {
        kind.name: [
            r.name
            for r in manifests.of_kind(kind.name)
            if not r.absent
            and (every or any(getattr(r, name) is not None for name in kind.list_omits))
        ]
        for kind in REGISTRY
        if kind.list_omits
    }
    deleted = {
        kind.name
        for kind in REGISTRY
        if pruning or any(r.absent for r in manifests.of_kind(kind.name))
    }
    users = {user.name for name in deleted for user in referencing(name)}
    voices = any(k.uses_voice(r) for k in REGISTRY for r in manifests.of_kind(k.name))
    return await fetch_snapshot(
        client, detail_of=detail_of, history_of=sorted(users), voices=voices, listed=listed
    )


Listings = asyncio.Future[dict[str, list[LiveVersion]]]


Checked = TypeVar("Checked")


@asynccontextmanager
async def loaded_while_listing(
    path: Path,
    variables: dict[str, str],
    connection: Connection,
    check: Callable[[Manifests], Checked],
    *,
    concurrency: int = READ_CONCURRENCY,
    writes: bool = True,
) -> AsyncIterator[tuple[Manifests, Checked, HumeClient, Listings]]:
    """The manifests, what ``check`` makes of them (``--target``, facts, ownership), and a client
    (``read_only`` unless ``writes``) whose latest listings, which every snapshot reads whatever
    the manifests hold, are already under way: pass them on to ``snapshot_for``.

    Over the network the listings are requested while the manifests load, so their wait overlaps
    the load instead of following it. The load runs on this thread, file by file, giving the event
    loop a few turns between files (``_load``; a worker thread was about as fast but cost 14 MB of
    peak memory in a second malloc arena).
    Errors come as when the load ran alone: a failed load or check cancels the listings, a client
    that cannot open (no key) waits for the load, and only reads start before ``check`` passes.
    The embedded emulator shares this process's CPU, so there is nothing to overlap: it opens
    after the check, and a ``--target`` typo leaves no emulator file behind.
    """
    overlap = connection.emulator is None
    if not overlap:
        manifests = load_manifests(path, variables)
        checked = check(manifests)
    try:
        client = connection.client(concurrency)
    except BaseException:
        if overlap:
            check(await _load(path, variables))
        raise
    if not writes:
        read_only(client)
    async with client:
        listings = asyncio.ensure_future(latest_listings(client))
        try:
            if overlap:
                manifests = await _load(path, variables)
                checked = check(manifests)
            yield manifests, checked, client, listings
        finally:
            listings.cancel()  # unawaited if loading, the check or the caller failed first
            await asyncio.gather(listings, return_exceptions=True)


TURNS_PER_FILE = 5
"""Event-loop turns given to the listings after each manifest file is loaded. One turn runs only
the callbacks ready then, and a request takes several through httpx; an idle turn costs a few
microseconds. At 10,000 resources in 100 files, one turn left the listings ending 0.5 s after the
load; 5 save about 0.2 s more for 4 MB of peak memory; 20 saved no more time and cost 6 MB (the
transient JSON of pages then lies between long-lived objects)."""


async def _load(path: Path, variables: dict[str, str]) -> Manifests:
    """``load_manifests``, giving the event loop ``TURNS_PER_FILE`` turns after each file."""
    for step in load_in_steps(path, variables):
        if step is not None:
            return step
        for _ in range(TURNS_PER_FILE):
            await asyncio.sleep(0)
    raise AssertionError("unreachable: the last step is the result")


@dataclass(frozen=True)
class Traffic:
    """What the live-traffic guard does: read the chats of the configs a plan changes (``usage``;
    ``--no-usage`` skips it), and whether a delete may cut ACTIVE chats."""

    usage: bool = True
    allow_active: bool = False


def ownership_of(path: Path) -> Ownership | None:
    """What the project file at the manifest root says these manifests own, if anything."""
    project = load_project(path)
    if not project.owned:
        return None
    if not path.is_dir():
        raise UserError(
            f"{project.path}: [ownership] deletes what no manifest under the root describes, so "
            f"it needs them all: run on {path.parent}, not on one file"
        )
    return Ownership(globs=project.owned, source=str(project.path))


async def guarded(client: HumeClient, result: Plan, traffic: Traffic) -> Plan:
    """``result`` checked against the chats of the configs it deletes or versions."""
    if not traffic.usage:
        return result
    watched = guard.watched(result)
    deleting = {c.address: str(c.id) for c in watched if "delete" in c.actions}
    versioning = {c.address: str(c.id) for c in watched if "new_version" in c.actions}
    usage = await chat_usage(client, deleting, versioning, time.time())
    return guard.guard(result, usage, allow_active=traffic.allow_active)


def _planning(
    path: Path, connection: Connection, targets: Sequence[str]
) -> Callable[[Manifests], Ownership | None]:
    """What plan and apply check of loaded manifests before they read: ``--target`` (a typo
    fails before any write), the facts file, and ``[ownership]``."""

    def check(manifests: Manifests) -> Ownership | None:
        addresses.resolve(manifests, targets, "--target")
        connection.use_facts(path)
        return ownership_of(path)

    return check


async def make_plan(
    path: Path,
    variables: dict[str, str],
    connection: Connection,
    targets: Sequence[str] = (),
    traffic: Traffic = Traffic(),
) -> tuple[Manifests, Plan]:
    """Load, read the account, plan: the whole read-only half of the pipeline."""
    check = _planning(path, connection, targets)
    async with loaded_while_listing(path, variables, connection, check) as (
        manifests,
        ownership,
        client,
        listed,
    ):
        live = await snapshot_for(manifests, client, pruning=ownership is not None, listed=listed)
        result = plan(manifests, live, targets=targets, ownership=ownership)
        result = await guarded(client, result, traffic)
    return manifests, result.model_copy(update={"path": str(path), "targets": tuple(targets)})


async def drift_report(
    path: Path, variables: dict[str, str], connection: Connection, ignore: Sequence[str] = ()
) -> tuple[Manifests, DriftReport]:
    """The read-only pipeline of the nightly check: plan, then explain each difference."""

    def check(manifests: Manifests) -> tuple[list[str], Ownership | None]:
        found = addresses.resolve(manifests, ignore, "--ignore")
        connection.use_facts(path)
        return found, ownership_of(path)

    async with loaded_while_listing(path, variables, connection, check, writes=False) as (
        manifests,
        (ignore, ownership),
        client,
        listed,
    ):
        live = await snapshot_for(
            manifests, client, every=True, pruning=ownership is not None, listed=listed
        )
        result = plan(manifests, live, strict=False, ownership=ownership)
        wanted = needs_history(result, live, ignore)
        histories = await asyncio.gather(
            *(_versions(client, manifests, change) for change in wanted)
        )
        report = classify(
            manifests,
            live,
            result,
            {change.address: versions for change, versions in zip(wanted, histories, strict=True)},
            ignore=ignore,
        )
    return manifests, report


HISTORY_IN_FULL = 50
"""How many of a resource's newest versions drift reads one by one when version lists leave out
a field the manifests set (``Kind.list_omits``): deeper history is compared without it."""


async def _versions(client: HumeClient, manifests: Manifests, change: Change) -> list[LiveVersion]:
    """A resource's versions for drift, read in full where the list leaves out what is set."""
    versions = await client.list_versions(change.kind, str(change.id))
    kind = KINDS[change.kind]
    resource = next(r for r in manifests.of_kind(kind.name) if r.name == change.name)
    if not any(getattr(resource, name) is not None for name in kind.list_omits):
        return versions
    older, newest = versions[:-HISTORY_IN_FULL], versions[-HISTORY_IN_FULL:]
    full = await asyncio.gather(
        *(client.get_version(kind.name, str(change.id), v.version) for v in newest)
    )
    return [*older, *full]


def is_saved_plan(path: Path) -> bool:
    """Whether apply's SOURCE is a plan file (``evictl plan --out``) rather than manifests."""
    return path.suffix == ".json" and path.is_file()


def read_saved_plan(path: Path) -> dict:
    """A plan file written by ``evictl plan --out``, as its JSON document. Parsed and checked once
    per content however often a command asks (a 10,000-resource plan is megabytes)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UserError(f"{path}: not a plan file written by `evictl plan --out` ({exc})") from exc
    key = hashlib.sha256(data).digest()
    if key not in _SAVED:
        _SAVED.clear()
        _SAVED[key] = _parse_saved_plan(path, data)
    return _SAVED[key]


_SAVED: dict[bytes, dict] = {}
"""The last plan file parsed, by the hash of its bytes; callers only read the document."""


def _parse_saved_plan(path: Path, data: bytes) -> dict:
    try:
        document = json.loads(data.decode("utf-8"))
        if not isinstance(document, dict):
            raise ValueError("the file is not a JSON object")
    except RecursionError:
        message = f"{path}: not a plan file written by `evictl plan --out` (nested too deep)"
        raise UserError(message) from None
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: not a plan file written by `evictl plan --out` ({exc})") from exc
    found = document.get("format_version")
    if found != FORMAT_VERSION:
        raise UserError(
            f"{path}: plan format {found!r} is not the format this evictl reads "
            f"({FORMAT_VERSION}); run `evictl plan --out` again with this version"
        )
    try:
        Plan.model_validate({k: v for k, v in document.items() if k != "summary"})
    except ValidationError as exc:
        fields = ", ".join(".".join(map(str, e["loc"])) for e in exc.errors()[:3])
        message = f"{path}: not a plan file written by `evictl plan --out` (bad {fields})"
        raise UserError(message) from exc
    return document


def stale_reason(saved: dict, fresh: Plan) -> str | None:
    """Why a saved plan may not be applied any more, naming what moved; None if it still holds.

    Only what the plan read counts (``Plan.reads``): an edit to a resource the plan never looked
    at leaves it valid.
    """
    if saved["fingerprint"] == fresh.fingerprint:
        return None
    before, after = saved.get("reads", {}), fresh.reads
    found = {
        (key.partition("#")[0], json.loads(state)[0]) for key, state in after.items() if "#" in key
    }
    order = {name: index for index, name in enumerate(KINDS)}
    for key in sorted(before, key=lambda key: ("#" in key, order[re.split("[#/]", key)[0]], key)):
        if before[key] == after.get(key):
            continue
        kind, _, name = key.partition("/")
        if "#" in key or (kind, name) in found:
            return _moved(key, before[key], after.get(key))
    return None  # the plan reads other things now: the manifests changed (``manifests_moved``)


def _moved(key: str, before: str, after: str | None) -> str:
    """What happened to the live resource behind a ``Plan.reads`` key, in words."""
    if "#" not in key:
        kind, _, name = key.partition("/")
        return f"{KINDS[kind].singular} {name} now exists in Hume (the plan saw none)"
    singular = KINDS[key.partition("#")[0]].singular
    (old_name, old_version, _) = json.loads(before)
    if after is None:
        return f"{singular} {old_name} is gone from Hume (the plan saw version {old_version})"
    name, version, _ = json.loads(after)
    if old_name != name:
        return f"{singular} {old_name} is now named {name!r} (the plan saw {old_name!r})"
    if old_version != version:
        return f"{singular} {name} is now at version {version} (the plan saw version {old_version})"
    return f"{singular} {name} v{version} was edited in Hume since the plan (its description)"


def _first_difference(old: Any, new: Any, path: str = "") -> str:
    """The path of the first place two JSON values differ (``body.webhooks[0].url``)."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in [*old, *(k for k in new if k not in old)]:
            if old.get(key) != new.get(key):
                return _first_difference(old.get(key), new.get(key), f"{path}.{key}".lstrip("."))
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for index, (a, b) in enumerate(zip(old, new, strict=True)):
            if a != b:
                return _first_difference(a, b, f"{path}[{index}]")
    return path or "(the whole plan)"


def _manifest_field(old: dict, new: dict) -> str:
    """The manifest field whose value differs between two versions of one planned change (the
    body's path, or a field change's own ``path``), not a place in the plan document."""
    if old.get("body") != new.get("body"):
        return _first_difference(old.get("body") or {}, new.get("body") or {})
    before = [*old.get("fields", []), old.get("description")]
    after = [*new.get("fields", []), new.get("description")]
    for a, b in itertools.zip_longest(before, after):
        if a != b:
            return (a or b)["path"]
    return _first_difference(old, new)


def manifests_moved(saved: dict, fresh: dict) -> str | None:
    """Which resource and field now resolve differently from the saved plan, if any."""
    if fresh == saved:
        return None
    old = {change["address"]: change for change in saved["changes"]}
    new = {change["address"]: change for change in fresh["changes"]}
    for address in [*old, *(a for a in new if a not in old)]:
        if address not in new:
            return f"{address} is no longer planned"
        if address not in old:
            return f"{address} is newly planned"
        if old[address] != new[address]:
            where = _manifest_field(old[address], new[address])
            return f"{address} {where} resolves differently (other variables, or edited files?)"
    return f"{_first_difference(saved, fresh)} differs"


def saved_source(
    plan_file: Path, saved: dict, targets: Sequence[str]
) -> tuple[Path, tuple[str, ...]]:
    """The manifests and targets a saved plan was made from, refusing what would mislead.

    ``--target`` cannot narrow a reviewed plan (it would silently apply all of it), and the path
    is relative to where ``evictl plan`` ran, which a bare "no such file" would not explain.
    """
    kept = tuple(saved["targets"])
    if targets and tuple(targets) != kept:
        made_with = " ".join(f"--target {t}" for t in kept) or "no --target"
        raise UserError(
            f"{plan_file}: a saved plan applies what it was made with ({made_with}); "
            "run plan again with the targets you want"
        )
    path = saved["path"]
    if not path or not Path(path).exists():
        raise UserError(
            f"{plan_file}: the manifests it was made from ({path}) are not here; "
            "apply it from the directory `evictl plan` ran in"
        )
    return Path(path), kept


async def apply_plan(
    source: Path,
    variables: dict[str, str],
    connection: Connection,
    *,
    targets: Sequence[str] = (),
    parallelism: int = 8,
    approve: Callable[[Manifests, Plan], bool],
    report: Callable[[Outcome], None],
    traffic: Traffic = Traffic(),
) -> tuple[Manifests, Plan, list[Outcome]]:
    """Plan (or re-check a saved plan), ask ``approve``, then apply with progress to ``report``.

    A saved plan's traffic notes are left out of the staleness check: chats come and go, and the
    guard reads them again anyway (here, and right before each delete).
    """
    saved = read_saved_plan(source) if is_saved_plan(source) else None
    if saved is not None:
        source, targets = saved_source(source, saved, targets)
    check = _planning(source, connection, targets)
    concurrency = max(parallelism, READ_CONCURRENCY)
    async with loaded_while_listing(
        source, variables, connection, check, concurrency=concurrency
    ) as (manifests, ownership, client, listed):
        live = await snapshot_for(manifests, client, pruning=ownership is not None, listed=listed)
        fresh = plan(manifests, live, targets=targets, ownership=ownership).model_copy(
            update={"path": str(source), "targets": tuple(targets)}
        )
        if saved is not None:
            reason = stale_reason(saved, fresh) or manifests_moved(
                guard.without_traffic(saved), fresh.dump(manifests.redact)
            )
            if reason is not None:
                raise UserError(f"the plan is stale: {reason}; run plan again")
        fresh = await guarded(client, fresh, traffic)
        if not fresh.has_changes or not approve(manifests, fresh):
            return manifests, fresh, []
        outcomes = await apply(
            fresh, client, parallelism=parallelism, report=report,
            allow_active_chats=traffic.allow_active,
        )  # fmt: skip
    return manifests, fresh, outcomes
