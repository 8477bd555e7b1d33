"""Parity: does every runtime compute the same function as the PyTorch reference model?

Computed in the parent from the check-batch logits that the reference task and each inference task
saved: the largest absolute logit difference and the share of images whose top-1 class agrees.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from reportgen.artifacts import OUTPUTS_DIR, REFERENCE_OUTPUTS
from reportgen.results import make_record
from reportgen.runner import Context


def compare_outputs(ctx: Context) -> list[dict[str, Any]]:
    """One parity record per runtime whose check-batch logits exist; none without the reference."""
    ref_path = ctx.artifacts / REFERENCE_OUTPUTS
    if not ref_path.exists():
        return []
    reference = np.load(ref_path)
    records = []
    for path in sorted((ctx.artifacts / OUTPUTS_DIR).glob("*-*.npy")):
        framework, _, variant = path.stem.partition("-")
        candidate = np.load(path)
        metrics = {
            "max_abs_diff": float(np.max(np.abs(candidate - reference))),
            "top1_agreement": float(np.mean(candidate.argmax(1) == reference.argmax(1))),
        }
        records.append(make_record("parity", framework, variant, device=ctx.device, batch_size=len(reference),
                                   metrics=metrics,
                                   settings={"reference": "PyTorch reference model, in its own process",
                                             "task": f"parity/{framework}/{variant}",
                                             "inputs": "seeded N(0,1) images"}))
    return records
