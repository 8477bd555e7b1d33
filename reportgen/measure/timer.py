"""Timed loops: warm-up excluded, then run until both a minimum count and a minimum time are met."""

from __future__ import annotations

import time
from collections.abc import Callable

from reportgen.config import TimingSettings
from reportgen.measure.energy import Meter


def time_call(fn: Callable[[], object], sync: Callable[[], None] = lambda: None) -> float:
    """Seconds one call of ``fn`` takes, including ``sync`` (which waits for asynchronous devices)."""
    start = time.perf_counter()
    fn()
    sync()
    return time.perf_counter() - start


def time_loop(
    fn: Callable[[], object],
    timing: TimingSettings,
    sync: Callable[[], None] = lambda: None,
    meter: Meter | None = None,
) -> list[float]:
    """Per-call seconds of ``fn`` after ``timing.warmup`` untimed calls.

    The loop stops once it has at least ``min_count`` samples and ``min_time_s`` of timed work, or when
    ``max_time_s`` is reached, whichever comes first (the count actually reached is the sample count). A
    ``meter`` reads its energy counters around the timed calls, warm-up excluded: its ``last`` interval then
    holds them (None where not measured).
    """
    for _ in range(timing.warmup):
        fn()
        sync()
    samples: list[float] = []
    total = 0.0
    if meter is not None:
        meter.begin()
    while True:
        samples.append(time_call(fn, sync))
        total += samples[-1]
        if (len(samples) >= timing.min_count and total >= timing.min_time_s) or total >= timing.max_time_s:
            if meter is not None:
                meter.lap()
            return samples
