"""The ``training-scaling`` task: 1 vs N data-parallel workers (``torchrun`` + DDP; ``MultiWorkerMirroredStrategy``)
with the same global batch; scaling efficiency = throughput(N) / (N x throughput(1))."""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from reportgen.artifacts import TRAINING_INITIAL, scaling_file
from reportgen.config import task_timeout
from reportgen.process import launch
from reportgen.process.runner import Context, Task, child_env, onednn_requested
from reportgen.scenarios.training.records import history_record
from reportgen.scenarios.training.trainer import recipe_settings, train_images_limit
from reportgen.store.records import Setting
from reportgen.store.results import make_record


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


def worker_env(threads: int, device: str) -> dict[str, str]:
    """Environment of one data-parallel worker: every thread pool (OpenMP, MKL, OpenBLAS, TensorFlow) at the
    worker's share. One pool left at the whole machine's count oversubscribes the cores, and workers that
    wait for each other at every all-reduce then run several times slower."""
    return {**child_env(threads, device), "GLOO_SOCKET_IFNAME": os.environ.get("GLOO_SOCKET_IFNAME", "lo")}


def run_scaling(task: Task, ctx: Context) -> list[dict[str, Any]]:
    """Train with 1 and with N workers (same global batch and recipe); efficiency on the N record."""
    settings = ctx.profile["training"]
    workers = task.params["workers"]
    per_worker_threads = max(1, ctx.threads // workers) if ctx.device == "cpu" else ctx.threads
    recipe = {**recipe_settings(settings), "epochs": settings["scaling_epochs"]}
    limit = train_images_limit(settings, probe=True)  # throughput needs steps, not the whole data set
    # what the workers' environment asks of TensorFlow, without importing it here (5 s)
    kernels = {"tf.onednn": onednn_requested(worker_env(per_worker_threads, ctx.device))} \
        if task.framework == "tensorflow" else {}
    records = []
    for world_size in (1, workers):
        job = {"dataset": settings["dataset"], "image_size": settings["image_size"], "seed": ctx.seed,
               "max_train_images": limit, "num_classes": _num_classes(ctx),
               "recipe": recipe, "initial_weights": str(ctx.artifacts / TRAINING_INITIAL),
               "output": str(ctx.artifacts / scaling_file(task.framework, world_size, "result"))}
        try:
            result = train_data_parallel(task.framework, job, world_size, per_worker_threads, ctx)
        except RuntimeError as exc:
            records.append(make_record("training-scaling", task.framework, f"{world_size}-worker", device=ctx.device,
                                       batch_size=recipe["batch_size"], status="failed", reason=str(exc)[:800],
                                       settings={Setting.WORKERS: world_size}))
            continue
        records.append(history_record(
            "training-scaling", task.framework, f"{world_size}-worker", ctx, result, recipe["batch_size"],
            world_size=world_size, in_process=False,
            extra={**kernels, "classes": job["num_classes"], "backend": result["backend"],
                   "threads_per_worker": per_worker_threads,
                   "max_train_images": limit, "global_batch": recipe["batch_size"],
                   "per_worker_batch": recipe["batch_size"] // world_size,
                   "launcher": "torchrun --standalone" if task.framework == "torch" else "one process per worker, "
                               "TF_CONFIG on localhost"}))
    ok = [r for r in records if r["status"] == "ok"]
    if len(ok) == 2:
        one, many = (r["metrics"]["train_throughput_ips"]["value"] for r in ok)
        efficiency = many / (workers * one)
        ok[1]["metrics"]["scaling_efficiency"] = {"value": efficiency, "unit": "fraction"}
    return records


def _num_classes(ctx: Context) -> int:
    with np.load(ctx.artifacts / TRAINING_INITIAL) as state:
        return int(state["fc.weight"].shape[0])


def train_data_parallel(framework: str, job: dict[str, Any], world_size: int, threads: int,
                        ctx: Context) -> dict[str, Any]:
    """Run one data-parallel training with ``world_size`` worker processes; rank 0's results.

    The workers stay in this measuring process's group: whatever kills it (its timeout, its watchdog)
    kills them too, and :func:`reportgen.process.launch.run` kills the sessions ``torchrun`` gives its workers.
    """
    job_path = ctx.artifacts / scaling_file(framework, world_size, "job")
    job_path.parent.mkdir(parents=True, exist_ok=True)
    job_path.write_text(json.dumps(job), encoding="utf-8")
    env = worker_env(threads, ctx.device)
    timeout = task_timeout(ctx.profile, "training") * 0.45
    if framework == "torch":
        logs = [ctx.artifacts / scaling_file(framework, world_size, "worker0")]
        children = launch.torchrun("reportgen.workloads.training.distributed_torch", [str(job_path)], world_size, env,
                                   logs[0])
    else:
        logs = [ctx.artifacts / scaling_file(framework, world_size, f"worker{i}") for i in range(world_size)]
        children = launch.tf_multi_worker("reportgen.workloads.training.distributed_keras", [str(job_path)], env, logs)
    codes = launch.run(children, timeout, own_session=False)
    if codes is None:
        raise RuntimeError(f"{world_size} worker(s) timed out after {timeout:.0f} s; {launch.log_tail(logs[0])}")
    if any(codes) or not os.path.exists(job["output"]):
        bad = next((i for i, c in enumerate(codes) if c), 0)
        raise RuntimeError(f"worker {bad} of {world_size} exited with code {codes[bad]}; {launch.log_tail(logs[bad])}")
    with open(job["output"], encoding="utf-8") as fh:
        return json.load(fh)
