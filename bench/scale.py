"""``evictl plan`` at 1k, 10k and 20k resources: whole-process wall time and peak RSS, stage times.

Run as ``.venv/bin/python bench/scale.py`` (``--sizes 10000`` for one size, ``--help``).

Method. For each size N the account holds 40% prompts, 20% tools and 40% configs (each config pins
one prompt and one or two tools), the proportions of issue 16. It is seeded straight into the
emulator's SQLite store (``plan_benchmark.seed``), and matching manifests are written into 100
files (``plan_benchmark.write_manifests``), so the plan is empty. The emulator runs in its own
process (``plan_benchmark.serve("process")``) with 25 ms of latency per request, switched on after
seeding: as against a remote server, the client's CPU is all that this machine's cores run. The
untimed warm-up plan also fills the emulator's cache of encoded list items (``views.Encoded``), so
the timed runs see it serve a page of 100 configs in ~3.5 ms instead of ~10 ms, as a server that
is not this machine's bottleneck would; the emulator's own CPU is still on one of the two cores.

Three figures per size, each the median of ``--runs``:

- **process**: ``evictl plan DIR --base-url URL`` as a subprocess, as a user runs it: interpreter
  start-up, imports, load, fetch, plan and rendering. Wall time from spawn to exit; peak RSS from
  ``os.wait4`` (that child's own ``ru_maxrss``, not the emulator's).
- **stages** (in this process, imports already paid): load, fetch and the pure plan, each timed
  alone with ``time.perf_counter`` (``plan_benchmark.timed_stages``), under the garbage collector
  setting the command runs with (``reconciler.aio``). The command itself reads the listings while
  the manifests load (``workflow.loaded_while_listing``), so the stages add up to more than
  **process** minus start-up.
- **fetch vs floor**: the floor is ``pages x latency / concurrency``, what the listing would cost
  with zero CPU if every page could be in flight at once within the client's concurrency.

Targets (issue 16, at 10k): process <= 2.0 s and <= 150 MB, pure plan <= 0.5 s, and time linear
in N (the per-1k columns stay flat from 10k to 20k).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from plan_benchmark import (
    CLIENT_CONCURRENCY,
    KEY,
    ROOT,
    Timings,
    hume_key,
    make_fleet,
    one_or_two_tools,
    pages,
    scratch_dir,
    seed,
    serve,
    set_latency,
    timed_stages,
    write_manifests,
)

from reconciler import aio

FILES = 100
SIZES = (1_000, 10_000, 20_000)
EVICTL = Path(sys.executable).parent / "evictl"
TARGET_S, TARGET_MB, TARGET_PLAN_S = 2.0, 150.0, 0.5


@dataclass
class Process:
    """One ``evictl plan`` subprocess: seconds from spawn to exit, and its peak RSS in MiB."""

    wall: float
    rss_mb: float


@dataclass
class Row:
    """Everything measured at one size."""

    size: int
    pages: int
    processes: list[Process]
    stages: list[Timings]

    def median(self, values: list[float]) -> float:
        return statistics.median(values)

    @property
    def wall(self) -> float:
        return self.median([p.wall for p in self.processes])

    @property
    def rss(self) -> float:
        return max(p.rss_mb for p in self.processes)

    @property
    def load(self) -> float:
        return self.median([t.load for t in self.stages])

    @property
    def fetch(self) -> float:
        return self.median([t.snapshot for t in self.stages])

    @property
    def plan(self) -> float:
        return self.median([t.plan for t in self.stages])


def run_plan(root: Path, url: str) -> Process:
    """``evictl plan`` once, as a child of its own so that ``wait4`` reports only its memory."""
    env = {**os.environ, "HUME_API_KEY": KEY, "NO_COLOR": "1"}
    command = [str(EVICTL), "plan", str(root), "--base-url", url]
    start = time.perf_counter()
    child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise RuntimeError(f"evictl plan exited with {child.returncode}")
    return Process(wall, usage.ru_maxrss / 1024)  # KiB on Linux


def measure(size: int, runs: int, latency_ms: float) -> Row:
    prompts, tools = size * 4 // 10, size * 2 // 10
    configs = size - prompts - tools
    fleet = make_fleet(prompts, tools, configs, config_tools=one_or_two_tools(tools))
    with scratch_dir() as tmp, serve("process", Path(tmp)) as emulator:
        root, url = Path(tmp) / "manifests", emulator.url
        root.mkdir()
        seed(emulator.store, fleet)
        write_manifests(root, fleet, FILES)
        set_latency(url, latency_ms)
        run_plan(root, url)  # warm-up: the OS file cache, the emulator's SQLite pages
        processes = [run_plan(root, url) for _ in range(runs)]
        stages = [aio.run(timed_stages(root, url)) for _ in range(runs)]
    total_pages = sum(pages(n) for n in (prompts, tools, configs))
    return Row(size, total_pages, processes, stages)


def report(rows: list[Row], latency_ms: float) -> None:
    header = (
        f"{'N':>7} {'process s':>9} {'RSS MB':>7} {'load s':>7} {'fetch s':>8} {'plan s':>7} "
        f"{'floor s':>8} {'fetch/floor':>11} {'process ms/1k':>13} {'plan ms/1k':>10}"
    )
    print(header)
    for row in rows:
        floor = row.pages * latency_ms / 1000 / CLIENT_CONCURRENCY
        per_k = row.size / 1000
        print(
            f"{row.size:>7,} {row.wall:>9.2f} {row.rss:>7.0f} {row.load:>7.2f} {row.fetch:>8.2f} "
            f"{row.plan:>7.2f} {floor:>8.2f} {row.fetch / floor:>10.1f}x "
            f"{row.wall * 1000 / per_k:>13.0f} {row.plan * 1000 / per_k:>10.0f}"
        )
    for row in rows:
        if row.size == 10_000:
            verdicts = [
                ("process", row.wall, TARGET_S, "s"),
                ("peak RSS", row.rss, TARGET_MB, "MB"),
                ("pure plan", row.plan, TARGET_PLAN_S, "s"),
            ]
            print()
            for name, value, target, unit in verdicts:
                verdict = "met" if value <= target else "NOT met"
                print(f"10k {name}: {value:.2f} {unit} (target <= {target:g} {unit}: {verdict})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES), help="resources")
    parser.add_argument("--runs", type=int, default=3, help="timed repetitions (median shown)")
    parser.add_argument("--latency-ms", type=float, default=25.0, help="added per request")
    args = parser.parse_args(argv)
    if not all(100 <= size <= 100_000 for size in args.sizes):
        parser.error("each size must be between 100 and 100000")
    if not 1 <= args.runs <= 50:
        parser.error("--runs must be between 1 and 50")
    with hume_key():
        rows = [measure(size, args.runs, args.latency_ms) for size in args.sizes]
    print(
        f"scale benchmark: 40% prompts, 20% tools, 40% configs in {FILES} files; "
        f"{args.latency_ms:g} ms latency; emulator in its own process; client concurrency "
        f"{CLIENT_CONCURRENCY}; median of {args.runs}; python {sys.version.split()[0]}, "
        f"{os.cpu_count()} CPUs"
    )
    report(rows, args.latency_ms)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
