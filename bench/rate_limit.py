"""Behind a rate limit: the rate an apply and a plan reach, and the share of requests refused.

Run as ``.venv/bin/python bench/rate_limit.py`` (``--help``). The emulator runs in its own process
(``python -m reconciler emulator``) with 25 ms of latency; for each rate R it enforces a token
bucket of R requests/s (burst: the emulator's default, one second's worth, or ``--burst``) and runs,
once with the client's old fixed concurrency (``adaptive=False``) and once with the adaptive
limiter, both at the default concurrency ceiling of 8:
- an apply of N prompt creates on an empty account, N chosen for about ``--seconds`` of traffic
  at R (three requests per create: two reads and the POST);
- then a plan of the same manifests, which reads every prompt in full (each sets
  ``prompt_expansion``, which list items leave out): N + a few requests, about half as long.
Each phase starts with a full bucket and is its own client, as separate commands are.

Figures per phase, from the emulator's request log: requests, the share answered 429 (and the
first run of 429s in a row: the first contact, when up to the concurrency ceiling of requests are
in flight before any 429 comes back), seconds, and the rate served, as % of R and as % of what the
bucket allowed in that time (its burst + R x seconds: the burst alone lets a short phase pass 100%
of R). Every apply must do every create once, and the plan after it must be empty, with every
resource read (a read still refused after the client's six attempts leaves its resource out); the
exit status is 1 if the adaptive client fails that (the old one is shown, not judged).
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

import httpx  # noqa: E402

from bench.plan_benchmark import request_log, reset, scratch_dir, serve, set_latency  # noqa: E402
from reconciler.applier import apply  # noqa: E402
from reconciler.client import connect  # noqa: E402
from reconciler.manifest import load_manifests  # noqa: E402
from reconciler.planner.planner import plan  # noqa: E402
from reconciler.workflow import snapshot_for  # noqa: E402
from tests.conftest import KEY  # noqa: E402

MODES = {"fixed": False, "adaptive": True}
LOG_SIZE = 10_000  # the emulator's request log: a phase must fit in it


@dataclass
class Phase:
    """One apply or plan behind the limit."""

    rate: float
    burst: int
    mode: str
    name: str
    seconds: float
    statuses: Counter[int | str]
    first_contact: int
    """The first run of 429s in a row, in the order the emulator answered."""
    problem: str | None

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    @property
    def served(self) -> int:
        return self.requests - self.statuses[429]

    @property
    def refused_pct(self) -> float:
        return 100 * self.statuses[429] / self.requests

    @property
    def later_refused_pct(self) -> float:
        return 100 * (self.statuses[429] - self.first_contact) / self.requests

    @property
    def of_rate_pct(self) -> float:
        return 100 * self.served / self.seconds / self.rate

    @property
    def of_allowed_pct(self) -> float:
        return 100 * self.served / (self.burst + self.rate * self.seconds)


def write_manifests(root: Path, count: int) -> None:
    prompts = "".join(
        f"  - name: p{n:05}\n    text: Prompt {n}\n    prompt_expansion: {{enabled: true}}\n"
        for n in range(count)
    )
    (root / "evi.yaml").write_text(f"prompts:\n{prompts}", encoding="utf-8")


def limit(url: str, rate: float, burst: int | None) -> int:
    """Enforce ``rate`` from now on, with a full bucket; the burst in force."""
    response = httpx.post(f"{url}/_emulator/rate", json={"rate": rate, "burst": burst})
    response.raise_for_status()
    return int(response.json()["burst"])


async def run_phase(url: str, root: Path, adaptive: bool, name: str, count: int) -> str | None:
    """An apply (``name == "apply"``) or a plan, as the CLI runs them; what went wrong, if any."""
    async with connect(base_url=url, api_key=KEY, adaptive=adaptive) as client:
        manifests = load_manifests(root, {})
        planned = plan(manifests, await snapshot_for(manifests, client))
        if planned.unreadable:
            return f"{len(planned.unreadable)} resource(s) could not be read"
        if name == "plan":
            return f"the plan has {len(planned.pending)} change(s)" if planned.pending else None
        outcomes = await apply(planned, client)
        listed = await client.list("prompts")
    statuses = Counter(o.status for o in outcomes)
    names = Counter(p.name for p in listed)
    if statuses != Counter({"done": count}):
        return f"outcomes {dict(statuses)}, expected {count} done"
    if len(names) != count or max(names.values()) != 1:
        return f"{len(listed)} prompts with {len(names)} names, expected {count} once each"
    return None


def measure(url: str, root: Path, args: argparse.Namespace, rate: float, mode: str) -> list[Phase]:
    count = max(1, round(rate * args.seconds / 3))
    write_manifests(root, count)
    reset(url)
    set_latency(url, args.latency_ms)
    phases = []
    for name in ("apply", "plan"):
        burst = limit(url, rate, args.burst)
        before = len(request_log(url))
        start = time.perf_counter()
        problem = asyncio.run(run_phase(url, root, MODES[mode], name, count))
        seconds = time.perf_counter() - start
        log = request_log(url)
        if len(log) >= LOG_SIZE:
            raise SystemExit("the emulator's request log overflowed: lower --seconds")
        answered = [entry["status"] for entry in log[before:]]
        first = answered.index(429) if 429 in answered else len(answered)
        streak = next(
            (n for n, s in enumerate(answered[first:]) if s != 429), len(answered) - first
        )
        phases.append(Phase(rate, burst, mode, name, seconds, Counter(answered), streak, problem))
    return phases


def report(phases: list[Phase]) -> bool:
    header = (
        f"{'R/s':>5} {'burst':>5} {'phase':>5} {'mode':>8} {'requests':>8} {'429 %':>6} "
        f"{'first':>5} {'later %':>7} {'seconds':>7} {'served/s':>8} {'% of R':>6} "
        f"{'% allowed':>9}"
    )
    print(header)
    ok = True
    for p in phases:
        print(
            f"{p.rate:>5g} {p.burst:>5} {p.name:>5} {p.mode:>8} {p.requests:>8} "
            f"{p.refused_pct:>6.1f} {p.first_contact:>5} {p.later_refused_pct:>7.1f} "
            f"{p.seconds:>7.2f} {p.served / p.seconds:>8.1f} "
            f"{p.of_rate_pct:>6.1f} {p.of_allowed_pct:>9.1f}"
        )
        if p.problem:
            ok = ok and p.mode != "adaptive"
            print(f"  PROBLEM: {p.problem}")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", type=float, nargs="+", default=[5, 20, 100], help="R values")
    parser.add_argument("--seconds", type=float, default=10.0, help="apply traffic at R, about")
    parser.add_argument("--burst", type=int, help="the bucket's burst (default: one second's)")
    parser.add_argument("--latency-ms", type=float, default=25.0, help="added per request")
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    args = parser.parse_args(argv)
    if not all(0 < r <= 1000 for r in args.rates):
        parser.error("--rates must be above 0 and at most 1000")
    if not 1 <= args.seconds <= 120:
        parser.error("--seconds must be between 1 and 120")

    total = time.perf_counter()
    phases: list[Phase] = []
    with scratch_dir() as tmp, serve("process", Path(tmp)) as emulator:
        root = Path(tmp) / "manifests"
        root.mkdir()
        for rate in args.rates:
            for mode in args.modes:
                phases += measure(emulator.url, root, args, rate, mode)
    print(
        f"rate-limit benchmark: ~{args.seconds:g} s of apply traffic per rate; "
        f"{args.latency_ms:g} ms latency; concurrency 8; "
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs"
    )
    ok = report(phases)
    print(f"total run time: {time.perf_counter() - total:.1f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
