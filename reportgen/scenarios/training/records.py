"""The record of one training: from a ``History`` (or its JSON form, as data-parallel workers write it)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np

from reportgen import thresholds
from reportgen.measure import energy, memory
from reportgen.process.runner import Context
from reportgen.store.records import Setting
from reportgen.store.results import make_record


def history_record(scenario: str, framework: str, variant: str, ctx: Context, history, batch_size: int,
                   precision: str = "fp32", extra: dict[str, Any] | None = None, peak_gpu: float | None = None,
                   world_size: int = 1, in_process: bool = True) -> dict[str, Any]:
    """One record from a training ``History`` (or its JSON form): steady-state throughput with the first
    epoch excluded, the per-epoch curves as samples; energy per epoch where :func:`.trainer.train` measured every
    epoch's (its ``epoch_energy``; a worker's JSON form has none). ``extra["classes"]``, where given, lets the
    convergence check compare top-1 with chance (``thresholds.learning_problem``)."""
    joules, joule_samples, joule_settings = energy.per_epoch(getattr(history, "epoch_energy", None))
    keras = _keras_settings(framework, getattr(history, "keras_jit_compile", None))
    if not isinstance(history, dict):
        history = {"initial_loss": history.initial_loss, "epochs": [asdict(e) for e in history.epochs]}
    epochs = history["epochs"]
    times = [e["train_time_s"] for e in epochs]
    steady = epochs[1:] or epochs
    elapsed = np.cumsum(times).tolist()
    target = ctx.profile["training"]["target_top1"]
    reached = next((t for e, t in zip(epochs, elapsed, strict=True) if e["val_top1"] >= target), None)
    metrics = {
        "train_throughput_ips": sum(e["images"] for e in steady) / sum(e["train_time_s"] for e in steady),
        "epoch_time_s": float(np.median([e["train_time_s"] for e in steady])),
        "first_epoch_s": times[0],
        "final_top1": epochs[-1]["val_top1"],
        "final_loss": epochs[-1]["val_loss"],
        "initial_loss": history["initial_loss"],
    }
    if in_process:  # this process trained: its peak RSS is the training's (workers of a launcher are not)
        metrics["peak_rss_mb"] = memory.peak_rss_mb()
    if reached is not None:
        metrics["time_to_target_s"] = reached
    if peak_gpu is not None:
        metrics["peak_gpu_mem_mb"] = peak_gpu
    metrics.update(joules)
    # did it learn? (its speed then enters no comparison: reportgen.report.findings.did_not_learn)
    problem = thresholds.learning_problem(history["initial_loss"], metrics["final_loss"], metrics["final_top1"],
                                          (extra or {}).get(Setting.CLASSES))
    samples = {k: [float(e[k]) for e in epochs] for k in ("train_loss", "train_accuracy", "val_loss", "val_top1")}
    samples.update(epoch_time_s=times, elapsed_s=elapsed, **joule_samples)
    settings = {Setting.EPOCHS: len(epochs), Setting.THREADS: ctx.threads, Setting.WORKERS: world_size,
                Setting.IMAGES_PER_EPOCH: epochs[0]["images"],  # all workers together
                Setting.STEADY_STATE: "epochs after the first (the first includes tracing, compilation and warm-up)"
                if len(epochs) > 1 else "one epoch only: includes warm-up",
                Setting.TARGET_REACHED: reached is not None, Setting.MEMORY_METHOD: memory.METHOD, **joule_settings,
                **keras, **(extra or {}), **({Setting.DID_NOT_LEARN: problem} if problem else {})}
    if framework == "tensorflow" and in_process:  # launched workers: their launcher says what it asked for
        from reportgen.backends.tensorflow_backend import onednn_enabled

        settings[Setting.TF_ONEDNN] = onednn_enabled()
    return make_record(scenario, framework, variant, device=ctx.device, precision=precision, batch_size=batch_size,
                       metrics=metrics, samples=samples, settings=settings)


def _keras_settings(framework: str, jit_compile: bool | None) -> dict[str, Any]:
    """What a Keras training ran on: its backend, whether Keras compiled the step, what fed ``fit``; nothing for a
    framework that runs no Keras, or a history that does not say (a data-parallel worker's)."""
    from reportgen import catalog

    backend = catalog.keras_backend(framework)
    if backend is None or jit_compile is None:
        return {}
    pipeline = "tf.data" if backend == "tensorflow" else "keras.utils.PyDataset (NumPy)"
    return {Setting.KERAS_BACKEND: backend, Setting.KERAS_JIT_COMPILE: bool(jit_compile),
            Setting.INPUT_PIPELINE: pipeline}
