"""The codebase stays one the next maintainer can carry (issue 46): no function grows past a screen."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "reportgen"
MAX_LINES = 60
DECLARATIVE = {"reportgen/cli.py:build_parser"}  # a table of subcommands and options, read top to bottom


def test_no_function_is_longer_than_a_screen() -> None:
    long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                where = f"{path.relative_to(PACKAGE.parent).as_posix()}:{node.name}"
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_LINES and where not in DECLARATIVE:
                    long.append(f"{where} has {lines} lines")
    assert not long, f"split these along their seams (at most {MAX_LINES} lines):\n" + "\n".join(long)


def test_the_readme_stays_a_front_door() -> None:
    """What it is, the two commands, durations, links: at most 150 lines (the rest lives in CONTRIBUTING and docs)."""
    readme = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 150
