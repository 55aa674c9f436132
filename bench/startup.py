"""Start-up time of the ``evictl`` console script: what a pre-commit hook or an editor waits for.

Run: .venv/bin/python bench/startup.py [--runs N] [--top K]
Each command runs N times as a fresh subprocess (the installed script next to this interpreter);
the table shows median and min wall time. Targets (issue 16): ``evictl --help`` within 0.15 s and
``evictl validate examples/manifests`` within 0.3 s. Then ``python -X importtime`` lists the
modules that cost ``evictl --help`` most (cumulative ms, top K), which names what to
make lazy next. ``plan`` runs against a fresh embedded emulator file (an empty account), so it
shows the whole pipeline's start-up with almost no work.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EVICTL = str(Path(sys.executable).parent / "evictl")
TARGETS = {"evictl --help": 0.15, "evictl validate examples/manifests": 0.3}


def commands(scratch: Path) -> dict[str, list[str]]:
    """The timed command lines, by the label the table shows."""
    emulator = str(scratch / "emulator.sqlite")
    return {
        "evictl --help": [EVICTL, "--help"],
        "evictl validate examples/manifests": [EVICTL, "validate", "examples/manifests"],
        "evictl plan --help": [EVICTL, "plan", "--help"],
        "evictl schema": [EVICTL, "schema"],
        "evictl plan examples/manifests --emulator": [
            EVICTL, "plan", "examples/manifests", "--emulator", emulator,
        ],
    }  # fmt: skip


def timed(argv: list[str], runs: int) -> list[float]:
    """Wall seconds of ``runs`` runs of ``argv`` (each must exit 0)."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, cwd=ROOT, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return times


def import_offenders(argv: list[str], top: int) -> list[tuple[int, str]]:
    """The ``top`` modules with the largest cumulative import time (µs) while ``argv`` runs."""
    code = f"import sys; sys.argv = {argv!r}; from reconciler.cli import main; main()"
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], cwd=ROOT, capture_output=True, text=True
    )
    rows = []
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line.removeprefix("import time:").split("|")
        rows.append((int(cumulative), name.strip()))
    return sorted(rows, reverse=True)[:top]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="Runs per command (default 15).")
    parser.add_argument("--top", type=int, default=15, help="Import offenders to list.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        print(f"{'command':45} {'median':>8} {'min':>8}  target")
        for label, argv in commands(Path(scratch)).items():
            times = timed(argv, args.runs)
            median, best = statistics.median(times), min(times)
            target = TARGETS.get(label)
            verdict = (
                ""
                if target is None
                else f"≤{target:.2f} s " + ("met" if median <= target else "MISSED")
            )
            print(f"{label:45} {median:7.3f}s {best:7.3f}s  {verdict}")
    print(f"\nimport time of `evictl --help`, top {args.top} (cumulative):")
    for cumulative, name in import_offenders(["evictl", "--help"], args.top):
        print(f"{cumulative / 1000:9.1f} ms  {name}")


if __name__ == "__main__":
    main()
