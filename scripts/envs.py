"""Make and lock the environments: the harness (``.venv``) and one per framework family (``.envs/<family>``).

    python scripts/envs.py install [--build auto|cpu|cuda] [--into .envs] [--single]   # make install runs this
    python scripts/envs.py lock                                                      # refresh every lock file
    python scripts/envs.py check-cuda                                                # resolve the CUDA locks again

Everything goes through uv (``uv pip compile`` / ``uv venv`` / ``uv pip sync``), with its shared cache: an
environment whose packages are cached installs in seconds, by hard links. The locks are portable (no index in
them); a machine whose pip is configured with local indexes or find-links (``pip config list``) has the same
passed to uv, which does not read pip's configuration. What each environment holds is declared in
:mod:`reportgen.process.envs` (``EXTRAS``); the result is written to ``.envs/manifest.json``.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# the checkout's reportgen, before it is installed: these two import nothing beyond the standard library
from reportgen.process import envs  # noqa: E402
from reportgen.store.paths import write_atomic  # noqa: E402

PYTHON_VERSION = "3.11"


def uv() -> str:
    """The uv executable (installed beside this interpreter by make install, else on PATH)."""
    beside = Path(sys.executable).with_name("uv")
    found = str(beside) if beside.is_file() else shutil.which("uv")
    if not found:
        sys.exit("uv is not installed: python -m pip install uv (make install does)")
    return found


@functools.cache
def pip_config_args() -> tuple[str, ...]:
    """This machine's pip indexes and find-links, as uv arguments (uv does not read pip's configuration)."""
    try:
        out = subprocess.run([sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True,
                             timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return ()
    args: list[str] = []
    for line in out.splitlines():
        key, _, value = line.partition("=")
        value = value.strip().strip("'\"")
        option = key.split(".", 1)[-1]
        if option == "extra-index-url":
            args += [a for url in value.split() for a in ("--extra-index-url", url)]
        elif option == "index-url":
            args += ["--index-url", value]
        elif option == "find-links":
            args += [a for url in value.split() for a in ("--find-links", url)]
    if args:  # local indexes hold only some releases of a package: pick each version from wherever it is
        args += ["--index-strategy", "unsafe-best-match"]
    return tuple(args)


def _run(cmd: list[str], what: str) -> str | None:
    """Run a uv command; None when it worked, else its last error line."""
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if proc.returncode == 0:
        return None
    lines = [line for line in (proc.stderr or proc.stdout).splitlines() if line.strip()]
    return f"{what} failed: {lines[-1].strip() if lines else f'exit {proc.returncode}'}"


def compile_lock(name: str, build: str, output: Path | None = None) -> str | None:
    """Resolve one environment's lock file (``uv pip compile``); None when it worked, else why not."""
    target = output or envs.lock_file(name, build)
    target.parent.mkdir(parents=True, exist_ok=True)
    cmd = [uv(), "pip", "compile", "pyproject.toml", *(a for e in envs.extras(name, build) for a in ("--extra", e)),
           "--constraint", str(envs.CONSTRAINTS.relative_to(ROOT)), "--universal",
           "--python-version", PYTHON_VERSION, "--quiet", "--no-header", "--output-file", str(target)]
    return _run([*cmd, *pip_config_args()], f"locking {name} ({build})")


def lock(_: argparse.Namespace) -> int:
    """Refresh every lock file."""
    failed = 0
    for name, build in _all_locks():
        problem = compile_lock(name, build)
        print(f"  {envs.lock_file(name, build).relative_to(ROOT)}: {problem or 'locked'}")
        failed += problem is not None
    return 1 if failed else 0


def _families() -> tuple[str, ...]:
    from reportgen import catalog  # needs the harness's packages: imported once they are installed

    return catalog.families()


def _all_locks() -> list[tuple[str, str]]:
    seen, out = set(), []
    for name in (envs.HARNESS, *_families()):
        for build in envs.BUILDS:
            path = envs.lock_file(name, build)
            if path not in seen:
                seen.add(path)
                out.append((name, build))
    return out


def check_cuda(_: argparse.Namespace) -> int:
    """Resolve the CUDA locks afresh and compare with the committed ones (a GPU user's install, checked here)."""
    import tempfile

    differ = 0
    with tempfile.TemporaryDirectory() as tmp:
        for family in _families():
            committed = envs.lock_file(family, "cuda")
            fresh = Path(tmp) / committed.name
            # the committed pins are uv's preferences: only a lock that no longer fits pyproject.toml, the
            # constraints or what the registries hold resolves differently, not one a day of new releases left behind
            shutil.copyfile(committed, fresh)
            problem = compile_lock(family, "cuda", fresh)
            if problem is None and _pins(fresh) != _pins(committed):
                problem = "resolves differently from the committed lock (refresh: python scripts/envs.py lock)"
            print(f"  {committed.relative_to(ROOT)}: {problem or 'resolves as committed'}")
            differ += problem is not None
    return 1 if differ else 0


