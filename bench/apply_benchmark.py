"""Apply a cascade (every prompt changed, so every config pinning it too) with 25 ms of latency.

Run as ``.venv/bin/python bench/apply_benchmark.py`` (``--help``; ``--scale 200`` for a quick run).
The account holds ``scale`` prompts and ``scale`` configs, each config pinning its own prompt; the
manifests change every prompt's text, so the plan is ``scale`` prompt new versions cascading to
``scale`` config new versions. It is applied with ``--parallelism`` 1 and then the default 8, over
real HTTP on loopback, through ``workflow.apply_plan`` as ``evictl apply`` runs it; the emulator is
reset and reseeded before each run, and a plan made after each run must be empty (convergence).

Figures per run: the plan half (load, snapshot, plan) and the apply half separately, seconds per
action, and HTTP requests per action from the emulator's request log. The floor of the apply half
is ``actions x latency / parallelism``. Server modes are those of ``plan_benchmark.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.plan_benchmark import (  # noqa: E402
    SERVER_MODES,
    Emulator,
    Fleet,
    counted,
    hume_key,
    make_fleet,
    pending_changes,
    reset,
    scratch_dir,
    seed,
    serve,
    set_latency,
    write_manifests,
)
from reconciler.applier import Outcome  # noqa: E402
from reconciler.manifest import Manifests  # noqa: E402
from reconciler.planner.plan import Plan  # noqa: E402
from reconciler.workflow import Connection, apply_plan  # noqa: E402

MAX_SCALE = 4000  # the emulator's request log keeps the last 10,000 requests


@dataclass
class Run:
    """One apply: its timings, what it did, and what it cost in requests."""

    parallelism: int
    plan_seconds: float
    apply_seconds: float
    outcomes: list[Outcome]
    requests: Counter[tuple[str, str]]
    replan_changes: int

    @property
    def actions(self) -> int:
        return sum(len(o.actions) for o in self.outcomes)

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())

    @property
    def writes(self) -> int:
        return sum(n for (method, _), n in self.requests.items() if method != "GET")


def cascade(scale: int, revision: int) -> Fleet:
    """``scale`` prompts and ``scale`` configs, config ``i`` pinning prompt ``i``; no tools."""
    return make_fleet(scale, 0, scale, config_tools=lambda index: [], revision=revision)


async def timed_apply(root: Path, url: str, parallelism: int) -> tuple[float, float, list[Outcome]]:
    """``apply_plan`` as the CLI runs it; seconds before approval (the plan) and after (apply)."""
    approved: list[float] = []

    def approve(manifests: Manifests, plan: Plan) -> bool:
        approved.append(time.perf_counter())
        return True

    start = time.perf_counter()
    connection = Connection(base_url=url)
    _, _, outcomes = await apply_plan(
        root, {}, connection, parallelism=parallelism, approve=approve, report=print_nothing
    )
    done = time.perf_counter()
    assert approved, "the plan had no changes: the benchmark's manifests are wrong"
    return approved[0] - start, done - approved[0], outcomes


def print_nothing(outcome: Outcome) -> None:
    """Progress is not printed: 2,000 lines would drown the figures."""


def run_once(
    parallelism: int, scale: int, latency_ms: float, root: Path, emulator: Emulator
) -> Run:
    """Reset and reseed, apply with ``parallelism``, then plan again to check convergence."""
    reset(emulator.url)
    seed(emulator.store, cascade(scale, revision=0))
    set_latency(emulator.url, latency_ms)
    with counted(emulator.url) as requests:
        plan_s, apply_s, outcomes = asyncio.run(timed_apply(root, emulator.url, parallelism))
    replan = asyncio.run(pending_changes(root, emulator.url))
    return Run(parallelism, plan_s, apply_s, outcomes, requests, replan)


def check(run: Run, scale: int) -> list[str]:
    """What went wrong, if anything: every change done, each a new version, and convergence."""
    problems = []
    statuses = Counter(o.status for o in run.outcomes)
    if statuses != Counter({"done": 2 * scale}):
        problems.append(f"outcomes {dict(statuses)}, expected {2 * scale} done")
    kinds = Counter((o.kind, o.actions) for o in run.outcomes)
    expected = Counter({("prompts", ("new_version",)): scale, ("configs", ("new_version",)): scale})
    if kinds != expected:
        problems.append(f"changes {dict(kinds)}, expected {dict(expected)}")
    if run.replan_changes:
        problems.append(f"the re-plan has {run.replan_changes} change(s)")
    return problems


def measure(mode: str, args: argparse.Namespace) -> list[Run]:
    with scratch_dir() as tmp, serve(mode, Path(tmp)) as emulator:
        root = Path(tmp) / "manifests"
        root.mkdir()
        write_manifests(root, cascade(args.scale, revision=1), args.files)
        return [run_once(p, args.scale, args.latency_ms, root, emulator) for p in args.parallelism]


def report(mode: str, runs: list[Run], args: argparse.Namespace) -> bool:
    """Print one server mode's table; whether every run converged cleanly."""
    print(f"--- server: {mode}")
    header = (
        f"{'parallelism':>11} {'plan s':>7} {'apply s':>8} {'floor s':>8} {'x floor':>8} "
        f"{'ms/action':>10} {'requests':>9} {'req/action':>11} {'writes/action':>14} "
        f"{'re-plan':>8}"
    )
    print(header)
    ok = True
    for run in runs:
        floor = run.actions * args.latency_ms / 1000 / run.parallelism
        problems = check(run, args.scale)
        ok = ok and not problems
        converged = "empty" if not run.replan_changes else f"{run.replan_changes} chg"
        print(
            f"{run.parallelism:>11} {run.plan_seconds:>7.2f} {run.apply_seconds:>8.2f} "
            f"{floor:>8.2f} {run.apply_seconds / floor:>8.2f} "
            f"{run.apply_seconds / run.actions * 1000:>10.2f} {run.total_requests:>9,} "
            f"{run.total_requests / run.actions:>11.3f} {run.writes / run.actions:>14.3f} "
            f"{converged:>8}"
        )
        for problem in problems:
            print(f"  PROBLEM (parallelism {run.parallelism}): {problem}")
    slowest, fastest = runs[0], runs[-1]
    if len(runs) > 1:
        print(
            f"apply half, parallelism {slowest.parallelism} vs {fastest.parallelism}: "
            f"{slowest.apply_seconds:.2f} s vs {fastest.apply_seconds:.2f} s = "
            f"{slowest.apply_seconds / fastest.apply_seconds:.2f}x faster "
            f"(ideal {fastest.parallelism / slowest.parallelism:g}x)"
        )
    reads = Counter()
    for (method, kind), n in fastest.requests.items():
        reads[f"{method} {kind}"] += n
    print(f"requests of the parallelism-{fastest.parallelism} run: {dict(sorted(reads.items()))}")
    print()
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scale", type=int, default=1000, help="prompts changed (and configs cascading)"
    )
    parser.add_argument("--latency-ms", type=float, default=25.0, help="added per request")
    parser.add_argument(
        "--parallelism", type=int, nargs="+", default=[1, 8], help="apply runs, in order"
    )
    parser.add_argument("--files", type=int, default=20, help="manifest files")
    parser.add_argument(
        "--server", choices=(*SERVER_MODES, "both"), default="both", help="where uvicorn runs"
    )
    args = parser.parse_args(argv)
    if not 1 <= args.scale <= MAX_SCALE:
        parser.error(f"--scale must be between 1 and {MAX_SCALE}")
    if not all(1 <= p <= 64 for p in args.parallelism):
        parser.error("--parallelism values must be between 1 and 64")
    if not 1 <= args.files <= 1000:
        parser.error("--files must be between 1 and 1000")
    if not 0 < args.latency_ms <= 1000:
        parser.error("--latency-ms must be above 0 and at most 1000")

    total = time.perf_counter()
    modes = SERVER_MODES if args.server == "both" else (args.server,)
    with hume_key():
        results = {mode: measure(mode, args) for mode in modes}
    print(
        f"apply benchmark: {args.scale:,} prompt changes cascading to {args.scale:,} configs "
        f"({2 * args.scale:,} new versions); {args.latency_ms:g} ms latency; "
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs"
    )
    print()
    ok = all([report(mode, runs, args) for mode, runs in results.items()])
    print(f"total run time: {time.perf_counter() - total:.1f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
