"""The code guide: every snippet it includes exists and is tested, every example runs, the notebook runs.

Snippets are included with pymdownx.snippets (``--8<-- "path:section"``). With ``check_paths: true`` a missing
file or a section without a start marker fails the build, but a start marker without an end marker silently
includes the rest of the file, and nothing says whether the included file is tested; the checks here close both.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import markdown
import pytest
from conftest import SmokeRun
from mkdocs.utils.yaml import yaml_load
from pymdownx.snippets import SnippetMissingError, SnippetPreprocessor

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
NOTEBOOK = DOCS / "walkthrough.ipynb"


def _load_groups() -> dict[str, tuple[str, ...]]:
    """The example runner's groups, read without importing the examples package (it is not installed)."""
    spec = importlib.util.spec_from_file_location("guide_run", ROOT / "examples" / "guide" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.GROUPS


GROUPS = _load_groups()


def snippet_config() -> dict:
    """The pymdownx.snippets settings of mkdocs.yml, with base paths made absolute."""
    config = yaml_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    (settings,) = [ext["pymdownx.snippets"] for ext in config["markdown_extensions"]
                   if isinstance(ext, dict) and "pymdownx.snippets" in ext]
    bases = settings.get("base_path", ["."])
    bases = [bases] if isinstance(bases, str) else bases
    return {**settings, "base_path": [str(ROOT / base) for base in bases]}


@dataclass(frozen=True)
class Include:
    page: str  # docs-relative Markdown file and line, for messages
    path: str  # as written, relative to a base path
    section: str | None
    file: Path | None  # where it resolves, None when it does not


def includes(docs: Path = DOCS, bases: list[Path] | None = None) -> list[Include]:
    """Every snippet include in ``docs/**/*.md``, inline (``--8<-- "path"``) and block form, escapes skipped."""
    bases = bases or [Path(b) for b in snippet_config()["base_path"]]
    found = []
    for page in sorted(docs.rglob("*.md")):
        in_block = False
        for number, line in enumerate(page.read_text(encoding="utf-8").splitlines(), start=1):
            match = SnippetPreprocessor.RE_ALL_SNIPPETS.match(line)
            if match and match.group("escape"):
                continue
            if match and match.group("block_marker"):
                in_block = not in_block
                continue
            if match and match.group("snippet"):
                target = match.group("snippet")[1:-1]
            elif in_block and line.strip() and not line.strip().startswith(";"):
                target = line.strip()
            else:
                continue
            path, _lines, section = SnippetPreprocessor.RE_SNIPPET_FILE.match(target).groups()
            resolved = next((base / path for base in bases if (base / path).is_file()), None)
            found.append(Include(f"{page.relative_to(docs)}:{number}", path, section and section[1:], resolved))
    return found


def sections(file: Path) -> dict[str, list[tuple[str, int]]]:
    """Section name -> its markers in order, as ("start" | "end", line number); escaped markers are not markers."""
    found: dict[str, list[tuple[str, int]]] = {}
    for number, line in enumerate(file.read_text(encoding="utf-8").splitlines(), start=1):
        match = SnippetPreprocessor.RE_SNIPPET_SECTION.match(line) if "8<-" in line else None
        if match and not match.group("escape"):
            found.setdefault(match.group("name"), []).append((match.group("type").lower(), number))
    return found


def section_problems(file: Path) -> list[str]:
    """Every section must be exactly one start marker, then one end marker, with content between."""
    lines = file.read_text(encoding="utf-8").splitlines()
    where = file.relative_to(ROOT) if file.is_relative_to(ROOT) else file
    problems = []
    for name, markers in sections(file).items():
        if [kind for kind, _ in markers] != ["start", "end"]:
            problems.append(f"{where}: section {name!r} has markers {markers}, not one start and one end")
        elif not any(line.strip() for line in lines[markers[0][1]:markers[1][1] - 1]):
            problems.append(f"{where}: section {name!r} is empty")
    return problems


def snippet_problems(found: list[Include]) -> list[str]:
    """A message for each include whose file is missing, or whose section is missing or incomplete."""
    problems = []
    for inc in found:
        if inc.file is None:
            problems.append(f"docs/{inc.page}: {inc.path} does not exist")
        elif inc.section and inc.section not in sections(inc.file):
            problems.append(f"docs/{inc.page}: {inc.path} has no section {inc.section!r}")
        elif inc.section:
            problems += [f"docs/{inc.page}: {p}" for p in section_problems(inc.file) if f"'{inc.section}'" in p]
    return problems


def test_every_snippet_points_at_a_file_and_a_complete_section() -> None:
    found = includes()
    assert len([inc for inc in found if inc.page.startswith("guide/")]) >= 40, "include code, do not paste it"
    problems = snippet_problems(found)
    assert not problems, "\n".join(problems)


def test_the_snippet_check_reports_each_kind_of_broken_include(tmp_path: Path) -> None:
    docs, code = tmp_path / "docs", tmp_path / "code"
    docs.mkdir(), code.mkdir()
    (code / "a.py").write_text("# --8<-- [start:good]\nx = 1\n# --8<-- [end:good]\n"
                               "# --8<-- [start:open]\ny = 2\n;# --8<-- [end:escaped]\n")
    (docs / "page.md").write_text('```\n--8<-- "a.py:good"\n--8<-- "a.py:gone"\n--8<-- "a.py:open"\n'
                                  '--8<-- "missing.py"\n;--8<-- "escaped.py"\n```\n\n--8<--\na.py:gone\n--8<--\n')
    problems = snippet_problems(includes(docs, [code]))
    assert problems == ["docs/page.md:3: a.py has no section 'gone'",
                        f"docs/page.md:4: {code / 'a.py'}: section 'open' has markers [('start', 4)], not one start "
                        "and one end",  # pymdownx would silently include everything after the start marker
                        "docs/page.md:5: missing.py does not exist",
                        "docs/page.md:10: a.py has no section 'gone'"], problems  # the block form is read too


def test_section_markers_are_balanced_in_every_source_the_guide_can_include() -> None:
    files = sorted({*ROOT.glob("examples/guide/*.py"), *ROOT.glob("reportgen/workloads/**/*.py")})
    problems = [p for file in files for p in section_problems(file)]
    assert not problems, "\n".join(problems)


def test_every_included_file_is_measured_or_run_by_the_tests() -> None:
    run_by_tests = {f"examples/guide/{name}.py" for names in GROUPS.values() for name in names}
    # text_data.py is imported by the LSTM examples, so it runs with them
    run_by_tests |= {"examples/guide/text_data.py"}
    problems = []
    for inc in includes():
        relative = inc.file.relative_to(ROOT).as_posix() if inc.file else inc.path
        if not (relative.startswith("reportgen/workloads/") or relative in run_by_tests):
            problems.append(f"docs/{inc.page}: {relative} is neither a benchmark workload nor run by tests")
    assert not problems, "\n".join(problems)


def test_every_listed_example_exists_and_has_a_main() -> None:
    listed = [name for names in GROUPS.values() for name in names]
    assert len(listed) == len(set(listed))
    for name in listed:
        tree = ast.parse((ROOT / "examples" / "guide" / f"{name}.py").read_text(encoding="utf-8"))
        assert any(isinstance(node, ast.FunctionDef) and node.name == "main" for node in tree.body), name
    # a torch example must not import TensorFlow and vice versa: one process per framework
    for group, forbidden in (("torch", "tensorflow"), ("tensorflow", "torch")):
        for name in GROUPS[group]:
            source = (ROOT / "examples" / "guide" / f"{name}.py").read_text(encoding="utf-8")
            assert not re.search(rf"^\s*(import|from) {forbidden}\b", source, re.M), f"{name} imports {forbidden}"


def render(text: str, **overrides: object) -> str:
    config = {**snippet_config(), **overrides}
    return markdown.markdown(text, extensions=["pymdownx.snippets"], extension_configs={"pymdownx.snippets": config})


def test_pymdownx_own_checks_catch_a_missing_file_and_section_but_not_a_missing_end(tmp_path: Path) -> None:
    """What pymdownx.snippets itself does with ``check_paths: true``, so the tests above cover the rest."""
    with pytest.raises(SnippetMissingError, match="could not be found"):
        render('```\n--8<-- "examples/guide/no-such-file.py"\n```')
    with pytest.raises(SnippetMissingError, match="no-such-section"):
        render('```\n--8<-- "examples/guide/text_data.py:no-such-section"\n```')
    source = tmp_path / "unterminated.py"
    source.write_text("# --8<-- [start:open]\nx = 1\n# no end marker\ny = 2\n")
    html = render(f'```\n--8<-- "{source.name}:open"\n```', base_path=[str(tmp_path)])
    assert "y = 2" in html  # silently runs to the end of the file ...
    assert any("'open'" in p for p in section_problems(source))  # ... which section_problems() reports


def test_every_docs_page_renders_its_snippets() -> None:
    for page in sorted(DOCS.rglob("*.md")):
        render(page.read_text(encoding="utf-8"))  # raises SnippetMissingError on a broken include


@pytest.mark.slow
@pytest.mark.parametrize("group", sorted(GROUPS))
def test_examples_run(group: str) -> None:
    """Each framework's examples in one fresh process (TensorFlow must not share one with torchvision)."""
    if importlib.util.find_spec(group) is None:
        pytest.skip(f"{group} is not installed")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "examples.guide.run", group], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert list(summary["ran"]) == list(GROUPS[group])


