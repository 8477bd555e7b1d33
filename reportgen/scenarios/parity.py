"""Parity: does every exported, converted or quantized model compute what the PyTorch model computes?

Computed in the parent from the logits the conversion tasks saved on the evaluation images: the largest
absolute logit difference from the trained PyTorch model, the share of images whose top-1 class agrees
with it, and the change in top-1 accuracy against the true labels (``top1_delta``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from reportgen import catalog
from reportgen.artifacts import DIGITS_DATA, DIGITS_LOGITS, DIGITS_REFERENCE
from reportgen.measure.agreement import logit_agreement
from reportgen.process import envs
from reportgen.process.runner import Context
from reportgen.store.records import Setting, TaskKey
from reportgen.store.results import make_record


def compare(reference: np.ndarray, candidate: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    """The parity metrics of one candidate's logits against the reference logits."""
    return {**logit_agreement(reference, candidate),
            "top1_delta": float(np.mean(candidate.argmax(1) == labels) - np.mean(reference.argmax(1) == labels))}


def compare_outputs(ctx: Context) -> list[dict[str, Any]]:
    """One parity record per candidate whose logits exist; none without the reference."""
    ref_path, data_path = ctx.artifacts / DIGITS_REFERENCE, ctx.artifacts / DIGITS_DATA
    if not (ref_path.exists() and data_path.exists()):
        return []
    reference = np.load(ref_path)
    with np.load(data_path) as data:
        labels = data["y_eval"]
    records = []
    for cand in catalog.CANDIDATES:
        path = ctx.artifacts / DIGITS_LOGITS / catalog.logits_file(cand.runtime, cand.name)
        if not path.exists():
            continue
        records.append(make_record(
            "parity", cand.runtime, cand.name, device="cpu", precision=cand.precision,
            batch_size=len(labels), metrics=compare(reference, np.load(path), labels),
            settings={Setting.REFERENCE: "the trained PyTorch model (fp32)",
                      Setting.TASK: str(TaskKey("parity", cand.runtime, cand.name)),
                      Setting.INPUTS: f"{len(labels)} held-out digits, 32x32",
                      Setting.REFERENCE_TOP1: float(np.mean(reference.argmax(1) == labels)),
                      Setting.ENVIRONMENT: envs.environment(cand.runtime).record()},  # where its logits were computed
        ))
    return records
