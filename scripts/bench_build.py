"""Time ``reportgen build`` over many stored runs.

Generates N valid runs (default 100) from a real results file: same records, new run ids and dates,
values scaled per run with some jitter, spread over a few machines. Then times ``reportgen build`` on
them in a fresh process, the way a user runs it.

    .venv/bin/python scripts/bench_build.py results/<machine-id>/<run-id>.json [-n 100] [--machines 3]
    .venv/bin/python scripts/bench_build.py RUN.json --profile     # cProfile of the build, in-process
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import numpy as np

from reportgen.store.results import ResultStore
from reportgen.testing import derive_run, parse_utc


def generate(base_file: Path, results: Path, n: int, machines: int, seed: int = 0) -> list[Path]:
    """Write ``n`` runs derived from ``base_file`` into ``results``, round-robin over ``machines`` machines."""
    store = ResultStore(results)
    base = store.load(base_file)
    rng = np.random.default_rng(seed)
    ids = [base["machine_id"], *(f"bench-machine-{k}" for k in range(1, machines))]
    start = parse_utc(base["started_at"])
    paths = []
    for i in range(n):
        machine = ids[i % len(ids)]
        factor = (1 + ids.index(machine)) * float(rng.lognormal(0, 0.1))
        started = start - timedelta(hours=6 * (n - i))
        paths.append(store.save(derive_run(base, machine_id=machine, started=started, factor=factor, rng=rng)))
    return paths


def time_build(results: Path, site: Path) -> float:
    """Wall seconds of ``reportgen build`` in a fresh process (fails loudly if the build fails)."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "reportgen", "build", "--results-dir", str(results),
                    "--site-dir", str(site)], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def profile_build(results: Path, site: Path, top: int = 25) -> None:
    """Print the ``top`` functions of an in-process build by cumulative time."""
    from reportgen.report.site import build_site

    profiler = cProfile.Profile()
    profiler.runcall(build_site, results, site)
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(top)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_file", type=Path, help="a real results file to copy the structure of")
    parser.add_argument("-n", "--runs", type=int, default=100, help="runs to generate (default 100)")
    parser.add_argument("--machines", type=int, default=3, help="machines to spread them over (default 3)")
    parser.add_argument("--keep", type=Path, help="generate into this directory and keep it")
    parser.add_argument("--profile", action="store_true", help="also profile one build in-process")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="reportgen-bench-") as tmp:
        root = args.keep or Path(tmp)
        t0 = time.perf_counter()
        paths = generate(args.run_file, root / "results", args.runs, args.machines)
        print(f"generated {len(paths)} runs on {args.machines} machine(s) in {time.perf_counter() - t0:.1f} s")
        seconds = time_build(root / "results", root / "site")
        files = [p for p in (root / "site").rglob("*") if p.is_file()]
        size = sum(p.stat().st_size for p in files) / 1e6
        print(f"reportgen build: {seconds:.1f} s wall ({len(files)} files, {size:.1f} MB in {root / 'site'})")
        if args.profile:
            profile_build(root / "results", root / "site")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
