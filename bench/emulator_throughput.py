"""Throughput of the emulator over real HTTP on loopback: creates, and large listings.

Run as ``.venv/bin/python bench/emulator_throughput.py`` (``--help`` for sizes). Each scenario gets
a fresh emulator served by uvicorn in a background thread on a free 127.0.0.1 port; the clients are
``httpx.AsyncClient`` requests in a bounded pool. Big data sets are seeded straight into the store
(not over HTTP), with the bodies the server would keep (``facts.fill_defaults``).

Client and server share one process (and its GIL), so the figures are a floor for what a separate
server process would do, and comparable between scenarios, which is the point.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from reconciler.emulator import EmulatorSettings  # noqa: E402
from reconciler.hume.facts import fill_defaults  # noqa: E402
from tests.conftest import KEY, RunningEmulator  # noqa: E402

PARAMS = json.dumps({"type": "object", "properties": {"city": {"type": "string"}}})
PROMPT_TEXT = "You are a concise, friendly support agent. " * 4


@dataclass
class Result:
    """One measured scenario: a row of the table."""

    scenario: str
    checked: bool
    requests: int
    items: int
    seconds: float
    latencies: list[float]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def ips(self) -> float:
        return self.items / self.seconds

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


# Running requests


async def run_pool(
    url: str, jobs: list[Callable[[httpx.AsyncClient], Awaitable[int]]], concurrency: int
) -> tuple[float, list[float], int]:
    """Run every job once, ``concurrency`` at a time; wall seconds, latencies, items returned."""
    queue: asyncio.Queue[Callable[[httpx.AsyncClient], Awaitable[int]]] = asyncio.Queue()
    for job in jobs:
        queue.put_nowait(job)
    latencies: list[float] = []
    items = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"X-Hume-Api-Key": KEY}
    async with httpx.AsyncClient(
        base_url=url, headers=headers, limits=limits, timeout=30
    ) as client:
        await client.get("/v0/evi/prompts", params={"page_size": 1})  # warm the connection

        async def worker() -> None:
            nonlocal items
            while not queue.empty():
                job = queue.get_nowait()
                start = time.perf_counter()
                returned = await job(client)  # not `items += await ...`: that loses updates
                latencies.append(time.perf_counter() - start)
                items += returned

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - start
    return seconds, latencies, items


def create_job(index: int) -> Callable[[httpx.AsyncClient], Awaitable[int]]:
    async def job(client: httpx.AsyncClient) -> int:
        body = {"name": f"bench-{index:06}", "text": PROMPT_TEXT}
        response = await client.post("/v0/evi/prompts", json=body)
        assert response.status_code == 201, response.text
        return 1

    return job


def list_job(
    kind: str, page_number: int, page_size: int, expected: int, seen: set[str]
) -> Callable[[httpx.AsyncClient], Awaitable[int]]:
    async def job(client: httpx.AsyncClient) -> int:
        params = {"page_size": page_size, "page_number": page_number}
        response = await client.get(f"/v0/evi/{kind}", params=params)
        assert response.status_code == 200, response.text
        page = response.json()[f"{kind}_page"]
        assert len(page) == expected, (page_number, len(page), expected)
        seen.update(item["id"] for item in page)
        return len(page)

    return job


# Seeding straight into the store


def seed_prompts(running: RunningEmulator, count: int) -> list[str]:
    store = running.app.emulator.store
    ids = []
    for i in range(count):
        body = fill_defaults("prompts", {"text": f"{PROMPT_TEXT}#{i}"})
        ids.append(store.create("prompts", f"seed-{i:06}", body).id)
    return ids


def seed_configs(running: RunningEmulator, count: int) -> list[str]:
    """``count`` configs, each pinning its own prompt and two tools, stored as POST would."""
    store = running.app.emulator.store
    ids = []
    for i in range(count):
        prompt = store.create(
            "prompts", f"cfg-prompt-{i:05}", fill_defaults("prompts", {"text": f"Prompt {i}"})
        )
        tools = [
            store.create(
                "tools", f"cfg-tool-{i:05}-{t}", fill_defaults("tools", {"parameters": PARAMS})
            )
            for t in range(2)
        ]
        body = {
            "evi_version": "3",
            "prompt": {"id": prompt.id, "version": 0, "prompt_expansion": None},
            "tools": [{"id": tool.id, "version": 0} for tool in tools],
            "voice": {"name": "Ito", "provider": "HUME_AI"},
            "language_model": {
                "model_provider": "ANTHROPIC",
                "model_resource": "claude-3-7-sonnet-latest",
                "temperature": 0.5,
            },
        }
        ids.append(store.create("configs", f"cfg-{i:05}", fill_defaults("configs", body)).id)
    return ids


def store_list_ms(running: RunningEmulator, kind: str, page_number: int, page_size: int) -> float:
    """Milliseconds for one ``Store.list`` call (no HTTP, no views): the database's share."""
    store = running.app.emulator.store
    start = time.perf_counter()
    for _ in range(10):
        store.list(kind, page_number=page_number, page_size=page_size, latest_only=True)
    return (time.perf_counter() - start) * 100


