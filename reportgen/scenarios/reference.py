"""The PyTorch reference model: its seeded weights are the weights every framework runs.

Runs in a torch subprocess and leaves two artifacts: ``weights.npz`` (torchvision state_dict keys) and
the ONNX export that ONNX Runtime serves.
"""

from __future__ import annotations

import time
from typing import Any

from reportgen.artifacts import ONNX_FILE, REFERENCE_OUTPUTS, WEIGHTS_FILE
from reportgen.inputs import check_images
from reportgen.results import make_record
from reportgen.runner import Context, Task

TASK = Task(
    key="reference/torch",
    module=__name__,
    scenario="conversion",
    framework="torch",
    variant="onnx-for-inference",
    label="PyTorch reference weights + ONNX export",
    produces=(WEIGHTS_FILE, REFERENCE_OUTPUTS, ONNX_FILE),
)


def run_task(task: Task, ctx: Context) -> list[dict[str, Any]]:
    import numpy as np
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from benchmarks.export.from_torch import export_onnx
    from benchmarks.models.resnet_torch import build_resnet18, state_dict_numpy

    torch.set_num_threads(ctx.threads)
    settings = ctx.profile["inference"]
    model = build_resnet18(settings["num_classes"], seed=ctx.seed).eval()
    size = settings["image_size"]
    ctx.artifacts.mkdir(parents=True, exist_ok=True)
    np.savez(ctx.artifacts / WEIGHTS_FILE, **state_dict_numpy(model))
    with torch.inference_mode():
        logits = model(torch.from_numpy(check_images(ctx.seed, size))).numpy()
    np.save(ctx.artifacts / REFERENCE_OUTPUTS, logits)
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        model(torch.zeros(1, 3, size, size))  # counts the multiply-adds of every conv and matmul it runs
    facts = {
        "params_trainable": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "params_total": sum(t.numel() for k, t in model.state_dict().items() if "num_batches" not in k),
        "macs": counter.get_total_flops() / 2,
    }
    records = [make_record("model", "torch", "resnet18", device=ctx.device, metrics=facts,
                           settings={"num_classes": settings["num_classes"], "image_size": size,
                                     "macs_method": "torch.utils.flop_counter.FlopCounterMode / 2"})]
    path = ctx.artifacts / ONNX_FILE
    start = time.perf_counter()
    try:
        export_onnx(model, str(path), size)
    except Exception as exc:  # a failed conversion is a result: record it, keep the weights
        records.append(make_record(task.scenario, task.framework, task.variant, device=ctx.device,
                                   metrics={"convert_ok": 0, "convert_s": time.perf_counter() - start},
                                   status="failed", reason=f"{type(exc).__name__}: {exc}"[:800]))
        return records
    records.append(make_record(
        task.scenario, task.framework, task.variant, device=ctx.device,
        metrics={"convert_ok": 1, "convert_s": time.perf_counter() - start,
                 "model_size_mb": path.stat().st_size / 1e6},
        settings={"converter": "torch.onnx.export(dynamo=True)", "dynamic_batch": True,
                  "model": f"resnet18, {settings['num_classes']} classes, {size}x{size}, the inference benchmark's"},
    ))
    return records
