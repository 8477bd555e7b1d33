"""Training one variant in this process: thread pools, the data set, the shared initial weights, the loop."""

from __future__ import annotations

from typing import Any

import numpy as np

from reportgen.artifacts import TRAINING_INITIAL
from reportgen.measure import energy
from reportgen.process.runner import Context


def recipe_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """The recipe part of the profile's training settings (the fields of ``Recipe``)."""
    keys = ("epochs", "batch_size", "optimizer", "learning_rate", "momentum", "weight_decay", "schedule")
    return {k: settings[k] for k in keys}


def load_data(ctx: Context, probe: bool = False):
    """The run's training data set (the same images, split and order in every task); a ``probe`` (a speed
    probe, data-parallel scaling) takes the first ``probe_images`` of them where the profile sets it."""
    from reportgen.workloads.data.datasets import load_dataset

    s = ctx.profile["training"]
    return load_dataset(s["dataset"], s["image_size"], seed=ctx.seed, max_train=train_images_limit(s, probe))


def train_images_limit(settings: dict[str, Any], probe: bool) -> int:
    """How many training images a task takes (0: all): ``max_train_images``, and for a probe at most
    ``probe_images`` (runs stored before the setting: no limit of their own)."""
    limits = [n for n in (settings["max_train_images"], settings.get("probe_images", 0) if probe else 0) if n]
    return min(limits, default=0)


def setup(framework: str, threads: int, device: str) -> None:
    """Thread pools, seed and visible devices of ``framework`` in this process, before it builds anything."""
    if framework == "torch":
        import torch

        torch.set_num_threads(threads)
        torch.set_num_interop_threads(1)
        torch.manual_seed(0)
    elif framework != "tensorflow":  # Keras on another backend: its backend module sets KERAS_BACKEND first
        from reportgen.backends import framework_module

        framework_module(framework).setup(threads, device)
    else:
        import tensorflow as tf

        from reportgen.backends.tensorflow_backend import use_device

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
        use_device(device)


def _torch_model(ctx: Context, num_classes: int, save: bool):
    from reportgen.workloads.models.resnet_torch import build_resnet18, load_state_numpy, state_dict_numpy

    model = build_resnet18(num_classes, seed=ctx.seed)
    path = ctx.artifacts / TRAINING_INITIAL
    if save:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, **state_dict_numpy(model))
    elif path.exists():
        with np.load(path) as state:
            load_state_numpy(model, dict(state))
    return model


def _keras_model(ctx: Context, num_classes: int, image_size: int):
    from reportgen.workloads.models.resnet_keras import build_resnet18, load_torch_state

    model = build_resnet18(num_classes, input_shape=(image_size, image_size, 3))
    if (ctx.artifacts / TRAINING_INITIAL).exists():
        with np.load(ctx.artifacts / TRAINING_INITIAL) as state:
            load_torch_state(model, dict(state))
    return model


def peak_gpu_mb(framework: str, device: str) -> float | None:
    """Peak GPU memory of this process in MB; None on CPU."""
    if device != "cuda":
        return None
    if framework in ("torch", "keras-torch"):
        import torch

        return torch.cuda.max_memory_allocated() / 2**20
    if framework == "keras-jax":
        import jax

        return (jax.local_devices()[0].memory_stats() or {}).get("peak_bytes_in_use", 0) / 2**20
    import tensorflow as tf

    return tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20


def train(framework: str, variant: str, ctx: Context, data, recipe, save_initial: bool = False):
    """Train one variant from the shared initial weights; returns its History, with ``epoch_energy`` added: one
    :class:`~reportgen.measure.energy.Interval` per epoch, from the end of the previous epoch (or the start of
    the training) to the end of this one's validation (None where the device's counter cannot be read), which
    :func:`~reportgen.scenarios.training.records.history_record` reads."""
    image_size, num_classes = ctx.profile["training"]["image_size"], len(data.classes)
    meter, laps = energy.Meter.open(ctx.device), []

    def on_epoch(_) -> None:
        laps.append(meter.lap())

    if framework == "torch":
        import torch

        from reportgen.workloads.training.train_torch import train

        if ctx.device == "cuda":
            torch.cuda.reset_peak_memory_stats()
        model = _torch_model(ctx, num_classes, save=save_initial)
        amp = {"amp-fp16": torch.float16, "amp-bf16": torch.bfloat16}.get(variant)
        meter.begin()
        history = train(model, data, recipe, image_size, device=ctx.device, compile=variant == "compile", amp=amp,
                        seed=ctx.seed, on_epoch=on_epoch)
    else:
        import keras

        from reportgen.workloads.training.train_keras import train

        policy = {"mixed-fp16": "mixed_float16", "mixed-bf16": "mixed_bfloat16"}.get(variant)
        if policy:
            keras.mixed_precision.set_global_policy(policy)
        model = _keras_model(ctx, num_classes, image_size)
        meter.begin()
        # TensorFlow: graph or XLA as the variant says; the other backends: Keras's default (XLA on JAX, eager on
        # PyTorch), which the record names (``keras_jit_compile``)
        jit_compile = variant == "xla" if framework == "tensorflow" else "auto"
        history = train(model, data, recipe, image_size, jit_compile=jit_compile, seed=ctx.seed, on_epoch=on_epoch)
        history.keras_jit_compile = model.jit_compile
    history.epoch_energy = laps
    return history
