"""The report's own words, each explained once: one line, printed where a page first uses the word, with a
link to the section of the Methodology page that gives the whole rule.

Templates call ``terms("interval", "verdict")`` (a Jinja global); the thresholds in the lines come from
:mod:`reportgen.thresholds`, like every other number a page prints about its rules.
"""

from __future__ import annotations

from dataclasses import dataclass

from reportgen import thresholds
from reportgen.report.escape import MD


@dataclass(frozen=True)
class Term:
    """A term the pages use, with the line that explains it and the Methodology section it links."""
    words: str  # as the pages print them (trusted Markdown)
    line: str  # the explanation: trusted Markdown, with {confidence}-style thresholds filled in
    anchor: str  # the Methodology section (an id docs/methodology.md declares)


TERMS = {
    "interval": Term("interval, `[low, high]`, ±x%",
                     "the range that holds the true speed-up (or median) with {confidence} confidence, from the "
                     "spread across independent rounds; one round gives none", "verdicts"),
    "verdict": Term("faster, slower, tie, inconclusive",
                    "*faster* or *slower* only when the whole interval lies beyond ±{practical}; a *tie* when it "
                    "lies within ±{practical}; *inconclusive* when it straddles that margin (more rounds can decide)",
                    "verdicts"),
    "noisy": Term("too noisy ⚠",
                  "an inconclusive verdict whose interval is wider than the whole ±{practical} band: the rounds "
                  "disagree by more than the difference being judged; more rounds on a calmer machine can decide "
                  "(a narrow interval that straddles ±{practical} is not noise: the ratio is near the margin)",
                  "noisy"),
    "roof": Term("roof, of roof",
                 "the fastest matrix product measured on this machine in a variant's precision (fp32, bf16, "
                 "INT8) and thread count; *of roof* is the variant's G(FL)OP/s as a share of it (over 100%: "
                 "the roof is too low)",
                 "roof"),
    "for-inference": Term("-for-inference",
                          "a file of the model the Inference page times (random weights), made by the same "
                          "converter as the trained model's file of the same name; listed apart, never counted "
                          "twice in success rates", "for-inference"),
}


def explain(*keys: str) -> MD:
    """The lines of ``keys`` as one block of Markdown, each ending in a link to its Methodology section."""
    printed = thresholds.printed()
    lines = [MD("**" + TERMS[k].words + "**: ") + MD(TERMS[k].line.format(**printed))
             + MD(" ([Methodology](methodology.md#" + TERMS[k].anchor + "))") for k in keys]
    return MD('<p class="rg-terms" markdown>\n') + MD("<br>\n").join(lines) + MD("\n</p>")
