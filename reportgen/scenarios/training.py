"""Training: the same recipe, data, order and initial weights in PyTorch and Keras, variant by variant.

- ``training``: one record per variant (PyTorch eager / ``torch.compile`` / AMP; Keras ``fit`` in graph
  mode / XLA / ``mixed_float16``), each in its own subprocess, with per-epoch curves as samples. The
  PyTorch eager task also saves the initial weights every other variant starts from.
- ``training-batch``: epoch time per batch size (PyTorch eager, Keras graph), and the input pipeline
  alone (``DataLoader`` vs ``tf.data``) in images/s.
- ``training-scaling``: 1 vs N data-parallel workers (``torchrun`` + DDP; ``MultiWorkerMirroredStrategy``)
  with the same global batch; scaling efficiency = throughput(N) / (N x throughput(1)).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from reportgen.config import task_timeout
from reportgen.errors import ReportgenError
from reportgen.measure import memory
from reportgen.results import make_record
from reportgen.runner import Context, Task, child_env, log_tail

FOLDER = "training"
INITIAL = f"{FOLDER}/initial-weights.npz"  # torchvision state_dict of the untrained model all variants start from


@dataclass(frozen=True)
class Variant:
    framework: str
    name: str
    label: str
    precision: str = "fp32"
    cuda_only: bool = False


VARIANTS: tuple[Variant, ...] = (
    Variant("torch", "eager", "PyTorch eager loop"),
    Variant("torch", "compile", "PyTorch loop + torch.compile"),
    Variant("torch", "amp-fp16", "PyTorch AMP fp16", "fp16", cuda_only=True),
    Variant("tensorflow", "graph", "Keras fit (graph)"),
    Variant("tensorflow", "xla", "Keras fit + XLA"),
    Variant("tensorflow", "mixed-fp16", "Keras mixed_float16", "fp16", cuda_only=True),
)
LABELS = {(v.framework, v.name): v.label for v in VARIANTS}
TRAINERS = ("torch", "tensorflow")


def plan(frameworks: list[str], profile: dict[str, Any], device: str, threads: int) -> list[Task]:
    """The training tasks: the recipe variants, the batch-size sweeps, then data-parallel scaling. None when
    neither trainer was chosen; PyTorch eager always runs when one was, as it makes the initial weights."""
    chosen = [f for f in TRAINERS if f in frameworks]
    if not chosen:
        return []
    tasks = []
    for v in VARIANTS:
        first = v.framework == "torch" and v.name == "eager"  # makes the initial weights everyone uses
        if v.framework not in frameworks and not first:
            continue
        params: dict[str, Any] = {"precision": v.precision}
        if v.cuda_only and device != "cuda":
            params["unsupported"] = f"{v.label} needs a CUDA GPU; this run is on {device}"
        tasks.append(Task(key=f"training/{v.framework}/{v.name}", module=__name__, scenario="training",
                          framework=v.framework, variant=v.name, label=f"Training: {v.label}", params=params,
                          needs=() if first else (INITIAL,), produces=(INITIAL,) if first else (), kind="training"))
    for framework in chosen:
        tasks.append(Task(key=f"training-batch/{framework}", module=__name__, scenario="training-batch",
                          framework=framework, variant="batch-sweep",
                          label=f"Training: {framework} epoch time per batch size + input pipeline", kind="training"))
    workers = scaling_workers(profile["training"], device, threads)
    for framework in chosen:
        params = {"workers": workers} if isinstance(workers, int) else {"unsupported": workers}
        tasks.append(Task(key=f"training-scaling/{framework}", module=__name__, scenario="training-scaling",
                          framework=framework, variant="data-parallel", params=params, needs=(INITIAL,),
                          label=f"Training: {framework} data-parallel, 1 vs N workers", kind="training"))
    return tasks


def scaling_workers(settings: dict[str, Any], device: str, threads: int) -> int | str:
    """How many data-parallel workers this machine can run meaningfully, or why it cannot."""
    if device == "cuda":
        from reportgen.hardware import detect_gpus

        gpus = len(detect_gpus())
        return gpus if gpus > 1 else f"one GPU on this machine: data parallelism needs at least 2 ({gpus} found)"
    if threads < settings["workers"]:
        return (f"{settings['workers']} workers need at least {settings['workers']} cores; "
                f"this run uses {threads} thread(s)")
    return settings["workers"]


def recipe_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """The recipe part of the profile's training settings (the fields of ``Recipe``)."""
    keys = ("epochs", "batch_size", "optimizer", "learning_rate", "momentum", "weight_decay", "schedule")
    return {k: settings[k] for k in keys}


