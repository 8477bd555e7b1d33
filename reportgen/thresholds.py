"""Every threshold a verdict, a flag or a pick depends on, declared once; pages print them from here."""

from __future__ import annotations

SIGNIFICANCE_FACTOR = 1.1  # a single measurement (no rounds) must lead the runner-up by this factor to win a row
PRACTICAL_MARGIN = 0.05  # a ratio's whole 95% interval must lie beyond 1 +/- 5% to call one variant faster
CONFIDENCE = 0.95  # of the interval on a ratio of round medians (t on the log ratios across rounds)
AGREEMENT_LIMIT = 1e-3  # max |logit difference| from the fp32 reference above which an fp32 variant is flagged
# Reduced precisions round by design; their own limits (bf16 keeps 8 mantissa bits, fp16 11; INT8 is judged
# by its accuracy change, not its logits). Above its precision's limit a variant is flagged.
# tf32: an fp32 variant whose GPU convolutions ran on TF32 tensor cores (PyTorch's and TensorFlow's default
# there), which keep fp16's 10 explicit mantissa bits: fp32 PyTorch on an H200 was 1.9e-3 to 2.2e-3 off
_FP16_AGREEMENT = 5e-2
PRECISION_AGREEMENT = {"fp32": AGREEMENT_LIMIT, "tf32": _FP16_AGREEMENT, "fp16": _FP16_AGREEMENT, "bf16": 1e-1,
                       "int8": 1.0}


def agreement_limit(precision: str) -> float:
    """The largest logit difference from the fp32 reference expected of a variant of ``precision``."""
    return PRECISION_AGREEMENT.get(precision, AGREEMENT_LIMIT)
# a training "did not learn" when its validation loss ends above its first batch's loss, or its validation top-1
# ends no more than this above chance (1 / classes): its speed is shown, but enters no comparison, pick or Scorecard
# cell (a framework that learned nothing did not do the job the other one did)
LEARNED_ABOVE_CHANCE = 0.10
COMPARABLE_TOP1 = 0.02  # final top-1 within this of each other: training speeds compare like with like
EDGE_MAX_TOP1_LOSS = 0.01  # the edge pick keeps only files whose top-1 dropped by at most this
EDGE_SIZE_TIE = 0.05  # files within 5% of the smallest size count as equally small: the lowest median latency wins
# other processes or the hypervisor took more CPU time than a fifth of one logical CPU during a measurement: its
# round is left out of every verdict it takes part in (reportgen.measure.machine_load). In CPUs, not as a share of
# the machine: one busy core is 1/cpus of it, so a fixed 10% of the machine missed it from 10 CPUs up. As a share:
# 10% of 2 CPUs, 1.25% of 16, 0.31% of 64.
DISTURBED_CPUS = 0.2
# the share that judged runs whose records do not say how many CPUs their machine had (stored before the count was
# kept; those were 2-CPU machines, where the rule in CPUs gives the same 10%)
UNRECORDED_DISTURBED_SHARE = 0.10


def disturbed_share(cpus: int | None) -> float:
    """The share of a machine of ``cpus`` logical CPUs that other processes must take for a measurement on it to
    count as disturbed (None: the count was not recorded)."""
    return DISTURBED_CPUS / cpus if cpus and cpus > 0 else UNRECORDED_DISTURBED_SHARE


def learning_problem(initial_loss: float, final_loss: float, final_top1: float, classes: int | None) -> str | None:
    """Why a training did not learn (see ``LEARNED_ABOVE_CHANCE``), in one line, or None where it learned;
    ``classes`` None (records stored before the count was kept): the loss rule alone."""
    reasons = []
    if final_loss > initial_loss:
        reasons.append(f"its validation loss ended at {final_loss:.3g}, above its first batch's {initial_loss:.3g}")
    if classes and final_top1 <= 1 / classes + LEARNED_ABOVE_CHANCE:
        reasons.append(f"its validation top-1 ended at {final_top1:.3f}, within {LEARNED_ABOVE_CHANCE:g} of chance "
                       f"({1 / classes:.3f})")
    return "; ".join(reasons) or None


