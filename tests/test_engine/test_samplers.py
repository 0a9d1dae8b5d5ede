import numpy as np
import pytest

from occreid.common.errors import OccreidError
from occreid.engine.samplers import PKBatchSampler

PIDS = np.repeat(np.arange(12), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])


def _units(batch: list[tuple[int, int]]) -> list[int]:
    return [u for u, _ in batch]


def test_every_batch_holds_p_identities_with_k_units_each() -> None:
    sampler = PKBatchSampler(PIDS, 4, 3, seed=0)
    batches = list(sampler)
    assert len(batches) == len(sampler) > 0
    for batch in batches:
        pids = PIDS[_units(batch)]
        assert len(pids) == 12
        groups = [pids[i : i + 3] for i in range(0, 12, 3)]
        assert all(len(set(g)) == 1 for g in groups) and len({g[0] for g in groups}) == 4


def test_an_epoch_uses_most_units_and_repeats_only_small_identities() -> None:
    sampler = PKBatchSampler(PIDS, 4, 3, seed=0)
    seen = np.concatenate([_units(b) for b in sampler])
    counts = np.bincount(seen, minlength=len(PIDS))
    big = PIDS >= 3  # identities with at least K units never repeat one
    assert counts[big].max() == 1
    assert counts[big].sum() >= 0.7 * big.sum()


def test_same_seed_and_epoch_same_batches_and_augmentation_seeds() -> None:
    a, b = PKBatchSampler(PIDS, 4, 3, seed=5), PKBatchSampler(PIDS, 4, 3, seed=5)
    a.set_epoch(3)
    b.set_epoch(3)
    assert list(a) == list(b)
    b.set_epoch(4)
    assert list(a) != list(b)


def test_ranks_split_each_global_batch_by_whole_identities() -> None:
    whole = list(PKBatchSampler(PIDS, 4, 3, seed=1))
    parts = [list(PKBatchSampler(PIDS, 4, 3, seed=1, rank=r, world=2)) for r in range(2)]
    assert len(parts[0]) == len(parts[1]) == len(whole)
    for full, p0, p1 in zip(whole, *parts, strict=True):
        assert p0 + p1 == full
        assert not set(PIDS[_units(p0)]) & set(PIDS[_units(p1)])


def test_p_must_split_over_ranks_and_fit_the_identities() -> None:
    with pytest.raises(OccreidError, match="multiple"):
        PKBatchSampler(PIDS, 3, 4, world=2)
    with pytest.raises(OccreidError, match="ids_per_batch"):
        PKBatchSampler(PIDS, 13, 4)
