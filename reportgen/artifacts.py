"""Names of the files that one task leaves in a run's artifacts folder for the next.

The inference benchmark's model (ResNet-18, the profile's classes and image size) in every format that a
runtime loads; the preparing tasks write them, the measuring tasks read them.
"""

WEIGHTS_FILE = "weights.npz"  # the PyTorch reference state_dict as numpy arrays, torchvision key names
REFERENCE_OUTPUTS = "reference-logits.npy"  # the reference model's logits on the fixed check batch
ONNX_FILE = "resnet18.onnx"  # exported from PyTorch, dynamic batch
KERAS_ONNX_FILE = "resnet18-from-keras.onnx"  # exported from Keras by tf2onnx, NHWC input
ORT_INT8_FILES = {"int8-static": "resnet18-int8-static.onnx", "int8-dynamic": "resnet18-int8-dynamic.onnx"}
TFLITE_FILES = {"fp32": "resnet18.tflite", "int8-dynamic": "resnet18-int8-dynamic.tflite",
                "int8-full": "resnet18-int8-full.tflite"}
OPENVINO_FILES = {"fp32": "resnet18-openvino.xml", "int8": "resnet18-openvino-int8.xml"}  # IR: each .xml has a .bin

# The model trained on the digits (10 classes, 32x32) by the conversion scenario, in the formats a browser loads.
DIGITS_ONNX = "conversion/resnet18-from-torch.onnx"  # exported from the trained PyTorch model
DIGITS_ORT_INT8 = {"int8-static": "conversion/resnet18-int8-static.onnx",
                   "int8-dynamic": "conversion/resnet18-int8-dynamic.onnx"}  # quantized by ONNX Runtime
