"""P x K identity sampling (Hermans et al.): every batch holds P identities with K units each, so
the batch-hard triplet loss finds positives and negatives in it.

One epoch: each identity's units are shuffled and cut into groups of K (an identity with fewer
than K units repeats some); batches take P identities at random among those with groups left,
until fewer than P remain. The draw is a function of (seed, epoch) alone, so every rank and every
resumed run sees the same batches. Under DDP the P x K batch is the global one: rank r takes
identities [r * P / world, (r + 1) * P / world) of each batch (whole identities, so each rank's
triplets are complete).

Each index comes with its own augmentation seed: the dataset draws flips, clip starts and erasing
boxes from it, so a run does not depend on the number of loader workers and resumes bit for bit.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from torch.utils.data import Sampler

from occreid.common.errors import OccreidError


class PKBatchSampler(Sampler[list[tuple[int, int]]]):
    """Batches of (unit index, sample seed) pairs; ``set_epoch`` before each epoch."""

    def __init__(
        self,
        pids: np.ndarray,
        ids_per_batch: int,
        instances: int,
        seed: int = 0,
        rank: int = 0,
        world: int = 1,
    ) -> None:
        if ids_per_batch % world:
            raise OccreidError(
                f"data.ids_per_batch = {ids_per_batch} does not split over {world} processes; "
                "choose a multiple of the number of processes"
            )
        self.units_of = {int(p): np.flatnonzero(pids == p) for p in np.unique(pids)}
        if len(self.units_of) < ids_per_batch:
            raise OccreidError(
                f"the training split has {len(self.units_of)} identities, fewer than "
                f"data.ids_per_batch = {ids_per_batch}; lower it with --set data.ids_per_batch=N"
            )
        self.p, self.k, self.seed = ids_per_batch, instances, seed
        self.rank, self.world = rank, world
        self.epoch = 0
        self._cache: tuple[int, list[np.ndarray]] | None = None

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def batches(self) -> list[np.ndarray]:
        """The epoch's global batches: arrays of P * K unit indices, identity by identity."""
        if self._cache is not None and self._cache[0] == self.epoch:
            return self._cache[1]
        rng = np.random.default_rng([self.seed, self.epoch])
        groups: dict[int, list[np.ndarray]] = {}
        for pid, units in self.units_of.items():
            units = rng.permutation(units)
            if len(units) < self.k:
                units = np.concatenate([units, rng.choice(units, self.k - len(units))])
            whole = len(units) // self.k * self.k
            groups[pid] = list(units[:whole].reshape(-1, self.k))
        out = []
        while True:
            alive = [pid for pid, g in groups.items() if g]
            if len(alive) < self.p:
                break
            chosen = rng.choice(alive, size=self.p, replace=False)
            out.append(np.concatenate([groups[int(pid)].pop() for pid in chosen]))
        self._cache = (self.epoch, out)
        return out

    def __len__(self) -> int:
        return len(self.batches())

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        share = self.p // self.world * self.k
        seeds = np.random.default_rng([self.seed, self.epoch, 1]).integers(
            0, 2**62, size=(len(self.batches()), self.p * self.k)
        )
        for b, batch in enumerate(self.batches()):
            part = slice(self.rank * share, (self.rank + 1) * share)
            yield list(zip(batch[part].tolist(), seeds[b, part].tolist(), strict=True))
