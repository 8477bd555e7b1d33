"""Topic 10, PyTorch: export ResNet-18 three ways with the benchmark's exporters, then load each
file as a server would and check that it answers like the model, at any batch size."""

import tempfile
from pathlib import Path

import numpy as np
import torch

from reportgen.workloads.export.from_torch import export_onnx, export_program, export_torchscript
from reportgen.workloads.inference.predict_onnxruntime import load_session
from reportgen.workloads.inference.predict_onnxruntime import predict as predict_onnx
from reportgen.workloads.models.resnet_torch import build_resnet18


# --8<-- [start:serve]
def load_for_serving(directory: Path) -> dict[str, object]:
    """Each exported file, loaded without the Python class that defined the model."""
    return {
        # the graph format of PyTorch 2
        "torch.export": torch.export.load(directory / "resnet18.pt2").module(),
        # what TorchServe and libtorch (C++) load
        "torchscript": torch.jit.load(directory / "resnet18.ts"),
        # ONNX Runtime: no PyTorch needed
        "onnx": load_session(str(directory / "resnet18.onnx"), threads=2),
    }


@torch.inference_mode()
def logits(served: object, images: torch.Tensor) -> np.ndarray:
    """The same call for every runtime: NCHW float32 images in, logits out."""
    if isinstance(served, torch.nn.Module):
        return served(images).numpy()
    return predict_onnx(served, images.numpy())  # an onnxruntime.InferenceSession
# --8<-- [end:serve]


def main() -> None:
    model = build_resnet18(num_classes=10).eval()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        export_onnx(model, str(directory / "resnet18.onnx"), image_size=32)
        export_torchscript(model, str(directory / "resnet18.ts"), image_size=32)
        export_program(model, str(directory / "resnet18.pt2"), image_size=32)
        served = load_for_serving(directory)
        for batch in (1, 5):  # traced at batch 2: the batch dimension stayed dynamic
            images = torch.randn(batch, 3, 32, 32)
            with torch.inference_mode():
                expected = model(images).numpy()
            for name, runtime in served.items():
                np.testing.assert_allclose(logits(runtime, images), expected, atol=1e-4, err_msg=name)
        sizes = {p.name: round(p.stat().st_size / 2**20, 1) for p in sorted(directory.iterdir())}
    print(f"exports agree with the eager model at batch 1 and 5; sizes (MB): {sizes}")


if __name__ == "__main__":
    main()
