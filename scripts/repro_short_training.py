"""Why a short Keras training evaluates far worse than PyTorch's from the same start (issue 47), outside the harness.

Trains the quick profile's short task (ResNet-18, digits at 32x32, the first 512 training images, batch 32,
SGD momentum 0.9, learning rate 0.01 on a per-step cosine to zero, weight decay 5e-4, 2 epochs) in both
frameworks from the same initial weights and batch plan, then changes one thing at a time on the Keras side:

- ``keras (the workload)``: ``train_keras.train`` as it is: ``model.fit`` with ``SGDLikePyTorch``, PyTorch's
  update rule (``v = m*v + g + wd*w; w -= lr*v``);
- ``keras, stock SGD``: the same with ``keras.optimizers.SGD`` (``v = m*v - lr*g; w += v``, weight decay decoupled:
  ``w -= lr*wd*w``), what the workload ran before issue 47;
- ``... + PyTorch's momentum``: stock SGD with only the momentum rule swapped (decoupled weight decay kept);
- ``... + PyTorch's weight decay``: stock SGD with only the weight decay swapped (L2 in the gradient).

``--schedule constant`` runs the same rows at a constant learning rate, where the two momentum conventions are
the same arithmetic (Keras's velocity is PyTorch's times -lr).

Usage: ``python scripts/repro_short_training.py [--epochs 2] [--images 512]`` with an interpreter that holds
both torch and tensorflow (``.venv/bin/python``). Prints one table: train and validation loss and top-1 per
epoch for each row.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from dataclasses import fields, replace
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def torch_style_sgd(momentum_convention: bool, coupled_decay: bool):
    """A Keras SGD whose update follows PyTorch's momentum convention and/or weight decay, as asked."""
    import keras
    from keras import ops

    class TorchStyleSGD(keras.optimizers.SGD):
        def __init__(self, learning_rate, momentum: float, weight_decay: float) -> None:
            super().__init__(learning_rate, momentum=momentum, weight_decay=None if coupled_decay else weight_decay)
            self.l2 = weight_decay if coupled_decay else 0.0

        def update_step(self, gradient, variable, learning_rate):
            lr = ops.cast(learning_rate, variable.dtype)
            g = ops.add(ops.cast(gradient, variable.dtype), ops.multiply(variable, self.l2))
            m = self.momentums[self._get_variable_index(variable)]
            if momentum_convention:  # PyTorch: v = m*v + g; w -= lr*v
                self.assign(m, ops.add(ops.multiply(m, self.momentum), g))
                self.assign_sub(variable, ops.multiply(m, lr))
            else:  # Keras: v = m*v - lr*g; w += v
                self.assign(m, ops.subtract(ops.multiply(m, self.momentum), ops.multiply(g, lr)))
                self.assign_add(variable, m)

    return TorchStyleSGD


def run_torch(data, recipe, state, size):
    import torch

    from reportgen.workloads.models.resnet_torch import build_resnet18, load_state_numpy
    from reportgen.workloads.training.train_torch import train

    torch.manual_seed(0)
    model = build_resnet18(len(data.classes))
    load_state_numpy(model, state)
    return train(model, data, recipe, size)


def run_keras(data, recipe, state, size, optimizer=None):
    import keras

    from reportgen.workloads.models.resnet_keras import build_resnet18, load_torch_state
    from reportgen.workloads.training import train_keras

    keras.utils.set_random_seed(0)
    model = build_resnet18(len(data.classes), input_shape=(size, size, 3))
    load_torch_state(model, state)
    make = train_keras.make_optimizer
    if optimizer is not None:
        def pick(recipe, total_steps):
            rate = recipe.learning_rate if recipe.schedule == "constant" else \
                keras.optimizers.schedules.CosineDecay(recipe.learning_rate, decay_steps=total_steps)
            return optimizer(rate, momentum=recipe.momentum, weight_decay=recipe.weight_decay)
        train_keras.make_optimizer = pick
    try:
        history = train_keras.train(model, data, recipe, size)
    finally:
        train_keras.make_optimizer = make
    return history


def _row(name: str, history) -> str:
    cells = [f"{e.train_loss:.2f} / {e.val_loss:.2f} ({e.val_top1:.3f})" for e in history.epochs]
    return f"| {name} | {history.initial_loss:.3f} | " + " | ".join(cells) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--images", type=int, default=512, help="the first N training images (0: all)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--schedule", choices=("cosine", "step", "constant"), default="cosine")
    parser.add_argument("--torch-part", metavar="STATE", help=argparse.SUPPRESS)  # the child: PyTorch's row
    args = parser.parse_args()

    import numpy as np

    from reportgen.config import TrainingSettings
    from reportgen.workloads.data.datasets import load_dataset
    from reportgen.workloads.training.recipe import Recipe

    size = 32
    data = load_dataset("digits", size, seed=0, max_train=args.images)
    defaults = TrainingSettings()  # the quick profile's recipe (its short tasks change only epochs and images)
    recipe = replace(Recipe(**{f.name: getattr(defaults, f.name) for f in fields(Recipe)}), epochs=args.epochs,
                     schedule=args.schedule)
    if args.torch_part:  # torch and tensorflow crash when both load in one process: PyTorch trains in a child
        import torch

        from reportgen.workloads.models.resnet_torch import build_resnet18, state_dict_numpy

        torch.set_num_threads(args.threads)
        state = state_dict_numpy(build_resnet18(len(data.classes), seed=0))
        np.savez(args.torch_part, **state)
        print(_row("torch", run_torch(data, recipe, state, size)), flush=True)
        return

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    print(f"{len(data.train_labels)} training images, {len(data.val_labels)} validation, {recipe}")
    print("| run | first batch loss | " + " | ".join(f"ep {e + 1} train loss / val loss (top-1)"
                                                     for e in range(args.epochs)) + " |")
    print("|---|---|" + "---|" * args.epochs, flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        initial = Path(tmp) / "initial.npz"
        subprocess.run([sys.executable, __file__, "--epochs", str(args.epochs), "--images", str(args.images),
                        "--schedule", args.schedule,
                        "--threads", str(args.threads), "--torch-part", str(initial)], check=True)
        with np.load(initial) as saved:
            state = dict(saved)
    import keras

    rows = {
        "keras (the workload: SGDLikePyTorch)": lambda: run_keras(data, recipe, state, size),
        "keras, stock SGD": lambda: run_keras(data, recipe, state, size, keras.optimizers.SGD),
        "keras, stock SGD + PyTorch's momentum": lambda: run_keras(data, recipe, state, size,
                                                                   torch_style_sgd(True, False)),
        "keras, stock SGD + PyTorch's weight decay": lambda: run_keras(data, recipe, state, size,
                                                                       torch_style_sgd(False, True)),
    }
    for name, run in rows.items():
        print(_row(name, run()), flush=True)


if __name__ == "__main__":
    main()
