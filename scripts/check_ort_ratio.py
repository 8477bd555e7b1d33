"""Independent check of one headline number: ONNX Runtime vs PyTorch eager, batch-1 latency.

Times the same two models outside the harness (no reportgen code, plain ``timeit``), alternating
between them, so the ratio on the Inference page can be checked by hand:

    python scripts/check_ort_ratio.py --threads 2 --repeats 7
"""

import argparse
import os
import statistics
import tempfile
import time
import timeit

import numpy as np
import onnxruntime as ort
import torch
import torchvision

PAUSE_S = 0.5  # between blocks: ONNX Runtime's threads spin on after a call, taking CPU from a block right after


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--repeats", type=int, default=7, help="alternating blocks per runtime")
    parser.add_argument("--number", type=int, default=20, help="calls per block")
    parser.add_argument("--no-spin", action="store_true",
                        help="ONNX Runtime's threads sleep between calls instead of spinning (in one process its "
                             "spinning threads take CPU from the PyTorch block that follows)")
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
        if args.no_spin:
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
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
        time.sleep(PAUSE_S)  # lets the other runtime's threads stop spinning before this block starts
        times["torch"].append(timeit.timeit(run_torch, number=args.number) / args.number * 1e3)
        time.sleep(PAUSE_S)
        times["onnxruntime"].append(timeit.timeit(run_ort, number=args.number) / args.number * 1e3)
    t, o = statistics.median(times["torch"]), statistics.median(times["onnxruntime"])
    print(f"threads={args.threads}  PyTorch eager {t:.2f} ms  ONNX Runtime {o:.2f} ms  ratio ORT:PyTorch {o / t:.3f}"
          f"  (PyTorch/ORT speed-up {t / o:.2f}x; block medians, {args.repeats} x {args.number} calls)")
    print("torch blocks:", " ".join(f"{v:.2f}" for v in times["torch"]))
    print("ort blocks:  ", " ".join(f"{v:.2f}" for v in times["onnxruntime"]))
    assert np.isfinite(o / t)


if __name__ == "__main__":
    main()
