"""Convert ResNet-18 to OpenVINO's format (IR: an ``.xml`` graph beside a ``.bin`` of weights).

From the ONNX file the PyTorch model exported, or straight from the PyTorch module.
"""

import openvino as ov
import torch


# --8<-- [start:from-onnx]
def convert_onnx(source: str, target: str) -> ov.Model:
    """Read an ONNX file into an OpenVINO model (its dynamic batch dimension stays dynamic) and save it as IR."""
    model = ov.convert_model(source)
    # save_model stores the weights as float16 unless told otherwise: keep float32 weights for an fp32 model
    ov.save_model(model, target, compress_to_fp16=False)
    return model
# --8<-- [end:from-onnx]


# --8<-- [start:from-torch]
def convert_torch(module: torch.nn.Module, target: str, image_size: int) -> ov.Model:
    """Convert a PyTorch module directly: OpenVINO traces it on an example input (no ONNX file in between)."""
    example = torch.zeros(1, 3, image_size, image_size)
    model = ov.convert_model(module.eval(), example_input=example, input=[-1, 3, image_size, image_size])
    ov.save_model(model, target, compress_to_fp16=False)
    return model
# --8<-- [end:from-torch]
