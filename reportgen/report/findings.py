"""Findings: what a run's records say, computed once between the stored results and the pages.

Record selection (batch 1, per precision), comparisons with the catalog's reference, the accuracy that
belongs to a timed variant, the edge pick and the plain-language lines all live here; pages and
``export`` print them. Thresholds come from :mod:`reportgen.thresholds`.
"""

from __future__ import annotations

import statistics
from typing import Any

from reportgen import catalog, thresholds
from reportgen.config import tasks_at_once
from reportgen.measure import energy, stats
from reportgen.report.escape import MD, link
from reportgen.report.format import finding, fmt, label, metric, name, records
from reportgen.store import records as records_vocabulary
from reportgen.store.records import RoundSeries, Setting, disturbed

Record = dict[str, Any]
PRECISIONS = ("fp32", "bf16", "fp16", "int8")  # the order the pages list precisions in


def batch1(run: dict[str, Any], scenario: str = "inference", precision: str | None = None) -> list[Record]:
    """The run's successful batch-1 records of ``scenario`` (optionally one precision), fastest first."""
    picked = [r for r in records(run, scenario) if r["batch_size"] == 1
              and (precision is None or r["precision"] == precision)]
    key = "latency_ms_p50" if scenario != "startup" else "cold_start_s"
    return sorted(picked, key=lambda r: metric(r, key) if metric(r, key) is not None else float("inf"))


def on_device(run: dict[str, Any], rec: Record) -> bool:
    """Whether ``rec`` was measured on the run's device. A CUDA run also times the CPU-only variants (INT8,
    TFLite, OpenVINO) on the CPU: rankings of speed, memory and start-up compare like with like and leave them
    out, and the pages say where those rows ran."""
    return rec["device"] == run["options"]["device"]


def on_run_device(run: dict[str, Any], recs: list[Record]) -> list[Record]:
    """The records of ``recs`` measured on the run's device (:func:`on_device`)."""
    return [r for r in recs if on_device(run, r)]


def precisions(recs: list[Record]) -> list[str]:
    """The precisions present in ``recs``, in the pages' order."""
    present = {r["precision"] for r in recs}
    return [p for p in PRECISIONS if p in present] + sorted(present - set(PRECISIONS))


def is_reference(rec: Record) -> bool:
    """Whether ``rec`` is the catalog's reference variant, which every verdict is against."""
    ref = catalog.reference()
    return (rec["framework"], rec["variant"]) == (ref.runtime, ref.name)


def round_medians(rec: Record) -> list[float]:
    """A batch-1 record's median latency in each round, in round order (one value for a single-round record)."""
    return RoundSeries.of_record(rec).values


def side_by_side(rec: Record) -> bool:
    """Whether ``rec`` was measured while other tasks ran (a profile with ``tasks_at_once`` above 1)."""
    return records_vocabulary.side_by_side(rec["settings"])  # every record of such a run is stamped with it


def thread_shares(recs: list[Record]) -> list[int]:
    """The thread counts that tasks beside another one ran with, as their records say (``task_threads``; runs
    stored before it say nothing)."""
    return sorted({r["settings"][Setting.TASK_THREADS] for r in recs if Setting.TASK_THREADS in r["settings"]})


def compare(base: Record, cand: Record) -> dict[str, Any]:
    """How much faster ``cand`` is than ``base``: paired by round, with its interval and verdict; rounds in
    which either was measured on a disturbed machine are left out (:func:`stats.calm_speedup`)."""
    b, c = RoundSeries.of_record(base), RoundSeries.of_record(cand)
    return stats.calm_speedup(b.medians, c.medians, set(b.disturbed | c.disturbed))


def versus_reference(recs: list[Record]) -> dict[tuple[str, str], dict[str, Any]]:
    """Each batch-1 record's comparison with the catalog's reference variant (none without the reference)."""
    base = next((r for r in recs if is_reference(r)), None)
    if base is None:
        return {}
    return {(r["framework"], r["variant"]): compare(base, r) for r in recs if r is not base}


def ratio_text(cmp: dict[str, Any]) -> str:
    """``2.09x [1.95, 2.24]``: a speed-up with its interval (or the number of rounds when there is none)."""
    left_out = f"; {cmp['disturbed']} disturbed round(s) left out" if cmp.get("disturbed") else ""
    if cmp["low"] is None:
        return f"{cmp['speedup']:.2f}x ({cmp['rounds']} calm round(s): no interval{left_out})" if left_out \
            else f"{cmp['speedup']:.2f}x (1 round: no interval)"
    return f"{cmp['speedup']:.2f}x [{cmp['low']:.2f}, {cmp['high']:.2f}]" + (f" ({left_out[2:]})" if left_out else "")


