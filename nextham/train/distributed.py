"""Data-parallel training with ``torchrun`` (DDP; gloo on CPU, nccl on GPU).

Started as ``torchrun --nproc_per_node=N -m nextham.cli.main train CONFIG``; each rank takes an
equal share of the structures of every batch (``batch[rank::world]``) and DDP averages the
gradients. Because every loss term is a mean over structures, this equals single-process
training on the whole batch whenever each batch splits evenly across ranks.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as tdist


def is_distributed() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def rank_and_world() -> tuple[int, int]:
    if tdist.is_available() and tdist.is_initialized():
        return tdist.get_rank(), tdist.get_world_size()
    return 0, 1


def is_main() -> bool:
    return rank_and_world()[0] == 0


def pick_device(name: str) -> torch.device:
    """``auto``: this rank's GPU if CUDA is available, else the CPU."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and is_distributed():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return torch.device(name)


def wrap(model: torch.nn.Module) -> torch.nn.Module:
    """Initialise the process group (once) and wrap in DDP when run under torchrun."""
    if not is_distributed():
        return model
    if not tdist.is_initialized():
        backend = "nccl" if next(model.parameters()).is_cuda else "gloo"
        tdist.init_process_group(backend=backend)
    return torch.nn.parallel.DistributedDataParallel(model, find_unused_parameters=True)


def barrier() -> None:
    if tdist.is_available() and tdist.is_initialized():
        tdist.barrier()
