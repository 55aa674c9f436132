"""How many runs apply needs to converge when Hume misbehaves: 40% 5xx, 30% 429, 30% dropped writes.

Run as ``.venv/bin/python bench/fault_convergence.py`` (``--help`` for sizes). Each trial starts an
empty in-process emulator (duplicate names allowed, so a repeated create would show), injects the
faults on every request, and runs plan + apply until an apply leaves nothing failed; a run that
stops early (a listing it could not read) counts as a run. Then, without faults, the account must
hold each resource once and a new plan must be empty. Waits are shrunk (``Retry-After: 0``, tiny
backoff) so that the figure is runs, not seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from reconciler.applier import apply  # noqa: E402
from reconciler.client import ApiError, HumeClient, ResponseLost, connect  # noqa: E402
from reconciler.client.api import RetryPolicy  # noqa: E402
from reconciler.emulator import EmulatorSettings, Faults  # noqa: E402
from reconciler.emulator.embedded import EmbeddedTransport  # noqa: E402
from reconciler.errors import UserError  # noqa: E402
from reconciler.manifest import load_manifests  # noqa: E402
from reconciler.planner.planner import plan  # noqa: E402
from reconciler.workflow import snapshot_for  # noqa: E402

FAULTS = {"error_rate": 0.4, "rate_limit_rate": 0.3, "drop_rate": 0.3, "retry_after_s": 0}
RETRY = RetryPolicy(initial_wait=0.001, max_wait=0.01)


def write_manifests(root: Path, size: int) -> None:
    prompts = "".join(f"  - name: p{n}\n    text: Prompt {n}\n" for n in range(size))
    tools = "".join(f"  - name: t{n}\n    parameters: {{type: object}}\n" for n in range(size))
    configs = "".join(
        f'  - name: c{n}\n    evi_version: "3"\n    prompt: p{n}\n    tools: [t{n}]\n'
        for n in range(size)
    )
    text = f"prompts:\n{prompts}tools:\n{tools}configs:\n{configs}"
    (root / "evi.yaml").write_text(text, encoding="utf-8")


async def one_run(client: HumeClient, root: Path) -> tuple[bool, str]:
    """One plan + apply; (converged, what stopped it)."""
    manifests = load_manifests(root, {})
    try:
        planned = plan(manifests, await snapshot_for(manifests, client))
        outcomes = await apply(planned, client)
    except (UserError, ApiError, ResponseLost, httpx.HTTPError) as exc:
        return False, f"aborted: {type(exc).__name__}"
    bad = Counter(o.status for o in outcomes if o.status != "done")
    return not bad, ", ".join(f"{n} {status}" for status, n in bad.items()) or "all done"


async def trial(root: Path, seed: int, cap: int) -> tuple[int, list[str]]:
    transport = EmbeddedTransport(
        EmulatorSettings(
            db=":memory:", allow_duplicate_names=True, faults=Faults(**FAULTS, seed=seed)
        )
    )
    client = connect(base_url="http://emulator", transport=transport, api_key="k", retry=RETRY)
    notes: list[str] = []
    async with client:
        while len(notes) < cap:
            converged, note = await one_run(client, root)
            notes.append(note)
            if converged:
                break
        transport.app.emulator.faults = Faults()
        manifests = load_manifests(root, {})
        after = plan(manifests, await snapshot_for(manifests, client))
        names: Counter[tuple[str, str]] = Counter()
        for kind in ("prompts", "tools", "configs"):
            names.update((kind, item.name) for item in await client.list(kind))
    duplicates = [key for key, n in names.items() if n > 1]
    assert not duplicates, f"duplicates: {duplicates}"
    assert not after.has_changes, "the account did not converge"
    return len(notes), notes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10, help="prompts, tools and configs each")
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--cap", type=int, default=20, help="runs before a trial gives up")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as workdir:
        root = Path(workdir)
        write_manifests(root, args.size)
        print(
            f"fault convergence: {args.size * 3} resources, faults {FAULTS}, "
            f"{args.trials} trials (seeds 1..{args.trials})"
        )
        counts = []
        for seed in range(1, args.trials + 1):
            runs, notes = asyncio.run(trial(root, seed, args.cap))
            counts.append(runs)
            print(f"  seed {seed:>2}: {runs} run(s): {' | '.join(notes)}")
    print(
        f"runs to converge: median {statistics.median(counts)}, max {max(counts)}, "
        f"mean {statistics.mean(counts):.1f}; no duplicates; every trial converged"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