def lead(first: Record, second: Record) -> dict[str, Any]:
    """How much faster ``first`` (the lower median) is than ``second``, paired by round like every verdict: a
    lower median alone does not make a variant the faster one."""
    return compare(second, first)


def disturbance(run: dict[str, Any]) -> dict[str, Any] | None:
    """How often the machine was not ours while inference was timed: measurements (tasks) measured, how many
    were disturbed, the largest foreign and steal shares; None where the run did not measure it."""
    tasks: dict[str, dict[str, Any]] = {}  # each task's settings: its foreign and steal shares, the machine's CPUs
    for r in run["records"]:
        if r["scenario"] in ("inference", "threads", "startup") and Setting.FOREIGN_CPU in r["settings"]:
            tasks[r["settings"].get(Setting.TASK, "")] = r["settings"]
    for r in batch1(run):  # merged records keep their rounds' tasks and shares
        settings = r["settings"]
        rounds = zip(settings.get(Setting.ROUND_TASKS) or [], settings.get(Setting.ROUND_FOREIGN_CPU) or [],
                     strict=False)
        for task, share in rounds:
            tasks.setdefault(task, {Setting.FOREIGN_CPU: share,
                                    Setting.MACHINE_CPUS: settings.get(Setting.MACHINE_CPUS)})
    if not tasks:
        return None
    shares = [s[Setting.FOREIGN_CPU] for s in tasks.values()]
    return {"tasks": len(shares), "disturbed": sum(disturbed(s[Setting.FOREIGN_CPU], s) for s in tasks.values()),
            "worst": max(shares), "steal": max(s.get(Setting.STEAL_CPU, 0.0) for s in tasks.values())}


def drift(recs: list[Record]) -> dict[str, Any] | None:
    """How far the reference's batch-1 median moved between rounds (``low``, ``high`` in ms, ``change`` as a
    fraction), or None when it stayed within ``REFERENCE_DRIFT``, or ran one round. ``others`` is the median of
    the same change over every other variant timed in 2 or more rounds (None without any): where they moved as
    far (``machine``), the machine changed speed; where they stayed steadier, the reference's own processes ran
    at different speeds (each round is a fresh process), which a machine-wide cause would not explain."""
    ref = next((r for r in recs if is_reference(r)), None)
    change = RoundSeries.of_record(ref).spread if ref else None
    if change is None or change <= thresholds.REFERENCE_DRIFT:
        return None
    moves = [m for m in (RoundSeries.of_record(r).spread for r in recs if r is not ref) if m is not None]
    others = statistics.median(moves) if moves else None
    medians = round_medians(ref)
    return {"low": min(medians), "high": max(medians), "change": change, "others": others,
            "machine": others is None or others > thresholds.REFERENCE_DRIFT}


def median_text(rec: Record) -> str:
    """A median latency with the half-width of its interval across rounds, e.g. ``12.3 ms ±4%``."""
    width = rec["settings"].get(Setting.MEDIAN_HALFWIDTH)
    return fmt(metric(rec, "latency_ms_p50"), "ms") + (f" ±{width:.0%}" if width is not None else "")


def arithmetic(rec: Record) -> str:
    """The precision a record computed in: its own, except ``tf32`` for an fp32 variant whose backend reported
    TF32 tensor cores on (the ``tf32`` thread setting of a CUDA run's PyTorch and TensorFlow records)."""
    settings = rec["settings"].get(Setting.THREADS)
    if rec["precision"] == "fp32" and isinstance(settings, dict) and settings.get("tf32"):
        return "tf32"
    return rec["precision"]


def agrees(rec: Record) -> bool:
    """Its logits match the reference's within the agreement limit of what it computed in (unknown counts as
    agreeing)."""
    return (metric(rec, "max_abs_diff") or 0) <= thresholds.agreement_limit(arithmetic(rec))


def accuracy_record(run: dict[str, Any], rec: Record) -> Record | None:
    """The parity record of the same recipe as a timed variant (its accuracy change on the trained model)."""
    variant = catalog.find(rec["framework"], rec["variant"])
    if variant is None or variant.accuracy is None:
        return None
    return next((p for p in records(run, "parity") if (p["framework"], p["variant"]) == variant.accuracy), None)


def file_record(run: dict[str, Any], rec: Record) -> Record | None:
    """The conversion record that made the file a timed variant loads (its size, its conversion time)."""
    variant = catalog.find(rec["framework"], rec["variant"])
    if variant is None or variant.conversion is None:
        return None
    return next((c for c in records(run, "conversion") if (c["framework"], c["variant"]) == variant.conversion), None)


