"""Export a PyTorch model: to ONNX, to TorchScript, and to a ``torch.export`` program."""

import torch


def example_input(image_size: int) -> torch.Tensor:
    """Two NCHW images: exporters trace the model on an example, and ``torch.export`` treats a batch of
    one as a constant, which would defeat the dynamic batch dimension."""
    return torch.randn(2, 3, image_size, image_size)


# --8<-- [start:onnx]
def export_onnx(model: torch.nn.Module, path: str, image_size: int) -> None:
    """Write a self-contained ONNX file whose batch dimension stays symbolic (batch 1 and 128 alike)."""
    torch.onnx.export(
        model.eval(),
        (example_input(image_size),),
        path,
        dynamo=True,
        input_names=["images"],
        output_names=["logits"],
        dynamic_shapes={"x": {0: torch.export.Dim("batch")}},
        external_data=False,
    )
# --8<-- [end:onnx]


# --8<-- [start:torchscript]
def export_torchscript(model: torch.nn.Module, path: str, image_size: int) -> torch.jit.ScriptModule:
    """Trace the model into TorchScript, which C++ (libtorch) and TorchServe can load without Python code."""
    scripted = torch.jit.trace(model.eval(), example_input(image_size))
    scripted.save(path)
    return torch.jit.load(path)
# --8<-- [end:torchscript]


# --8<-- [start:program]
def export_program(model: torch.nn.Module, path: str, image_size: int) -> torch.nn.Module:
    """Capture the model as a ``torch.export`` program (the graph format of PyTorch 2) and save it."""
    batch = torch.export.Dim("batch", min=1, max=1024)
    program = torch.export.export(model.eval(), (example_input(image_size),), dynamic_shapes={"x": {0: batch}})
    torch.export.save(program, path)
    return torch.export.load(path).module()
# --8<-- [end:program]
