"""How closely a candidate's logits follow a reference's: the one definition that parity, inference and the browser
scenario all record (``max_abs_diff``, ``top1_agreement``)."""

from __future__ import annotations

import numpy as np


def logit_agreement(reference: np.ndarray, candidate: np.ndarray) -> dict[str, float]:
    """The largest absolute logit difference, and the share of rows whose top-1 class is the same."""
    return {"max_abs_diff": float(np.max(np.abs(candidate - reference))),
            "top1_agreement": float(np.mean(candidate.argmax(1) == reference.argmax(1)))}
