"""torchrun: which device each process takes, the process group, and which process writes.

torchrun starts one process per device and tells each its place: LOCAL_RANK on this machine,
RANK and WORLD_SIZE over all of them. Process r works on cuda:LOCAL_RANK (NCCL refuses two
processes on one GPU); rank 0 alone validates and writes checkpoints and caches, so no two
processes race on a file.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import torch
import torch.distributed as dist

from engine.backbone import BackboneError, pick_device


@dataclass(frozen=True)
class Ranks:
    rank: int = 0
    world: int = 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def rank_device(
    preference: str | None = "auto", env: Mapping[str, str] = os.environ
) -> torch.device:
    """This process's device: `pick_device(preference)` alone; under torchrun cuda:LOCAL_RANK
    where CUDA is asked for or "auto" finds it, else the CPU (gloo reduces CPU tensors only).
    Raises BackboneError for a choice that would put two processes on one device."""
    if int(env.get("WORLD_SIZE", "1")) == 1:
        return pick_device(preference)
    device, local = pick_device(preference), int(env.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        if device.index is not None:
            raise BackboneError(
                f"`--device {preference}` would put every torchrun process on one GPU, which "
                "NCCL refuses; use `--device cuda` and process r takes cuda:LOCAL_RANK."
            )
        if local >= torch.cuda.device_count():
            raise BackboneError(
                f"torchrun started process LOCAL_RANK={local}, but this machine has "
                f"{torch.cuda.device_count()} GPUs: give --nproc_per_node at most that many."
            )
        return torch.device("cuda", local)
    if device.type == "mps" and (preference or "auto").lower() != "auto":
        raise BackboneError("torchrun on Apple MPS is not supported: use `--device cpu`.")
    return torch.device("cpu")


def init_distributed(device: torch.device) -> Ranks:
    """Join the torchrun process group (NCCL on CUDA, gloo on the CPU) once; one process
    outside torchrun. `device` must be `rank_device()`'s: a GPU shared by two processes
    fails here with a message, not later inside NCCL."""
    if int(os.environ.get("WORLD_SIZE", "1")) == 1:
        return Ranks()
    if not dist.is_initialized():
        if device.type == "cuda":
            local = int(os.environ.get("LOCAL_RANK", "0"))
            if device.index != local:
                raise ValueError(
                    f"This torchrun process (LOCAL_RANK={local}) has its model on {device}; "
                    f"load it on cuda:{local} (engine.distributed.rank_device)."
                )
            torch.cuda.set_device(device)  # barriers and collectives then use this GPU
            dist.init_process_group(backend="nccl", device_id=device)
        else:
            dist.init_process_group(backend="gloo")
    return Ranks(dist.get_rank(), dist.get_world_size())


@contextlib.contextmanager
def main_first(ranks: Ranks) -> Iterator[None]:
    """Rank 0 runs the block first, the others wait and then run it: rank 0 writes the caches
    (or deletes an old run), the others find them written. One process: just the block.
    Every rank must enter it, whatever it does inside: the barrier counts them all."""
    if not ranks.is_main:
        dist.barrier()
    yield
    if ranks.is_main and ranks.world > 1:
        dist.barrier()


def average_gradients(parameters: list[torch.Tensor], ranks: Ranks) -> None:
    """Mean gradient over ranks: each rank's episodes count as part of one big meta-batch."""
    if ranks.world == 1:
        return
    for parameter in parameters:
        if parameter.grad is None:
            parameter.grad = torch.zeros_like(parameter)
        dist.all_reduce(parameter.grad, op=dist.ReduceOp.SUM)
        parameter.grad /= ranks.world
