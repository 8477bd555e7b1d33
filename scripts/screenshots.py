"""Screenshots of a built site as a review board sees it: whole pages at a desktop and a phone width.

    .venv/bin/reportgen build --results-dir results --site-dir site
    .venv/bin/python scripts/screenshots.py site shots/              # index, scorecard, inference, training
    .venv/bin/python scripts/screenshots.py site shots/ --pages serving history --widths 1280

Serves SITE_DIR on a local port, opens each page in headless Chromium (``/usr/bin/chromium``, or Playwright's
own) and saves ``OUT/<page>-<width>.png``. Build the site of a commit before a change and of one after it to
show what the change did to the pages.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from reportgen import web

PAGES = ("index", "scorecard", "inference", "training")
WIDTHS = (1280, 390)


def shoot(site: Path, out: Path, pages: tuple[str, ...] = PAGES, widths: tuple[int, ...] = WIDTHS) -> list[Path]:
    """Save a full-page screenshot of every page at every width; returns the files written."""
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    written = []
    with web.static_server(site, "/") as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=web.chromium())
        for width in widths:
            context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme="light")
            page = context.new_page()
            for name in pages:
                page.goto(f"{base}{name}.html", wait_until="networkidle")
                page.wait_for_timeout(1000)  # plotly draws after load
                written.append(out / f"{name}-{width}.png")
                page.screenshot(path=str(written[-1]), full_page=True)
            context.close()
        browser.close()
    return written


def main() -> int:
    """Command line: ``screenshots.py SITE_DIR OUT_DIR [--pages ...] [--widths ...]``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("site", type=Path, help="a built site (reportgen build --site-dir)")
    parser.add_argument("out", type=Path, help="folder for the PNG files")
    parser.add_argument("--pages", nargs="+", default=list(PAGES), help="page names without .html")
    parser.add_argument("--widths", nargs="+", type=int, default=list(WIDTHS), help="viewport widths in px")
    args = parser.parse_args()
    if not (args.site / "index.html").is_file():
        print(f"{args.site} holds no built site (no index.html); run `reportgen build` first", file=sys.stderr)
        return 2
    for path in shoot(args.site, args.out, tuple(args.pages), tuple(args.widths)):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
