"""Post-training INT8 quantization with ONNX Runtime: dynamic, and static with a calibration set."""

import numpy as np
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_dynamic, quantize_static


# --8<-- [start:calibration]
class _Images(CalibrationDataReader):
    """Feeds calibration images one at a time under the model's input name."""

    def __init__(self, images: np.ndarray, input_name: str = "images") -> None:
        self.batches = iter([{input_name: image[None]} for image in images])

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self.batches, None)
# --8<-- [end:calibration]


# --8<-- [start:dynamic]
def quantize_int8_dynamic(source: str, target: str) -> None:
    """INT8 weights; activations quantized on the fly at run time (no calibration needed)."""
    quantize_dynamic(source, target, weight_type=QuantType.QInt8)
# --8<-- [end:dynamic]


# --8<-- [start:static]
def quantize_int8_static(source: str, target: str, calibration: np.ndarray, input_name: str = "images") -> None:
    """INT8 weights and activations in QDQ format, activation ranges calibrated on ``calibration``."""
    quantize_static(source, target, _Images(calibration, input_name), quant_format=QuantFormat.QDQ,
                    activation_type=QuantType.QInt8, weight_type=QuantType.QInt8)
# --8<-- [end:static]
