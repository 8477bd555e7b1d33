"""PyTorch: inference (eager, channels-last, torch.compile, and AMP: fp16 on CUDA, bf16 on CUDA or CPU), the
reference model every runtime loads, and the digits model's PyTorch exports and INT8 quantization."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from reportgen import catalog
from reportgen.artifacts import (
    DIGITS_CLASSES,
    DIGITS_DATA,
    DIGITS_IMAGE_SIZE,
    DIGITS_ONNX,
    DIGITS_REFERENCE,
    DIGITS_TORCH,
    DIGITS_WEIGHTS,
    ONNX_FILE,
    REFERENCE_OUTPUTS,
    WEIGHTS_FILE,
)
from reportgen.hardware import has_bf16
from reportgen.inputs import check_images
from reportgen.store.records import Setting
from reportgen.store.results import make_record
from reportgen.workloads.inference import predict_torch

if TYPE_CHECKING:
    from reportgen.process.runner import Context
    from reportgen.scenarios.conversion import Converter


class TorchBackend:
    """torchvision's ResNet-18 with the reference weights: eager, compiled, or under autocast."""

    def __init__(self, variant: str, threads: int, device: str) -> None:
        torch.set_num_threads(threads)
        if torch.get_num_interop_threads() != 1:  # settable once per process (a shared one set it already)
            torch.set_num_interop_threads(1)
        self.variant, self.device = variant, device
        self.model: Any = None
        if device == "cuda":
            torch.cuda.reset_peak_memory_stats()

    def thread_settings(self) -> dict[str, Any]:
        settings = {"torch.intra_op": torch.get_num_threads(), "torch.inter_op": torch.get_num_interop_threads()}
        if self.device == "cuda":  # fp32 convolutions on TF32 tensor cores (PyTorch's default) move logits ~1e-3
            settings |= {"tf32": torch.backends.cudnn.allow_tf32,
                         "torch.matmul_precision": torch.get_float32_matmul_precision()}
        return settings

    def load(self, state: dict[str, np.ndarray], artifacts: str, num_classes: int, image_size: int) -> None:
        model = predict_torch.load_model(state, num_classes, self.device)
        if self.variant == "channels-last":
            model = predict_torch.to_channels_last(model)
        if self.variant == "compile":
            model = predict_torch.compile_model(model)
        self.model = model

    def to_input(self, images_nchw: np.ndarray) -> torch.Tensor:
        images = torch.from_numpy(images_nchw).to(self.device)
        return images.to(memory_format=torch.channels_last) if self.variant == "channels-last" else images

    def predict(self, inputs: torch.Tensor) -> torch.Tensor:
        if self.variant.startswith("amp-"):
            dtype = torch.float16 if self.variant == "amp-fp16" else torch.bfloat16
            return predict_torch.predict_mixed(self.model, inputs, dtype)
        return predict_torch.predict(self.model, inputs)

    def sync(self, outputs: torch.Tensor) -> None:
        if self.device == "cuda":
            torch.cuda.synchronize()

    def to_numpy(self, outputs: torch.Tensor) -> np.ndarray:
        return outputs.float().cpu().numpy()

    def peak_gpu_mem_mb(self) -> float | None:
        return torch.cuda.max_memory_allocated() / 2**20 if self.device == "cuda" else None


def make_backend(variant: str, threads: int, device: str) -> TorchBackend:
    """The backend of a PyTorch variant (:class:`reportgen.backends.Backend`)."""
    return TorchBackend(variant, threads, device)


def export_inference_model(conv: Converter, ctx: Context) -> None:
    """The reference: build torchvision's ResNet-18 from the run's seed, save its weights (every runtime loads
    them) and its logits on the check batch, count parameters and MACs, and export ONNX."""
    from torch.utils.flop_counter import FlopCounterMode

    from reportgen.workloads.export.from_torch import export_onnx
    from reportgen.workloads.models.resnet_torch import build_resnet18, state_dict_numpy

    torch.set_num_threads(ctx.threads)
    settings = ctx.profile["inference"]
    size, classes = settings["image_size"], settings["num_classes"]
    model = build_resnet18(classes, seed=ctx.seed).eval()
    np.savez(conv.path(WEIGHTS_FILE), **state_dict_numpy(model))
    with torch.inference_mode():
        np.save(conv.path(REFERENCE_OUTPUTS), model(torch.from_numpy(check_images(ctx.seed, size))).numpy())
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        model(torch.zeros(1, 3, size, size))  # counts the multiply-adds of every conv and matmul it runs
    conv.records.append(make_record(
        "model", "torch", "resnet18", device=ctx.device,
        metrics={"params_trainable": sum(p.numel() for p in model.parameters() if p.requires_grad),
                 "params_total": sum(t.numel() for k, t in model.state_dict().items() if "num_batches" not in k),
                 "macs": counter.get_total_flops() / 2},
        settings={Setting.NUM_CLASSES: classes, Setting.IMAGE_SIZE: size,
                  Setting.MACS_METHOD: "torch.utils.flop_counter.FlopCounterMode / 2"},
    ))
    conv.attempt("onnx-for-inference", ONNX_FILE, lambda p: export_onnx(model, str(p), size))


