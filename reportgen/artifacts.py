"""Names of the files that one task leaves in a run's artifacts folder for the next."""

WEIGHTS_FILE = "weights.npz"  # the PyTorch reference state_dict as numpy arrays, torchvision key names
ONNX_FILE = "resnet18.onnx"  # the reference model exported to ONNX with a dynamic batch dimension
REFERENCE_OUTPUTS = "reference-logits.npy"  # the reference model's logits on the fixed check batch

