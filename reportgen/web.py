"""The browser side: where ONNX Runtime Web and Chromium are, and the trained model's files a browser runs.

- ``onnxruntime-web`` is vendored with npm (``package.json`` + ``package-lock.json`` pin it; ``npm ci`` in the
  project root installs it under ``node_modules/``). The site copies three files of its ``dist/`` folder; a
  page never fetches them from a CDN.
- The run keeps, beside its results file, the trained digits model (fp32 and INT8 ONNX) and a gallery of
  held-out images (``<run-id>.demo/``): ``reportgen build`` never measures, so the Try-it page is built from
  these. The gallery holds raw uint8 pixels; the page normalises them in JavaScript exactly as Python does.
- Chromium (the system one; Playwright's own download does not work everywhere) drives the measured runtime.
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from reportgen import catalog
from reportgen.errors import failure_reason

PROJECT_ROOT = Path(__file__).resolve().parents[1]
ORT_WEB_PACKAGE = "onnxruntime-web"
# The WebAssembly runtime: the script, the module it imports and the SIMD (+ threads) WebAssembly binary.
ORT_WEB_FILES = ("ort.wasm.min.js", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")
TRYIT_JS = PROJECT_ROOT / "docs" / "javascripts" / "tryit.js"  # the page's code, and the harness's
DEMO_SUFFIX = ".demo"  # <run-id>.demo/ beside <run-id>.json
GALLERY_FILE = "gallery.npz"  # not .json: every .json file under a results folder is a results file
GALLERY_PER_CLASS = 1


def ort_web_dist() -> Path:
    """The folder of the npm-installed ONNX Runtime Web files."""
    return PROJECT_ROOT / "node_modules" / ORT_WEB_PACKAGE / "dist"


def ort_web_version() -> str | None:
    """The version of the npm-installed ONNX Runtime Web, or None where it is not installed."""
    import json

    manifest = PROJECT_ROOT / "node_modules" / ORT_WEB_PACKAGE / "package.json"
    try:
        return str(json.loads(manifest.read_text(encoding="utf-8"))["version"])
    except (OSError, ValueError, KeyError):
        return None


def runtime_missing() -> str | None:
    """Why the site cannot ship ONNX Runtime Web (not installed with npm), or None."""
    dist = ort_web_dist()
    absent = [f for f in ORT_WEB_FILES if not (dist / f).is_file()]
    if not absent:
        return None
    if shutil.which("npm") is None:
        return (f"npm is not installed, so {ORT_WEB_PACKAGE} (pinned in package.json) was not vendored; install "
                "Node.js with npm and run `npm ci` in the project root")
    return f"{ORT_WEB_PACKAGE} is not installed: run `npm ci` in the project root (package.json pins it)"


def chromium() -> str | None:
    """The system Chromium (``REPORTGEN_CHROMIUM`` wins), or None."""
    named = os.environ.get("REPORTGEN_CHROMIUM")
    if named:
        return named if Path(named).is_file() else None
    for candidate in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(candidate)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").is_file() else None


def browser_missing() -> str | None:
    """Why the browser cannot be measured here, in one line, or None."""
    from reportgen.process import envs

    if not envs.importable("playwright", catalog.BROWSER_RUNTIME):
        return "playwright is not installed (pip install -e '.[browser]'), so headless Chromium cannot be driven"
    if chromium() is None:
        return "no Chromium (apt-get install chromium, or set REPORTGEN_CHROMIUM)"
    return runtime_missing()


def demo_dir(results_file: Path) -> Path:
    """Where a run's browser files are kept: ``<run-id>.demo/`` beside ``<run-id>.json``."""
    return results_file.with_suffix(DEMO_SUFFIX)


def model_name(variant: catalog.BrowserVariant) -> str:
    """The file name of a browser variant's model on the Try-it page."""
    return f"model-{variant.name}.onnx"


