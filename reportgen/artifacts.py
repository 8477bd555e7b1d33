"""Names of every file that a task leaves in a run's artifacts folder (paths relative to it).

The inference benchmark's model (ResNet-18, the profile's classes and image size) in every format that a
runtime loads: the preparing tasks write them, the measuring tasks read them. The digits model (10 classes,
32x32, trained by the conversion scenario) in every format a converter makes: the conversion tasks write
them, the parity check and the browser read them. The training scenario's shared initial weights and the
data-parallel runs' job, result and log files. Each task's log.
"""

WEIGHTS_FILE = "weights.npz"  # the PyTorch reference state_dict as numpy arrays, torchvision key names
REFERENCE_OUTPUTS = "reference-logits.npy"  # the reference model's logits on the fixed check batch
ONNX_FILE = "resnet18.onnx"  # exported from PyTorch, dynamic batch
KERAS_ONNX_FILE = "resnet18-from-keras.onnx"  # exported from Keras by tf2onnx, NHWC input
ORT_INT8_FILES = {"int8-static": "resnet18-int8-static.onnx", "int8-dynamic": "resnet18-int8-dynamic.onnx"}
TFLITE_FILES = {"fp32": "resnet18.tflite", "int8-dynamic": "resnet18-int8-dynamic.tflite",
                "int8-full": "resnet18-int8-full.tflite"}
OPENVINO_FILES = {"fp32": "resnet18-openvino.xml", "int8": "resnet18-openvino-int8.xml"}  # IR: each .xml has a .bin

DIGITS_CLASSES, DIGITS_IMAGE_SIZE = 10, 32  # what every digits file holds: a 10-class model of 32x32 images
DIGITS_MODEL = "resnet18, 10 classes, 32x32, trained on digits"  # how a conversion record names it
DIGITS_FOLDER = "conversion"
DIGITS_WEIGHTS = f"{DIGITS_FOLDER}/trained.npz"  # the trained PyTorch state_dict, torchvision key names
DIGITS_DATA = f"{DIGITS_FOLDER}/data.npz"  # x_eval, y_eval (NCHW) and x_calib, all from the digits
DIGITS_REFERENCE = f"{DIGITS_FOLDER}/reference.npy"  # the trained PyTorch model's logits on x_eval
DIGITS_LOGITS = f"{DIGITS_FOLDER}/logits"  # <runtime>-<candidate>.npy: each parity candidate's logits on x_eval
DIGITS_ONNX = f"{DIGITS_FOLDER}/resnet18-from-torch.onnx"  # exported from the trained PyTorch model
DIGITS_KERAS_ONNX = f"{DIGITS_FOLDER}/resnet18-from-keras.onnx"  # exported from Keras by tf2onnx, NHWC input
DIGITS_ORT_INT8 = {"int8-static": f"{DIGITS_FOLDER}/resnet18-int8-static.onnx",
                   "int8-dynamic": f"{DIGITS_FOLDER}/resnet18-int8-dynamic.onnx"}  # quantized by ONNX Runtime
DIGITS_TORCH = {"torchscript": f"{DIGITS_FOLDER}/resnet18.torchscript.pt",
                "torch.export": f"{DIGITS_FOLDER}/resnet18.pt2",
                "int8": f"{DIGITS_FOLDER}/resnet18-int8.pt"}  # the int8 one: the quantized module's state_dict
DIGITS_SAVEDMODEL = f"{DIGITS_FOLDER}/resnet18-savedmodel"  # a directory
DIGITS_TFLITE = {"tflite": f"{DIGITS_FOLDER}/resnet18.tflite",
                 "tflite-int8-dynamic": f"{DIGITS_FOLDER}/resnet18-int8-dynamic.tflite",
                 "tflite-int8-full": f"{DIGITS_FOLDER}/resnet18-int8-full.tflite"}
DIGITS_OPENVINO = {"ir": f"{DIGITS_FOLDER}/resnet18-openvino.xml",  # IR: each .xml has a .bin
                   "ir-from-torch": f"{DIGITS_FOLDER}/resnet18-openvino-from-torch.xml",
                   "int8": f"{DIGITS_FOLDER}/resnet18-openvino-int8.xml"}

TRAINING_FOLDER = "training"
TRAINING_INITIAL = f"{TRAINING_FOLDER}/initial-weights.npz"  # the untrained state_dict all training variants start from
LOGS_FOLDER = "logs"  # <task>.task.json / .records.json / .log of each task's process


def scaling_file(framework: str, workers: int, kind: str) -> str:
    """A data-parallel training run's file: ``kind`` is ``job`` or ``result`` (JSON), or ``worker<rank>`` (its log)."""
    suffix = "log" if kind.startswith("worker") else "json"
    return f"{TRAINING_FOLDER}/{kind}-{framework}-{workers}.{suffix}"
