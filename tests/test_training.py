"""Training: identical data in both frameworks, the same start, every variant recorded, scaling rows,
and ``--dataset`` on real folders (good and bad)."""

from __future__ import annotations

import csv
import html
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import SmokeRun, reportgen
from PIL import Image

from reportgen import catalog, hardware
from reportgen.config import TrainingSettings, get_profile, profile_settings
from reportgen.process.runner import Context, run_isolated
from reportgen.report import findings
from reportgen.report.pages import training as training_page
from reportgen.scenarios import training
from reportgen.store.records import Setting
from reportgen.store.results import ResultStore

SAME_BATCHES = """
import sys
import numpy as np
import torch  # before TensorFlow: the other order crashes in one process
from reportgen.workloads.data.datasets import load_dataset
from reportgen.workloads.data.pipeline_torch import make_loaders
import tensorflow as tf
from reportgen.workloads.data.pipeline_tf import training_dataset, steps_per_epoch, validation_dataset

data = load_dataset(sys.argv[1], 32, max_train=200)
rank, world = int(sys.argv[2]), int(sys.argv[3])
loader, _ = make_loaders(data, 32, 16, seed=3, rank=rank, world_size=world)
torch_batches = []
for epoch in range(2):
    loader.dataset.set_epoch(epoch)
    torch_batches += [(x.numpy().transpose(0, 2, 3, 1), y.numpy()) for x, y in loader]
tf_batches = [(x.numpy(), y.numpy()) for x, y in training_dataset(data, 32, 16, 2, seed=3, shard=(rank, world))]
assert len(torch_batches) == len(tf_batches) == 2 * steps_per_epoch(data, 16, world)
assert all(np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) for a, b in zip(torch_batches, tf_batches))
if world == 1:  # Keras on JAX and on PyTorch: a NumPy PyDataset on the same plan (it shards nothing)
    from reportgen.workloads.data import pipeline_keras
    planned = pipeline_keras.training_dataset(data, 32, 16, 2, seed=3)
    assert len(planned) == len(tf_batches)
    assert all(np.array_equal(planned[i][0], b[0]) and np.array_equal(planned[i][1], b[1])
               for i, b in enumerate(tf_batches)), "the PyDataset's batches differ from tf.data's"
    bigger = pipeline_keras.training_dataset(data, 48, 16, 1, seed=3)[0][0]  # resized as tf.image.resize does
    resized = next(iter(training_dataset(data, 48, 16, 1, seed=3)))[0].numpy()
    np.testing.assert_allclose(bigger, resized, atol=1e-5)
    val = [b for b in validation_dataset(data, 32)]
    mine = pipeline_keras.validation_dataset(data, 32)
    assert all(np.array_equal(mine[i][0], v[0].numpy()) for i, v in enumerate(val))
epoch0 = np.concatenate([y for _, y in torch_batches[: len(torch_batches) // 2]])
epoch1 = np.concatenate([y for _, y in torch_batches[len(torch_batches) // 2 :]])
assert not np.array_equal(epoch0, epoch1), "every epoch must have its own order"
# no autotuner thread: with TF 2.21 deleting a finished iterator waited for its next wake-up (model.fit returned
# up to a minute late)
assert training_dataset(data, 32, 16, 1).options().autotune.enabled is False
assert validation_dataset(data, 32).options().autotune.enabled is False
print("identical", len(tf_batches))
"""


