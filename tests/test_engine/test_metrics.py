import numpy as np
import pytest
import torch

from occreid.engine.metrics import (
    _rank_metrics_torch,
    evaluate_rank,
    evaluate_rank_reference,
    match_ranks,
    rank_metrics,
)


def test_worked_example() -> None:
    # query pid 1 cam 1; gallery by distance: same id same cam (ignored), pid 2, pid 1, pid 3, pid 1
    dist = np.array([[0.1, 0.2, 0.3, 0.4, 0.5]])
    g_pids, g_cams = np.array([1, 2, 1, 3, 1]), np.array([1, 2, 2, 2, 3])
    cmc, m_ap = evaluate_rank(dist, np.array([1]), g_pids, np.array([1]), g_cams, max_rank=4)
    assert cmc.tolist() == [0.0, 1.0, 1.0, 1.0]
    assert m_ap == pytest.approx((1 / 2 + 2 / 4) / 2)  # matches at kept ranks 2 and 4


def test_queries_without_a_valid_match_are_skipped_and_counted() -> None:
    dist = np.array([[0.1, 0.2], [0.2, 0.1]])
    r = rank_metrics(dist, np.array([1, 2]), np.array([1, 2]), np.array([1, 1]), np.array([1, 2]))
    assert r.num_skipped == 1 and r.num_valid == 1  # query 1's only match shares its camera
    assert r.cmc[0] == 1.0 and r.mAP == 1.0


def test_matches_the_loop_on_random_data_with_ties() -> None:
    rng = np.random.default_rng(0)
    nq, ng = 300, 700
    dist = rng.integers(0, 20, (nq, ng)).astype(np.float32)  # many ties: order must be stable
    q_pids, g_pids = rng.integers(0, 40, nq), rng.integers(0, 40, ng)
    q_cams, g_cams = rng.integers(0, 6, nq), rng.integers(0, 6, ng)
    cmc, m_ap = evaluate_rank(torch.from_numpy(dist), q_pids, g_pids, q_cams, g_cams, max_rank=20)
    ref_cmc, ref_ap = evaluate_rank_reference(dist, q_pids, g_pids, q_cams, g_cams, max_rank=20)
    assert np.allclose(cmc, ref_cmc) and m_ap == pytest.approx(ref_ap, abs=1e-9)


def test_negative_zero_and_tied_distances_rank_as_the_stable_sort() -> None:
    rng = np.random.default_rng(1)
    values = np.array([0.5, -1e-7, -2.0, 0.0, -0.0, 3.0, 1e-30, 0.5], dtype=np.float32)
    dist = rng.choice(values, size=(60, 400))  # almost every distance ties with a match's
    q_pids, g_pids = rng.integers(0, 5, 60), rng.integers(0, 5, 400)
    q_cams, g_cams = rng.integers(0, 3, 60), rng.integers(0, 3, 400)
    cmc, m_ap = evaluate_rank(torch.from_numpy(dist), q_pids, g_pids, q_cams, g_cams, max_rank=30)
    ref_cmc, ref_ap = evaluate_rank_reference(dist, q_pids, g_pids, q_cams, g_cams, max_rank=30)
    assert np.allclose(cmc, ref_cmc) and m_ap == pytest.approx(ref_ap, abs=1e-12)


@pytest.mark.parametrize("chunk", [1, 7, 512])
def test_chunking_does_not_change_the_answer(chunk: int) -> None:
    rng = np.random.default_rng(2)
    dist = rng.random((50, 300), dtype=np.float32)
    q_pids, g_pids = rng.integers(0, 20, 50), rng.integers(0, 20, 300)
    q_cams, g_cams = rng.integers(0, 4, 50), rng.integers(0, 4, 300)
    got = _rank_metrics_torch(dist, q_pids, g_pids, q_cams, g_cams, 50, chunk)  # the GPU kernel
    ref_cmc, ref_ap = evaluate_rank_reference(dist, q_pids, g_pids, q_cams, g_cams)
    assert np.allclose(got.cmc, ref_cmc) and got.mAP == pytest.approx(ref_ap, abs=1e-12)


def test_no_query_with_a_match_is_a_clear_error() -> None:
    from occreid.common.errors import OccreidError

    dist = np.array([[0.1, 0.2]])
    with pytest.raises(OccreidError, match="none of the 1 queries has a match"):
        rank_metrics(dist, np.array([1]), np.array([2, 3]), np.array([1]), np.array([2, 2]))


@pytest.mark.parametrize("values", ["ties", "signed zeros", "continuous"])
def test_the_cpu_and_gpu_kernels_agree_with_the_loop(values: str) -> None:
    rng = np.random.default_rng(3)
    nq, ng = 80, 900
    if values == "ties":
        dist = rng.integers(0, 12, (nq, ng)).astype(np.float32)
    elif values == "signed zeros":
        dist = rng.choice(np.array([0.0, -0.0, 1.0, -1.0], dtype=np.float32), size=(nq, ng))
    else:
        dist = rng.random((nq, ng), dtype=np.float32)
    q_pids, g_pids = rng.integers(0, 30, nq), rng.integers(0, 30, ng)
    q_cams, g_cams = rng.integers(0, 4, nq), rng.integers(0, 4, ng)
    ref_cmc, ref_ap = evaluate_rank_reference(dist, q_pids, g_pids, q_cams, g_cams, max_rank=25)
    cpu = rank_metrics(dist, q_pids, g_pids, q_cams, g_cams, max_rank=25)
    gpu_kernel = _rank_metrics_torch(dist, q_pids, g_pids, q_cams, g_cams, 25, 16)
    for got in (cpu, gpu_kernel):
        assert np.allclose(got.cmc, ref_cmc) and got.mAP == pytest.approx(ref_ap, abs=1e-12)


def test_match_ranks_counts_ties_by_gallery_order_and_leaves_junk_out() -> None:
    row = np.array([0.3, 0.1, 0.3, 0.2, 0.3, 0.0], dtype=np.float32)
    # matches 2 and 4 (both 0.3: 0 ties ahead of 2, index 0 and 2 ahead of 4); junk: 1 and 0
    ranks = match_ranks(row, np.array([2, 4]), np.array([0, 1]))
    # kept order by (distance, index): 5 (0.0), 3 (0.2), 2 (0.3), 4 (0.3)
    assert ranks.tolist() == [3, 4]
