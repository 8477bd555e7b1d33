"""Regenerate the stored results the publish-side tests read: one real smoke run, never edited by hand.

    .venv/bin/python scripts/make_fixture.py      # or: make fixture (5 to 9 minutes on 2 cores)

Runs ``reportgen run --profile smoke`` into a temporary folder, then replaces ``tests/fixtures/results``
with its results file and writes the file's SHA-256 beside it, which ``tests/test_fixture.py`` checks:
an edited fixture fails the tests. Regenerate it when the results schema, the catalog or what a run
records changes, and commit both files.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "results"
CHECKSUM = ROOT / "tests" / "fixtures" / "results.sha256"


def checksum_lines(results: Path) -> str:
    """``<sha256>  <machine-id>/<run-id>.json`` per stored run, sorted."""
    return "".join(f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.relative_to(results).as_posix()}\n"
                   for p in sorted(results.glob("*/*.json")))


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="reportgen-fixture-") as tmp:
        results = Path(tmp) / "results"
        proc = subprocess.run([sys.executable, "-m", "reportgen", "run", "--profile", "smoke",
                               "--results-dir", str(results), "--site-dir", str(Path(tmp) / "site")], cwd=tmp)
        if proc.returncode != 0:
            print(f"the smoke run failed (exit {proc.returncode}); the stored fixture is unchanged", file=sys.stderr)
            return 1
        shutil.rmtree(FIXTURE, ignore_errors=True)
        for run_file in results.glob("*/*.json"):
            target = FIXTURE / run_file.relative_to(results)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(run_file, target)
    CHECKSUM.write_text(checksum_lines(FIXTURE), encoding="utf-8")
    print(f"stored {CHECKSUM.read_text(encoding='utf-8').strip()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
