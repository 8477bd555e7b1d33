"""A training that did not learn is marked so in its record, and its speed enters no comparison, pick or Scorecard
cell: a real tiny training on random labels (nothing to learn) beside the stored run's reference loops."""

from __future__ import annotations

import copy
import html
from pathlib import Path

import pytest
from conftest import FIXTURE_RESULTS

from reportgen import catalog, thresholds
from reportgen.process.runner import Context
from reportgen.report import findings
from reportgen.report.pages import write_pages
from reportgen.scenarios.training.records import history_record
from reportgen.store.results import LoadedResults, ResultStore

METRICS = ("initial_loss", "final_loss", "final_top1")


@pytest.fixture(scope="module")
def random_labels(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The record of ResNet-18 trained for 2 epochs on 64 images whose labels are random."""
    import torch

    from reportgen.workloads.data.datasets import synthetic
    from reportgen.workloads.models.resnet_torch import build_resnet18
    from reportgen.workloads.training.recipe import Recipe
    from reportgen.workloads.training.train_torch import train

    torch.set_num_threads(1)
    data = synthetic(image_size=16, train=64, val=256)
    history = train(build_resnet18(len(data.classes), seed=0), data, Recipe(epochs=2, learning_rate=0.01), 16)
    ctx = Context(artifacts=tmp_path_factory.mktemp("a"), threads=1, device="cpu", seed=0,
                  profile={"training": {"target_top1": 0.5}})
    return history_record("training", "torch", "eager", ctx, history, 32, extra={"classes": len(data.classes)})


def test_a_training_on_random_labels_is_marked_did_not_learn(random_labels: dict) -> None:
    assert "within 0.1 of chance (0.100)" in random_labels["settings"]["did_not_learn"]
    assert findings.did_not_learn(random_labels) == random_labels["settings"]["did_not_learn"]


def test_the_rule_reads_loss_and_chance() -> None:
    assert thresholds.learning_problem(2.3, 0.4, 0.9, 10) is None
    assert "above its first batch's 2.3" in thresholds.learning_problem(2.3, 9.9, 0.9, 10)
    assert "of chance" in thresholds.learning_problem(2.3, 1.0, 0.15, 10)
    assert thresholds.learning_problem(2.3, 1.0, 0.15, None) is None  # count not recorded: the loss rule alone


def _pages(run: dict, tmp_path: Path) -> dict[str, str]:
    write_pages(LoadedResults(runs=[run], root=FIXTURE_RESULTS), tmp_path)
    return {p: html.unescape((tmp_path / f"{p}.md").read_text(encoding="utf-8"))
            for p in ("index", "scorecard", "training")}


def _with_keras_reference(measured: dict) -> tuple[dict, dict]:
    """The stored run, its PyTorch reference loop kept, its Keras one given ``measured``'s learning figures."""
    (run,) = ResultStore(FIXTURE_RESULTS).load_all().runs
    run = copy.deepcopy(run)
    torch_ref, keras_ref = (next(r for r in run["records"] if r["scenario"] == "training"
                                 and (r["framework"], r["variant"]) == (v.framework, v.name))
                            for v in catalog.training_references())
    for rec in (torch_ref, keras_ref):
        rec["settings"].pop("did_not_learn", None)
    for name in METRICS:
        keras_ref["metrics"][name] = copy.deepcopy(measured["metrics"][name])
    keras_ref["settings"]["classes"] = measured["settings"]["classes"]
    return run, keras_ref


def test_a_training_that_did_not_learn_enters_no_comparison(random_labels: dict, tmp_path: Path) -> None:
    run, keras_ref = _with_keras_reference(random_labels)
    text = _pages(run, tmp_path)
    label = findings.training_label(keras_ref)
    assert f"{label} did not learn (its validation top-1 ended at" in text["index"]
    assert "their speeds are not compared" in text["index"] and "trained at about the same speed" not in text["index"]
    speed_row = next(line for line in text["scorecard"].splitlines() if line.startswith("| Training speed"))
    assert f"({keras_ref['variant']})" not in speed_row  # the Keras reference's rate is in no cell
    assert "Trainings that did not learn" in text["training"]
    assert f"{label} did not learn (its validation top-1" in text["training"] and "| no |" in text["training"]


def test_a_training_that_learned_is_compared(tmp_path: Path) -> None:
    (stored,) = ResultStore(FIXTURE_RESULTS).load_all().runs
    torch_ref = next(r for r in stored["records"] if r["scenario"] == "training" and r["framework"] == "torch"
                     and r["variant"] == catalog.training_references()[0].name)
    learned = copy.deepcopy(torch_ref)
    learned["metrics"].update({"initial_loss": {"value": 2.3, "unit": ""}, "final_loss": {"value": 0.4, "unit": ""},
                               "final_top1": {"value": 0.9, "unit": "fraction"}})
    learned["settings"]["classes"] = 10
    run, _ = _with_keras_reference(learned)
    for rec in run["records"]:  # the PyTorch loop learned too
        if rec["scenario"] == "training" and rec["framework"] == "torch":
            rec["metrics"].update(copy.deepcopy({k: learned["metrics"][k] for k in METRICS}))
    text = _pages(run, tmp_path)
    assert "not compared" not in text["index"].split("Data-parallel")[0]
    assert "img/s at batch" in text["index"]