def convert_digits(conv: Converter, ctx: Context) -> None:
    """Train the digits model every conversion starts from (saving its weights, the evaluation and calibration
    images and its logits: the reference), then export it to ONNX, TorchScript and ``torch.export`` and
    quantize it to INT8; on a CPU with bfloat16 instructions also run it under bf16 autocast."""
    from reportgen.workloads.data.datasets import load_dataset
    from reportgen.workloads.data.pipeline_torch import AugmentedImages, make_loaders
    from reportgen.workloads.export import from_torch
    from reportgen.workloads.models.resnet_torch import build_resnet18, state_dict_numpy
    from reportgen.workloads.quantize.torch_int8 import quantize_int8
    from reportgen.workloads.training.recipe import Recipe
    from reportgen.workloads.training.train_torch import predict_logits, train

    torch.set_num_threads(ctx.threads)
    settings = ctx.profile["conversion"]
    data = load_dataset("digits", seed=ctx.seed)
    _, val_loader = make_loaders(data, DIGITS_IMAGE_SIZE, batch_size=1)
    x_eval = torch.cat([images for images, _ in val_loader]).numpy()
    y_eval = data.val_labels
    plain = AugmentedImages(data.train_images, data.train_labels, data.mean, data.std, DIGITS_IMAGE_SIZE)
    x_calib = torch.stack([plain[i][0] for i in range(settings["calibration_images"])]).numpy()
    model = build_resnet18(DIGITS_CLASSES, seed=ctx.seed)
    recipe = Recipe(epochs=settings["train_epochs"], batch_size=settings["train_batch_size"],
                    learning_rate=settings["learning_rate"])
    history = train(model, data, recipe, DIGITS_IMAGE_SIZE, seed=ctx.seed)
    model.eval()
    state = state_dict_numpy(model)
    np.savez(conv.path(DIGITS_WEIGHTS), **state)
    np.savez(conv.path(DIGITS_DATA), x_eval=x_eval, y_eval=y_eval, x_calib=x_calib)
    reference = predict_logits(model, x_eval)
    np.save(conv.path(DIGITS_REFERENCE), reference)
    conv.records.append(make_record(
        "training", "torch", catalog.DIGITS_REFERENCE, batch_size=recipe.batch_size,
        metrics={"final_top1": float((reference.argmax(1) == y_eval).mean()),
                 "epoch_time_s": float(np.mean([e.train_time_s for e in history.epochs]))},
        settings={Setting.PURPOSE: "the model every conversion starts from", Setting.EPOCHS: recipe.epochs,
                  Setting.LOSSES: [e.train_loss for e in history.epochs], Setting.TRAIN_IMAGES: len(data.train_labels),
                  Setting.EVAL_IMAGES: len(y_eval), Setting.AUGMENTATION: "random crop (padding 4) + horizontal flip"},
    ))

    def run_torch(module: torch.nn.Module, path: Path) -> np.ndarray:
        with torch.inference_mode():
            return module(torch.from_numpy(x_eval)).numpy()

    conv.attempt("onnx", DIGITS_ONNX, lambda p: from_torch.export_onnx(model, str(p), DIGITS_IMAGE_SIZE))
    conv.attempt("torchscript", DIGITS_TORCH["torchscript"],
                 lambda p: from_torch.export_torchscript(model, str(p), DIGITS_IMAGE_SIZE), ("torch", run_torch))
    conv.attempt("torch.export", DIGITS_TORCH["torch.export"],
                 lambda p: from_torch.export_program(model, str(p), DIGITS_IMAGE_SIZE), ("torch", run_torch))

    def quantize(path: Path) -> torch.nn.Module:
        quantized = quantize_int8(state, DIGITS_CLASSES, x_calib)
        torch.save(quantized.state_dict(), path)
        return quantized

    conv.attempt("int8", DIGITS_TORCH["int8"], quantize, ("torch", run_torch))
    if has_bf16():
        conv.save_logits("torch", "amp-bf16", lambda: predict_torch.predict_mixed(
            model, torch.from_numpy(x_eval), torch.bfloat16).float().numpy())
