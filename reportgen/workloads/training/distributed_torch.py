"""Data-parallel training with ``DistributedDataParallel``, one process per worker, launched by ``torchrun``.

    torchrun --standalone --nproc_per_node=2 -m reportgen.workloads.training.distributed_torch job.json

Every process runs this file. ``torchrun`` sets RANK, WORLD_SIZE and the rendezvous address; the
process group uses NCCL between GPUs and gloo on CPUs. Each rank trains on its own shard of every epoch
(the same shared plan as single-process training) with ``batch_size / world_size`` images per step;
DDP averages the gradients across ranks in the backward pass, so the weights stay identical.
``job.json`` holds the data set, the recipe, the initial weights and where rank 0 writes its results.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from reportgen.workloads.data.datasets import load_dataset
from reportgen.workloads.models.resnet_torch import build_resnet18, load_state_numpy
from reportgen.workloads.training.recipe import Recipe
from reportgen.workloads.training.train_torch import train


def main(job_path: str) -> None:
    """One DDP worker started by torchrun: train as the job file says, write the history (rank 0)."""
    job = json.loads(open(job_path, encoding="utf-8").read())
    # --8<-- [start:ddp]
    cuda = torch.cuda.is_available()
    dist.init_process_group(backend="nccl" if cuda else "gloo")
    rank, world_size = dist.get_rank(), dist.get_world_size()
    local_rank = int(os.environ.get("LOCAL_RANK", 0))
    device = f"cuda:{local_rank}" if cuda else "cpu"
    if cuda:
        torch.cuda.set_device(local_rank)

    model = build_resnet18(job["num_classes"]).to(device)
    with np.load(job["initial_weights"]) as state:
        load_state_numpy(model, dict(state))  # every rank starts from the same weights
    ddp_model = DistributedDataParallel(model, device_ids=[local_rank] if cuda else None)

    data = load_dataset(job["dataset"], job["image_size"], seed=job["seed"], max_train=job["max_train_images"])
    history = train(ddp_model, data, Recipe(**job["recipe"]), job["image_size"], device=device,
                    seed=job["seed"], rank=rank, world_size=world_size)
    # --8<-- [end:ddp]
    if rank == 0:
        with open(job["output"], "w", encoding="utf-8") as out:
            # every rank trains on a shard of the same length, so the epoch's images are world_size x rank 0's
            epochs = [{**asdict(e), "images": e.images * world_size} for e in history.epochs]
            json.dump({"world_size": world_size, "backend": dist.get_backend(), "initial_loss": history.initial_loss,
                       "epochs": epochs}, out)
    dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1])