def disturbed(share: float, cpus: int | None) -> bool:
    """Whether other processes taking ``share`` of a machine of ``cpus`` logical CPUs disturbed a measurement."""
    return share > disturbed_share(cpus)


# the reference's batch-1 median moved by more than this between rounds while no other process was seen: the
# machine itself changed speed (on a VM, usually its host) where the other variants moved as far, else the
# reference's own processes differ; the pages say which beside the verdicts
REFERENCE_DRIFT = 0.20
SWEEP_FLAT = 0.05  # the batch sweep stops at the first batch adding less than 5% throughput over the best smaller one

# Serving (MLPerf LoadGen): the Server scenario's capacity is the highest rate whose latency at this percentile
# stays within the profile's bound (MLPerf's rule for its Server scenario). A LoadGen run counts as MLPerf-valid only
# when it lasted MLPerf's minimum duration and reached its minimum query count for its scenario (MLPerf Inference
# rules; shorter runs are labelled "not MLPerf-valid" on the pages).
SERVING_PERCENTILE = 0.99
MLPERF_MIN_DURATION_S = 600.0
# LoadGen's own mlperf.conf (mlcommons/inference, loadgen/mlperf.conf): every scenario runs at least 600 s; only
# Offline sets a count for ResNet (24576 samples). SingleStream and Server have no fixed count any more (their old
# 1024 and 270336 were dropped for early stopping, which LoadGen's VALID verdict covers).
MLPERF_MIN_QUERIES = {"Offline": 24_576}  # Offline: samples
MLPERF_RULES_URL = "https://github.com/mlcommons/inference_policies/blob/master/inference_rules.adoc"


def mlperf_invalid(scenario: str, duration_s: float, queries: int, loadgen_valid: bool) -> str | None:
    """Why a LoadGen run of ``scenario`` is not MLPerf-valid (too short, too few queries, LoadGen's own verdict), in
    one line, or None where it is."""
    reasons = []
    if duration_s < MLPERF_MIN_DURATION_S:
        reasons.append(f"ran {duration_s:.3g} s, under MLPerf's minimum of {MLPERF_MIN_DURATION_S:g} s")
    if queries < MLPERF_MIN_QUERIES.get(scenario, 0):
        reasons.append(f"{queries} {'samples' if scenario == 'Offline' else 'queries'}, under MLPerf's "
                       f"{MLPERF_MIN_QUERIES[scenario]} for {scenario}")
    if not loadgen_valid and not reasons:
        reasons.append("LoadGen reported the run INVALID")
    return "; ".join(reasons) or None


def printed() -> dict[str, str]:
    """The thresholds as the pages print them (templates read these, never a literal)."""
    return {"practical": f"{PRACTICAL_MARGIN:.0%}", "confidence": f"{CONFIDENCE:.0%}",
            "margin": f"{SIGNIFICANCE_FACTOR - 1:.0%}",
            "agreement": f"{AGREEMENT_LIMIT:.0e}".replace("e-0", "e-"), "top1": f"{COMPARABLE_TOP1:g}",
            "learned": f"{LEARNED_ABOVE_CHANCE:g}",
            "edge_loss": f"{EDGE_MAX_TOP1_LOSS:g}", "edge_tie": f"{EDGE_SIZE_TIE:.0%}",
            "sweep_flat": f"{SWEEP_FLAT:.0%}", "disturbed": f"{DISTURBED_CPUS:g} of one CPU",
            "drift": f"{REFERENCE_DRIFT:.0%}", "serving_percentile": f"p{SERVING_PERCENTILE * 100:g}",
            "mlperf_duration": f"{MLPERF_MIN_DURATION_S:g} s", "mlperf_offline": f"{MLPERF_MIN_QUERIES['Offline']:,}"}
