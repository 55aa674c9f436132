"""Plan against a large account over real HTTP with 25 ms of latency: requests, wall time, memory.

Run as ``.venv/bin/python bench/plan_benchmark.py`` (``--help`` for sizes). The emulator is served
by uvicorn on a free 127.0.0.1 port; the account (1,000 prompts, 300 tools, 1,000 configs by
default) is seeded straight into its store with the bodies the server would keep
(``facts.fill_defaults``), and matching manifests are written to a temporary directory, so the plan
is empty. Latency is switched on only after seeding.

Targets (issue 4): at most ``ceil(n / 100) + 1`` listing requests per kind, and a snapshot fetch
within 1.5x of the floor, ``pages x latency / concurrency`` (the client's default concurrency, 8).

``--server thread`` (the default, as in ``emulator_throughput.py``) runs uvicorn in a thread of
this process: the emulator's CPU per page then competes with the client for one GIL, and
tracemalloc counts both. ``--server process`` runs ``python -m reconciler emulator`` on a SQLite
file instead (seeded from here through a second ``Store`` on the same file), which isolates the
client, as against a remote server. The zero-latency row shows the CPU cost on its own.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import yaml  # noqa: E402

from reconciler.client import connect  # noqa: E402
from reconciler.client.api import PAGE_SIZE  # noqa: E402
from reconciler.emulator import EmulatorSettings  # noqa: E402
from reconciler.emulator.store import Store  # noqa: E402
from reconciler.hume.facts import fill_defaults  # noqa: E402
from reconciler.manifest import load_manifests  # noqa: E402
from reconciler.planner.planner import plan  # noqa: E402
from reconciler.workflow import Connection, make_plan, snapshot_for  # noqa: E402
from tests.conftest import KEY, RunningEmulator, free_port  # noqa: E402

KINDS = ("prompts", "tools", "configs")
CLIENT_CONCURRENCY = 8  # the default of ``connect`` and ``Connection.client``
VOICE = {"name": "ITO", "provider": "HUME_AI"}
LANGUAGE_MODEL = {
    "model_provider": "ANTHROPIC",
    "model_resource": "claude-sonnet-4-5-20250929",
    "temperature": 0.7,
}


# The account: one description, seeded into the store and written out as manifests


@dataclass
class Fleet:
    """Resources in manifest form (references by name): the seed and the manifests both."""

    prompts: list[dict[str, Any]] = field(default_factory=list)
    tools: list[dict[str, Any]] = field(default_factory=list)
    configs: list[dict[str, Any]] = field(default_factory=list)


def prompt_text(index: int, revision: int = 0) -> str:
    text = f"<role>You are assistant {index}. Answer briefly, kindly and precisely.</role>"
    return text if revision == 0 else f"{text} <revision>{revision}</revision>"


def tool_parameters(index: int) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "location": {"type": "string", "description": f"Where, for call {index}"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
        "required": ["location"],
    }


def make_fleet(
    prompts: int,
    tools: int,
    configs: int,
    *,
    config_tools: Callable[[int], list[int]],
    revision: int = 0,
) -> Fleet:
    """Config ``i`` uses prompt ``i % prompts`` and the tools ``config_tools(i)`` names."""
    fleet = Fleet()
    fleet.prompts = [
        {"name": f"prompt-{i:05}", "text": prompt_text(i, revision)} for i in range(prompts)
    ]
    fleet.tools = [
        {
            "name": f"tool_{i:04}",
            "description": f"Tool number {i}",
            "parameters": tool_parameters(i),
        }
        for i in range(tools)
    ]
    fleet.configs = [
        {
            "name": f"config-{i:05}",
            "evi_version": "3",
            "prompt": f"prompt-{i % prompts:05}",
            "tools": [f"tool_{t:04}" for t in config_tools(i)],
            "voice": VOICE,
            "language_model": LANGUAGE_MODEL,
        }
        for i in range(configs)
    ]
    return fleet


def one_or_two_tools(tools: int) -> Callable[[int], list[int]]:
    """Odd configs use two distinct tools, even ones a single tool."""

    def pick(index: int) -> list[int]:
        first = index % tools
        second = (index * 7 + 1) % tools
        return [first] if index % 2 == 0 or second == first else [first, second]

    return pick


def seed(store: Store, fleet: Fleet) -> None:
    """Store ``fleet`` as POSTs would have (version 0 each), without going through HTTP."""
    ids: dict[tuple[str, str], str] = {}
    for item in fleet.prompts:
        body = fill_defaults("prompts", {"text": item["text"]})
        ids["prompts", item["name"]] = store.create("prompts", item["name"], body).id
    for item in fleet.tools:
        posted = {"description": item["description"], "parameters": json.dumps(item["parameters"])}
        ids["tools", item["name"]] = store.create(
            "tools", item["name"], fill_defaults("tools", posted)
        ).id
    for item in fleet.configs:
        prompt_id = ids["prompts", item["prompt"]]
        body = {
            "evi_version": item["evi_version"],
            "voice": item["voice"],
            "language_model": item["language_model"],
            "prompt": {"id": prompt_id, "version": 0, "prompt_expansion": None},
            "tools": [{"id": ids["tools", name], "version": 0} for name in item["tools"]],
        }
        store.create("configs", item["name"], fill_defaults("configs", body))


def write_manifests(root: Path, fleet: Fleet, files: int) -> None:
    """``fleet`` as YAML, its resources dealt round-robin into ``files`` files."""
    for f in range(files):
        document = {kind: getattr(fleet, kind)[f::files] for kind in KINDS}
        text = yaml.safe_dump(document, sort_keys=False, width=1000)
        (root / f"team-{f:03}.yaml").write_text(text, encoding="utf-8")


# Running and talking to the emulator

SERVER_MODES = ("process", "thread")
START_TIMEOUT_S = 20.0


@dataclass
class Emulator:
    """A served emulator: where to send requests, a store on its state, its app if in-process."""

    url: str
    store: Store
    app: Any = None


@contextmanager
def serve(mode: str, workdir: Path) -> Iterator[Emulator]:
    """An emulator on a free loopback port, in a thread of this process or in a child process."""
    if mode == "thread":
        with RunningEmulator(EmulatorSettings()) as running:
            yield Emulator(running.url, running.app.emulator.store, running.app)
        return
    db, port = workdir / "emulator.sqlite", free_port()
    store = Store(db)
    command = [sys.executable, "-m", "reconciler", "emulator", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--db", str(db)]
    child = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_up(url, child)
        yield Emulator(url, store)
    finally:
        child.terminate()
        child.wait(timeout=10)
        store.close()


def wait_until_up(url: str, child: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise RuntimeError(f"the emulator exited with status {child.returncode}")
        try:
            httpx.get(f"{url}/_emulator/faults", timeout=1).raise_for_status()
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError(f"the emulator did not start within {START_TIMEOUT_S:g} s")


def scratch_dir() -> tempfile.TemporaryDirectory[str]:
    """A temporary directory, in memory where possible (the process mode's SQLite file)."""
    shm = Path("/dev/shm")
    return tempfile.TemporaryDirectory(dir=shm if shm.is_dir() else None)


def set_latency(url: str, latency_ms: float) -> None:
    httpx.post(f"{url}/_emulator/faults", json={"latency_ms": latency_ms}).raise_for_status()


def reset(url: str) -> None:
    httpx.post(f"{url}/_emulator/reset").raise_for_status()


def request_log(url: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{url}/_emulator/requests")
    response.raise_for_status()
    log: list[dict[str, Any]] = response.json()["requests"]
    return log


@contextmanager
def counted(url: str) -> Iterator[Counter[tuple[str, str]]]:
    """Requests made inside the block, per (method, kind), from the emulator's request log."""
    before = len(request_log(url))
    counts: Counter[tuple[str, str]] = Counter()
    yield counts
    for entry in request_log(url)[before:]:
        if entry["status"] != "dropped":
            counts[entry["method"], entry["path"].split("/")[3]] += 1


@contextmanager
def hume_key() -> Iterator[None]:
    """``HUME_API_KEY`` for ``Connection``, restored afterwards (the emulator accepts any key)."""
    old = os.environ.get("HUME_API_KEY")
    os.environ["HUME_API_KEY"] = KEY
    try:
        yield
    finally:
        if old is None:
            del os.environ["HUME_API_KEY"]
        else:
            os.environ["HUME_API_KEY"] = old


# Measuring


@dataclass
class Timings:
    """Seconds per stage of one plan, and the plan's size."""

    load: float
    snapshot: float
    plan: float
    make_plan: float
    changes: int


async def timed_stages(root: Path, url: str) -> Timings:
    """The stages of ``make_plan`` timed one by one, then ``make_plan`` itself as a whole."""
    start = time.perf_counter()
    manifests = load_manifests(root, {})
    loaded = time.perf_counter()
    async with connect(base_url=url) as client:
        live = await snapshot_for(manifests, client)
    fetched = time.perf_counter()
    result = plan(manifests, live)
    planned = time.perf_counter()
    _, whole = await make_plan(root, {}, Connection(base_url=url))
    done = time.perf_counter()
    assert whole.fingerprint == result.fingerprint, "make_plan saw another account"
    return Timings(
        loaded - start, fetched - loaded, planned - fetched, done - planned, len(result.pending)
    )


async def snapshot_only(root: Path, url: str) -> float:
    manifests = load_manifests(root, {})
    start = time.perf_counter()
    async with connect(base_url=url) as client:
        await snapshot_for(manifests, client)
    return time.perf_counter() - start


async def pending_changes(root: Path, url: str) -> int:
    """How many changes ``make_plan`` finds (a count: ``asyncio.run`` would repr a plan)."""
    _, result = await make_plan(root, {}, Connection(base_url=url))
    return len(result.pending)


async def serving_ms(app: Any, kind: str, samples: int) -> float:
    """Median ms for the app to serve one full page of ``kind`` in-process: the emulator's CPU."""
    transport = httpx.ASGITransport(app=app)
    headers = {"X-Hume-Api-Key": KEY}
    times = []
    async with httpx.AsyncClient(
        transport=transport, base_url="http://emulator", headers=headers
    ) as http:
        for _ in range(samples):
            start = time.perf_counter()
            response = await http.get(f"/v0/evi/{kind}", params={"page_size": PAGE_SIZE})
            response.raise_for_status()
            times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def traced_peak_mb(root: Path, url: str) -> float:
    """tracemalloc's peak over one ``make_plan`` (in thread mode, the server's allocations too)."""
    tracemalloc.start()
    try:
        asyncio.run(pending_changes(root, url))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 2**20


@dataclass
class Measured:
    """Everything one server mode yields: a section of the report."""

    mode: str
    seeded: float
    changes: int
    requests: Counter[tuple[str, str]]
    runs: list[Timings]
    snapshots: list[float]
    cpu_only: list[float]
    rss_before: float
    rss_after: float
    peak: float
    page_ms: dict[str, float]
    """Per kind, the in-process serving time of one page (thread mode only)."""


def measure(mode: str, fleet: Fleet, args: argparse.Namespace) -> Measured:
    with scratch_dir() as tmp, serve(mode, Path(tmp)) as emulator:
        root, url = Path(tmp) / "manifests", emulator.url
        root.mkdir()
        start = time.perf_counter()
        seed(emulator.store, fleet)
        write_manifests(root, fleet, args.files)
        seeded = time.perf_counter() - start
        asyncio.run(snapshot_only(root, url))  # warm-up: imports, compiled checks
        cpu_only = [asyncio.run(snapshot_only(root, url)) for _ in range(args.runs)]
        page_ms = {}
        if emulator.app is not None:
            for kind in KINDS:
                page_ms[kind] = asyncio.run(serving_ms(emulator.app, kind, args.runs))
        set_latency(url, args.latency_ms)
        rss_before = max_rss_mb()
        with counted(url) as requests:
            changes = asyncio.run(pending_changes(root, url))
        runs = [asyncio.run(timed_stages(root, url)) for _ in range(args.runs)]
        snapshots = [asyncio.run(snapshot_only(root, url)) for _ in range(args.runs)]
        rss_after = max_rss_mb()
        peak = traced_peak_mb(root, url)
    return Measured(
        mode,
        seeded,
        changes,
        requests,
        runs,
        snapshots,
        cpu_only,
        rss_before,
        rss_after,
        peak,
        page_ms,
    )


# Reporting


def pages(count: int) -> int:
    return max(1, math.ceil(count / PAGE_SIZE))


def stat_row(label: str, values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return f"{label:<44} {statistics.median(ms):>8.1f} {min(ms):>8.1f} {max(ms):>8.1f}"


def report(m: Measured, sizes: dict[str, int], latency_ms: float) -> None:
    print(
        f"--- server: {m.mode}; seeded + manifests written in {m.seeded:.1f} s; "
        f"the plan has {m.changes} change(s) (0 expected)"
    )
    print(f"{'kind':<8} {'items':>6} {'pages':>6} {'GET requests':>13} {'target':>7} {'other':>6}")
    for kind, count in sizes.items():
        gets = m.requests["GET", kind]
        other = sum(n for (method, k), n in m.requests.items() if k == kind and method != "GET")
        target = pages(count) + 1
        verdict = "ok" if gets <= target and not other else "OVER TARGET"
        print(
            f"{kind:<8} {count:>6,} {pages(count):>6} {gets:>13} {target:>7} {other:>6}  {verdict}"
        )
    print()
    print(f"{'stage (ms)':<44} {'median':>8} {'min':>8} {'max':>8}")
    for label, values in (
        ("load manifests", [r.load for r in m.runs]),
        ("fetch snapshot (staged run)", [r.snapshot for r in m.runs]),
        ("plan (pure)", [r.plan for r in m.runs]),
        ("make_plan, whole (load + fetch + plan)", [r.make_plan for r in m.runs]),
        ("fetch snapshot alone", m.snapshots),
        ("fetch snapshot alone, 0 ms latency (CPU only)", m.cpu_only),
    ):
        print(stat_row(label, values))
    total_pages = sum(pages(n) for n in sizes.values())
    floor = total_pages * latency_ms / 1000 / CLIENT_CONCURRENCY
    median = statistics.median(m.snapshots)
    ratio = median / floor if floor else math.inf
    verdict = "met" if ratio <= 1.5 else "NOT met"
    print(
        f"snapshot floor: {total_pages} pages x {latency_ms:g} ms / {CLIENT_CONCURRENCY} = "
        f"{floor * 1000:.1f} ms; median fetch {median * 1000:.1f} ms = {ratio:.2f}x the floor "
        f"(target <= 1.5x: {verdict})"
    )
    first_round = len(sizes)
    rest = sum(pages(n) - 1 for n in sizes.values())
    rounds = 1 + math.ceil(rest / CLIENT_CONCURRENCY)
    bound = rounds * latency_ms / 1000
    print(
        f"  with zero CPU, page 0 of each kind first ({first_round} in flight), then {rest} pages "
        f"{CLIENT_CONCURRENCY} at a time: {rounds} round trip(s) = {bound * 1000:.0f} ms "
        f"({bound / floor if floor else math.inf:.2f}x the floor)"
    )
    if m.page_ms:
        served = ", ".join(f"{kind} {ms:.1f} ms" for kind, ms in m.page_ms.items())
        cpu = sum(m.page_ms[kind] * pages(n) for kind, n in sizes.items())
        print(
            f"  emulator CPU to serve one {PAGE_SIZE}-item page in-process: {served}; "
            f"all {total_pages} pages: {cpu:.0f} ms, served one at a time by its event loop"
        )
    print(
        f"memory: tracemalloc peak over one make_plan {m.peak:.1f} MiB"
        f"{' (server allocations included)' if m.mode == 'thread' else ''}; ru_maxrss "
        f"{m.rss_before:.0f} -> {m.rss_after:.0f} MiB (+{m.rss_after - m.rss_before:.0f}) over "
        "the latency runs (a process-wide high-water mark: only the first mode's delta means much)"
    )
    print()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=1000)
    parser.add_argument("--tools", type=int, default=300)
    parser.add_argument("--configs", type=int, default=1000)
    parser.add_argument("--files", type=int, default=20, help="manifest files")
    parser.add_argument("--latency-ms", type=float, default=25.0, help="added per request")
    parser.add_argument("--runs", type=int, default=5, help="timed repetitions (median shown)")
    parser.add_argument(
        "--server", choices=(*SERVER_MODES, "both"), default="both", help="where uvicorn runs"
    )
    args = parser.parse_args(argv)
    for name in ("prompts", "tools", "configs", "files", "runs"):
        if not 1 <= getattr(args, name) <= 100_000:
            parser.error(f"--{name} must be between 1 and 100000")
    if not 0 <= args.latency_ms <= 1000:
        parser.error("--latency-ms must be between 0 and 1000")

    total = time.perf_counter()
    fleet = make_fleet(
        args.prompts, args.tools, args.configs, config_tools=one_or_two_tools(args.tools)
    )
    with hume_key():
        modes = SERVER_MODES if args.server == "both" else (args.server,)
        results = [measure(mode, fleet, args) for mode in modes]
    print(
        f"plan benchmark: {args.prompts:,} prompts, {args.tools:,} tools, {args.configs:,} "
        f"configs in {args.files} files; {args.latency_ms:g} ms latency; client concurrency "
        f"{CLIENT_CONCURRENCY}; {args.runs} runs each; python {sys.version.split()[0]}, "
        f"{os.cpu_count()} CPUs"
    )
    print()
    sizes = {"prompts": args.prompts, "tools": args.tools, "configs": args.configs}
    for measured in results:
        report(measured, sizes, args.latency_ms)
    print(f"total run time: {time.perf_counter() - total:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