def accuracy_interval(parity: Record) -> dict[str, Any]:
    """A digits-model parity record's top-1 agreement and accuracy change with their intervals (Wilson; paired,
    :func:`stats.paired_change_interval`) on its ``n`` images, and whether the change is within noise."""
    n = int(parity["batch_size"] or 0)
    agreement, change = metric(parity, "top1_agreement"), metric(parity, "top1_delta")
    out: dict[str, Any] = {"n": n}
    if agreement is not None and n:
        out["agreement"], out["agreement_ci"] = agreement, stats.wilson_interval(agreement, n)
        if change is not None:
            low, high = stats.paired_change_interval(change, 1 - agreement, n)
            out.update(change=change, change_ci=(low, high), within_noise=low <= 0 <= high)
    return out


def change_text(parity: Record) -> str:
    """``+0.011 [-0.011, +0.033], within noise``: an accuracy change with its interval (or as stored, without)."""
    acc = accuracy_interval(parity)
    if "change_ci" not in acc:
        delta = metric(parity, "top1_delta")
        return f"{delta:+.3f}" if delta is not None else "–"
    low, high = acc["change_ci"]
    return f"{acc['change']:+.3f} [{low:+.3f}, {high:+.3f}]" + (", within noise" if acc["within_noise"] else "")


def edge_pick(run: dict[str, Any]) -> dict[str, Any] | None:
    """The deployable file to pick for a small device, weighing size, speed and accuracy together.

    Candidates: every timed variant that loads an exported file whose size and accuracy change were
    measured. Those that lost more than ``EDGE_MAX_TOP1_LOSS`` top-1 beyond doubt (the whole interval of the
    change below it, :func:`accuracy_interval`) are left out; of the rest, the files
    within ``EDGE_SIZE_TIE`` of the smallest count as equally small, and the one with the lowest median latency is
    the pick (:func:`edge_findings` says, paired by round, whether it is faster than each of the others).
    """
    rows = []
    for rec in batch1(run):
        made, acc = file_record(run, rec), accuracy_record(run, rec)
        size = metric(made, "model_size_mb") if made else None
        delta = metric(acc, "top1_delta") if acc else None
        if size is not None and delta is not None:
            high = accuracy_interval(acc).get("change_ci", (delta, delta))[1]
            rows.append({"record": rec, "size_mb": size, "top1_delta": delta, "top1_delta_high": high,
                         "latency_ms": metric(rec, "latency_ms_p50")})
    kept = [r for r in rows if r["top1_delta_high"] >= -thresholds.EDGE_MAX_TOP1_LOSS]
    if not kept:
        return None
    smallest = min(r["size_mb"] for r in kept)
    tied = [r for r in kept if r["size_mb"] <= smallest * (1 + thresholds.EDGE_SIZE_TIE)]
    pick = min(tied, key=lambda r: r["latency_ms"])
    return {**pick, "tied": [r for r in tied if r is not pick], "considered": len(rows),
            "dropped": [r for r in rows if r not in kept]}


def trust_findings(run: dict[str, Any]) -> list[MD]:
    """What the decision table cannot say: how far the machine let the run time anything worth comparing, and the
    verdicts too noisy to draw (Home prints these under its table)."""
    recs = batch1(run)
    versus = versus_reference(recs)
    noisy = [label(r) for r in recs if stats.too_noisy(versus.get((r["framework"], r["variant"])) or {"verdict": ""})]
    return _machine_lines(run, recs, versus, noisy) + _noisy_lines(noisy)


def _noisy_lines(noisy: list[str]) -> list[MD]:
    if not noisy:
        return []
    return [finding("Caveat", f"{', '.join(noisy)}: too noisy to decide against {catalog.reference().label} (the "
                    f"interval of the per-round ratio is wider than the whole ±{thresholds.printed()['practical']} "
                    "band); more rounds, on a calmer machine, can decide.")]


def inference_findings(run: dict[str, Any]) -> list[MD]:
    """The "which runtime when" lines of a run (Inference page and Home): how far the machine can be trusted,
    the batch-1 pick, INT8, the observations (throughput, start-up, memory), and the verdicts too noisy to draw."""
    recs = batch1(run)
    versus = versus_reference(recs)
    noisy = [label(r) for r in recs if stats.too_noisy(versus.get((r["framework"], r["variant"])) or {"verdict": ""})]
    fp32 = [r for r in recs if r["precision"] == "fp32" and agrees(r)]
    lines = _machine_lines(run, recs, versus, noisy) + _batch1_lines(fp32, versus)
    lines += _int8_lines(run, recs, versus) if fp32 else []
    return lines + _observation_lines(run, recs) + _noisy_lines(noisy)


