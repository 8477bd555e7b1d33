"""A record's vocabulary is declared once (issue 46): settings keys, task keys and round series live in
``reportgen.store.records``; code elsewhere names a settings key through ``Setting``, never as a string."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from reportgen.store.records import RoundSeries, Setting, TaskKey, settings_schema
from reportgen.store.results import RUN_SCHEMA

PACKAGE = Path(__file__).resolve().parents[1] / "reportgen"
VOCABULARY = PACKAGE / "store" / "records.py"


def _is_settings(node: ast.AST) -> bool:
    """``<x>["settings"]``: a record's settings."""
    return isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) and node.slice.value == "settings"


def _literal_keys(tree: ast.AST) -> list[tuple[int, str]]:
    """String literals used as a record's settings key: looked up, tested, updated or written into
    ``settings=`` of a record."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and _is_settings(node.value) and isinstance(node.slice, ast.Constant):
            found.append((node.lineno, node.slice.value))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and _is_settings(node.func.value):
            found += [(node.lineno, a.value) for a in node.args[:1] if isinstance(a, ast.Constant)]
            found += [(node.lineno, k.arg) for k in node.keywords if k.arg]
        elif isinstance(node, ast.Compare) and isinstance(node.left, ast.Constant) \
                and any(_is_settings(c) for c in node.comparators):
            found.append((node.lineno, node.left.value))
        elif isinstance(node, ast.keyword) and node.arg == "settings" and isinstance(node.value, ast.Dict):
            found += _dict_keys(node.value)
    return found


def _dict_keys(node: ast.Dict) -> list[tuple[int, str]]:
    """The string keys of a dict literal, and of the dict literals it unpacks (``**({...} if x else {})``)."""
    found = []
    for key, value in zip(node.keys, node.values, strict=True):
        if key is None:
            found += [k for sub in ast.walk(value) if isinstance(sub, ast.Dict) for k in _dict_keys(sub)]
        elif isinstance(key, ast.Constant):
            found.append((key.lineno, key.value))
    return found


def test_no_settings_key_is_written_as_a_string_outside_the_vocabulary() -> None:
    found = [f"{path.relative_to(PACKAGE.parent)}:{line}: {key!r}"
             for path in sorted(PACKAGE.rglob("*.py")) if path != VOCABULARY
             for line, key in _literal_keys(ast.parse(path.read_text()))]
    assert not found, "name these keys through reportgen.store.records.Setting:\n" + "\n".join(found)


def test_the_schema_lists_every_settings_key_with_its_meaning() -> None:
    listed = RUN_SCHEMA["properties"]["records"]["items"]["properties"]["settings"]
    assert listed == settings_schema()
    assert set(listed["properties"]) == {key.value for key in Setting}
    assert all(key.meaning for key in Setting)


@pytest.mark.parametrize("text", ["machine/gemm/numpy", "inference/torch/eager/round0", "inference/torch/round1",
                                  "inference/torch/threads1", "inference/torch/eager/again1/round2",
                                  "inference/torch/eager/merged", "conversion/torch", "browser/onnxruntime-web"])
def test_a_task_key_reads_back_as_written(text: str) -> None:
    assert str(TaskKey.parse(text)) == text


def test_a_task_key_moves_to_another_round_and_refuses_what_is_not_one() -> None:
    again = TaskKey.parse("inference/torch/eager/again1/round2")
    assert str(again.in_round(1)) == "inference/torch/eager/again1/round1"
    with pytest.raises(ValueError, match="not a task key"):
        TaskKey.parse("inference")


def test_rounds_run_beside_other_tasks_are_all_disturbed_for_the_planner_and_the_findings() -> None:
    """The planner of extra rounds and the findings once disagreed: the findings counted a round run beside
    another task as disturbed, the planner did not. Both now read the same series."""
    def process(number: int, median: float, at_once: int) -> dict:
        return {"metrics": {"latency_ms_p50": {"value": median, "unit": "ms"}},
                "settings": {Setting.ROUND: number, Setting.FOREIGN_CPU: 0.0, Setting.MACHINE_CPUS: 2,
                             Setting.TASKS_AT_ONCE: at_once}}

    for at_once, disturbed in ((1, frozenset()), (2, frozenset({0, 1}))):
        group = [process(0, 10.0, at_once), process(1, 12.0, at_once)]
        merged = {"metrics": group[0]["metrics"],
                  "settings": {Setting.ROUND_MEDIANS_MS: [10.0, 12.0], Setting.ROUND_NUMBERS: [0, 1],
                               Setting.ROUND_FOREIGN_CPU: [0.0, 0.0], Setting.MACHINE_CPUS: 2,
                               Setting.TASKS_AT_ONCE: at_once}}
        planner, findings = RoundSeries.of_processes(group), RoundSeries.of_record(merged)
        assert planner == findings and planner.disturbed == disturbed
        assert planner.spread == pytest.approx(0.2)


def test_every_settings_key_a_run_stores_is_declared(smoke_run) -> None:  # noqa: ANN001 - conftest's SmokeRun
    """The real smoke run (every scenario, every framework) stores no settings key the vocabulary lacks."""
    from reportgen.store.results import ResultStore

    (run,) = ResultStore(smoke_run.results).load_all().runs
    stored = {key for rec in run["records"] for key in rec["settings"]}
    assert stored <= {key.value for key in Setting}, sorted(stored - {key.value for key in Setting})