@pytest.mark.slow
@pytest.mark.parametrize("rank,world", [(0, 1), (1, 2)])
def test_both_pipelines_yield_identical_batches(rank: int, world: int) -> None:
    """The DataLoader, tf.data and Keras's NumPy PyDataset apply one plan: the same pixels and labels, batch for
    batch, every epoch."""
    proc = subprocess.run([sys.executable, "-c", SAME_BATCHES, "digits", str(rank), str(world)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "identical" in proc.stdout


def _training(run: dict, scenario: str) -> list[dict]:
    return [r for r in run["records"] if r["scenario"] == scenario]


def test_every_training_variant_is_recorded(smoke_run: SmokeRun) -> None:
    (run,) = ResultStore(smoke_run.results).load_all().runs
    recs = {(r["framework"], r["variant"]): r for r in _training(run, "training") if r["variant"] != "digits-reference"}
    assert set(recs) == {(v.framework, v.name) for v in training.VARIANTS}
    for v in training.VARIANTS:
        rec = recs[v.framework, v.name]
        if v.cuda_only:
            assert rec["status"] == "skipped" and "CUDA" in rec["reason"]
            continue
        if v.cpu_flags and hardware.lacks_cpu_flags(v.cpu_flags):  # bf16 on a CPU without bf16 instructions
            assert rec["status"] == "skipped" and run["machine"]["cpu"]["model"] in rec["reason"]
            continue
        assert rec["status"] == "ok", rec["reason"]
        for name in ("train_throughput_ips", "epoch_time_s", "first_epoch_s", "final_top1", "final_loss",
                     "initial_loss", "peak_rss_mb"):
            assert rec["metrics"][name]["value"] > 0, name
        epochs = rec["settings"]["recipe"]["epochs"]  # a probe of a compile/XLA variant runs fewer
        assert epochs == (run["profile"]["training"]["epochs"] if v.role == catalog.REFERENCE
                          else run["profile"]["training"]["probe_epochs"])
        assert all(len(rec["samples"][k]) == epochs for k in ("train_loss", "val_top1", "epoch_time_s"))
        assert rec["samples"]["elapsed_s"] == sorted(rec["samples"]["elapsed_s"])
        if v.framework == "tensorflow":  # Keras at its best: the process really ran oneDNN's kernels
            assert rec["settings"]["tf.onednn"] is True


def test_both_frameworks_start_from_the_same_loss(smoke_run: SmokeRun) -> None:
    """Same weights, same first batch: the loss before any update agrees across every single-process variant."""
    (run,) = ResultStore(smoke_run.results).load_all().runs
    losses = [r["metrics"]["initial_loss"]["value"] for r in _training(run, "training") if r["status"] == "ok"
              and "initial_loss" in r["metrics"] and r["precision"] == "fp32"]  # bf16 rounds its first loss
    assert len(losses) == len([v for v in training.VARIANTS if v.precision == "fp32" and not v.cuda_only])
    assert max(losses) - min(losses) < 1e-3  # Keras on JAX and on PyTorch among them


def test_batch_sweep_pipeline_and_scaling_rows(smoke_run: SmokeRun) -> None:
    (run,) = ResultStore(smoke_run.results).load_all().runs
    settings = run["profile"]["training"]
    sweep = _training(run, "training-batch")
    own = [b for b in settings["batch_sizes"] if b != settings["batch_size"]]  # the reference loop is the other
    assert own and {(r["framework"], r["batch_size"]) for r in sweep if r["status"] == "ok"} == {
        (f, b) for f in ("torch", "tensorflow") for b in own}
    points = training_page.batch_points(run)
    assert {(r["framework"], r["batch_size"]) for r in points} == {
        (f, b) for f in ("torch", "tensorflow") for b in settings["batch_sizes"]}
    assert {r["framework"] for r in _training(run, "input-pipeline")} == {"torch", "tensorflow"}
    scaling = [r for r in _training(run, "training-scaling") if r["status"] == "ok"]
    assert {(r["framework"], r["settings"]["workers"]) for r in scaling} == {
        (f, w) for f in ("torch", "tensorflow") for w in (1, 2)}
    for rec in scaling:
        assert rec["settings"]["global_batch"] == settings["batch_size"]
        # throughput counts the images of every worker (each drops at most workers - 1 to keep shards equal)
        train_images = settings["max_train_images"]
        workers = rec["settings"]["workers"]
        assert train_images - workers < rec["settings"]["images_per_epoch"] <= train_images, rec["settings"]
        assert (rec["settings"]["workers"] == 2) == ("scaling_efficiency" in rec["metrics"])
    proc = reportgen("export", "--results-dir", str(smoke_run.results), "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    exported = {(r["framework"], r["variant"]) for r in rows if r["scenario"] == "training-scaling"}
    assert exported == {(f, f"{w}-worker") for f in ("torch", "tensorflow") for w in (1, 2)}
    assert any(r["metric"] == "time_to_target_s" or r["metric"] == "final_top1" for r in rows
               if r["scenario"] == "training")


def test_training_page_shows_the_measured_numbers(stored_run: SmokeRun) -> None:
    (run,) = ResultStore(stored_run.results).load_all().runs
    page = (stored_run.site / "training.html").read_text(encoding="utf-8")
    eager = next(r for r in _training(run, "training") if r["framework"] == "torch" and r["variant"] == "eager")
    assert f"{eager['metrics']['initial_loss']['value']:.4f}" in page
    # the smoke run's probes trained one epoch: their rate is not a steady state, and their rows say so
    once = [r for r in _training(run, "training") if r["status"] == "ok" and r["settings"]["epochs"] == 1]
    assert once and html.unescape(page).count(" (one epoch, warm-up included)</td>") == len(once)
    for chart in ("train-top1-epoch", "train-top1-time", "train-throughput", "train-memory", "train-batch",
                  "train-scaling"):
        assert f'id="{chart}"' in page
    assert "keras-team/keras#20585" in page
    assert "oneDNN on" in page
    assert "Training speed" in (stored_run.site / "scorecard.html").read_text(encoding="utf-8")


def test_data_parallel_workers_slower_than_one_are_called_a_slowdown(stored_run: SmokeRun) -> None:
    """An efficiency of 0.4 reads like a partial gain; with 2 workers it is a loss, and every page says so."""
    two = {"settings": {"workers": 2}}
    assert findings.scaling_note({**two, "metrics": {"scaling_efficiency": {"value": 0.45}}}) == ": a slowdown"
    assert findings.scaling_note({**two, "metrics": {"scaling_efficiency": {"value": 0.55}}}) == ""
    (run,) = ResultStore(stored_run.results).load_all().runs
    home, page = (html.unescape((stored_run.site / p).read_text(encoding="utf-8")) for p in ("index.html",
                                                                                            "training.html"))
    every = _training(run, "training-scaling")
    scaling = [r for r in findings.learned(every) if "scaling_efficiency" in r["metrics"]]
    for rec in every:  # a framework whose workers did not learn is named, and its scaling is not compared
        assert (f"{findings.training_label(rec)} did not learn" in home) == bool(findings.did_not_learn(rec))
    for rec in scaling:
        efficiency = rec["metrics"]["scaling_efficiency"]["value"]
        speedup = efficiency * rec["settings"]["workers"]
        assert f"{speedup:.2f}x the throughput of 1 worker{': a slowdown' if speedup < 1 else ')'}" in home
        assert (f"{efficiency:.3f} (slowdown)" in page) == (speedup < 1)
    assert ("one run each" in home) == bool(scaling)


def _image_folder(root: Path, classes: int = 3, per_class: int = 10) -> Path:
    rng = np.random.default_rng(0)
    for c in range(classes):
        folder = root / f"class{c}"
        folder.mkdir(parents=True)
        for i in range(per_class):
            pixels = np.full((40, 40, 3), 60 * c, np.uint8) + rng.integers(0, 40, (40, 40, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(folder / f"{i}.{'png' if i % 2 else 'jpg'}")
    return root


@pytest.mark.slow
def test_folder_dataset_trains_in_both_frameworks(tmp_path: Path) -> None:
    """``folder:PATH`` of PNG and JPEG files: both frameworks train on it from the same first loss."""
    folder = _image_folder(tmp_path / "images")
    settings = TrainingSettings(dataset=f"folder:{folder}", epochs=2, batch_size=8, target_top1=0.5)
    profile = profile_settings(get_profile("smoke")) | {"training": profile_settings(get_profile("smoke"))["training"]
                                                       | {**settings.__dict__, "batch_sizes": [8]}}
    ctx = Context(artifacts=tmp_path / "work", threads=2, device="cpu", seed=0, profile=profile)
    tasks = {t.key: t for t in training.plan(["torch", "tensorflow"], profile, "cpu", 2)}
    records = []
    for key in ("training/torch/eager", "training/tensorflow/graph"):
        records += run_isolated(tasks[key], ctx, 300, tmp_path / "logs")
    assert [r["status"] for r in records] == ["ok", "ok"], [r["reason"] for r in records]
    assert {r["settings"]["classes"] for r in records} == {3}
    assert records[0]["settings"]["train_images"] + records[0]["settings"]["val_images"] == 30
    losses = [r["metrics"]["initial_loss"]["value"] for r in records]
    assert abs(losses[0] - losses[1]) < 1e-3


@pytest.mark.parametrize("layout,message", [
    ("missing", "does not exist"),
    ("empty", "has no class subfolders"),
    ("one-class", "needs at least 2 classes"),
    ("empty-class", "has no images"),
    ("unreadable", "cannot read image"),
])
def test_bad_data_folder_is_a_one_line_error_before_measuring(tmp_path: Path, layout: str, message: str) -> None:
    root = tmp_path / "data"
    if layout != "missing":
        root.mkdir()
    if layout in ("one-class", "empty-class", "unreadable"):
        _image_folder(root, classes=1 if layout == "one-class" else 2, per_class=4)
    if layout == "empty-class":
        (root / "zebra").mkdir()
    if layout == "unreadable":
        (root / "class1" / "broken.png").write_bytes(b"not an image")
    results = tmp_path / "results"
    proc = reportgen("run", "--profile", "smoke", "--dataset", f"folder:{root}", "--results-dir", str(results),
                     "--site-dir", str(tmp_path / "site"))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in proc.stderr, proc.stderr
    assert str(root) in lines[0] or "broken.png" in lines[0]
    assert not list(results.rglob("*.json")), "nothing may be stored for a run that could not start"


def test_training_runs_only_when_a_trainer_is_chosen() -> None:
    profile = profile_settings(get_profile("smoke"))
    assert training.plan(["onnxruntime"], profile, "cpu", 2) == []
    keys = [t.key for t in training.plan(["tensorflow", "onnxruntime"], profile, "cpu", 2)]
    assert keys[0] == "training/torch/eager"  # makes the initial weights Keras starts from
    assert not any(k.startswith(("training-batch/torch", "training-scaling/torch", "training/torch/compile"))
                   for k in keys)


def test_data_parallel_workers_get_their_share_of_every_thread_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    """MKL left at the machine's 2 threads made each of 2 DDP workers on 2 cores 5x slower (efficiency 0.05)."""
    monkeypatch.setenv("MKL_NUM_THREADS", "2")
    env = training.worker_env(1, "cpu")
    for pool in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "TF_NUM_INTRAOP_THREADS"):
        assert env[pool] == "1", pool
    assert env["GLOO_SOCKET_IFNAME"]


def test_training_settings_are_checked_by_name(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[training]\noptimizer = "rmsprop"\n', encoding="utf-8")
    proc = reportgen("run", "--config", str(config), "--results-dir", str(tmp_path / "r"))
    assert proc.returncode == 2
    assert "training.optimizer" in proc.stderr and "sgd, adam" in proc.stderr
    assert json.dumps(profile_settings(get_profile("quick"))["training"])  # the stored form is plain JSON


@pytest.mark.slow
def test_same_command_trains_to_the_same_numbers(tmp_path: Path) -> None:
    """Same seed, same machine: the same losses and accuracy, epoch for epoch (speed may differ)."""
    profile = profile_settings(get_profile("smoke"))
    profile["training"] |= {"max_train_images": 96, "epochs": 2}
    task = next(t for t in training.plan(["torch"], profile, "cpu", 2) if t.key == "training/torch/eager")
    runs = [run_isolated(task, Context(artifacts=tmp_path / f"work{i}", threads=2, device="cpu", seed=5,
                                       profile=profile), 300, tmp_path / f"logs{i}")[0] for i in range(2)]
    assert [r["status"] for r in runs] == ["ok", "ok"]
    for key in ("train_loss", "val_loss", "val_top1"):
        assert runs[0]["samples"][key] == runs[1]["samples"][key], key


@pytest.mark.slow
def test_keras_fits_on_every_backend_from_the_same_start(tmp_path: Path) -> None:
    """``model.fit`` on TensorFlow, JAX and PyTorch (each in its own process and environment) from PyTorch's initial
    weights on the same first batch: the same first loss, each record naming its backend and input pipeline."""
    profile = profile_settings(get_profile("smoke"))
    profile["training"] |= {"max_train_images": 64, "epochs": 1, "batch_size": 16, "probe_epochs": 0}
    ctx = Context(artifacts=tmp_path / "work", threads=2, device="cpu", seed=0, profile=profile)
    tasks = {t.key: t for t in training.plan(["torch", "tensorflow", "keras-jax", "keras-torch"], profile, "cpu", 2)}
    keys = ("training/torch/eager", "training/tensorflow/graph", "training/keras-jax/fit", "training/keras-torch/fit")
    records = [r for key in keys for r in run_isolated(tasks[key], ctx, 300, tmp_path / "logs")]
    assert [r["status"] for r in records] == ["ok"] * 4, [r["reason"] for r in records]
    losses = [r["metrics"]["initial_loss"]["value"] for r in records]
    assert max(losses) - min(losses) < 1e-3, losses
    named = {r["framework"]: (r["settings"].get(Setting.KERAS_BACKEND), r["settings"].get(Setting.KERAS_JIT_COMPILE),
                              r["settings"].get(Setting.INPUT_PIPELINE)) for r in records[1:]}
    assert named == {"tensorflow": ("tensorflow", False, "tf.data"),
                     "keras-jax": ("jax", True, "keras.utils.PyDataset (NumPy)"),
                     "keras-torch": ("torch", False, "keras.utils.PyDataset (NumPy)")}
    assert {r["settings"]["environment"]["name"] for r in records[2:]} <= {"keras-jax", "keras-torch", "single"}


def test_quick_probes_the_speed_of_every_variant_but_the_reference_loops() -> None:
    from reportgen import catalog
    from reportgen.config import PROFILES, profile_settings
    from reportgen.scenarios import training

    profile = profile_settings(PROFILES["quick"])
    assert 0 < profile["training"]["probe_epochs"] < profile["training"]["epochs"]
    tasks = [t for t in training.plan(["torch", "tensorflow"], profile, "cpu", 2) if t.scenario == "training"]
    probed = {t.variant: t.params.get("probe_epochs") for t in tasks if t.framework == "torch"}
    assert probed["eager"] is None and probed["compile"] == profile["training"]["probe_epochs"]
    references = {(v.framework, v.name) for v in catalog.training_references()}
    assert {(t.framework, t.variant) for t in tasks if "probe_epochs" not in t.params} == references
    smoke = profile_settings(PROFILES["smoke"])  # the same code path, shorter
    assert {t.variant: t.params.get("probe_epochs") for t in training.plan(["torch"], smoke, "cpu", 2)
            if t.scenario == "training"}["compile"] == 1