def test_walkthrough_notebook_draws_the_headline_chart(stored_run: SmokeRun, monkeypatch: pytest.MonkeyPatch) -> None:
    import nbformat
    from nbclient import NotebookClient

    from reportgen.report.format import featured_run, records
    from reportgen.store.results import ResultStore

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(not cell.outputs and cell.execution_count is None for cell in code), \
        "commit the notebook without outputs: its numbers must come from the run that builds the site"
    assert "outputs appear when you run it" in notebook.cells[0].source

    monkeypatch.setenv("REPORTGEN_RESULTS_DIR", str(stored_run.results))  # the kernel inherits the environment
    NotebookClient(notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}).execute()

    errors = [out for cell in code for out in cell.outputs if out.output_type == "error"]
    assert not errors, errors
    figures = [out.data["application/vnd.plotly.v1+json"] for cell in code for out in cell.outputs
               if "application/vnd.plotly.v1+json" in out.get("data", {})]
    assert figures, "the notebook should display the Plotly chart"
    headline = figures[0]
    bars = [x for trace in headline["data"] if trace["type"] == "bar" for x in trace["x"]]
    run = featured_run(ResultStore(stored_run.results).load_all().runs)
    expected = [r for r in records(run, "inference") if r["batch_size"] == 1]
    assert expected and len(bars) == len(expected) == len(set(bars))
    assert any("text/html" in out.get("data", {}) for cell in code for out in cell.outputs)  # the pandas table
