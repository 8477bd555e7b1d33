"""Summary statistics: percentiles of raw samples, and verdicts from rounds (ratios with intervals)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from reportgen.thresholds import CONFIDENCE, PRACTICAL_MARGIN


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


def _t_quantile(df: float) -> float:
    """Student's t quantile of the two-sided ``CONFIDENCE`` interval. SciPy is imported here, not at the top:
    every measuring child imports this module, and ``scipy.stats`` alone costs each of them most of a second."""
    from scipy.stats import t as student_t

    return float(student_t.ppf((1 + CONFIDENCE) / 2, df))


def _half_width(log_std: float, n: int) -> float:
    """Half-width of the ``CONFIDENCE`` t-interval on a mean of ``n`` logs with standard deviation ``log_std``."""
    return float(_t_quantile(n - 1) * log_std / np.sqrt(n))


def log_interval(values: Sequence[float]) -> tuple[float, float, float] | None:
    """Geometric mean of positive ``values`` with its two-sided ``CONFIDENCE`` interval (Student's t on the
    logs), or None with fewer than 2 values: one round is not evidence of a spread."""
    logs = np.log(np.asarray(values, dtype=float))
    if len(logs) < 2:
        return None
    half = _half_width(float(logs.std(ddof=1)), len(logs))
    centre = float(logs.mean())
    return float(np.exp(centre)), float(np.exp(centre - half)), float(np.exp(centre + half))


def by_round(numbers: Sequence[int], medians: Sequence[float]) -> dict[int, float]:
    """A variant's median per round, in round order, from its processes' medians (``numbers[i]`` is the round
    of ``medians[i]``): a round that timed it in several processes (the reference) counts their geometric mean
    once, so that rounds, not processes, stay the independent unit."""
    logs: dict[int, list[float]] = {}
    for number, median in zip(numbers, medians, strict=True):
        logs.setdefault(number, []).append(float(np.log(median)))
    return {n: float(np.exp(np.mean(logs[n]))) for n in sorted(logs)}


def ratio_verdict(low: float | None, high: float | None) -> str:
    """``faster``/``slower`` when the whole interval of a speed-up lies beyond the practical margin, ``tie``
    when it lies within it, ``inconclusive`` when it straddles a boundary (more rounds can decide)."""
    if low is None or high is None:
        return "inconclusive"
    up, down = 1 + PRACTICAL_MARGIN, 1 / (1 + PRACTICAL_MARGIN)
    if low > up:
        return "faster"
    if high < down:
        return "slower"
    if low >= down and high <= up:
        return "tie"
    return "inconclusive"


def paired_speedup(base_round_medians: Sequence[float], cand_round_medians: Sequence[float]) -> dict[str, Any]:
    """How much faster a candidate is than a baseline, from rounds: the ratio of their medians within each
    round (interleaved rounds share the machine's state), summarised across rounds with an interval.

    Returns ``speedup`` (geometric mean of baseline/candidate per round), ``low``/``high`` (the interval; None
    with one round), ``rounds`` and the ``verdict`` of :func:`ratio_verdict`.
    """
    n = min(len(base_round_medians), len(cand_round_medians))
    ratios = [b / c for b, c in zip(base_round_medians[:n], cand_round_medians[:n], strict=True)]
    interval = log_interval(ratios)
    if interval is None:
        speedup, low, high = (ratios[0] if ratios else float("nan")), None, None
    else:
        speedup, low, high = interval
    return {"speedup": speedup, "low": low, "high": high, "rounds": n, "verdict": ratio_verdict(low, high),
            "method": f"per-round median ratios, {CONFIDENCE:.0%} t-interval on their logs"}


def calm_speedup(base: dict[int, float], cand: dict[int, float], disturbed: set[int]) -> dict[str, Any]:
    """:func:`paired_speedup` over the rounds both were measured in (by round number), leaving out the
    ``disturbed`` rounds (the machine was not ours). With fewer than 2 calm rounds a verdict that needs an
    interval is ``inconclusive``; with none, the ratio is the one measured and there is no verdict."""
    common = sorted(set(base) & set(cand))
    calm = [i for i in common if i not in disturbed]
    if len(calm) == len(common):
        return {**paired_speedup([base[i] for i in common], [cand[i] for i in common]), "disturbed": 0}
    if calm:
        result = paired_speedup([base[i] for i in calm], [cand[i] for i in calm])
    else:
        result = {**paired_speedup([base[i] for i in common], [cand[i] for i in common]), "low": None, "high": None,
                  "verdict": "inconclusive"}
    return {**result, "disturbed": len(common) - len(calm), "rounds": len(calm)}


def projected_verdict(comparison: dict[str, Any], rounds: int) -> str | None:
    """The verdict ``comparison`` would reach after ``rounds`` calm rounds at best: if every further round
    matched its ratio so far exactly (the spread of the rounds so far is kept, spread over more rounds), or None
    where no spread is known yet (fewer than 2 rounds). Still ``inconclusive`` here, the verdict cannot be
    decided by ``rounds`` rounds: a near-tie whose rounds disagree by more than the tie band. A wide interval
    around a large ratio (one outlying round) is not given up: agreeing rounds would decide it."""
    low, high, n = comparison.get("low"), comparison.get("high"), comparison.get("rounds", 0)
    if low is None or high is None or n < 2:
        return None
    if rounds <= n:
        return comparison["verdict"]
    log_std = float(np.log(high / low)) / 2 / _half_width(1.0, n)  # the rounds' spread, back from their interval
    half = _half_width(log_std * np.sqrt((n - 1) / (rounds - 1)), rounds)  # the same sum of squares, more rounds
    centre = float(np.log(comparison["speedup"]))
    return ratio_verdict(float(np.exp(centre - half)), float(np.exp(centre + half)))


def median_halfwidth(round_medians: Sequence[float]) -> float | None:
    """Relative half-width of the interval on a variant's median across rounds (None with one round)."""
    interval = log_interval(round_medians)
    if interval is None:
        return None
    centre, low, high = interval
    return (high - low) / 2 / centre


def too_noisy(comparison: dict[str, Any]) -> bool:
    """Too noisy to decide: the verdict is inconclusive and its interval is wider than the whole tie band
    (half-width beyond the practical margin), so the rounds disagree by more than the difference being judged
    and no true ratio could have been decided from them. A narrow interval that straddles a boundary is open
    because the ratio lies near the margin, not because of noise (:func:`at_the_margin`). One round (no
    interval) is not noise, just too few."""
    low, high = comparison.get("low"), comparison.get("high")
    if comparison["verdict"] != "inconclusive" or low is None or high is None:
        return False
    return float(np.log(high / low)) / 2 > float(np.log1p(PRACTICAL_MARGIN))


def at_the_margin(comparison: dict[str, Any]) -> bool:
    """Inconclusive with an interval no wider than the tie band: the ratio lies near the practical margin."""
    return comparison["verdict"] == "inconclusive" and comparison.get("low") is not None and not too_noisy(comparison)


def unpaired_speedup(base_round_medians: Sequence[float], cand_round_medians: Sequence[float]) -> dict[str, Any]:
    """Like :func:`paired_speedup` for two runs whose rounds are not paired (different runs, hours apart):
    the ratio of the geometric means of their round medians, with a Welch t-interval on the logs."""
    a, b = (np.log(np.asarray(x, dtype=float)) for x in (base_round_medians, cand_round_medians))
    speedup = float(np.exp(a.mean() - b.mean()))
    if len(a) < 2 or len(b) < 2:
        return {"speedup": speedup, "low": None, "high": None, "rounds": min(len(a), len(b)),
                "verdict": "inconclusive", "method": "unpaired: needs 2 or more rounds in both runs"}
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = float(np.sqrt(va + vb))
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1)) if se > 0 else len(a) + len(b) - 2
    half = _t_quantile(df) * se
    low, high = float(np.exp(a.mean() - b.mean() - half)), float(np.exp(a.mean() - b.mean() + half))
    return {"speedup": speedup, "low": low, "high": high, "rounds": min(len(a), len(b)),
            "verdict": ratio_verdict(low, high),
            "method": f"ratio of geometric means of round medians, {CONFIDENCE:.0%} Welch t-interval on the logs"}