def gallery(seed: int, per_class: int = GALLERY_PER_CLASS) -> dict[str, np.ndarray]:
    """Held-out digits from the run's own validation split (the conversion scenario's evaluation images, in
    the same order): raw uint8 RGB pixels, their labels and positions, and the normalisation the pipeline used."""
    from reportgen.workloads.data.datasets import digits

    data = digits(seed=seed)
    picks: list[int] = []
    for label in range(len(data.classes)):
        picks += [int(i) for i in np.flatnonzero(data.val_labels == label)[:per_class]]
    return {"images": data.val_images[picks], "labels": data.val_labels[picks], "index": np.asarray(picks),
            "mean": data.mean.astype(np.float32), "std": data.std.astype(np.float32),
            "classes": np.asarray(data.classes)}


def all_held_out(seed: int) -> dict[str, np.ndarray]:
    """Every held-out image, raw: the browser's check batch (the conversion scenario's ``x_eval``, unnormalised)."""
    from reportgen.workloads.data.datasets import digits

    data = digits(seed=seed)
    return {"images": data.val_images, "labels": data.val_labels, "mean": data.mean.astype(np.float32),
            "std": data.std.astype(np.float32)}


def keep_demo(artifacts: Path, dest: Path, seed: int) -> Path | None:
    """Copy the trained model's browser files and a gallery out of the run's artifacts (deleted at its end)
    into ``dest``; None when the conversion made no ONNX file."""
    files = {v: artifacts / v.model_file for v in catalog.BROWSER}
    if not files[catalog.BROWSER[0]].is_file():
        return None
    staging = dest.with_name(dest.name + ".new")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for variant, path in files.items():
        if path.is_file():
            shutil.copy2(path, staging / model_name(variant))
    np.savez(staging / GALLERY_FILE, **gallery(seed))
    shutil.rmtree(dest, ignore_errors=True)
    staging.rename(dest)
    return dest


def gallery_manifest(npz_path: Path) -> dict[str, Any]:
    """The gallery as the page reads it (``gallery.json``): base64 pixels, labels, classes and normalisation."""
    import base64

    with np.load(npz_path) as npz:
        return {"size": int(npz["images"].shape[1]),
                "mean": [float(x) for x in npz["mean"]], "std": [float(x) for x in npz["std"]],
                "classes": [str(c) for c in npz["classes"]],
                "gallery": [{"pixels": base64.b64encode(np.ascontiguousarray(img).tobytes()).decode("ascii"),
                             "label": int(label), "index": int(index)}
                            for img, label, index in zip(npz["images"], npz["labels"], npz["index"], strict=True)]}


GALLERY_KEYS = ("images", "labels", "index", "mean", "std", "classes")
MAX_DEMO_FILE_BYTES = 512 * 1024 * 1024


def regular_file_problem(path: Path, folder: Path) -> str | None:
    """Why ``path`` may not be read as a file of ``folder`` (a symlink, not a regular file, outside it), or None."""
    import stat

    shown = f"{folder.name}/{path.name}"  # what the page prints: nothing of the local file system beyond it
    try:
        info = path.lstat()
    except OSError as exc:
        return f"{shown}: cannot read: {exc.strerror or exc}"
    if stat.S_ISLNK(info.st_mode):
        return f"{shown} is a symbolic link; only regular files inside the folder are read"
    if not stat.S_ISREG(info.st_mode):
        return f"{shown} is not a regular file"
    if folder.resolve() not in path.resolve().parents:
        return f"{shown} lies outside its folder"
    if info.st_size > MAX_DEMO_FILE_BYTES:
        return f"{shown} is larger than {MAX_DEMO_FILE_BYTES // 2**20} MB"
    return None


