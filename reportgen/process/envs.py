"""Which Python interpreter runs a measuring child: one environment per framework family, or one for all.

``make install`` (``scripts/envs.py install``) makes one virtual environment per ``--frameworks`` family under
``.envs/`` (torch, tensorflow, keras-jax, keras-torch, onnxruntime, openvino), each synced with uv from its lock
file in ``locks/`` (the CUDA build where ``nvidia-smi`` lists a GPU, the CPU build elsewhere), and writes
``.envs/manifest.json``: per family its interpreter, lock file and hash, installed versions and which packages
import there. The harness (this process: planning, pages, site, tests) runs in ``.venv``.

Two modes, chosen by :data:`ENVS_VARIABLE` (or ``reportgen run --envs``):

- *per family* (the default when ``.envs/manifest.json`` exists, or a folder named by the variable): a task
  runs in its family's interpreter; a family whose environment is missing or failed to install is skipped
  with the reason; children of no family (NumPy's roof) run in the harness.
- *single* (``single``, or no manifest: e.g. ``pip install 'reportgen[all]'``, a preinstalled image, the GPU
  machines of a cloud): every child runs in the harness's own interpreter, as one environment.

Nothing here imports a framework: what is installed in an environment is read from its manifest.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import sys
from dataclasses import asdict, dataclass, field, replace
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from reportgen.errors import ReportgenError

ENVS_VARIABLE = "REPORTGEN_ENVS"  # a folder of per-family environments, or "single"
SINGLE = "single"
HARNESS = "harness"  # the environment of this process
PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DIR = PROJECT_ROOT / ".envs"
MANIFEST = "manifest.json"
# what an environment's manifest answers about it: the versions of reportgen.hardware.LIBRARIES, and whether the
# modules that decide if a runtime, a roof or the browser can run there import (the catalog's packages and these)
EXTRA_MODULES = ("numpy", "nncf", "playwright", "tf2onnx")
# distributions every environment holds (the harness's own): not what tells the environments apart
SHARED_LIBRARIES = ("numpy", "pandas", "plotly", "mkdocs", "mkdocs-material", "reportgen")


BUILDS = ("cpu", "cuda")  # a family's build for a machine without / with an NVIDIA GPU
# The pyproject extras each family's environment is locked from, per build (the harness: every framework, CPU
# builds, and the test tools, so that it can also run everything as one interpreter). A family of a plugin that
# is not named here is locked from the extra of its own name.
EXTRAS: dict[str, dict[str, tuple[str, ...]]] = {
    "torch": {"cpu": ("torch",), "cuda": ("torch",)},  # PyPI's Linux torch is the CUDA build: one lock for both
    # Keras 3 on JAX: jax (its CUDA build on a GPU machine) and keras, no TensorFlow
    "keras-jax": {"cpu": ("jax",), "cuda": ("jax-cuda",)},
    # Keras 3 on PyTorch: the torch extra and keras, resolved under the same constraints (torch==2.14.1), so Keras
    # runs on the very torch build the PyTorch rows ran; an environment of its own keeps Keras out of theirs
    "keras-torch": {"cpu": ("torch", "keras"), "cuda": ("torch", "keras")},
    "tensorflow": {"cpu": ("tensorflow",), "cuda": ("tensorflow-cuda",)},
    "onnxruntime": {"cpu": ("onnxruntime", "browser"), "cuda": ("onnxruntime-cuda", "browser")},
    # OpenVINO has no CUDA device (one lock); it converts the PyTorch module itself (convert_model, torch.compile)
    "openvino": {"cpu": ("openvino", "torch"), "cuda": ("openvino", "torch")},
}
HARNESS_EXTRAS = ("all", "test")
LOCKS_DIR = PROJECT_ROOT / "locks"
CONSTRAINTS = LOCKS_DIR / "constraints.txt"  # the tested releases every lock is resolved under


def extras(name: str, build: str) -> tuple[str, ...]:
    """The extras the environment ``name`` (a family or HARNESS) is locked from for ``build``."""
    if name == HARNESS:
        return HARNESS_EXTRAS
    return EXTRAS.get(name, {}).get(build, (name,))


def lock_file(name: str, build: str) -> Path:
    """The lock file of an environment for a build (one file where both builds lock the same extras)."""
    if name == HARNESS or extras(name, "cpu") == extras(name, "cuda"):
        return LOCKS_DIR / f"{name}.txt"
    return LOCKS_DIR / f"{name}-{build}.txt"


@dataclass(frozen=True)
class Environment:
    """Where one family's children run, and what it holds."""

    name: str  # a family, HARNESS, or SINGLE
    python: str  # the interpreter that runs the child
    status: str = "ok"  # ok, failed (did not install), missing (no such environment)
    reason: str | None = None
    build: str | None = None  # cpu or cuda: which lock it was synced from
    lock: str | None = None  # the lock file, relative to the project
    lock_sha256: str | None = None
    versions: dict[str, str] = field(default_factory=dict)  # installed key distributions
    modules: tuple[str, ...] = ()  # importable modules among catalog packages and EXTRA_MODULES

    def record(self) -> dict[str, Any]:
        """What a record says about the environment it came from."""
        return {"name": self.name, "python": self.python, "build": self.build, "lock": self.lock,
                "lock_sha256": self.lock_sha256, "versions": dict(self.versions)}


def probe_modules() -> tuple[str, ...]:
    """The module names whose presence the manifest records (the catalog's runtime packages and the extras)."""
    from reportgen import catalog

    names = {p for r in catalog.RUNTIMES.values() for p in (*r.packages, *r.requires)} | set(EXTRA_MODULES)
    return tuple(sorted(names))


