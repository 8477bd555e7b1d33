"""Post-training static INT8 quantization in PyTorch (eager mode, x86 backend).

``torch.ao.quantization`` still works in torch 2.x but is deprecated in favour of torchao and the PT2E
flow; torchvision's quantizable ResNet-18 has the quant/dequant stubs and the fusable blocks it needs.
"""

import numpy as np
import torch
from torchvision.models.quantization import resnet18 as quantizable_resnet18

from reportgen.workloads.models.resnet_torch import load_state_numpy


# --8<-- [start:int8]
def quantize_int8(state: dict[str, np.ndarray], num_classes: int, calibration: np.ndarray) -> torch.nn.Module:
    """An INT8 ResNet-18 with the given float weights, activation ranges observed on ``calibration``."""
    torch.backends.quantized.engine = "x86"
    model = quantizable_resnet18(weights=None, quantize=False, num_classes=num_classes)
    load_state_numpy(model, state)
    model.eval()
    model.fuse_model()  # conv + bn + relu -> one quantized op
    model.qconfig = torch.ao.quantization.get_default_qconfig("x86")
    torch.ao.quantization.prepare(model, inplace=True)
    with torch.inference_mode():
        model(torch.from_numpy(calibration))  # observers record activation ranges
    return torch.ao.quantization.convert(model)
# --8<-- [end:int8]