def check_dataset(settings: dict[str, Any], seed: int) -> None:
    """Load the data set once in the parent: a bad folder or an offline CIFAR-10 is a one-line error up
    front, and CIFAR-10 is downloaded (with a progress bar) before any measurement starts."""
    from benchmarks.data.datasets import DatasetError, load_dataset

    try:
        load_dataset(settings["dataset"], settings["image_size"], seed=seed, max_train=settings["max_train_images"])
    except DatasetError as exc:
        raise ReportgenError(f"--dataset {settings['dataset']}: {exc}") from None


def _data(ctx: Context):
    from benchmarks.data.datasets import load_dataset

    s = ctx.profile["training"]
    return load_dataset(s["dataset"], s["image_size"], seed=ctx.seed, max_train=s["max_train_images"])


def _setup(framework: str, threads: int, device: str) -> None:
    if framework == "torch":
        import torch

        torch.set_num_threads(threads)
        torch.set_num_interop_threads(1)
        torch.manual_seed(0)
    else:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
        if device == "cpu":
            tf.config.set_visible_devices([], "GPU")


def _torch_model(ctx: Context, num_classes: int, save: bool):
    from benchmarks.models.resnet_torch import build_resnet18, load_state_numpy, state_dict_numpy

    model = build_resnet18(num_classes, seed=ctx.seed)
    path = ctx.artifacts / INITIAL
    if save:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, **state_dict_numpy(model))
    elif path.exists():
        with np.load(path) as state:
            load_state_numpy(model, dict(state))
    return model


def _keras_model(ctx: Context, num_classes: int, image_size: int):
    from benchmarks.models.resnet_keras import build_resnet18, load_torch_state

    model = build_resnet18(num_classes, input_shape=(image_size, image_size, 3))
    if (ctx.artifacts / INITIAL).exists():
        with np.load(ctx.artifacts / INITIAL) as state:
            load_torch_state(model, dict(state))
    return model


def _peak_gpu_mb(framework: str, device: str) -> float | None:
    if device != "cuda":
        return None
    if framework == "torch":
        import torch

        return torch.cuda.max_memory_allocated() / 2**20
    import tensorflow as tf

    return tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20


def _train(framework: str, variant: str, ctx: Context, data, recipe, save_initial: bool = False):
    """Train one variant from the shared initial weights; returns its History."""
    image_size, num_classes = ctx.profile["training"]["image_size"], len(data.classes)
    if framework == "torch":
        import torch

        from benchmarks.training.train_torch import train

        if ctx.device == "cuda":
            torch.cuda.reset_peak_memory_stats()
        model = _torch_model(ctx, num_classes, save=save_initial)
        return train(model, data, recipe, image_size, device=ctx.device, compile=variant == "compile",
                     amp=variant == "amp-fp16", seed=ctx.seed)
    import keras

    from benchmarks.training.train_keras import train

    if variant == "mixed-fp16":
        keras.mixed_precision.set_global_policy("mixed_float16")
    model = _keras_model(ctx, num_classes, image_size)
    return train(model, data, recipe, image_size, jit_compile=variant == "xla", seed=ctx.seed)


def run_task(task: Task, ctx: Context) -> list[dict[str, Any]]:
    _setup(task.framework, ctx.threads, ctx.device)
    if task.scenario == "training":
        return [_recipe_run(task, ctx)]
    if task.scenario == "training-batch":
        return _batch_sweep(task, ctx)
    return _scaling(task, ctx)


def _recipe_run(task: Task, ctx: Context) -> dict[str, Any]:
    from benchmarks.training.recipe import Recipe

    settings = ctx.profile["training"]
    data = _data(ctx)
    recipe = Recipe(**recipe_settings(settings))
    save = task.framework == "torch" and task.variant == "eager"
    history = _train(task.framework, task.variant, ctx, data, recipe, save_initial=save)
    return history_record(task.scenario, task.framework, task.variant, ctx, history, recipe.batch_size,
                          precision=task.params.get("precision", "fp32"), extra=_data_settings(data, settings),
                          peak_gpu=_peak_gpu_mb(task.framework, ctx.device))


def _data_settings(data, settings: dict[str, Any]) -> dict[str, Any]:
    return {"dataset": data.name, "data_source": data.source, "train_images": len(data.train_labels),
            "val_images": len(data.val_labels), "classes": len(data.classes), "image_size": settings["image_size"],
            "recipe": recipe_settings(settings), "target_top1": settings["target_top1"],
            "augmentation": "pad + random crop + horizontal flip, from one seeded plan shared by both frameworks"}


