"""Summary statistics of raw samples: median, spread, percentiles and a noise flag."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.stats import mannwhitneyu

from reportgen.thresholds import NOISY_SPREAD, SIGNIFICANCE_FACTOR, SIGNIFICANCE_P


def latency_summary(samples_ms: Sequence[float]) -> dict[str, float]:
    """``latency_ms_*`` metrics from per-call milliseconds."""
    a = np.asarray(samples_ms, dtype=float)
    q25, q50, q75, q90, q99 = np.percentile(a, [25, 50, 75, 90, 99])
    return {
        "latency_ms_p50": float(q50),
        "latency_ms_p90": float(q90),
        "latency_ms_p99": float(q99),
        "latency_ms_mean": float(a.mean()),
        "latency_ms_iqr": float(q75 - q25),
    }


def throughput(items_per_call: int, samples_s: Sequence[float]) -> float:
    """Items per second over the whole timed loop (total items / total time, not a mean of rates)."""
    return items_per_call * len(samples_s) / float(np.sum(samples_s))


def is_noisy(median: float, iqr: float) -> bool:
    """True when the spread is too wide to trust small differences."""
    return median > 0 and iqr / median > NOISY_SPREAD




def compare(baseline_ms: Sequence[float], candidate_ms: Sequence[float]) -> dict[str, float | str]:
    """How ``candidate`` compares with ``baseline`` (latencies): ``speedup`` (baseline median / candidate
    median), the two-sided Mann-Whitney U ``p`` value, and a ``verdict``: ``faster``, ``slower`` or
    ``tie`` (not significant, or a difference under 10%)."""
    speedup = float(np.median(baseline_ms) / np.median(candidate_ms))
    p = float(mannwhitneyu(baseline_ms, candidate_ms, alternative="two-sided").pvalue)
    verdict = "tie"
    if p < SIGNIFICANCE_P and speedup >= SIGNIFICANCE_FACTOR:
        verdict = "faster"
    elif p < SIGNIFICANCE_P and speedup <= 1 / SIGNIFICANCE_FACTOR:
        verdict = "slower"
    return {"speedup": speedup, "p": p, "verdict": verdict}