def _onnx_problem(data: bytes) -> str | None:
    """Why ``data`` is not an ONNX model (a protobuf ``ModelProto`` with an IR version and a graph), or None."""
    fields: set[int] = set()
    at = 0

    def varint() -> int:
        nonlocal at
        value, shift = 0, 0
        while True:
            if at >= len(data) or shift > 63:
                raise ValueError
            byte = data[at]
            at += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return value

    try:
        while at < len(data):
            key = varint()
            number, wire = key >> 3, key & 7
            if wire == 0:
                varint()
            elif wire == 2:
                length = varint()
                at += length
            elif wire in (1, 5):
                at += 8 if wire == 1 else 4
            else:
                raise ValueError
            if number == 0 or at > len(data):
                raise ValueError
            fields.add(number)
    except ValueError:
        return "not an ONNX model (not a protobuf message)"
    missing = [name for number, name in ((1, "IR version"), (7, "graph")) if number not in fields]
    return f"not an ONNX model (no {' or '.join(missing)})" if missing else None


def demo_problem(folder: Path) -> str | None:
    """Why a run's kept Try-it files cannot be published (a link, not a regular file, not the ONNX model or the
    gallery it claims to be), or None. Only the files the page copies are read."""
    for variant in catalog.BROWSER:
        path = folder / model_name(variant)
        if variant is not catalog.BROWSER[0] and not os.path.lexists(path):
            continue  # the INT8 file is optional
        problem = regular_file_problem(path, folder)
        if problem is None:
            problem = _onnx_problem(path.read_bytes())
            problem = f"{folder.name}/{path.name}: {problem}" if problem else None
        if problem:
            return problem
    path = folder / GALLERY_FILE
    shown = f"{folder.name}/{GALLERY_FILE}"
    problem = regular_file_problem(path, folder)
    if problem:
        return problem
    try:
        with np.load(path, allow_pickle=False) as npz:
            absent = [k for k in GALLERY_KEYS if k not in npz.files]
            if absent:
                return f"{shown}: not a Try-it gallery (no {', '.join(absent)})"
            images, labels = npz["images"], npz["labels"]
            if images.dtype != np.uint8 or images.ndim != 4 or len(labels) != len(images) or len(images) == 0:
                return f"{shown}: not a Try-it gallery (images are not a non-empty uint8 batch with labels)"
    except Exception as exc:  # whatever a corrupt file raises, the answer is the same line
        return f"{shown}: not a readable NPZ gallery ({failure_reason(exc)})"
    return None


class _SiteHandler(SimpleHTTPRequestHandler):
    """Serves a folder only under ``prefix`` (anything outside it is a 404, so a path that escapes fails), and
    logs nothing."""

    prefix = "/"
    not_found_page = False

    def translate_path(self, path: str) -> str:
        """The file for ``path``, which must lie under the prefix."""
        path = urlsplit(path).path
        if not path.startswith(self.prefix):
            return str(Path(self.directory) / "__outside-the-prefix__")
        return super().translate_path("/" + path.removeprefix(self.prefix))

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """With ``not_found_page``, like GitHub Pages: a missing path gets the site's 404.html with status 404."""
        page = Path(self.directory) / "404.html"
        if code != 404 or not self.not_found_page or not page.is_file():
            return super().send_error(code, message, explain)
        body = page.read_bytes()
        self.send_response(404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        return None

    def log_message(self, *args: Any) -> None:
        """Log nothing: the browser's requests are not the reader's business."""


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # the browser hung up: not a site problem
            super().handle_error(request, client_address)


@contextmanager
def static_server(folder: Path, prefix: str = "/", not_found_page: bool = False) -> Iterator[str]:
    """Serve ``folder`` at ``http://127.0.0.1:<free port><prefix>`` from a thread, for headless Chromium (the
    browser scenario's harness page, and the tests of the built site under a sub-path as GitHub Pages serves;
    ``not_found_page``: a missing path gets the folder's 404.html, as there)."""
    handler = type("Handler", (_SiteHandler,), {"prefix": prefix, "not_found_page": not_found_page})
    server = _QuietServer(("127.0.0.1", 0), partial(handler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{prefix}"
    finally:
        server.shutdown()
        server.server_close()