def _machine_lines(run: dict[str, Any], recs: list[Record], versus: dict[tuple[str, str], dict[str, Any]],
                   noisy: list[str]) -> list[MD]:
    """Whether the machine let the run time anything worth comparing: a profile that shared the CPU by design, a
    disturbed machine, or a reference that drifted from round to round."""
    ref = catalog.reference().label
    lines: list[MD] = []
    at_once = tasks_at_once(run["profile"])
    if at_once > 1:
        lines.append(finding("Not a timing run", f"the {run['profile']['name']} profile ran {at_once} tasks at a "
                             "time to prove every code path quickly, so each measurement shared the CPU with "
                             f"another: no verdict against {ref} is drawn from it. Run the quick profile (or "
                             "longer) for numbers to compare."))
    elif (load := disturbance(run)) and load["disturbed"]:
        undecided = [cmp for cmp in versus.values() if cmp["verdict"] == "inconclusive"]
        lost = sum(1 for cmp in undecided if cmp.get("disturbed"))
        outcome = (f"{len(undecided)} of {len(versus)} verdicts against {ref} are inconclusive"
                   + (f", {lost} of them for want of calm rounds" if lost else "")
                   + ". Rerun on an idle machine to decide them." if undecided
                   else f"every verdict against {ref} still rests on enough calm rounds.")
        steal = f", the hypervisor's steal up to {load['steal']:.0%}" if load["steal"] > 0.01 else ""
        lines.append(finding("Disturbed machine", f"other processes took more than "
                             f"{thresholds.printed()['disturbed']}'s time during {load['disturbed']} of "
                             f"{load['tasks']} inference measurements (up to {load['worst']:.0%} of the "
                             f"machine{steal}). Their rounds are left out of every comparison; {outcome}"))
    elif moved := drift(recs):
        moved_text = (f"{ref}'s batch-1 median moved between {fmt(moved['low'], 'ms')} and "
                      f"{fmt(moved['high'], 'ms')} ms from round to round ({moved['change']:+.0%}, more than "
                      f"{thresholds.printed()['drift']})")
        if moved["machine"]:
            lines.append(finding("Drifting machine", f"{moved_text} although no other process was seen"
                                 + (f", and the other variants' rounds moved as far ({moved['others']:+.0%}, median)"
                                    if moved["others"] is not None else "")
                                 + ": the machine itself changed speed (on a virtual machine, usually its host). "
                                 "Verdicts pair each round's medians, so a change that hits every variant alike "
                                 f"cancels out; {len(noisy)} verdict(s) are too noisy to decide. Rerun on a calmer "
                                 "machine to decide them."))
        else:
            lines.append(finding("Unsteady reference", f"{moved_text}, while the other variants' rounds moved by "
                                 f"{moved['others']:+.0%} (median): more likely {ref} itself running at different "
                                 "speeds in different processes (each round runs in one of its own) than the "
                                 "machine changing speed. Every verdict against it carries that spread, and pairing "
                                 "rounds cannot cancel it; "
                                 f"{len(noisy)} verdict(s) are too noisy to decide. More rounds narrow it."))
    return lines


def _batch1_lines(fp32: list[Record], versus: dict[tuple[str, str], dict[str, Any]]) -> list[MD]:
    """The fp32 variant with the lowest batch-1 median, and whether it is faster than the reference beyond doubt."""
    ref = catalog.reference().label
    lines: list[MD] = []
    if fp32 and versus:
        best = fp32[0]
        cmp = versus.get((best["framework"], best["variant"]))
        if cmp is None:
            lines.append(finding("Batch-1 serving", f"{ref} has the lowest median latency of the fp32 variants that "
                                 f"reproduce the reference logits ({fmt(metric(best, 'latency_ms_p50'), 'ms')} ms)."))
        elif cmp["verdict"] == "faster":
            lines.append(finding("Batch-1 serving", f"{label(best)} serves one image in "
                                 f"{fmt(metric(best, 'latency_ms_p50'), 'ms')} ms, {ratio_text(cmp)} faster "
                                 f"than {ref} ({thresholds.printed()['confidence']} interval over "
                                 f"{cmp['rounds']} rounds, all of it beyond {thresholds.printed()['practical']})."))
        else:
            why = {"tie": f"the whole interval lies within {thresholds.printed()['practical']}",
                   "inconclusive": "one round gives no interval" if cmp["low"] is None
                   else f"the ratio lies near the {thresholds.printed()['practical']} margin"
                   if stats.at_the_margin(cmp) else "the interval is too wide to decide; more rounds can"
                   }.get(cmp["verdict"], "")
            lines.append(finding("Batch-1 serving", f"{label(best)} has the lowest median latency "
                                 f"({fmt(metric(best, 'latency_ms_p50'), 'ms')} ms, {ratio_text(cmp)} against "
                                 f"{ref}), but that is {cmp['verdict']}: {why}."))
    return lines


