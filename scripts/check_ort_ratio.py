"""Independent check of one headline number: ONNX Runtime vs PyTorch eager, batch-1 latency.

Times the same two models outside the harness (no reportgen code, plain ``timeit``), alternating
between them, so the ratio on the Inference page can be checked by hand:

    python scripts/check_ort_ratio.py --threads 2 --repeats 7
"""

import argparse
import os
import statistics
import tempfile
import timeit

import numpy as np
import onnxruntime as ort
import torch
import torchvision


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--repeats", type=int, default=7, help="alternating blocks per runtime")
    parser.add_argument("--number", type=int, default=20, help="calls per block")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = torchvision.models.resnet18(weights=None).eval()
    x = torch.randn(1, 3, 224, 224)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "r18.onnx")
        torch.onnx.export(model, (x,), path, dynamo=True, input_names=["images"], external_data=False)
        options = ort.SessionOptions()
        options.intra_op_num_threads = args.threads
        session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    xn = x.numpy()

    def run_torch() -> None:
        with torch.inference_mode():
            model(x)

    def run_ort() -> None:
        session.run(None, {"images": xn})

    for fn in (run_torch, run_ort):  # warm up
        fn(), fn(), fn()
    times: dict[str, list[float]] = {"torch": [], "onnxruntime": []}
    for _ in range(args.repeats):
        times["torch"].append(timeit.timeit(run_torch, number=args.number) / args.number * 1e3)
        times["onnxruntime"].append(timeit.timeit(run_ort, number=args.number) / args.number * 1e3)
    t, o = statistics.median(times["torch"]), statistics.median(times["onnxruntime"])
    print(f"threads={args.threads}  PyTorch eager {t:.2f} ms  ONNX Runtime {o:.2f} ms  ratio ORT:PyTorch {o / t:.3f}"
          f"  (PyTorch/ORT speed-up {t / o:.2f}x; block medians, {args.repeats} x {args.number} calls)")
    print("torch blocks:", " ".join(f"{v:.2f}" for v in times["torch"]))
    print("ort blocks:  ", " ".join(f"{v:.2f}" for v in times["onnxruntime"]))
    assert np.isfinite(o / t)


if __name__ == "__main__":
    main()
