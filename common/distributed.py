"""torchrun support: rank / world from the environment, one process group, barriers.

Under torchrun (WORLD_SIZE > 1) the group starts on first use: NCCL when the process owns a GPU,
else gloo (how CI tests it on CPU). Without torchrun everything is rank 0 of 1 and no-op. torch is
imported only where a process group is used, so the dataset side can read ``Dist`` without it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class Dist:
    """This process's place in the job: rank, world size and the rank on its node."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0


def torchrun_place() -> Dist:
    """This process's place as torchrun's environment gives it (no process group started)."""
    return Dist(
        int(os.environ.get("RANK", "0")),
        int(os.environ.get("WORLD_SIZE", "1")),
        int(os.environ.get("LOCAL_RANK", "0")),
    )


def init_distributed(use_cuda: bool = False) -> Dist:
    """This process's place in the torchrun job (starting the process group when needed)."""
    place = torchrun_place()
    world, local = place.world, place.local_rank
    if world == 1:
        return Dist()
    import torch
    import torch.distributed as dist

    if not dist.is_initialized():
        if use_cuda:
            torch.cuda.set_device(local)
        dist.init_process_group("nccl" if use_cuda else "gloo")
    return Dist(dist.get_rank(), world, local)


def barrier(info: Dist) -> None:
    if info.world > 1:
        import torch.distributed as dist

        dist.barrier()


def all_reduce_sum(tensor: torch.Tensor, info: Dist) -> torch.Tensor:
    """Sum ``tensor`` over ranks in place (no-op for one process)."""
    if info.world > 1:
        import torch.distributed as dist

        dist.all_reduce(tensor)
    return tensor


def quiet(info: Dist) -> dict[str, bool]:
    """tqdm arguments: bars on rank 0 only (rank 0 keeps TQDM_DISABLE and tqdm's defaults)."""
    return {} if info.main else {"disable": True}
