"""The machine's GEMM roofs: every library that sets its own threads gives a roof per precision and thread count."""

import html
from pathlib import Path

import pytest

from reportgen import hardware
from reportgen.config import get_profile, profile_settings
from reportgen.process.runner import Context
from reportgen.scenarios import roof


@pytest.mark.parametrize("library", ["torch", "onnxruntime", "openvino"])
def test_a_library_gives_its_roof_per_precision_at_both_thread_counts(library: str, tmp_path: Path) -> None:
    """OpenVINO joined the roofs when its products outran the others' (and batch-1 networks outran the roof)."""
    pytest.importorskip(library)
    smoke = profile_settings(get_profile("smoke"))
    ctx = Context(artifacts=tmp_path, threads=2, device="cpu", seed=0, profile=smoke)
    (task,) = [t for t in roof.plan() if t.framework == library]
    records = roof.run_task(task, ctx)
    bf16 = bool(hardware.cpu_flags() & set(hardware.BF16_FLAGS))
    expected = {(p, n) for p in roof.PRECISIONS[library] for n in (2, 1) if p != "bf16" or bf16}
    assert {(r["precision"], r["settings"]["threads"]) for r in records} == expected
    for rec in records:
        assert rec["status"] == "ok" and rec["metrics"]["gemm_gflops"]["value"] > 0
        if library == "openvino":  # the kernel that ran, read back: INT8 is a u8 x i8 product, not f32
            expected = {"fp32": " f32 ", "bf16": " bf16 ", "int8": " u8 "}[rec["precision"]]
            assert expected in rec["settings"]["kernel"] or (rec["precision"] == "int8" and " i8 " in
                                                              rec["settings"]["kernel"]), rec["settings"]["kernel"]
        sizes = smoke["roof"]["sizes" if (rec["precision"], rec["settings"]["threads"]) == ("fp32", 2) else
                              "extra_sizes"]
        assert set(rec["settings"]["gflops_per_size"]) == {str(s) for s in sizes}


EPYC = frozenset({"sse2", "avx", "avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni"})  # a Zen 5 EPYC's flags
XEON_AMX = EPYC | {"amx_tile", "amx_bf16", "amx_int8", "avx_vnni"}


def test_the_peak_comes_from_the_maximum_clock_and_the_widest_units() -> None:
    """The peak printed from the nominal 2.60 GHz (332 GFLOP/s at 2 cores) was beaten by a 508 roof: the clock is
    the CPU's maximum now, and the operations per cycle the most a core with those units can do."""
    top = roof.peak("fp32", 2, EPYC, (4121.0, "cpuinfo_max_freq"))
    assert top["gflops"] == pytest.approx(2 * 4.121 * 64, abs=0.1) and top["ops_per_cycle"] == 64
    assert "4.12 GHz (maximum, cpuinfo_max_freq)" in top["formula"] and top["gflops"] > 524  # both roofs seen
    assert roof.peak("bf16", 2, EPYC, (4121.0, "lscpu"))["ops_per_cycle"] == 128
    assert roof.peak("int8", 2, EPYC, (4121.0, "lscpu"))["ops_per_cycle"] == 256
    # AMX tiles outrun the vectors: an upper bound counts them
    assert roof.ops_per_cycle("bf16", XEON_AMX) == (1024, "AMX tiles")
    assert roof.ops_per_cycle("int8", XEON_AMX) == (2048, "AMX tiles")
    assert roof.ops_per_cycle("fp32", XEON_AMX)[0] == 64
    assert roof.ops_per_cycle("fp32", frozenset({"fp", "asimd"}))[0] == 32  # 4 NEON units x 4 lanes x 2
    assert roof.ops_per_cycle("fp32", frozenset({"sse2", "avx", "avx2", "fma"}))[0] == 32
    assert roof.ops_per_cycle("bf16", frozenset({"sse2", "avx", "avx2", "fma"})) is None  # no bf16 instructions
    assert roof.ops_per_cycle("fp32", frozenset()) is None  # flags unknown: no rate to bound anything with
    assert roof.peak("fp16", 2, XEON_AMX, (4000.0, "lscpu")) is None


def test_without_a_maximum_clock_the_peak_is_unknown_and_the_roof_implies_a_clock() -> None:
    """These VMs report no maximum clock (no cpufreq, no "CPU max MHz"): no peak, and the clock that the measured
    roof needs instead (508 GFLOP/s on 2 cores of 64 FLOP/cycle: 3.97 GHz)."""
    top = roof.peak("fp32", 2, EPYC, None)
    assert top["gflops"] is None and top["unknown"] == roof.PEAK_UNKNOWN
    assert roof.PEAK_UNKNOWN == "peak unknown: the clock this CPU runs at is not reported"
    assert roof.implied_ghz(508.0, top) == pytest.approx(3.97, abs=0.01)


def gemm(library: str, precision: str, threads: int, gflops: float, top: dict | None = None,
         **settings: object) -> dict:
    return {"scenario": "machine", "framework": library, "variant": roof.VARIANTS[precision], "device": "cpu",
            "precision": precision, "batch_size": None, "status": "ok", "reason": None,
            "metrics": {"gemm_gflops": {"value": gflops, "unit": "GFLOP/s"}}, "samples": {},
            "settings": {"threads": threads, "precision": precision, "gflops_per_size": {"1024": gflops},
                         **({"peak": top} if top else {}), **settings}}


