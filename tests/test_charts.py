"""Chart styles: no chart is read by colour alone, and log axes are labelled at round numbers."""

from reportgen.report.charts import DASHES, MARKERS, PATTERNS, Styles, color, log_ticks


def test_each_series_looks_different_within_its_frameworks_hue() -> None:
    styles = Styles()
    torch = [styles.line("torch", f"PyTorch ({v})") for v in ("eager", "compile", "channels-last")]
    keras = styles.line("tensorflow", "TensorFlow/Keras (graph)")
    assert {s["line"]["color"] for s in torch} == {color("torch")} != {keras["line"]["color"]}
    assert [s["line"]["dash"] for s in torch] == list(DASHES[:3])  # each variant its own dash in the hue
    markers = [s["marker"]["symbol"] for s in [*torch, keras]]
    assert markers == list(MARKERS[:4])  # and each series of the chart its own marker, across frameworks too
    assert [s["legendgrouptitle_text"] for s in [*torch, keras]] == ["PyTorch", None, None, "TensorFlow/Keras"]
    assert styles.line("torch", "PyTorch (compile)") == torch[1]  # asked again: the same look


def test_bars_of_series_that_are_no_framework_get_a_pattern_each() -> None:
    styles = Styles()
    bars = [styles.series(m) for m in ("box-a", "box-b", "box-c")]
    assert [b["marker"]["pattern"]["shape"] for b in bars] == list(PATTERNS[:3])
    assert len({b["marker"]["color"] for b in bars}) == 3
    assert styles.series("part", colour="#123456")["marker"]["color"] == "#123456"


def test_log_ticks_are_round_numbers_within_the_data() -> None:
    assert log_ticks([3.0, 40.0, 900.0])["ticktext"] == ["5", "10", "20", "50", "100", "200", "500", "1000"]
    narrow = log_ticks([9.2, 34.5])  # less than a decade: finer round steps, still at least three labels
    assert narrow["ticktext"] == ["10", "15", "20", "30"]
    assert log_ticks([14.0, 14.3]) == {"type": "log"}  # no round number fits: plotly's own labels
    assert log_ticks([]) == {"type": "log"}
