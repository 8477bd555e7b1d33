"""The Try-it page: the digits model a run trained, classified and timed by ONNX Runtime Web in the reader's browser.

The page is built from files a run kept beside its results (``<run-id>.demo/``: the fp32 and INT8 ONNX files
and a gallery of held-out images) and from the vendored runtime (``node_modules/onnxruntime-web``); without
either it says the demo was not built and why, and the rest of the site builds as usual. Nothing heavy loads
with the page: the runtime and a model are fetched when the reader starts the demo, and the page says how much.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from reportgen import catalog, thresholds, web
from reportgen.report import findings
from reportgen.report.escape import MD
from reportgen.report.format import fmt, md_table, metric, provenance
from reportgen.store.records import Setting
from reportgen.store.results import LoadedResults

PAGE = "tryit.md"
ASSETS = "tryit"  # the folder of the site that holds the runtime, the models and the gallery
NEEDS_RUN = False  # without any run the page still explains itself


def _complete(folder: Path) -> bool:
    """Whether the folder holds the files the page needs (links and odd files count: :func:`not_built` names them)."""
    return all(os.path.lexists(folder / name) for name in (web.GALLERY_FILE, web.model_name(catalog.BROWSER[0])))


def _demo_folder(run: dict[str, Any], loaded: LoadedResults) -> Path | None:
    """A run's kept Try-it files: beside its results file, else under one of ``loaded.demo_dirs``."""
    name = f"{run['run_id']}{web.DEMO_SUFFIX}"
    places = [loaded.root / run["machine_id"] / name] if loaded.root is not None else []
    for extra in loaded.demo_dirs:
        places += sorted(extra.rglob(name)) if extra.is_dir() else []
    return next((p for p in places if p.is_dir() and not p.is_symlink() and _complete(p)), None)


def demo_source(loaded: LoadedResults) -> tuple[dict[str, Any] | None, Path | None]:
    """The newest complete (else incomplete) run whose demo files were kept, and their folder."""
    for state in ("complete", "incomplete"):
        for run in reversed(loaded.runs):
            folder = _demo_folder(run, loaded) if run["status"] == state else None
            if folder is not None:
                return run, folder
    return None, None


def not_built(loaded: LoadedResults) -> str | None:
    """Why the demo is not in the site, or None when it is."""
    missing = web.runtime_missing()
    if missing:
        return missing
    run, folder = demo_source(loaded)
    if run is None or folder is None:
        return ("no stored run kept the trained model's files (a run keeps them in <run-id>.demo/ beside its results "
                "file when its conversions ran; `reportgen merge` copies only results files: point "
                "`reportgen build --demo-dir` at the folder that has them)")
    return web.demo_problem(folder)


def write_assets(loaded: LoadedResults, docs_dir: Path) -> list[Path]:
    """Copy the runtime, the run's model files and its gallery into ``docs_dir/tryit/`` (nothing when the demo
    cannot be built)."""
    if not_built(loaded):
        return []
    run, folder = demo_source(loaded)
    target = docs_dir / ASSETS
    (target / "ort").mkdir(parents=True, exist_ok=True)
    written = []
    for name in web.ORT_WEB_FILES:
        written.append(Path(shutil.copy2(web.ort_web_dist() / name, target / "ort" / name)))
    for variant in catalog.BROWSER:
        source = folder / web.model_name(variant)
        if source.is_file():
            written.append(Path(shutil.copy2(source, target / source.name)))
    manifest = web.gallery_manifest(folder / web.GALLERY_FILE)
    manifest["runtime_mb"] = _runtime_mb()
    manifest["models"] = {v.name: {"file": web.model_name(v), "mb": (folder / web.model_name(v)).stat().st_size / 1e6}
                          for v in catalog.BROWSER if (folder / web.model_name(v)).is_file()}
    for row in findings.browser_rows(run):  # what the run measured on its machine, shown beside the reader's
        if row["variant"].name in manifest["models"] and row["python"] is not None:
            manifest["models"][row["variant"].name]["measured"] = {
                "machine": run["machine_id"], "browser_ms": metric(row["record"], "latency_ms_p50"),
                "python_ms": metric(row["python"], "latency_ms_p50"),
                "threads": row["python"]["settings"].get(Setting.THREADS, {}).get("ort.intra_op")}
    path = target / "gallery.json"
    path.write_text(json.dumps(manifest), encoding="utf-8")
    return [*written, path]