def _z() -> float:
    """The normal quantile of the two-sided :data:`CONFIDENCE` interval (1.96 at 95%)."""
    from statistics import NormalDist

    return NormalDist().inv_cdf(0.5 + CONFIDENCE / 2)


def wilson_interval(share: float, n: int) -> tuple[float, float]:
    """The Wilson score interval of a proportion ``share`` observed on ``n`` items (e.g. top-1 agreement on n
    images): it stays inside [0, 1] and is honest at 0 and 1, where the normal approximation collapses."""
    z = _z()
    centre = (share + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * float(np.sqrt(share * (1 - share) / n + z * z / (4 * n * n)))
    return max(0.0, centre - half), min(1.0, centre + half)


def paired_change_interval(change: float, disagreement: float, n: int) -> tuple[float, float]:
    """An interval on the change of a top-1 accuracy measured on the same ``n`` images before and after (e.g.
    quantization), from the change and the share of images whose class changed (``disagreement``).

    The paired change is (c - b) / n, where b images went from right to wrong and c from wrong to right; its
    variance is ((b + c) / n - change²) / n (McNemar's setting, normal approximation). Only b + c at most the
    images that changed class is stored, so the interval takes that bound, and the upper end of its Wilson interval
    (no image that changed class on these n says little about the next n): never narrower than the truth.
    """
    if not n:
        return -1.0, 1.0
    discordant = wilson_interval(max(disagreement, abs(change)), n)[1]
    half = _z() * float(np.sqrt(max(discordant - change * change, 0.0) / n))
    return change - half, change + half
