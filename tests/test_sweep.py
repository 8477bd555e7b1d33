"""The throughput sweep stops where a larger batch no longer pays."""

from reportgen import thresholds
from reportgen.scenarios.inference import flattened


def test_the_sweep_goes_on_while_throughput_grows_and_stops_once_it_flattens() -> None:
    assert flattened(1, 50.0, 0.0) is None  # the first batch has nothing to compare with
    assert flattened(8, 80.0, 50.0) is None  # +60%
    grow = 1 + thresholds.SWEEP_FLAT
    assert flattened(32, 80.0 * grow * 1.01, 80.0) is None
    reason = flattened(32, 80.0 * grow * 0.99, 80.0)
    assert reason and reason.startswith("throughput flattened: batch 32 added +4%")
    assert flattened(128, 70.0, 80.0).startswith("throughput flattened: batch 128 added -12%")
