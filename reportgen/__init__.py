"""reportgen: a measured ResNet-18 comparison of PyTorch, TensorFlow/Keras and ONNX Runtime."""

__version__ = "0.1.0"
