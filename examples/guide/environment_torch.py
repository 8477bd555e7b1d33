"""Topic 1, PyTorch: which build is installed, which devices it sees, how many threads it uses."""

import torch
from torch import nn


# --8<-- [start:versions]
def describe() -> dict[str, object]:
    """Versions, build and devices as PyTorch sees them."""
    info: dict[str, object] = {
        "torch": torch.__version__,  # "2.14.1+cu130": the suffix names the build
        "built_for_cuda": torch.version.cuda,  # None in a CPU-only build
        # True only with a CUDA build, a driver and a GPU
        "cuda_available": torch.cuda.is_available(),
        # cuda, mps, xpu, ... when one is usable; None on a CPU-only machine
        "accelerator": torch.accelerator.current_accelerator(check_available=True),
        "threads": torch.get_num_threads(),  # intra-op threads of CPU kernels
    }
    if torch.cuda.is_available():
        count = torch.cuda.device_count()
        info["gpus"] = [torch.cuda.get_device_name(i) for i in range(count)]
        info["cudnn"] = torch.backends.cudnn.version()
        info["bf16_supported"] = torch.cuda.is_bf16_supported()
    return info
# --8<-- [end:versions]


# --8<-- [start:device]
def pick_device() -> torch.device:
    """The accelerator if there is one (CUDA, Apple MPS, Intel XPU, ...), else the CPU."""
    usable = torch.accelerator.current_accelerator(check_available=True)
    return usable or torch.device("cpu")


def place(model: nn.Module, images: torch.Tensor) -> tuple[nn.Module, torch.Tensor]:
    """Nothing moves by itself: the model and every batch go to the device explicitly."""
    device = pick_device()
    return model.to(device), images.to(device, non_blocking=True)
# --8<-- [end:device]


# --8<-- [start:threads]
def configure(threads: int) -> None:
    """Per process: the benchmarks set them in every measuring process."""
    torch.set_num_threads(threads)  # threads inside one op (OpenMP); can change any time
    torch.set_num_interop_threads(1)  # ops side by side; settable once, before such work
# --8<-- [end:threads]


def main() -> None:
    configure(threads=1)  # one thread keeps the examples steady on a shared machine
    info = describe()
    print(info)
    model, images = place(nn.Linear(4, 2), torch.randn(3, 4))
    assert next(model.parameters()).device == images.device
    assert info["threads"] == 1 and info["torch"] == torch.__version__
    assert info["cuda_available"] == (pick_device().type == "cuda")
    assert (info["accelerator"] is None) == (pick_device().type == "cpu")


if __name__ == "__main__":
    main()
