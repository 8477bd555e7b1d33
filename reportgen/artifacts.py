"""Names of the files that one task leaves in a run's artifacts folder for the next."""

WEIGHTS_FILE = "weights.npz"  # the PyTorch reference state_dict as numpy arrays, torchvision key names
ONNX_FILE = "resnet18.onnx"  # the reference model exported to ONNX with a dynamic batch dimension
OUTPUTS_DIR = "outputs"  # logits of the fixed check batch, one .npy per framework/variant
REFERENCE_OUTPUTS = f"{OUTPUTS_DIR}/reference.npy"  # the same logits from the PyTorch reference model


def check_outputs_name(framework: str, variant: str) -> str:
    """Where a task leaves the logits of the check batch, relative to the artifacts folder."""
    return f"{OUTPUTS_DIR}/{framework}-{variant}.npy"
