"""Post-training INT8 quantization of an OpenVINO model with NNCF, calibrated on real images."""

import nncf
import numpy as np
import openvino as ov


# --8<-- [start:int8]
def quantize_int8(source: str, target: str, calibration: np.ndarray) -> ov.Model:
    """INT8 weights and activations: NNCF inserts quantize/dequantize pairs (FakeQuantize) whose activation
    ranges it measures on ``calibration`` (NCHW images, fed one at a time) and fixes them in the saved IR."""
    model = ov.Core().read_model(source)
    dataset = nncf.Dataset(calibration, lambda image: image[None])  # each item -> the model's input
    quantized = nncf.quantize(model, dataset, subset_size=len(calibration))
    ov.save_model(quantized, target, compress_to_fp16=False)
    return quantized
# --8<-- [end:int8]