def _int8_lines(run: dict[str, Any], recs: list[Record], versus: dict[tuple[str, str], dict[str, Any]]) -> list[MD]:
    """The fastest quantized variant with its accuracy change, and any quantized variant slower than the reference."""
    ref = catalog.reference().label
    lines: list[MD] = []
    int8 = [r for r in recs if r["precision"] == "int8"]
    if int8:
        fastest = int8[0]
        acc = accuracy_record(run, fastest)
        accuracy = (f"the same recipe on the trained digits model changed top-1 by {change_text(acc)} "
                    f"({thresholds.printed()['confidence']} interval over {acc['batch_size']} images)"
                    if acc else "its accuracy change was not measured")
        ahead = lead(fastest, int8[1]) if len(int8) > 1 else None
        named = ("the fastest quantized variant" if ahead is None or ahead["verdict"] == "faster"
                 else "the quantized variant with the lowest median latency")
        versus_next = (f" ({ratio_text(ahead)} the speed of the next, {label(int8[1])}: {ahead['verdict']})"
                       if ahead else "")
        lines.append(finding("INT8", MD("{}; {} (see {}).").format(
            f"{named} is {label(fastest)} at {fmt(metric(fastest, 'latency_ms_p50'), 'ms')} ms{versus_next}, "
            f"its logits {fmt(metric(fastest, 'max_abs_diff'), 'abs')} from the float model's", accuracy,
            link("Parity & Conversion", "parity.md"))))
        for r in int8:
            cmp = versus.get((r["framework"], r["variant"]), {})
            if cmp.get("verdict") == "slower":
                lines.append(finding("A quantized variant that is slower", f"{label(r)} runs at "
                                     f"{ratio_text(cmp)} the speed of {ref} on this machine: slower, beyond doubt."))
    return lines


def _observation_lines(run: dict[str, Any], recs: list[Record]) -> list[MD]:
    """What each run measured once (no rounds, so no verdict): the best throughput, the quickest start, the
    smallest memory."""
    lines: list[MD] = []
    sweep = on_run_device(run, [r for r in records(run, "inference") if r["batch_size"] and r["batch_size"] > 1])
    if sweep:  # each variant at its best batch size (a sweep stops where throughput flattens)
        best = max(sweep, key=lambda r: metric(r, "throughput_ips"))
        lines.append(finding("Throughput serving", f"{label(best)} processes the most images, at batch "
                             f"{best['batch_size']} ({fmt(metric(best, 'throughput_ips'))} img/s; each sweep is "
                             "measured once, in the variant's first round: an observation, not a verdict)."))
    startup = on_run_device(run, batch1(run, "startup"))
    if startup:
        quick = startup[0]
        lines.append(finding("Start-up", f"{label(quick)} went from a fresh process to its first result in the "
                             f"least time ({fmt(metric(quick, 'cold_start_s'), 's')} s; one cold start per variant: "
                             "an observation, not a verdict)."))
    if on_device := on_run_device(run, recs):
        lean = min(on_device, key=lambda r: metric(r, "peak_rss_mb") or float("inf"))
        lines.append(finding("Memory", f"{label(lean)} has the smallest peak resident memory at batch 1 "
                             f"({fmt(metric(lean, 'peak_rss_mb'))} MB)."))
    return lines


def edge_findings(run: dict[str, Any]) -> list[MD]:
    """The edge pick as one line for Home."""
    pick = edge_pick(run)
    if pick is None:
        return []
    rec = pick["record"]
    others = []
    for r in pick["tied"]:  # the pick has the lowest median of the equally small files: is it faster than each?
        ahead = lead(rec, r["record"])
        others.append(f"{label(r['record'])} {fmt(r['size_mb'])} MB, {fmt(r['latency_ms'], 'ms')} ms, the pick "
                      f"{ratio_text(ahead)} its speed ({ahead['verdict']})")
    tie = f" Within {thresholds.printed()['edge_tie']} of its size: {'; '.join(others)}." if others else ""
    return [finding("Edge and size", MD("{}{} ({})").format(
        f"of {pick['considered']} exported files timed here, {label(rec)} is the pick: {fmt(pick['size_mb'])} MB, "
        f"{fmt(pick['latency_ms'], 'ms')} ms at batch 1, top-1 change {change_text(accuracy_record(run, rec))} for "
        f"the same recipe on the trained digits model (files that lost more than {thresholds.printed()['edge_loss']} "
        "beyond doubt are left out).",
        tie, link("Parity & Conversion", "parity.md")))]


def accuracy_note(recs: list[Record]) -> dict[str, Any] | None:
    """Did the two frameworks' reference training loops learn the same thing, from the same start?"""
    pair = [next((r for r in recs if (r["framework"], r["variant"]) == (v.framework, v.name)), None)
            for v in catalog.training_references()]
    if len(pair) != 2 or None in pair:
        return None
    first, second = pair
    top1 = metric(first, "final_top1"), metric(second, "final_top1")
    start = metric(first, "initial_loss"), metric(second, "initial_loss")
    return {"torch_top1": top1[0], "keras_top1": top1[1], "gap": abs(top1[0] - top1[1]),
            "comparable": abs(top1[0] - top1[1]) <= thresholds.COMPARABLE_TOP1, "limit": thresholds.COMPARABLE_TOP1,
            "torch_start": start[0], "keras_start": start[1], "start_gap": abs(start[0] - start[1]),
            "first": first, "second": second}


