"""The report's words are explained once (reportgen/report/terms.py) and link to a section that exists."""

import re
from pathlib import Path

from reportgen import thresholds
from reportgen.report.terms import TERMS, explain

METHODOLOGY = Path(__file__).resolve().parents[1] / "docs" / "methodology.md"


def test_every_term_links_to_an_anchor_of_the_methodology_page() -> None:
    anchors = set(re.findall(r'id="([a-z0-9-]+)"', METHODOLOGY.read_text(encoding="utf-8")))
    assert {t.anchor for t in TERMS.values()} <= anchors


def test_lines_print_the_thresholds_from_their_module() -> None:
    text = explain("interval", "verdict", "noisy")
    printed = thresholds.printed()
    assert f"±{printed['practical']}" in text and f"{printed['confidence']} confidence" in text
    assert "{" not in text and text.count("methodology.md#") == 3 and text.count("<br>") == 2
