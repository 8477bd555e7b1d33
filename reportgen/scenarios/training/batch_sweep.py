"""The ``training-batch`` task: epoch time per batch size, then the ``input-pipeline`` alone (no model)."""

from __future__ import annotations

import time
from typing import Any

from reportgen import catalog
from reportgen.errors import failure_reason
from reportgen.process.runner import Context, Task
from reportgen.scenarios.training.records import history_record
from reportgen.scenarios.training.trainer import load_data, peak_gpu_mb, recipe_settings, train
from reportgen.store.records import Setting
from reportgen.store.results import make_record


def sweep_batch_sizes(settings: dict[str, Any]) -> tuple[int, ...]:
    """The batch sizes the sweep trains itself. At the recipe's own batch size the framework's reference loop,
    the same variant on the same data, already measured the point: the Training page reads it there."""
    return tuple(b for b in settings["batch_sizes"] if b != settings["batch_size"])


def run_batch_sweep(task: Task, ctx: Context) -> list[dict[str, Any]]:
    """Epoch time of the framework's reference loop at each other batch size (recipe otherwise unchanged),
    then the input pipeline alone."""
    from reportgen.workloads.training.recipe import Recipe

    settings = ctx.profile["training"]
    data = load_data(ctx)
    variant = next(v.name for v in catalog.training_references() if v.framework == task.framework)
    records = []
    for batch_size in sweep_batch_sizes(settings):
        recipe = Recipe(**{**recipe_settings(settings), "epochs": settings["sweep_epochs"], "batch_size": batch_size})
        try:
            history = train(task.framework, variant, ctx, data, recipe)
        except Exception as exc:  # e.g. out of memory at the largest batch: record it, keep the others
            records.append(make_record("training-batch", task.framework, variant, device=ctx.device,
                                       batch_size=batch_size, status="failed",
                                       reason=failure_reason(exc)))
            continue
        records.append(history_record("training-batch", task.framework, variant, ctx, history, batch_size,
                                      extra={"dataset": data.name, "classes": len(data.classes),
                                             "purpose": "epoch time per batch size"},
                                      peak_gpu=peak_gpu_mb(task.framework, ctx.device)))
    records.append(input_pipeline(task.framework, ctx, data))
    return records


def input_pipeline(framework: str, ctx: Context, data) -> dict[str, Any]:
    """Images/s of the input pipeline alone (augmentation, normalisation, batching), no model."""
    settings = ctx.profile["training"]
    size, batch_size, epochs = settings["image_size"], settings["batch_size"], 2
    start = time.perf_counter()
    count = 0
    if framework == "torch":
        from reportgen.workloads.data.pipeline_torch import make_loaders

        loader, _ = make_loaders(data, size, batch_size, seed=ctx.seed)
        for epoch in range(epochs):
            loader.dataset.set_epoch(epoch)
            count += sum(len(labels) for _, labels in loader)
        name = "DataLoader (num_workers=0)"
    else:
        from reportgen.workloads.data.pipeline_tf import training_dataset

        dataset = training_dataset(data, size, batch_size, epochs, seed=ctx.seed)
        count = sum(len(labels) for _, labels in dataset)
        tuner = "off" if dataset.options().autotune.enabled is False else "on"  # as the pipeline sets it
        name = f"tf.data (parallel map + prefetch, autotuner {tuner})"
    seconds = time.perf_counter() - start
    return make_record("input-pipeline", framework, "augment", device="cpu", batch_size=batch_size,
                       metrics={"throughput_ips": count / seconds},
                       settings={Setting.PIPELINE: name, Setting.IMAGES: count, Setting.EPOCHS: epochs,
                                 Setting.DATASET: data.name,
                                 Setting.INCLUDES: "pad + random crop + flip + normalise + batch; no model"})
