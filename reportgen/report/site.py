"""Build the MkDocs site from stored results only (never measures), replacing the old site atomically."""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from urllib.parse import urlsplit

import plotly

from reportgen.errors import ReportgenError
from reportgen.report.pages import write_pages
from reportgen.report.pages.downloads import write_downloads
from reportgen.report.pages.tryit import write_assets as write_tryit_assets
from reportgen.store.paths import ensure_writable
from reportgen.store.results import LoadedResults, ResultStore

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
SITE_MARKER = ".reportgen-site"  # written into every site reportgen builds: only such a folder is ever replaced
# The published address of the site (e.g. https://owner.github.io/repo/), read by mkdocs.yml as site_url. Unset,
# the site is assumed to be served at the root of its host: every page but 404.html works anywhere anyway.
SITE_URL_VARIABLE = "REPORTGEN_SITE_URL"
# What a site built before the marker existed holds (reportgen's own copy of plotly.js included).
_LEGACY_SITE_FILES = ("index.html", "search/search_index.json", "javascripts/plotly.min.js")


def check_site_dir(site_dir: Path, results_dir: Path) -> Path:
    """The resolved ``site_dir`` when a build may replace it, else a one-line error naming the folder.

    A build replaces the folder as a whole, so it must be absent, empty, or a site reportgen built (it
    carries :data:`SITE_MARKER`); and it may never be the results folder, the current folder, the home
    folder or a folder that holds any of them, nor lie inside the results folder.
    """
    site, results = site_dir.resolve(), results_dir.resolve()
    protected = {"the results folder": results, "the current folder": Path.cwd().resolve(),
                 "the home folder": Path.home().resolve()}
    for what, folder in protected.items():
        if site == folder or site in folder.parents:
            holds = "is" if site == folder else "holds"
            raise ReportgenError(f"--site-dir {site_dir} {holds} {what}; a build replaces the whole site folder, "
                                 "so choose a folder of its own, e.g. --site-dir site")
    if results in site.parents:
        raise ReportgenError(f"--site-dir {site_dir} is inside the results folder {results_dir}; "
                             "choose a folder outside it")
    if site.exists() and not site.is_dir():
        raise ReportgenError(f"--site-dir {site_dir} is a file, not a folder")
    if site.is_dir() and any(site.iterdir()) and not _built_by_reportgen(site):
        raise ReportgenError(f"--site-dir {site_dir} holds files that reportgen did not build; a build would "
                             "replace them, so choose an empty or new folder (or remove it first)")
    return site


def _built_by_reportgen(folder: Path) -> bool:
    return (folder / SITE_MARKER).is_file() or all((folder / f).is_file() for f in _LEGACY_SITE_FILES)


def project_root() -> Path:
    """The checkout holding ``mkdocs.yml`` and ``docs/`` (reportgen is installed from a clone)."""
    if not (PROJECT_ROOT / "mkdocs.yml").is_file() or not (PROJECT_ROOT / "docs").is_dir():
        raise ReportgenError(f"no mkdocs.yml and docs/ in {PROJECT_ROOT}: install reportgen from a clone "
                             "with `pip install -e .` to build the site")
    return PROJECT_ROOT


def check_site_url() -> str:
    """The site's published address from :data:`SITE_URL_VARIABLE` ("" when unset), else a one-line error.

    404.html is served for a missing page at any depth, so its links cannot be relative: MkDocs makes them
    absolute from the path of ``site_url`` ("/" when it is unset). Under a sub-path such as GitHub Pages'
    ``/<repo>/`` the 404 page is only styled when this names the published address.
    """
    url = os.environ.get(SITE_URL_VARIABLE, "")
    parts = urlsplit(url)
    if url and (parts.scheme not in ("http", "https") or not parts.netloc):
        raise ReportgenError(f"{SITE_URL_VARIABLE}={url!r} is not a full address; set it to where the site is "
                             "published, e.g. https://owner.github.io/repo/, or leave it unset for a site served "
                             "at the root of its host")
    return url


@contextlib.contextmanager
def _cwd(path: Path) -> Iterator[None]:
    old = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def build_site(results_dir: Path, site_dir: Path, demo_dirs: Sequence[Path] = ()) -> LoadedResults:
    """Regenerate the pages from ``results_dir`` and build the site into ``site_dir``.

    A run's Try-it files (``<run-id>.demo/``) are looked for beside its results file, then under ``demo_dirs``.

    The new site is built beside the old one and swapped in only when the build succeeded, so a failed
    build leaves the previous site as it was; a folder that is not a reportgen site is never replaced
    (:func:`check_site_dir`). Returns what was loaded (with any unreadable files).
    """
    from mkdocs.commands.build import build
    from mkdocs.config import load_config
    from mkdocs.exceptions import MkDocsException
    from pymdownx.snippets import SnippetMissingError  # a guide page includes a file or section that is gone

    root = project_root()
    site_dir = check_site_dir(site_dir, results_dir)
    check_site_url()
    loaded = ResultStore(results_dir).load_all()
    loaded.demo_dirs = [Path(d) for d in demo_dirs]  # where else a run's Try-it files may be (see pages/tryit.py)
    ensure_writable(site_dir.parent, "site directory")
    staging = site_dir.parent / f".{site_dir.name}.new-{secrets.token_hex(3)}"
    warnings = _Collect()
    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")
    try:
        with tempfile.TemporaryDirectory(prefix="reportgen-docs-") as tmp:
            docs = Path(tmp) / "docs"
            shutil.copytree(root / "docs", docs)
            write_pages(loaded, docs)
            write_downloads(loaded, docs)
            write_tryit_assets(loaded, docs)  # the browser runtime and the run's models, when npm installed it
            (docs / "javascripts").mkdir(exist_ok=True)
            shutil.copy2(PLOTLY_JS, docs / "javascripts" / "plotly.min.js")
            config = load_config(str(root / "mkdocs.yml"), docs_dir=str(docs), site_dir=str(staging),
                                 strict=True)
            logger = logging.getLogger("mkdocs")
            logger.setLevel(logging.WARNING)
            logger.addHandler(warnings)
            try:
                with _cwd(root):  # snippet paths in mkdocs.yml are relative to the project root
                    build(config)
            finally:
                logger.removeHandler(warnings)
            (staging / SITE_MARKER).write_text("This folder is a site built by reportgen; `reportgen build` "
                                              "replaces it as a whole.\n", encoding="utf-8")
    except (MkDocsException, OSError, SnippetMissingError) as exc:
        shutil.rmtree(staging, ignore_errors=True)
        first = f" First: {warnings.messages[0]}" if warnings.messages else ""
        raise ReportgenError(f"site build failed, previous site kept: {exc}{first}") from exc
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _swap(staging, site_dir)
    return loaded


class _Collect(logging.Handler):
    """Keeps MkDocs' warnings, so that a failed strict build can say what failed."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(" ".join(record.getMessage().split()))


def _swap(new: Path, target: Path) -> None:
    if target.is_dir() and any(target.iterdir()) and not _built_by_reportgen(target):  # appeared while building
        shutil.rmtree(new, ignore_errors=True)
        raise ReportgenError(f"site directory {target} now holds files that reportgen did not build; left as it is")
    old = target.parent / f".{target.name}.old-{secrets.token_hex(3)}"
    if target.exists():
        target.rename(old)
    new.rename(target)
    shutil.rmtree(old, ignore_errors=True)