def keras_backends_note(recs: list[Record]) -> list[dict[str, Any]]:
    """Keras on its other backends against Keras on TensorFlow, each with the TensorFlow training of the same length
    (epochs and images: a speed probe with a probe, a full run with a full run) and precision: top-1 and first-batch
    loss side by side, comparable when both learned (:func:`did_not_learn`) and their top-1 values lie within
    ``COMPARABLE_TOP1``. One row per such record."""
    ok = [r for r in recs if r["status"] == "ok"]
    references = {(v.framework, v.name) for v in catalog.training_references()}

    def length(r: Record) -> tuple[Any, ...]:
        return r["settings"].get(Setting.EPOCHS), r["settings"].get(Setting.TRAIN_IMAGES), r["precision"]

    rows = []
    for rec in ok:
        if catalog.keras_backend(rec["framework"]) in (None, "tensorflow"):
            continue
        same = [r for r in ok if catalog.keras_backend(r["framework"]) == "tensorflow" and length(r) == length(rec)]
        # TensorFlow's reference loop first (the plain graph), then its other variants (XLA)
        tf = min(same, key=lambda r: (r["framework"], r["variant"]) not in references, default=None)
        if tf is None:
            continue
        gap = abs(metric(rec, "final_top1") - metric(tf, "final_top1"))
        learned = not did_not_learn(rec) and not did_not_learn(tf)
        rows.append({"record": rec, "tensorflow": tf, "gap": gap, "learned": learned,
                     "comparable": learned and gap <= thresholds.COMPARABLE_TOP1,
                     "start_gap": abs(metric(rec, "initial_loss") - metric(tf, "initial_loss"))})
    return rows


def did_not_learn(rec: Record) -> str | None:
    """Why an ok training record did not learn (:func:`thresholds.learning_problem`: loss above its first batch's,
    or top-1 near chance), else None. Its speed is shown, but enters no comparison, pick or Scorecard cell."""
    if rec["status"] != "ok" or None in (metric(rec, m) for m in ("initial_loss", "final_loss", "final_top1")):
        return None
    return thresholds.learning_problem(metric(rec, "initial_loss"), metric(rec, "final_loss"),
                                       metric(rec, "final_top1"), rec["settings"].get(Setting.CLASSES))


def learned(recs: list[Record]) -> list[Record]:
    """The training records that may be compared: those that learned (:func:`did_not_learn`); for data-parallel
    scaling, a framework only where both its 1-worker and its N-worker training learned."""
    failed = {r["framework"] for r in recs if r["scenario"] == "training-scaling" and did_not_learn(r)}
    return [r for r in recs if not did_not_learn(r) and not (r["scenario"] == "training-scaling"
                                                             and r["framework"] in failed)]


def not_learned_text(recs: list[Record]) -> str:
    """``X did not learn (why)`` for each of ``recs`` that did not (a batch-size run named with its batch),
    joined; "" when all learned."""
    def who(r: Record) -> str:
        return training_label(r) + (f" at batch {r['batch_size']}" if r["scenario"] == "training-batch" else "")

    return "; ".join(f"{who(r)} did not learn ({did_not_learn(r)})" for r in recs if did_not_learn(r))


def training_label(rec: Record) -> str:
    """A training record's name as the pages print it: runtime (variant)."""
    return f"{name(rec['framework'])} ({rec['variant']})"


def training_findings(run: dict[str, Any]) -> list[MD]:
    """The Home page's training lines: speed of the two reference loops, whether they learned alike, and
    data-parallel scaling."""
    note = accuracy_note([r for r in records(run, "training") if "train_loss" in r["samples"]])
    if note is None:
        return [finding("Training", "not measured by this run (it needs both PyTorch and TensorFlow).")]
    return [_reference_line(note), *_scaling_lines(records(run, "training-scaling"))]


