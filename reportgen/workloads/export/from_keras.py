"""Export a Keras model: to ONNX (tf2onnx), to a SavedModel, and to TFLite (float and INT8)."""

from collections.abc import Iterator

import numpy as np
import tensorflow as tf
import tf2onnx


# --8<-- [start:onnx]
def export_onnx(model: tf.keras.Model, path: str) -> None:
    """Convert with tf2onnx; the batch dimension stays dynamic (``None`` in the signature)."""
    signature = [tf.TensorSpec((None, *model.input_shape[1:]), tf.float32, name="images")]
    tf2onnx.convert.from_keras(model, input_signature=signature, opset=17, output_path=path)
# --8<-- [end:onnx]


# --8<-- [start:savedmodel]
def export_savedmodel(model: tf.keras.Model, directory: str) -> None:
    """Write a SavedModel for TensorFlow Serving; its ``serve`` endpoint runs inference."""
    model.export(directory, format="tf_saved_model", verbose=False)
# --8<-- [end:savedmodel]


# --8<-- [start:tflite]
def export_tflite(model: tf.keras.Model, path: str, quantize: str = "none",
                  calibration: np.ndarray | None = None) -> None:
    """Convert to TFLite. ``quantize``: ``none`` (float32), ``dynamic`` (INT8 weights, float activations),
    or ``full`` (INT8 weights and activations, ranges calibrated on ``calibration`` NHWC images)."""
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if quantize in ("dynamic", "full"):
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantize == "full":
        def representative() -> Iterator[list[np.ndarray]]:
            for image in calibration:
                yield [image[None]]

        converter.representative_dataset = representative
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    with open(path, "wb") as fh:
        fh.write(converter.convert())
# --8<-- [end:tflite]
