"""The Scorecard: the table the source articles fill with stars, with a measured number in every cell.

Its rows are Home's questions (:data:`reportgen.report.decisions.QUESTIONS`), in the same scope; a column per
``--frameworks`` family, each cell naming the runtime and variant it shows (TFLite is not TensorFlow). A winner is
marked only where the statistics allow: a paired verdict of "faster" against every other variant in scope, or for
a value measured once, a lead of ``SIGNIFICANCE_FACTOR`` resting on repeated measurements.
"""

from __future__ import annotations

from typing import Any

from reportgen import catalog, thresholds
from reportgen.report import decisions, findings
from reportgen.report.escape import MD, link
from reportgen.report.format import fmt, label, md_table, metric, provenance
from reportgen.store.records import Setting
from reportgen.store.results import LoadedResults

PAGE = "scorecard.md"
FAMILIES = [catalog.display(f) for f in catalog.families()]  # a column per --frameworks family


def _family(framework: str) -> str | None:
    family = catalog.family_of(framework)
    return catalog.display(family) if family else None


def _best(recs: list[dict[str, Any]], metric_name: str, lowest: bool = True) -> dict[str, dict[str, Any]]:
    """Each family's best record by ``metric_name``."""
    best: dict[str, dict[str, Any]] = {}
    for r in recs:
        family, value = _family(r["framework"]), metric(r, metric_name)
        if family is None or value is None:
            continue
        if family not in best or (value < metric(best[family], metric_name)) == lowest:
            best[family] = r
    return best


def _cell(rec: dict[str, Any] | None, metric_name: str, unit: str, winner: bool) -> str:
    if rec is None:
        return "not measured"
    text = f"{fmt(metric(rec, metric_name), unit)} {unit} ({label(rec)})"
    if metric_name == "scaling_efficiency" and findings.scaling_note(rec):
        text += f", a slowdown: {rec['settings'][Setting.WORKERS]} workers slower than 1"
    return MD("**{}** ✓").format(text) if winner else text


def _question_row(run: dict[str, Any], question: decisions.Question, evidence: str) -> list[str]:
    """A question of Home's decision table, one cell per family: its best record in the question's scope."""
    if not question.paired:
        return _simple_row(question.title, question.select(run), question.metric, question.unit, question.lower,
                           evidence)
    best = _best(question.select(run), question.metric, question.lower)
    decision = decisions.decide(run, question)
    winner = decision.pick if decision and decision.verdict == "faster" else None
    return [question.title, *(_cell(best.get(f), question.metric, question.unit, best.get(f) is winner)
                              for f in FAMILIES), evidence]


def _simple_row(title: str, recs: list[dict[str, Any]], metric_name: str, unit: str, lowest: bool,
                evidence: str) -> list[str]:
    """A row whose winner is marked only when it rests on repeated evidence (every best record measured in
    at least 2 rounds) and beats the others by more than the margin; otherwise the row says it has none."""
    best = _best(recs, metric_name, lowest)
    values = {f: metric(r, metric_name) for f, r in best.items()}
    winner = None
    repeated = all(r["settings"].get(Setting.ROUNDS, 1) >= 2 for r in best.values())
    if not repeated and len(values) > 1:
        evidence = MD("{} (measured once: no winner)").format(evidence)
    if repeated and len(values) > 1:
        ranked = sorted(values.items(), key=lambda kv: kv[1], reverse=not lowest)
        first, second = ranked[0][1], ranked[1][1]
        margin = second / first if lowest else first / second
        if margin >= thresholds.SIGNIFICANCE_FACTOR:
            winner = best[ranked[0][0]]
    return [title, *(_cell(best.get(f), metric_name, unit, best.get(f) is winner) for f in FAMILIES), evidence]


def _conversion_row(run: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Each conversion counted once: those of the trained digits model, whose accuracy is checked too (the
    exports of the timed inference model repeat the same converters on another model)."""
    digits = {(c.framework, c.name) for c in catalog.CONVERSIONS if c.model == "digits"}
    conversions = [r for r in run["records"] if r["scenario"] == "conversion" and "convert_ok" in r["metrics"]
                   and (r["framework"], r["variant"]) in digits]
    ok: dict[str, list[str]] = {f: [] for f in FAMILIES}
    tried: dict[str, int] = dict.fromkeys(FAMILIES, 0)
    for r in conversions:
        family = _family(r["framework"])
        if family:
            tried[family] += 1
            if metric(r, "convert_ok") == 1:
                ok[family].append(r["variant"])
    stability = ["Conversion stability (exports and quantizations that succeeded)",
                 *(f"{len(ok[f])} of {tried[f]}" if tried[f] else "not measured" for f in FAMILIES),
                 link("Parity & Conversion", "parity.md")]
    formats = ["Deployment formats produced and checked",
               *(", ".join(sorted(set(ok[f]))) or "none" for f in FAMILIES),
               link("Parity & Conversion", "parity.md")]
    return stability, formats


def context(run: dict[str, Any], loaded: LoadedResults) -> dict[str, Any]:
    """Context of the Scorecard page."""
    stability, formats = _conversion_row(run)
    rows = []
    for question in decisions.QUESTIONS:
        rows.append(_question_row(run, question, MD("{}; {}").format(question.scope, link(*question.evidence))))
    rows += [stability, formats]
    rows = [[MD("{}<br><small>{}</small>").format(row[0], row[-1]), *row[1:-1]] for row in rows]  # scope, evidence
    return {"run": provenance(run), "device": run["options"]["device"],
            "table": md_table(["measure, scope and evidence", *(_breakable(f) for f in FAMILIES)], rows)}


def _breakable(heading: str) -> MD:
    """A column heading that may wrap after a slash ("TensorFlow/Keras"), never inside a word."""
    return MD("/<wbr>").join(MD("{}").format(part) for part in heading.split("/"))