def _reference_line(note: dict[str, Any]) -> MD:
    """The two reference loops: their speed ratio and whether they learned alike; no ratio where one did not
    learn."""
    if not_learned := not_learned_text([note["first"], note["second"]]):
        return finding("Training", MD("{} {}").format(
            f"{not_learned}: a training that learned nothing did not do the other's job, so their speeds are not "
            "compared.", link("Training", "training.md")))
    fast, slow = sorted((note["first"], note["second"]), key=lambda r: -metric(r, "train_throughput_ips"))
    ratio = metric(fast, "train_throughput_ips") / metric(slow, "train_throughput_ips")
    margin = thresholds.printed()["margin"]
    verdict = (f"{training_label(fast)} trained {ratio:.2f}x as fast as {training_label(slow)} in this run's one "
               "training of each (a single measurement: an observation, not a verdict)"
               if ratio >= thresholds.SIGNIFICANCE_FACTOR
               else f"{training_label(fast)} and {training_label(slow)} trained at about the same speed "
                    f"(within {margin})")
    accuracy = ("both reached comparable accuracy" if note["comparable"] else
                f"their accuracies differ by more than {thresholds.printed()['top1']}, so weigh the speed against "
                "the curves")
    return finding("Training", MD("{} {}").format(
        f"{verdict} ({fmt(metric(fast, 'train_throughput_ips'))} vs {fmt(metric(slow, 'train_throughput_ips'))} "
        f"img/s at batch {fast['batch_size']}); {accuracy} (top-1 {note['torch_top1']:.3f} vs "
        f"{note['keras_top1']:.3f}).", link("Training", "training.md")))


def _scaling_lines(every: list[Record]) -> list[MD]:
    """Data-parallel scaling of each framework whose workers learned; the others named with why."""
    lines = []
    if not_learned := not_learned_text(every):
        lines.append(finding("Data-parallel training", f"{not_learned}: its scaling is not compared."))
    scaling = [r for r in learned(every) if metric(r, "scaling_efficiency") is not None]
    if scaling:
        parts = "; ".join(f"{name(r['framework'])} {metric(r, 'scaling_efficiency'):.2f} "
                          f"({scaling_speedup(r):.2f}x the throughput of 1 worker{scaling_note(r)})" for r in scaling)
        once = all((r["settings"].get(Setting.ROUNDS) or 1) == 1 for r in scaling)
        workers = scaling[0]["settings"][Setting.WORKERS]
        lines.append(finding("Data-parallel training", f"with {workers} workers on this "
                             f"machine, scaling efficiency {parts}{'; one run each' if once else ''}."))
    return lines


ENERGY_METRICS = ("energy_j_per_image", "energy_j_per_epoch")
INFERENCE_WORK = ("inference", "threads")  # the scenarios whose timed loops read the energy counters
TRAINING_WORK = ("training", "training-batch")


def energy_status(run: dict[str, Any], scenarios: tuple[str, ...]) -> dict[str, str | None]:
    """Per device the run's ``scenarios`` measured on (``cpu``, ``cuda``): None where a record of it has an energy
    figure, else why none has: the reason the run recorded once (``machine["energy"]``, see
    :func:`reportgen.measure.energy.probe`)."""
    devices = {r["device"] for s in scenarios for r in records(run, s) if r["device"] in energy.COUNTER}
    probe = run["machine"].get("energy")
    status: dict[str, str | None] = {}
    for device in sorted(devices):
        if any(m in r["metrics"] for s in scenarios for r in records(run, s) if r["device"] == device
               for m in ENERGY_METRICS):
            status[device] = None
        elif not isinstance(probe, dict):
            status[device] = "this run was stored before reportgen read energy counters"
        else:
            entry = probe.get(energy.COUNTER[device]) or {}
            status[device] = str(entry.get("reason") or (
                f"{entry.get('counter', 'its counter')} was readable when the run started, but the measuring "
                "processes read no energy"))
    return status


def energy_unmeasured(run: dict[str, Any], scenarios: tuple[str, ...]) -> str | None:
    """``Energy not measured: <reason>.``, one line for the devices whose work has no energy figure (never an
    estimate in its place); None where every device's has one."""
    missing = {d: why.rstrip(". ") for d, why in energy_status(run, scenarios).items() if why}
    if not missing:
        return None
    if len(missing) == 1:
        return f"Energy not measured: {next(iter(missing.values()))}."
    return "Energy not measured: " + "; ".join(f"{energy.COUNTER_NAMES[energy.COUNTER[d]]}: {why}"
                                              for d, why in missing.items()) + "."


def energy_method(recs: list[Record]) -> str | None:
    """What the energy figures of ``recs`` count (their counters' methods), or None where none has one."""
    methods = dict.fromkeys(r["settings"][Setting.ENERGY]["method"] for r in recs
                            if Setting.ENERGY in r["settings"] and any(m in r["metrics"] for m in ENERGY_METRICS))
    return "; ".join(methods) or None


def scaling_speedup(rec: Record) -> float:
    """How many times the throughput of one worker a data-parallel record's N workers reached (efficiency x N)."""
    return metric(rec, "scaling_efficiency") * rec["settings"][Setting.WORKERS]


def scaling_note(rec: Record) -> str:
    """``: a slowdown`` where N workers were slower than one (efficiency under 1/N), else nothing: an efficiency
    of 0.4 reads like a partial gain, but with 2 workers it is a loss."""
    return ": a slowdown" if scaling_speedup(rec) < 1 else ""


