"""Training: the same recipe, data, order and initial weights in PyTorch and Keras, variant by variant.

- ``training`` (:mod:`.recipe_run`): one record per variant (PyTorch eager / ``torch.compile`` / AMP fp16 and
  bf16; Keras ``fit`` in graph mode / XLA / ``mixed_float16`` / ``mixed_bfloat16``), each in its own subprocess,
  with per-epoch curves as samples. The PyTorch eager task also saves the initial weights every other variant
  starts from. bf16 runs on a GPU or on a CPU with bfloat16 instructions; elsewhere it is skipped, naming the CPU.
- ``training-batch`` (:mod:`.batch_sweep`): epoch time per batch size (PyTorch eager, Keras graph), and
  the input pipeline alone (``DataLoader`` vs ``tf.data``) in images/s.
- ``training-scaling`` (:mod:`.scaling`): 1 vs N data-parallel workers (``torchrun`` + DDP;
  ``MultiWorkerMirroredStrategy``) with the same global batch; scaling efficiency = throughput(N) / (N x
  throughput(1)).

This package plans the tasks (:func:`plan`, in the parent) and runs each (:func:`run_task`, in the
measuring child); :mod:`.trainer` trains one variant in-process, :mod:`.records` turns a history into a record.
"""

from __future__ import annotations

from typing import Any

from reportgen import catalog, hardware
from reportgen.artifacts import TRAINING_INITIAL
from reportgen.errors import ReportgenError
from reportgen.process.runner import Context, Task
from reportgen.scenarios.training.batch_sweep import run_batch_sweep
from reportgen.scenarios.training.recipe_run import run_recipe
from reportgen.scenarios.training.records import history_record
from reportgen.scenarios.training.scaling import run_scaling, scaling_workers, worker_env
from reportgen.scenarios.training.trainer import recipe_settings, setup
from reportgen.store.records import TaskKey

__all__ = ["TRAINERS", "VARIANTS", "check_dataset", "history_record", "plan",
           "recipe_settings", "run_task", "scaling_workers", "worker_env"]


VARIANTS = catalog.TRAINING
TRAINERS = catalog.trainer_families()  # the --frameworks names that train


def plan(frameworks: list[str], profile: dict[str, Any], device: str, threads: int) -> list[Task]:
    """The training tasks: PyTorch eager (it makes the initial weights every other task starts from, so it
    always runs when a trainer was chosen), data-parallel scaling, the other recipe variants, then the
    batch-size sweeps. Scaling goes early: its workers wait for each other, so it suffers most from sharing
    the CPU, and a side-by-side run (smoke) that ended on it ran on for up to a minute on one task."""
    if not set(TRAINERS) & set(frameworks):
        return []
    # data-parallel scaling and the batch-size sweep: of each chosen framework's reference loop (not of Keras on its
    # other backends, whose recipe runs compare with Keras on TensorFlow)
    chosen = [v.framework for v in catalog.training_references() if catalog.family_of(v.framework) in frameworks]
    tasks: list[Task] = []
    for v in VARIANTS:
        first = v.makes_initial_weights  # everyone else starts from the weights it saves
        if catalog.family_of(v.framework) not in frameworks and not first:
            continue
        params: dict[str, Any] = {"precision": v.precision}
        probe = profile["training"].get("probe_epochs", 0)
        if probe and v.role != catalog.REFERENCE and probe < profile["training"]["epochs"]:
            params["probe_epochs"] = probe  # a speed probe; the reference loops keep the whole recipe
        if v.cuda_only and device != "cuda":
            params["unsupported"] = f"{v.label} needs a CUDA GPU; {hardware.lacks_cuda()}"
        elif v.cpu_flags and device == "cpu" and (lacking := hardware.lacks_cpu_flags(v.cpu_flags)):
            params["unsupported"] = f"{v.label} on a CPU needs {lacking}"
        tasks.append(Task(key=str(TaskKey("training", v.framework, v.name)), module=__name__, scenario="training",
                          framework=v.framework, variant=v.name, label=f"Training: {v.label}", params=params,
                          needs=() if first else (TRAINING_INITIAL,), produces=(TRAINING_INITIAL,) if first else (),
                          kind="training"))
    workers = scaling_workers(profile["training"], device, threads)
    scaling = [Task(key=str(TaskKey("training-scaling", framework)), module=__name__, scenario="training-scaling",
                    framework=framework, variant="data-parallel", needs=(TRAINING_INITIAL,),
                    params={"workers": workers} if isinstance(workers, int) else {"unsupported": workers},
                    label=f"Training: {framework} data-parallel, 1 vs N workers", kind="training")
               for framework in chosen]
    after = 1 + next(i for i, t in enumerate(tasks) if TRAINING_INITIAL in t.produces)
    tasks[after:after] = scaling
    for framework in chosen:
        tasks.append(Task(key=str(TaskKey("training-batch", framework)), module=__name__, scenario="training-batch",
                          framework=framework, variant="batch-sweep",
                          label=f"Training: {framework} epoch time per batch size + input pipeline", kind="training"))
    return tasks


def check_dataset(settings: dict[str, Any], seed: int) -> None:
    """Load the data set once in the parent: a bad folder or an offline CIFAR-10 is a one-line error up
    front, and CIFAR-10 is downloaded (with a progress bar) before any measurement starts."""
    from reportgen.workloads.data.datasets import DatasetError, load_dataset

    try:
        load_dataset(settings["dataset"], settings["image_size"], seed=seed, max_train=settings["max_train_images"])
    except DatasetError as exc:
        raise ReportgenError(f"--dataset {settings['dataset']}: {exc}") from None


def run_task(task: Task, ctx: Context) -> list[dict[str, Any]]:
    """Run one training task in the measuring child (see :func:`plan`). The scaling task only starts and
    waits for its workers, which set up the framework themselves: it never imports it."""
    if task.scenario == "training-scaling":
        return run_scaling(task, ctx)
    setup(task.framework, ctx.threads, ctx.device)
    if task.scenario == "training":
        return [run_recipe(task, ctx)]
    return run_batch_sweep(task, ctx)
