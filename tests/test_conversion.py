"""Conversions: a failing converter is recorded and the next one still runs; parity metrics are right."""

from pathlib import Path

import numpy as np
import pytest

from reportgen.artifacts import DIGITS_DATA, DIGITS_FOLDER, DIGITS_LOGITS, DIGITS_REFERENCE
from reportgen.process.runner import Context
from reportgen.scenarios import conversion, parity


@pytest.fixture
def ctx(tmp_path: Path) -> Context:
    (tmp_path / DIGITS_FOLDER).mkdir()
    rng = np.random.default_rng(0)
    np.savez(tmp_path / DIGITS_DATA, x_eval=rng.standard_normal((6, 3, 32, 32), dtype=np.float32),
             y_eval=np.array([0, 1, 2, 0, 1, 2]), x_calib=rng.standard_normal((2, 3, 32, 32), dtype=np.float32))
    return Context(artifacts=tmp_path, threads=1, device="cpu", seed=0, profile={})


def test_a_failed_conversion_is_recorded_and_the_next_one_runs(ctx: Context) -> None:
    conv = conversion.Converter(conversion.TASKS[1], ctx)

    def broken(path: Path) -> None:
        raise RuntimeError("unsupported op: FancyConv")

    def works(path: Path) -> str:
        path.write_bytes(b"x" * 2_000_000)
        return "model"

    assert conv.attempt("tflite", "conversion/a.tflite", broken, ("tflite", lambda m, p: np.zeros(1))) is None
    assert conv.attempt("savedmodel", "conversion/b", works, ("tensorflow", lambda m, p: np.ones((6, 3)))) == "model"
    failed, ok = conv.records
    assert failed["status"] == "failed" and failed["metrics"]["convert_ok"]["value"] == 0
    assert failed["reason"] == "conversion failed: RuntimeError: unsupported op: FancyConv"
    assert failed["settings"]["converter"] == "tf.lite.TFLiteConverter.from_keras_model"  # from the catalog
    assert ok["status"] == "ok" and ok["metrics"]["convert_ok"]["value"] == 1
    assert ok["metrics"]["model_size_mb"]["value"] == 2.0 and ok["settings"]["file"] == "b"
    assert not (ctx.artifacts / DIGITS_LOGITS / "tflite-tflite.npy").exists()
    assert np.load(ctx.artifacts / DIGITS_LOGITS / "tensorflow-savedmodel.npy").shape == (6, 3)


def test_a_conversion_the_catalog_does_not_declare_is_a_programming_error(ctx: Context) -> None:
    conv = conversion.Converter(conversion.TASKS[0], ctx)
    with pytest.raises(KeyError, match="not in the catalog"):
        conv.attempt("onnx-int4", "x.onnx", lambda p: None)


def test_a_conversion_whose_result_does_not_run_is_failed_but_converted(ctx: Context) -> None:
    conv = conversion.Converter(conversion.TASKS[0], ctx)

    def crash(model: object, path: Path) -> np.ndarray:
        raise ValueError("bad input shape")

    conv.attempt("int8", "q.pt", lambda p: p.write_bytes(b"q"), ("torch", crash))
    (rec,) = conv.records
    assert rec["status"] == "failed" and rec["metrics"]["convert_ok"]["value"] == 1
    assert "running it in torch failed: ValueError: bad input shape" in rec["reason"]
    assert rec["precision"] == "int8"


def test_parity_metrics() -> None:
    reference = np.array([[3.0, 1.0], [0.0, 2.0], [1.0, 0.0]])
    labels = np.array([0, 1, 1])  # the reference gets 2 of 3 right
    same = parity.compare(reference, reference + 1e-6, labels)
    assert same["max_abs_diff"] == pytest.approx(1e-6) and same["top1_agreement"] == 1.0 and same["top1_delta"] == 0
    flipped = parity.compare(reference, np.array([[3.0, 1.0], [0.0, 2.0], [0.0, 1.0]]), labels)
    assert flipped["top1_agreement"] == pytest.approx(2 / 3) and flipped["top1_delta"] == pytest.approx(1 / 3)


def test_parity_records_come_from_saved_logits(ctx: Context) -> None:
    logits = np.eye(3)[[0, 1, 2, 0, 1, 2]].astype(np.float32)
    np.save(ctx.artifacts / DIGITS_REFERENCE, logits)
    (ctx.artifacts / DIGITS_LOGITS).mkdir()
    np.save(ctx.artifacts / DIGITS_LOGITS / "tflite-tflite-int8-full.npy", np.roll(logits, 1, axis=1))
    (rec,) = parity.compare_outputs(ctx)
    assert (rec["framework"], rec["variant"], rec["precision"]) == ("tflite", "tflite-int8-full", "int8")
    assert rec["batch_size"] == 6 and rec["settings"]["reference_top1"] == 1.0
    assert rec["metrics"]["top1_delta"]["value"] == pytest.approx(-1.0)


def test_timed_int8_models_are_calibrated_on_the_runs_own_images(tmp_path) -> None:
    from reportgen.config import PROFILES, profile_settings
    from reportgen.inputs import CALIBRATION_IMAGES, calibration_images

    profile = profile_settings(PROFILES["quick"])
    images, described = calibration_images(profile, 0)
    size = profile["inference"]["image_size"]
    assert images.shape == (CALIBRATION_IMAGES, 3, size, size) and images.dtype == "float32"
    assert abs(float(images.mean())) < 0.05 and abs(float(images.std()) - 1) < 0.05  # the timed inputs' scale
    assert described.startswith(f"{CALIBRATION_IMAGES} training images of digits")
    profile["training"]["dataset"] = f"folder:{tmp_path / 'missing'}"  # unloadable here: random, and it says so
    assert calibration_images(profile, 0)[1].startswith(f"{CALIBRATION_IMAGES} random")
