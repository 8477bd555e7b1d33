"""Topic 12, PyTorch: find the operation that made a NaN, profile a forward pass, log to
TensorBoard."""

import tempfile
from pathlib import Path

import torch
import torchvision  # noqa: F401  (before torch.utils.tensorboard, which imports TensorFlow if installed)
from torch.profiler import ProfilerActivity, profile, record_function
from torch.utils.tensorboard import SummaryWriter  # needs the tensorboard package

from reportgen.workloads.models.resnet_torch import build_resnet18


# --8<-- [start:anomaly]
def norm_loss(x: torch.Tensor) -> torch.Tensor:
    # a row of zeros: sqrt's gradient is inf there, and the square's backward gives inf*0 = NaN
    return x.pow(2).sum(dim=1).sqrt().mean()


def find_nan_source(x: torch.Tensor) -> str:
    """Backward in anomaly mode: it raises at the first backward function that returns
    NaN, and prints the forward line that created it. Slow: for debugging only."""
    with torch.autograd.detect_anomaly():  # or torch.autograd.set_detect_anomaly(True)
        try:
            norm_loss(x).backward()
        except RuntimeError as error:
            return str(error)  # "Function 'PowBackward0' returned nan values ..."
    return "no NaN"
# --8<-- [end:anomaly]


# --8<-- [start:profile]
def profile_forward(model: torch.nn.Module, images: torch.Tensor, trace: Path) -> str:
    """The operators that took the most CPU time, and a trace for Perfetto."""
    activities = [ProfilerActivity.CPU]  # add ProfilerActivity.CUDA on a GPU
    with profile(activities=activities, record_shapes=True) as prof:
        with record_function("forward"), torch.inference_mode():  # a named range
            model(images)
    prof.export_chrome_trace(str(trace))
    return prof.key_averages().table(sort_by="cpu_time_total", row_limit=5)
# --8<-- [end:profile]


def main() -> None:
    x = torch.zeros(4, 3, requires_grad=True)  # rows of zeros: norm 0
    norm_loss(x).backward()
    assert torch.isnan(x.grad).all()  # without anomaly mode the NaN arrives silently
    message = find_nan_source(x.detach().requires_grad_())
    assert "PowBackward0" in message and "returned nan values" in message, message
    print(f"anomaly mode: {message}")

    model = build_resnet18(num_classes=10).eval()
    with tempfile.TemporaryDirectory() as tmp:
        table = profile_forward(model, torch.randn(2, 3, 32, 32), Path(tmp) / "trace.json")
        assert "aten::conv2d" in table and (Path(tmp) / "trace.json").stat().st_size > 0
        print(table.splitlines()[3])  # the most expensive range
        logs = Path(tmp) / "runs"
        # --8<-- [start:tensorboard]
        with SummaryWriter(log_dir=logs / "resnet18") as writer:  # tensorboard --logdir runs
            for step in range(3):
                writer.add_scalar("train/loss", 2.3 - 0.1 * step, global_step=step)
            writer.add_histogram("fc/weight", model.fc.weight, global_step=0)
        # --8<-- [end:tensorboard]
        assert list((logs / "resnet18").glob("events.out.tfevents.*"))


if __name__ == "__main__":
    main()
