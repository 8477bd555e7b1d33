"""Where Keras on PyTorch spends a batch-1 ResNet-18 forward, beside plain PyTorch (torch.profiler, CPU).

    .envs/keras-torch/bin/python scripts/profile_keras_torch.py     # alone on the machine: it times

Prints each one's self CPU time per forward and its top operators. Keras keeps images channels-last, and its
PyTorch convolution copies the input and the kernel into PyTorch's layout on every call (``aten::copy_``), which
plain PyTorch does not; the guide's topic 14 explains why, this script measures what it costs.
"""

from __future__ import annotations

import os
from collections.abc import Callable

os.environ["KERAS_BACKEND"] = "torch"  # before Keras is imported

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torchvision  # noqa: E402
from torch.profiler import ProfilerActivity, profile  # noqa: E402

from reportgen.workloads.inference import predict_keras_backends  # noqa: E402

CALLS = 20


def report(label: str, forward: Callable[[], object]) -> None:
    """Profile ``CALLS`` forwards and print the self CPU time per forward and the top operators."""
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(CALLS):
            forward()
    events = prof.key_averages()
    print(f"\n{label}: {sum(e.self_cpu_time_total for e in events) / CALLS / 1e3:.1f} ms self CPU per forward")
    for e in sorted(events, key=lambda e: -e.self_cpu_time_total)[:8]:
        print(f"  {e.key:36s} {e.self_cpu_time_total / CALLS / 1e3:7.2f} ms  {e.count // CALLS:4d} calls")


def main() -> None:
    """The same weights in both, random but fixed; five warm-up forwards each before profiling."""
    torch.manual_seed(0)
    reference = torchvision.models.resnet18(num_classes=1000).eval()
    state = {k: v.detach().numpy() for k, v in reference.state_dict().items()}
    keras_predict = predict_keras_backends.torch_predict(predict_keras_backends.load_model(state, 1000, 224))
    image = np.random.default_rng(0).standard_normal((1, 224, 224, 3)).astype(np.float32)
    nhwc, nchw = torch.from_numpy(image), torch.from_numpy(np.ascontiguousarray(image.transpose(0, 3, 1, 2)))

    def plain() -> None:
        with torch.inference_mode():
            reference(nchw)

    for _ in range(5):
        keras_predict(nhwc)
        plain()
    report("Keras on PyTorch", lambda: keras_predict(nhwc))
    report("PyTorch eager", plain)


if __name__ == "__main__":
    main()