def test_the_page_prints_a_peak_only_where_it_bounds_every_roof() -> None:
    from reportgen.report.pages import inference

    known = roof.peak("fp32", 2, EPYC, (4121.0, "cpuinfo_max_freq"))
    low = roof.peak("fp32", 2, EPYC, (2600.0, "lscpu"))  # a reported maximum the roof outruns
    unknown = roof.peak("fp32", 2, EPYC, None)
    roofs = [gemm("onnxruntime", "fp32", 2, 508.0, known), gemm("openvino", "fp32", 2, 524.0, known)]
    assert html.unescape(inference._roof_table(roofs)).count("| 528 |") == 2  # both rows: 2 x 4.121 GHz x 64 = 527.5
    assert "The theoretical peak, an upper bound" in inference._peak_text(roofs, 2)
    wrong = [gemm("onnxruntime", "fp32", 2, 508.0, low), gemm("openvino", "fp32", 2, 524.0, low)]
    assert "wrong: below the measured roof" in html.unescape(inference._roof_table(wrong))
    assert "332.8" not in html.unescape(inference._roof_table(wrong))
    said = inference._peak_text(wrong, 2)
    assert "is below the measured fp32 roof (524 GFLOP/s, openvino), so it is wrong" in said and "332" not in said
    hidden = [gemm("onnxruntime", "fp32", 2, 508.0, unknown), gemm("openvino", "fp32", 2, 524.0, unknown)]
    assert "unknown (the roof implies ≥ 4.09 GHz)" in html.unescape(inference._roof_table(hidden))
    text = inference._peak_text(hidden, 2)
    assert text.startswith("Peak unknown: the clock this CPU runs at is not reported") and "4.09 GHz" in text
    # a run stored before: its peak used the nominal clock, so it is not shown
    old = [gemm("onnxruntime", "fp32", 2, 508.0, peak_gflops=332.3, peak_formula="2 core(s) x 2.60 GHz x 64")]
    assert "332" not in html.unescape(inference._roof_table(old)) and "no upper bound" in inference._peak_text(old, 2)


def timed(framework: str, variant: str, precision: str, fraction: float, **settings: object) -> dict:
    return {"scenario": "inference", "framework": framework, "variant": variant, "device": "cpu",
            "precision": precision, "batch_size": 1, "status": "ok", "reason": None,
            "metrics": {"roof_fraction": {"value": fraction, "unit": "fraction"}}, "samples": {},
            "settings": {"thread_count": 2, **settings}}


def test_a_variant_above_its_roof_is_named_with_the_reason() -> None:
    from reportgen.report.pages import inference

    roofs = [gemm("onnxruntime", "int8", 2, 300.0), gemm("openvino", "int8", 2, 330.0),
             gemm("onnxruntime", "fp32", 2, 500.0)]
    lines = inference._over_roof([timed("openvino", "int8", "int8", 1.04), timed("tflite", "int8-full", "int8", 1.09),
                                  timed("onnxruntime", "from-torch", "fp32", 0.9),
                                  timed("openvino", "bf16", "bf16", 1.19, tasks_at_once=2)], roofs)
    assert len(lines) == 3
    assert lines[0].startswith("OpenVINO (int8) at 2 thread(s): 104% of the int8 roof; OpenVINO's own int8 GEMM")
    assert "no TFLite GEMM is among the int8 roofs" in lines[1]
    assert "timed beside other tasks" in lines[2]


def test_openvino_int8_joins_the_int8_roof() -> None:
    """OpenVINO INT8 ran at 100-111% of ONNX Runtime's MatMulInteger: every library whose kernels a variant runs on
    measures that variant's precision, and the best of them is the roof."""
    from reportgen import catalog
    from reportgen.scenarios.efficiency import add_efficiency

    for v in catalog.VARIANTS:
        if v.runtime in roof.PRECISIONS and not v.cuda_only and v.precision != "fp16":
            assert v.precision in roof.PRECISIONS[v.runtime], (v.runtime, v.name)
    model = {"scenario": "model", "metrics": {"macs": {"value": 1.82e9}}}
    ov = timed("openvino", "int8", "int8", 0.0)
    ov["metrics"] = {"throughput_ips": {"value": 90.0}}  # 328 GOP/s
    records = add_efficiency([model, gemm("onnxruntime", "int8", 2, 300.0), gemm("openvino", "int8", 2, 330.0), ov])
    assert records[-1]["metrics"]["roof_fraction"]["value"] == pytest.approx(90 * 2 * 1.82 / 330, rel=1e-6)


def test_a_product_not_run_in_the_precision_asked_is_no_roof(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuses(a: object, b: object, threads: int, precision: str) -> roof.Gemm:
        raise roof.NotAsAsked(f"ran the {precision} product in f32")

    monkeypatch.setitem(roof.LIBRARIES, "openvino", refuses)
    monkeypatch.setattr(hardware, "cpu_flags", lambda: frozenset())
    smoke = profile_settings(get_profile("smoke"))
    ctx = Context(artifacts=tmp_path, threads=2, device="cpu", seed=0, profile=smoke)
    task = roof.Task(key="machine/gemm/openvino", module=roof.__name__, scenario="machine", framework="openvino",
                     variant=roof.VARIANT, label="roof", params={"device": "cpu"})
    records = roof.run_task(task, ctx)
    assert {r["status"] for r in records} == {"skipped"} and {r["precision"] for r in records} == {"fp32", "int8"}
    assert all("in f32" in r["reason"] for r in records)