def check_seeded_config(url: str, config_id: str) -> None:
    """A seeded config must read back like one created over HTTP: prompt and tools embedded."""
    response = httpx.get(
        f"{url}/v0/evi/configs/{config_id}/version/0", headers={"X-Hume-Api-Key": KEY}
    )
    assert response.status_code == 200, response.text
    config = response.json()
    assert config["prompt"]["text"].startswith("Prompt "), config
    assert len(config["tools"]) == 2, config


# Scenarios


def bench_creates(count: int, concurrency: int, checked: bool) -> Result:
    with RunningEmulator(EmulatorSettings(check_responses=checked)) as running:
        jobs = [create_job(i) for i in range(count)]
        seconds, latencies, items = asyncio.run(run_pool(running.url, jobs, concurrency))
        stored = running.app.emulator.store.list(
            "prompts", page_number=0, page_size=1, latest_only=True
        )
        assert stored.total_pages == count, (stored.total_pages, count)
    return Result("create prompt (POST)", checked, count, items, seconds, latencies)


def bench_list(
    kind: str,
    count: int,
    page_size: int,
    rounds: int,
    concurrency: int,
    checked: bool,
) -> tuple[Result, str]:
    running = RunningEmulator(EmulatorSettings(check_responses=checked))
    start = time.perf_counter()
    ids = seed_prompts(running, count) if kind == "prompts" else seed_configs(running, count)
    seed_seconds = time.perf_counter() - start
    pages = -(-count // page_size)
    first_ms = store_list_ms(running, kind, 0, page_size)
    last_ms = store_list_ms(running, kind, pages - 1, page_size)
    with running:
        if kind == "configs":
            check_seeded_config(running.url, ids[0])
        seconds, latencies, items = 0.0, [], 0
        for _ in range(rounds):
            seen: set[str] = set()
            jobs = [
                list_job(kind, k, page_size, min(page_size, count - k * page_size), seen)
                for k in range(pages)
            ]
            s, lat, n = asyncio.run(run_pool(running.url, jobs, concurrency))
            assert seen == set(ids), "a listing round missed or invented items"
            seconds, latencies, items = seconds + s, latencies + lat, items + n
    label = f"list {kind} (page_size={page_size}, {count:,} items)"
    note = (
        f"seeded in {seed_seconds:.2f} s; Store.list alone: first page {first_ms:.1f} ms, "
        f"last page {last_ms:.1f} ms"
    )
    return Result(label, checked, pages * rounds, items, seconds, latencies), note


def print_table(results: list[Result]) -> None:
    header = (
        f"{'scenario':<44} {'resp check':>10} {'requests':>9} {'seconds':>8} "
        f"{'req/s':>9} {'items/s':>10} {'p50 ms':>8} {'p95 ms':>8}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.scenario:<44} {'on' if r.checked else 'off':>10} {r.requests:>9,} "
            f"{r.seconds:>8.2f} {r.rps:>9,.0f} {r.ips:>10,.0f} "
            f"{r.percentile(0.5):>8.1f} {r.percentile(0.95):>8.1f}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--creates", type=int, default=2000, help="prompts created over HTTP")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight")
    parser.add_argument("--prompts", type=int, default=10_000, help="prompts seeded for listing")
    parser.add_argument("--configs", type=int, default=1000, help="configs seeded for listing")
    parser.add_argument("--page-size", type=int, default=100, help="1..100")
    parser.add_argument("--rounds", type=int, default=3, help="passes over every page")
    parser.add_argument(
        "--skip-unchecked",
        action="store_true",
        help="only measure with response checking on (the default setting)",
    )
    args = parser.parse_args(argv)
    for name in ("creates", "concurrency", "prompts", "configs", "rounds"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    if not 1 <= args.page_size <= 100:
        parser.error("--page-size must be between 1 and 100")

    modes = [True] if args.skip_unchecked else [True, False]
    results: list[Result] = []
    notes: list[str] = []
    total = time.perf_counter()
    for checked in modes:
        results.append(bench_creates(args.creates, args.concurrency, checked))
    for kind, count in (("prompts", args.prompts), ("configs", args.configs)):
        for checked in modes:
            result, note = bench_list(
                kind, count, args.page_size, args.rounds, args.concurrency, checked
            )
            results.append(result)
            if checked:
                extra = " (+ a prompt and 2 tools each)" if kind == "configs" else ""
                notes.append(f"{count:,} {kind}{extra}: {note}")

    print(
        f"emulator throughput: loopback, uvicorn h11 in a thread of this process, "
        f"concurrency {args.concurrency}, {args.rounds} listing round(s), "
        f"python {sys.version.split()[0]}"
    )
    print()
    print_table(results)
    print()
    for note in notes:
        print(f"  {note}")
    by_key = {(r.scenario, r.checked): r for r in results}
    for r in results:
        off = by_key.get((r.scenario, False))
        if r.checked and off is not None:
            print(f"  {r.scenario}: response checking costs {1 - r.rps / off.rps:.0%} of req/s")
    print(f"  total run time: {time.perf_counter() - total:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