def _runtime_mb() -> float:
    return sum((web.ort_web_dist() / name).stat().st_size for name in web.ORT_WEB_FILES) / 1e6


def browser_table(run: dict[str, Any]) -> str:
    """The browser's records beside Python ONNX Runtime on the same file (Inference and Try-it pages)."""
    rows = []
    for row in findings.browser_rows(run):
        rec, python = row["record"], row["python"]
        diff = metric(rec, "max_abs_diff")
        rows.append([
            row["variant"].name,
            f"{fmt(metric(rec, 'latency_ms_p50'), 'ms')} (IQR {fmt(metric(rec, 'latency_ms_iqr'), 'ms')})",
            f"{fmt(metric(python, 'latency_ms_p50'), 'ms')} (IQR {fmt(metric(python, 'latency_ms_iqr'), 'ms')})"
            if python else "–",
            f"{row['slower']:.1f}x" if row["slower"] else "–",
            fmt(diff, "abs") + ("" if row["agrees"] else " ⚠"), fmt(metric(rec, "top1_agreement"), "fraction"),
        ])
    if not rows:
        return ""
    return md_table(["model file", "browser p50 (ms)", "Python ONNX Runtime p50 (ms)", "browser / Python",
                     "max abs diff vs Python", "top-1 agreement"], rows)


def browser_notes(run: dict[str, Any]) -> dict[str, Any]:
    """What the browser table needs said beside it: the model, the browser, threads and the check."""
    rows = findings.browser_rows(run)
    if not rows:
        return {}
    rec = rows[0]["record"]
    python = rows[0]["python"]
    return {"model": rec["settings"].get(Setting.MODEL, ""), "timed": findings.timed_model(run),
            "backend": rec["settings"].get(Setting.BACKEND, rec["device"]),
            "files": ", ".join(f"{r['variant'].name}: {r['variant'].label}" for r in rows),
            "browser": rec["settings"].get(Setting.BROWSER, ""),
            "ort_web": rec["settings"].get(Setting.ONNXRUNTIME_WEB, ""),
            "why": rec["settings"].get(Setting.BACKEND_WHY, ""),
            "webgpu": rec["settings"].get(Setting.WEBGPU, ""), "images": rec["settings"].get(Setting.CHECK_IMAGES, ""),
            "python_threads": (python or {}).get("settings", {}).get("threads", {}).get("ort.intra_op", "–"),
            "preprocess": fmt(rec["settings"].get(Setting.PREPROCESS_MAX_ABS_DIFF), "abs")}


def context(run: dict[str, Any] | None, loaded: LoadedResults) -> dict[str, Any]:
    """Context of the Try-it page."""
    reason = not_built(loaded)
    source, folder = demo_source(loaded)
    sizes = {}
    if reason is None and folder is not None:
        sizes = {v.name: (folder / web.model_name(v)).stat().st_size / 1e6 for v in catalog.BROWSER
                 if (folder / web.model_name(v)).is_file()}
    measured = source if source is not None and findings.browser_rows(source) else None
    return {
        "reason": reason,
        "source": provenance(source) if source else None,
        "runtime_mb": f"{_runtime_mb():.1f}" if reason is None else "",
        "models": [{"name": v.name, "label": v.label, "mb": f"{sizes[v.name]:.1f}",
                    "total": f"{sizes[v.name] + _runtime_mb():.1f}"} for v in catalog.BROWSER if v.name in sizes],
        "assets": MD(ASSETS + "/"),
        "table": browser_table(measured) if measured else "",
        "notes": browser_notes(measured) if measured else {},
        "limit": thresholds.printed()["agreement"],
        "ort_web_version": web.ort_web_version() or "–",
    }
