"""Queueing theory for the serving scenario: the M/D/1 queue (Poisson arrivals, one server, a fixed service time).

A runtime served by one worker that answers requests in arrival order, each in the same time ``D``, while requests
arrive as a Poisson stream of rate ``lambda`` (MLPerf LoadGen's Server scenario) is an M/D/1 queue. Its waiting
time ``W`` (arrival to the start of service) has Erlang's closed form (A. K. Erlang 1909; C. D. Crommelin 1932): with
time in units of ``D`` and the load ``rho = lambda * D < 1``,

    P(W <= t) = (1 - rho) * sum_{k=0}^{floor(t)} (rho * (k - t))^k / k! * exp(-rho * (k - t))

and a request's latency (sojourn) is ``W + D``, so ``P(latency <= b) = P(W <= b / D - 1)``. The terms alternate in
sign and grow like ``exp(2 * rho * t)``, so the sum is taken in decimal arithmetic with enough digits to cancel
them exactly. The capacity at a latency bound ``b`` and percentile ``q`` is the largest ``lambda`` whose
``P(latency <= b) >= q``: the probability falls as the load rises, so bisection finds it.
"""

from __future__ import annotations

import math
from decimal import Decimal, localcontext


def md1_wait_cdf(t: float, rho: float) -> float:
    """``P(W <= t)`` of an M/D/1 queue at load ``rho`` (0 <= rho < 1), ``t`` in service times (Erlang's formula)."""
    if not 0 <= rho < 1:
        raise ValueError(f"an M/D/1 queue is stable only at a load in [0, 1), got {rho!r}")
    if t < 0:
        return 0.0
    with localcontext() as ctx:
        ctx.prec = 40 + int(2 * rho * t / math.log(10)) + 10  # digits lost to cancellation, plus a margin
        r, x = Decimal(repr(rho)), Decimal(repr(t))
        total, factorial = Decimal(0), Decimal(1)
        for k in range(int(math.floor(t)) + 1):
            if k:
                factorial *= k
            u = r * (k - x)
            total += (u ** k if k else Decimal(1)) / factorial * (-u).exp()  # 0 ** 0 is 1 here
        return float(min(Decimal(1), max(Decimal(0), (1 - r) * total)))


def md1_latency_cdf(bound_s: float, rate_qps: float, service_s: float) -> float:
    """``P(latency <= bound_s)`` of requests arriving at ``rate_qps`` to one server busy ``service_s`` per request."""
    return md1_wait_cdf(bound_s / service_s - 1, rate_qps * service_s)


def md1_capacity(service_s: float, bound_s: float, percentile: float, tolerance: float = 1e-6) -> float:
    """The highest Poisson arrival rate (requests/s) at which the ``percentile`` quantile of an M/D/1 queue's
    latency stays within ``bound_s`` (0 where even one request alone takes longer than the bound)."""
    if bound_s < service_s or (bound_s == service_s and percentile > 0):
        return 0.0
    lo, hi = 0.0, 1.0  # load rho = rate * service
    while hi - lo > tolerance:
        mid = (lo + hi) / 2
        if md1_wait_cdf(bound_s / service_s - 1, mid) >= percentile:
            lo = mid
        else:
            hi = mid
    return lo / service_s
