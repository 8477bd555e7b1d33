"""Topic 10, Keras: export ResNet-18 three ways with the benchmark's exporters, then load each
file as a server would and check that it answers like the model, at any batch size."""

import tempfile
from pathlib import Path

import numpy as np
import tensorflow as tf

from reportgen.workloads.export.from_keras import export_onnx, export_savedmodel, export_tflite
from reportgen.workloads.inference.predict_onnxruntime import load_session
from reportgen.workloads.inference.predict_onnxruntime import predict as predict_onnx
from reportgen.workloads.inference.predict_tflite import load_interpreter
from reportgen.workloads.inference.predict_tflite import predict as predict_tflite
from reportgen.workloads.models.resnet_keras import build_resnet18


# --8<-- [start:serve]
def load_for_serving(directory: Path) -> dict[str, object]:
    """Each exported file, loaded without the Python code that built the model."""
    return {
        # what TensorFlow Serving loads
        "savedmodel": tf.saved_model.load(str(directory / "resnet18")),
        # LiteRT (TFLite): phones and edge devices
        "tflite": load_interpreter(str(directory / "resnet18.tflite"), threads=2),
        # ONNX Runtime: no TensorFlow needed
        "onnx": load_session(str(directory / "resnet18.onnx"), threads=2),
    }


def logits(served: object, images: np.ndarray) -> np.ndarray:
    """The same call for every runtime: NHWC float32 images in, logits out."""
    if hasattr(served, "serve"):  # a SavedModel written by model.export()
        return served.serve(tf.constant(images)).numpy()
    if hasattr(served, "invoke"):  # a LiteRT / TFLite interpreter
        return predict_tflite(served, images)
    return predict_onnx(served, images)  # an onnxruntime.InferenceSession (NHWC)
# --8<-- [end:serve]


def main() -> None:
    model = build_resnet18(10, input_shape=(32, 32, 3))
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        export_savedmodel(model, str(directory / "resnet18"))
        export_tflite(model, str(directory / "resnet18.tflite"))
        export_onnx(model, str(directory / "resnet18.onnx"))
        served = load_for_serving(directory)
        # --8<-- [start:signature]
        # the entry point TensorFlow Serving calls
        signature = served["savedmodel"].signatures["serving_default"]
        # --8<-- [end:signature]
        assert list(signature.structured_outputs) == ["output_0"]
        for batch in (1, 5):  # the batch dimension stays dynamic in every format
            images = np.random.default_rng(batch).normal(size=(batch, 32, 32, 3)).astype("float32")
            expected = model(images, training=False).numpy()
            for name, runtime in served.items():
                np.testing.assert_allclose(logits(runtime, images), expected, atol=1e-4, err_msg=name)
    print("SavedModel, TFLite and ONNX agree with the Keras model at batch 1 and 5")


if __name__ == "__main__":
    main()