def history_record(scenario: str, framework: str, variant: str, ctx: Context, history, batch_size: int,
                   precision: str = "fp32", extra: dict[str, Any] | None = None, peak_gpu: float | None = None,
                   world_size: int = 1, in_process: bool = True) -> dict[str, Any]:
    """One record from a training ``History`` (or its JSON form): steady-state throughput with the first
    epoch excluded, the per-epoch curves as samples."""
    if not isinstance(history, dict):
        history = {"initial_loss": history.initial_loss, "epochs": [asdict(e) for e in history.epochs]}
    epochs = history["epochs"]
    times = [e["train_time_s"] for e in epochs]
    steady = epochs[1:] or epochs
    elapsed = np.cumsum(times).tolist()
    target = ctx.profile["training"]["target_top1"]
    reached = next((t for e, t in zip(epochs, elapsed, strict=True) if e["val_top1"] >= target), None)
    metrics = {
        "train_throughput_ips": sum(e["images"] for e in steady) / sum(e["train_time_s"] for e in steady),
        "epoch_time_s": float(np.median([e["train_time_s"] for e in steady])),
        "first_epoch_s": times[0],
        "final_top1": epochs[-1]["val_top1"],
        "final_loss": epochs[-1]["val_loss"],
        "initial_loss": history["initial_loss"],
    }
    if in_process:  # this process trained: its peak RSS is the training's (workers of a launcher are not)
        metrics["peak_rss_mb"] = memory.peak_rss_mb()
    if reached is not None:
        metrics["time_to_target_s"] = reached
    if peak_gpu is not None:
        metrics["peak_gpu_mem_mb"] = peak_gpu
    samples = {k: [float(e[k]) for e in epochs] for k in ("train_loss", "train_accuracy", "val_loss", "val_top1")}
    samples.update(epoch_time_s=times, elapsed_s=elapsed)
    settings = {"epochs": len(epochs), "threads": ctx.threads, "workers": world_size,
                "images_per_epoch": epochs[0]["images"],  # all workers together
                "steady_state": "epochs after the first (the first includes tracing, compilation and warm-up)"
                if len(epochs) > 1 else "one epoch only: includes warm-up",
                "target_reached": reached is not None, "memory_method": memory.METHOD, **(extra or {})}
    if framework == "tensorflow":  # the same environment reaches data-parallel workers
        from reportgen.backends.tensorflow_backend import onednn_enabled

        settings["tf.onednn"] = onednn_enabled()
    return make_record(scenario, framework, variant, device=ctx.device, precision=precision, batch_size=batch_size,
                       metrics=metrics, samples=samples, settings=settings)


def _batch_sweep(task: Task, ctx: Context) -> list[dict[str, Any]]:
    """Epoch time at each batch size (recipe otherwise unchanged), then the input pipeline alone."""
    from benchmarks.training.recipe import Recipe

    settings = ctx.profile["training"]
    data = _data(ctx)
    variant = "eager" if task.framework == "torch" else "graph"
    records = []
    for batch_size in settings["batch_sizes"]:
        recipe = Recipe(**{**recipe_settings(settings), "epochs": settings["sweep_epochs"], "batch_size": batch_size})
        try:
            history = _train(task.framework, variant, ctx, data, recipe)
        except Exception as exc:  # e.g. out of memory at the largest batch: record it, keep the others
            records.append(make_record("training-batch", task.framework, variant, device=ctx.device,
                                       batch_size=batch_size, status="failed",
                                       reason=f"{type(exc).__name__}: {exc}"[:800]))
            continue
        records.append(history_record("training-batch", task.framework, variant, ctx, history, batch_size,
                                      extra={"dataset": data.name, "purpose": "epoch time per batch size"},
                                      peak_gpu=_peak_gpu_mb(task.framework, ctx.device)))
    records.append(_pipeline(task.framework, ctx, data))
    return records


def _pipeline(framework: str, ctx: Context, data) -> dict[str, Any]:
    """Images/s of the input pipeline alone (augmentation, normalisation, batching), no model."""
    settings = ctx.profile["training"]
    size, batch_size, epochs = settings["image_size"], settings["batch_size"], 2
    start = time.perf_counter()
    count = 0
    if framework == "torch":
        from benchmarks.data.pipeline_torch import make_loaders

        loader, _ = make_loaders(data, size, batch_size, seed=ctx.seed)
        for epoch in range(epochs):
            loader.dataset.set_epoch(epoch)
            count += sum(len(labels) for _, labels in loader)
        name = "DataLoader (num_workers=0)"
    else:
        from benchmarks.data.pipeline_tf import training_dataset

        count = sum(len(labels) for _, labels in training_dataset(data, size, batch_size, epochs, seed=ctx.seed))
        name = "tf.data (AUTOTUNE map + prefetch)"
    seconds = time.perf_counter() - start
    return make_record("input-pipeline", framework, "augment", device="cpu", batch_size=batch_size,
                       metrics={"throughput_ips": count / seconds},
                       settings={"pipeline": name, "images": count, "epochs": epochs, "dataset": data.name,
                                 "includes": "pad + random crop + flip + normalise + batch; no model"})


