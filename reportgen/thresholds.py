"""Every threshold a verdict, a flag or a pick depends on, declared once; pages print them from here."""

from __future__ import annotations

SIGNIFICANCE_FACTOR = 1.1  # a single measurement (no rounds) must lead the runner-up by this factor to win a row
PRACTICAL_MARGIN = 0.05  # a ratio's whole 95% interval must lie beyond 1 +/- 5% to call one variant faster
CONFIDENCE = 0.95  # of the interval on a ratio of round medians (t on the log ratios across rounds)
AGREEMENT_LIMIT = 1e-3  # max |logit difference| from the reference above which a variant is flagged
COMPARABLE_TOP1 = 0.02  # final top-1 within this of each other: training speeds compare like with like
EDGE_MAX_TOP1_LOSS = 0.01  # the edge pick keeps only files whose top-1 dropped by at most this
EDGE_SIZE_TIE = 0.05  # files within 5% of the smallest size count as equally small: the fastest of them wins


def printed() -> dict[str, str]:
    """The thresholds as the pages print them (templates read these, never a literal)."""
    return {"practical": f"{PRACTICAL_MARGIN:.0%}", "confidence": f"{CONFIDENCE:.0%}",
            "margin": f"{SIGNIFICANCE_FACTOR - 1:.0%}",
            "agreement": f"{AGREEMENT_LIMIT:.0e}".replace("e-0", "e-"), "top1": f"{COMPARABLE_TOP1:g}",
            "edge_loss": f"{EDGE_MAX_TOP1_LOSS:g}", "edge_tie": f"{EDGE_SIZE_TIE:.0%}"}