def run_changes(base: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    """Per batch-1 variant measured in both runs: how ``new`` compares with ``base`` (speed-up > 1: faster)."""
    old = {(r["framework"], r["variant"], r["precision"]): r for r in batch1(base)}
    rows = []
    for rec in batch1(new):
        before = old.get((rec["framework"], rec["variant"], rec["precision"]))
        if before is not None:
            rows.append({"label": label(rec), "before_ms": metric(before, "latency_ms_p50"),
                         "after_ms": metric(rec, "latency_ms_p50"),
                         **stats.unpaired_speedup(round_medians(before), round_medians(rec))})
    return rows


def history_changes(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Changes beyond doubt between successive complete runs of one machine (oldest first in ``runs``)."""
    done = [r for r in runs if r["status"] == "complete"]
    found = []
    for base, new in zip(done, done[1:], strict=False):
        for change in run_changes(base, new):
            if change["verdict"] in ("faster", "slower"):
                found.append({**change, "base": base["run_id"], "new": new["run_id"]})
    return found


def timed_model(run: dict[str, Any]) -> str:
    """The model the Inference page times, as the run's profile set it, e.g. ``224x224, 1000-class``."""
    settings = run["profile"]["inference"]
    return f"{settings['image_size']}x{settings['image_size']}, {settings['num_classes']}-class"


def browser_rows(run: dict[str, Any]) -> list[dict[str, Any]]:
    """The browser runtime's records (the trained digits model, not the timed one), each with the
    Python ONNX Runtime record timed on the same file in the same task, and how many times slower it ran."""
    recs = records(run, "browser")
    rows = []
    for variant in catalog.BROWSER:
        web = next((r for r in recs if (r["framework"], r["variant"]) == (catalog.BROWSER_RUNTIME, variant.name)), None)
        if web is None:
            continue
        python = next((r for r in recs if (r["framework"], r["variant"]) == ("onnxruntime", variant.python)), None)
        ratio = None
        if python is not None and metric(python, "latency_ms_p50"):
            ratio = metric(web, "latency_ms_p50") / metric(python, "latency_ms_p50")
        rows.append({"variant": variant, "record": web, "python": python, "slower": ratio,
                     "agrees": agrees(web)})
    return rows


def serving_rows(run: dict[str, Any]) -> list[dict[str, Any]]:
    """Each served variant's LoadGen figures: its Server record (the capacity at the bound and every probe) beside
    its SingleStream and Offline records, highest capacity first."""
    by_variant: dict[tuple[str, str, str], dict[str, Record]] = {}
    for rec in records(run, "serving"):
        key = (rec["framework"], rec["variant"], rec["device"])
        by_variant.setdefault(key, {})[rec["settings"].get(Setting.LOADGEN_SCENARIO, "")] = rec
    rows = [{"server": parts["Server"], "single": parts.get("SingleStream"), "offline": parts.get("Offline")}
            for parts in by_variant.values() if "Server" in parts]
    return sorted(rows, key=lambda row: -(metric(row["server"], "serving_capacity_qps") or 0.0))


def serving_bound_ms(rows: list[dict[str, Any]]) -> float | None:
    """The latency bound of a run's Server searches (one per run: the profile's), or None without any."""
    bounds = {row["server"]["settings"].get(Setting.LATENCY_BOUND_MS) for row in rows} - {None}
    return next(iter(bounds)) if len(bounds) == 1 else None


def serving_findings(run: dict[str, Any]) -> list[MD]:
    """Home's "Serving within N ms" line: the variant that answered the most Poisson requests a second with its
    p99 within the bound, and the runner-up; one search each, so an observation."""
    rows = [row for row in serving_rows(run) if on_device(run, row["server"])]
    bound = serving_bound_ms(rows)
    if not rows or bound is None:
        return []
    title = f"Serving within {bound:g} ms"
    best = rows[0]["server"]
    if not metric(best, "serving_capacity_qps"):
        return [finding(title, MD("{} (see {}).").format(
            f"none of the {len(rows)} variant(s) served kept its {thresholds.printed()['serving_percentile']} "
            f"latency within {bound:g} ms at any rate tried (MLPerf LoadGen, Server scenario)",
            link("Serving", "serving.md")))]
    after = (f"; next {label(rows[1]['server'])} at {fmt(metric(rows[1]['server'], 'serving_capacity_qps'))}"
             if len(rows) > 1 else "")
    return [finding(title, MD("{} (MLPerf LoadGen Server scenario, Poisson arrivals; one short search per variant: "
                              "an observation, not a verdict, and not MLPerf-valid; see {}).").format(
        f"{label(best)} answered the most requests, {fmt(metric(best, 'serving_capacity_qps'))} a second with "
        f"{thresholds.printed()['serving_percentile']} latency within the bound{after}",
        link("Serving", "serving.md")))]