def _scaling(task: Task, ctx: Context) -> list[dict[str, Any]]:
    """Train with 1 and with N workers (same global batch and recipe); efficiency on the N record."""
    settings = ctx.profile["training"]
    workers = task.params["workers"]
    per_worker_threads = max(1, ctx.threads // workers) if ctx.device == "cpu" else ctx.threads
    recipe = {**recipe_settings(settings), "epochs": settings["scaling_epochs"]}
    records = []
    for world_size in (1, workers):
        job = {"dataset": settings["dataset"], "image_size": settings["image_size"], "seed": ctx.seed,
               "max_train_images": settings["max_train_images"], "num_classes": _num_classes(ctx),
               "recipe": recipe, "initial_weights": str(ctx.artifacts / INITIAL),
               "output": str(ctx.artifacts / FOLDER / f"scaling-{task.framework}-{world_size}.json")}
        try:
            result = launch(task.framework, job, world_size, per_worker_threads, ctx)
        except RuntimeError as exc:
            records.append(make_record("training-scaling", task.framework, f"{world_size}-worker", device=ctx.device,
                                       batch_size=recipe["batch_size"], status="failed", reason=str(exc)[:800],
                                       settings={"workers": world_size}))
            continue
        records.append(history_record(
            "training-scaling", task.framework, f"{world_size}-worker", ctx, result, recipe["batch_size"],
            world_size=world_size, in_process=False,
            extra={"backend": result["backend"], "threads_per_worker": per_worker_threads,
                   "global_batch": recipe["batch_size"], "per_worker_batch": recipe["batch_size"] // world_size,
                   "launcher": "torchrun --standalone" if task.framework == "torch" else "one process per worker, "
                               "TF_CONFIG on localhost"}))
    ok = [r for r in records if r["status"] == "ok"]
    if len(ok) == 2:
        one, many = (r["metrics"]["train_throughput_ips"]["value"] for r in ok)
        efficiency = many / (workers * one)
        ok[1]["metrics"]["scaling_efficiency"] = {"value": efficiency, "unit": "fraction"}
    return records


def _num_classes(ctx: Context) -> int:
    with np.load(ctx.artifacts / INITIAL) as state:
        return int(state["fc.weight"].shape[0])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def worker_env(threads: int, device: str) -> dict[str, str]:
    """Environment of one data-parallel worker: every thread pool (OpenMP, MKL, OpenBLAS, TensorFlow) at the
    worker's share. One pool left at the whole machine's count oversubscribes the cores, and workers that
    wait for each other at every all-reduce then run several times slower."""
    return {**child_env(threads, device), "GLOO_SOCKET_IFNAME": os.environ.get("GLOO_SOCKET_IFNAME", "lo")}


def launch(framework: str, job: dict[str, Any], world_size: int, threads: int, ctx: Context) -> dict[str, Any]:
    """Run one data-parallel training with ``world_size`` worker processes; rank 0's results."""
    folder = ctx.artifacts / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    job_path = folder / f"job-{framework}-{world_size}.json"
    job_path.write_text(json.dumps(job), encoding="utf-8")
    env = worker_env(threads, ctx.device)
    timeout = task_timeout(ctx.profile, "training") * 0.45
    if framework == "torch":
        commands = [[sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={world_size}",
                     "-m", "benchmarks.training.distributed_torch", str(job_path)]]
        envs = [env]
    else:
        hosts = [f"localhost:{_free_port()}" for _ in range(world_size)]
        commands = [[sys.executable, "-m", "benchmarks.training.distributed_keras", str(job_path)]] * world_size
        envs = [{**env, "TF_CONFIG": json.dumps({"cluster": {"worker": hosts}, "task": {"type": "worker", "index": i}})}
                for i in range(world_size)]
    logs = [folder / f"{framework}-{world_size}-worker{i}.log" for i in range(len(commands))]
    procs = [subprocess.Popen(cmd, env=e, stdout=open(log, "wb"), stderr=subprocess.STDOUT)
             for cmd, e, log in zip(commands, envs, logs, strict=True)]
    deadline = time.monotonic() + timeout
    try:
        codes = [p.wait(timeout=max(1.0, deadline - time.monotonic())) for p in procs]
    except subprocess.TimeoutExpired:
        codes = None
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    if codes is None:
        raise RuntimeError(f"{world_size} worker(s) timed out after {timeout:.0f} s; {log_tail(logs[0])}")
    if any(codes) or not os.path.exists(job["output"]):
        bad = next((i for i, c in enumerate(codes) if c), 0)
        raise RuntimeError(f"worker {bad} of {world_size} exited with code {codes[bad]}; {log_tail(logs[bad])}")
    return json.loads(open(job["output"], encoding="utf-8").read())
