"""Inference: batch latency and throughput of ResNet-18 in each framework, one subprocess each.

In the child: import the framework (timed), load the shared weights (timed), make the first call
(timed), then a timed loop per batch size. The logits of a fixed check batch are compared with the
PyTorch reference model's, and the agreement is stored next to the speed.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from reportgen.artifacts import ONNX_FILE, REFERENCE_OUTPUTS, WEIGHTS_FILE
from reportgen.config import TimingSettings
from reportgen.inputs import check_images, images
from reportgen.measure import memory, stats, timer
from reportgen.results import make_record
from reportgen.runner import Context, Task

VARIANTS = {"torch": "eager", "tensorflow": "graph", "onnxruntime": "from-torch"}
LABELS = {"torch": "PyTorch eager", "tensorflow": "TensorFlow tf.function", "onnxruntime": "ONNX Runtime"}


def plan(frameworks: list[str], profile: dict[str, Any]) -> list[Task]:
    """One task per framework; each needs the reference weights (and ONNX Runtime the ONNX file)."""
    tasks = []
    for fw in frameworks:
        needs = (WEIGHTS_FILE, REFERENCE_OUTPUTS) + ((ONNX_FILE,) if fw == "onnxruntime" else ())
        tasks.append(Task(key=f"inference/{fw}/{VARIANTS[fw]}", module=__name__, scenario="inference",
                          framework=fw, variant=VARIANTS[fw], label=f"Inference: {LABELS[fw]}",
                          needs=needs))
    return tasks


def run_task(task: Task, ctx: Context) -> list[dict[str, Any]]:
    from reportgen.backends import load_backend

    settings = ctx.profile["inference"]
    size, num_classes = settings["image_size"], settings["num_classes"]
    timing = TimingSettings(**settings["timing"])

    start = time.perf_counter()
    backend = load_backend(task.framework, ctx.threads, ctx.device)
    import_s = time.perf_counter() - start

    start = time.perf_counter()
    with np.load(ctx.artifacts / WEIGHTS_FILE) as npz:
        state = {k: npz[k] for k in npz.files}
    backend.load(state, str(ctx.artifacts), num_classes, size)
    load_s = time.perf_counter() - start

    first_input = backend.to_input(images(ctx.seed + 1, 1, size))
    first_call_s = timer.time_call(lambda: backend.sync(backend.predict(first_input)))

    # Same function as the reference? Logits on the fixed check batch, against the PyTorch reference model.
    check = backend.to_numpy(backend.predict(backend.to_input(check_images(ctx.seed, size))))
    reference = np.load(ctx.artifacts / REFERENCE_OUTPUTS)
    agreement = {"max_abs_diff": float(np.max(np.abs(check - reference))),
                 "top1_agreement": float(np.mean(check.argmax(1) == reference.argmax(1)))}

    common = {"image_size": size, "num_classes": num_classes, "threads": backend.thread_settings(),
              "timing": settings["timing"], "memory_method": memory.METHOD}
    records = [make_record(
        "startup", task.framework, task.variant, device=ctx.device, batch_size=1,
        metrics={"import_s": import_s, "load_s": load_s, "first_call_s": first_call_s,
                 "cold_start_s": import_s + load_s + first_call_s},
        settings=common,
    )]
    for batch in settings["batch_sizes"]:
        inputs = backend.to_input(images(ctx.seed + 2, batch, size))
        samples = timer.time_loop(lambda inputs=inputs: backend.sync(backend.predict(inputs)), timing)
        samples_ms = [s * 1e3 for s in samples]
        metrics = stats.latency_summary(samples_ms)
        metrics["throughput_ips"] = stats.throughput(batch, samples)
        metrics.update(agreement)
        metrics["peak_rss_mb"] = memory.peak_rss_mb()
        gpu = backend.peak_gpu_mem_mb()
        if gpu is not None:
            metrics["peak_gpu_mem_mb"] = gpu
        noisy = stats.is_noisy(metrics["latency_ms_p50"], metrics["latency_ms_iqr"])
        records.append(make_record(
            "inference", task.framework, task.variant, device=ctx.device, batch_size=batch,
            metrics=metrics, samples={"latency_ms": samples_ms},
            settings={**common, "noisy": noisy, "samples": len(samples)},
        ))
    return records
