"""Export a PyTorch model to ONNX with a dynamic batch dimension."""

import torch


def export_onnx(model: torch.nn.Module, path: str, image_size: int) -> None:
    """Trace ``model`` with ``torch.export`` and write a self-contained ONNX file.

    The batch dimension stays symbolic, so one file serves batch 1 and batch 128 alike.
    """
    example = torch.randn(1, 3, image_size, image_size)
    batch = torch.export.Dim("batch")
    torch.onnx.export(
        model.eval(),
        (example,),
        path,
        dynamo=True,
        input_names=["images"],
        output_names=["logits"],
        dynamic_shapes={"x": {0: batch}},
        external_data=False,
    )