def describe_this_interpreter(name: str) -> Environment:
    """The running interpreter as an environment (its versions and importable modules, read here)."""
    from reportgen.hardware import LIBRARIES

    versions = {}
    for dist in LIBRARIES:
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    modules = tuple(m for m in probe_modules() if importlib.util.find_spec(m) is not None)
    return Environment(name=name, python=sys.executable, versions=versions, modules=modules)


def mode() -> Path | None:
    """The folder of per-family environments, or None for one interpreter (see the module docstring)."""
    chosen = os.environ.get(ENVS_VARIABLE, "")
    if chosen == SINGLE:
        return None
    if chosen:
        folder = Path(chosen).expanduser()
        if not (folder / MANIFEST).is_file():
            raise ReportgenError(f"{ENVS_VARIABLE}={chosen}: no {MANIFEST} there; make the environments with "
                                 f"`make install` (or `python scripts/envs.py install --into {chosen}`), or set "
                                 f"{ENVS_VARIABLE}={SINGLE} to run everything in this interpreter")
        return folder.resolve()
    return DEFAULT_DIR if (DEFAULT_DIR / MANIFEST).is_file() else None


def lock_hash(path: Path) -> str:
    """The SHA-256 of a lock file (what a record names its environment by)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


@cache
def _manifest(folder: Path) -> dict[str, Any]:
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise ReportgenError(f"{folder / MANIFEST} cannot be read ({exc}); remake it with `make install`") from None
    if not isinstance(data, dict) or not isinstance(data.get("environments"), dict):
        raise ReportgenError(f"{folder / MANIFEST} is not an environments manifest; remake it with `make install`")
    return data


def _from_manifest(folder: Path, family: str) -> Environment:
    entry = _manifest(folder)["environments"].get(family)
    if entry is None:
        return Environment(name=family, python="", status="missing",
                           reason=f"no {family} environment in {folder} (make install makes one per family)")
    python = str(folder / family / "bin" / "python")
    env = Environment(name=family, python=python, status=entry.get("status", "failed"), reason=entry.get("reason"),
                      build=entry.get("build"), lock=entry.get("lock"), lock_sha256=entry.get("lock_sha256"),
                      versions=dict(entry.get("versions", {})), modules=tuple(entry.get("modules", ())))
    if env.status == "ok" and not Path(python).is_file():
        return Environment(name=family, python=python, status="missing",
                           reason=f"the {family} environment's interpreter {python} is gone; rerun make install")
    return env


def family_of_task(framework: str) -> str | None:
    """The family whose environment runs a task of ``framework`` (a runtime or a roof's library); None: the
    harness runs it (NumPy's roof)."""
    from reportgen import catalog

    return catalog.family_of(framework)


def environment(framework: str) -> Environment:
    """The environment a child measuring ``framework`` runs in."""
    folder = mode()
    if folder is None:
        return _single()
    family = family_of_task(framework)
    if family is None or (family not in EXTRAS and family not in _manifest(folder)["environments"]):
        return _harness(folder)  # NumPy's roof, or a plugin's family that make install built no environment for
    return _from_manifest(folder, family)


@cache
def _harness(folder: Path) -> Environment:
    """This interpreter, with the lock make install synced it from (the manifest's ``harness`` entry)."""
    synced = _manifest(folder).get(HARNESS)
    synced = synced if isinstance(synced, dict) else {}
    return replace(describe_this_interpreter(HARNESS), **{k: synced.get(k) for k in ("build", "lock", "lock_sha256")})


@cache
def _single() -> Environment:
    return describe_this_interpreter(SINGLE)


def unavailable(framework: str) -> str | None:
    """Why the environment of ``framework`` cannot run it (missing or failed to install), in one line, or None."""
    env = environment(framework)
    if env.status != "ok":
        return f"{env.name} environment {env.status}: {env.reason}"
    return None


def importable(module: str, framework: str) -> bool:
    """Whether ``module`` imports in the environment that runs ``framework``'s children."""
    env = environment(framework)
    return env.status == "ok" and module in env.modules


def installed(distribution: str, framework: str) -> bool:
    """Whether the distribution is installed in the environment that runs ``framework``'s children."""
    env = environment(framework)
    return env.status == "ok" and distribution in env.versions


def install_hint(distribution: str, framework: str) -> str:
    """How a user gets ``distribution`` into the environment that runs ``framework`` (one short clause)."""
    if mode() is None:
        return f"pip install {distribution}"
    return (f"`make install` on this machine makes the {family_of_task(framework)} environment's CUDA build, "
            f"which has it")


def library_versions(names: tuple[str, ...]) -> dict[str, str | None]:
    """The version of each distribution that the measuring children ran with: in per-family mode the first family
    environment that holds it (else the harness's), in single mode this interpreter's."""
    folder = mode()
    places = [_single()] if folder is None else [*_family_envs(folder), _harness(folder)]
    return {name: next((e.versions[name] for e in places if name in e.versions), None) for name in names}


def _family_envs(folder: Path) -> list[Environment]:
    from reportgen import catalog

    return [e for e in (_from_manifest(folder, f) for f in catalog.families()) if e.status == "ok"]


def summary() -> dict[str, Any]:
    """Every environment of this run (for the run's machine facts and the Hardware page)."""
    folder = mode()
    if folder is None:
        return {"mode": SINGLE, "environments": {SINGLE: asdict(_single())}}
    from reportgen import catalog

    families = {f: asdict(_from_manifest(folder, f)) for f in catalog.families()}
    return {"mode": "per-family", "folder": str(folder), "environments": {HARNESS: asdict(_harness(folder)),
                                                                          **families}}


def clear_cache() -> None:
    """Forget what was read (tests that switch modes)."""
    _manifest.cache_clear()
    _harness.cache_clear()
    _single.cache_clear()