def _pins(path: Path) -> set[str]:
    return {line.split(";")[0].strip() for line in path.read_text().splitlines()
            if line.strip() and not line.lstrip().startswith("#")}


def sync(python: str, lock_path: Path, exact: bool = True) -> str | None:
    """Make the environment of ``python`` hold the lock's packages (exactly them, unless ``exact`` is False: the
    harness keeps pip and uv), plus this checkout (editable)."""
    verb = ["sync", str(lock_path)] if exact else ["install", "--requirement", str(lock_path)]
    problem = _run([uv(), "pip", *verb, "--python", python, *pip_config_args()],
                   f"installing {lock_path.name}")
    if problem is None:
        problem = _run([uv(), "pip", "install", "--python", python, "--no-deps", "-e", str(ROOT), *pip_config_args()],
                       "installing reportgen")
    return problem


def probe(python: str, name: str) -> envs.Environment | str:
    """What the environment holds, asked of its own interpreter."""
    code = ("import dataclasses, json; from reportgen.process.envs import describe_this_interpreter as d; "
            f"print(json.dumps(dataclasses.asdict(d({name!r}))))")
    proc = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        return f"its interpreter does not start reportgen: {(proc.stderr.strip().splitlines() or ['?'])[-1]}"
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    return envs.Environment(**{**data, "modules": tuple(data["modules"])})


def machine_build(requested: str) -> str:
    """cuda where ``nvidia-smi`` lists a GPU, cpu elsewhere (or what was asked)."""
    if requested != "auto":
        return requested
    from reportgen.hardware import detect_gpus

    return "cuda" if detect_gpus() else "cpu"


def install(args: argparse.Namespace) -> int:
    """The harness into this interpreter's environment, then each family's environment, then the manifest."""
    started = time.monotonic()
    harness_lock = envs.lock_file(envs.HARNESS, "cpu")
    problem = sync(sys.executable, harness_lock, exact=False)
    if problem:
        print(f"reportgen: the harness environment did not install: {problem}", file=sys.stderr)
        return 1
    took = time.monotonic() - started
    print(f"  harness ({Path(sys.prefix).name}): {harness_lock.relative_to(ROOT)} in {took:.0f} s")
    if args.single:
        print("  one interpreter for every framework (--single): no per-family environments")
        return 0
    build = machine_build(args.build)
    into = Path(args.into).resolve()
    into.mkdir(parents=True, exist_ok=True)
    entries = {}
    for family in _families():
        entries[family] = install_family(family, build, into)
    manifest = {"schema": 1, "build": build, "python": PYTHON_VERSION, "environments": entries,
                envs.HARNESS: {"build": "cpu", "lock": str(harness_lock.relative_to(ROOT)),
                               "lock_sha256": envs.lock_hash(harness_lock)}}
    write_atomic(into / envs.MANIFEST, (json.dumps(manifest, indent=1) + "\n").encode())
    print(f"  environments ready in {time.monotonic() - started:.0f} s: {into / envs.MANIFEST}")
    return 0


def install_family(family: str, build: str, into: Path) -> dict[str, object]:
    """Make (or update) one family's environment; its manifest entry, failed with the reason where it did not."""
    t0 = time.monotonic()
    lock_path = envs.lock_file(family, build)
    entry: dict[str, object] = {"build": build, "lock": str(lock_path.relative_to(ROOT))}
    folder = into / family
    python = folder / "bin" / "python"
    problem = None if lock_path.is_file() else f"no lock file {lock_path.relative_to(ROOT)}"
    if problem is None and not python.is_file():
        problem = _run([uv(), "venv", "--quiet", "--python", sys.executable, str(folder)], f"creating {folder}")
    problem = problem or sync(str(python), lock_path)
    described = probe(str(python), family) if problem is None else problem
    if isinstance(described, str):
        entry.update(status="failed", reason=described)
        print(f"  {family} ({build}): FAILED: {described}")
        return entry
    entry.update(status="ok", reason=None, lock_sha256=envs.lock_hash(lock_path), versions=described.versions,
                 modules=list(described.modules))
    key = ", ".join(f"{k} {v}" for k, v in described.versions.items() if k not in envs.SHARED_LIBRARIES)
    print(f"  {family} ({build}): {key} in {time.monotonic() - t0:.0f} s")
    return entry


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    inst = sub.add_parser("install", help="sync the harness into this interpreter and make each family's environment")
    inst.add_argument("--build", choices=["auto", *envs.BUILDS], default=os.environ.get("REPORTGEN_BUILD", "auto"),
                      help="the families' builds: cuda where nvidia-smi lists a GPU (auto), or as given")
    inst.add_argument("--into", default=str(envs.DEFAULT_DIR), help="folder of the family environments")
    inst.add_argument("--single", action="store_true",
                      help="install only the harness, which then runs every framework (one interpreter)")
    sub.add_parser("lock", help="resolve every lock file afresh (after changing pyproject.toml)")
    sub.add_parser("check-cuda", help="resolve the CUDA locks and compare them with the committed ones")
    args = parser.parse_args(argv)
    return {"install": install, "lock": lock, "check-cuda": check_cuda}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
