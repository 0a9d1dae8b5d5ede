"""Single-query ReID metrics: CMC and mAP (the protocol of torchreid's rank.py, vectorised).

For each query, gallery items of the same identity AND the same camera are ignored; a query with
no remaining match is skipped and counted. Ties in distance keep gallery order (as a stable sort).

Only the rank of each true match matters for CMC and AP, so no row is sorted. Two kernels give
the same answers (tests hold both to the plain loop, ``evaluate_rank_reference``):

- CPU (``_cpu_counts``): a query's matches come from an index of the gallery by identity (a few
  dozen), and the rank of a match is one plus the gallery items ahead of it, counted with one
  compare-and-count pass over the row per match (the row stays in cache; counting is SIMD), a
  second pass only to see whether anything ties with it, minus the ignored items ahead. Queries
  are split over the cores (NumPy releases the GIL in its loops). Speed and memory at MSMT17
  size against a NumPy loop: benchmarks/eval_speed.py (numbers in the README).
- GPU (``_chunk_ranks``): each gallery item gets an exact, unique, order-preserving int64 key
  (the float32 distance's bits, then its index); the match keys of a chunk of queries are
  picked with topk and ``searchsorted`` tells for every kept non-match how many matches lie after
  it, so the rank of the k-th match is k + 1 plus the non-matches before it.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch

from occreid.common.cores import usable_cores
from occreid.common.errors import OccreidError

INT64_MAX = torch.iinfo(torch.int64).max


@dataclass
class Embedded:
    """One split's tracklet features (N, D), L2-normalised, with pids and camids."""

    features: torch.Tensor
    pids: np.ndarray
    camids: np.ndarray


@dataclass
class RankResult:
    """CMC curve (rank 1..max_rank), mAP, and how many queries counted / were skipped."""

    cmc: np.ndarray
    mAP: float
    num_valid: int
    num_skipped: int


def order_keys(dist: torch.Tensor) -> torch.Tensor:
    """(Q, G) float32 distances -> unique int64 keys in the order of (distance, gallery index).

    -0.0 and +0.0 are one distance (as for a sort): adding +0.0 turns -0.0 into +0.0."""
    bits = (dist + 0.0).contiguous().view(torch.int32)
    ordered = bits ^ ((bits >> 31) & 0x7FFFFFFF)  # negative floats: magnitude order reversed
    index = torch.arange(dist.shape[1], device=dist.device)
    return torch.add(index, ordered.long(), alpha=dist.shape[1])


def _chunk_ranks(
    keys: torch.Tensor, match: torch.Tensor, keep: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Rank (1-based, among kept items) of each match in key order; (Q, M) padded, and counts."""
    n_match = match.sum(dim=1)
    m = max(int(n_match.max()), 1)
    match_keys = torch.where(match, keys, INT64_MAX).topk(m, dim=1, largest=False).values
    before = torch.searchsorted(match_keys, keys)  # matches ahead of each item: its bucket
    others = (keep & ~match).long()
    counts = torch.zeros(keys.shape[0], m + 1, dtype=torch.long, device=keys.device)
    counts.scatter_add_(1, before, others)
    non_match_before = torch.cumsum(counts, dim=1)[:, :m]
    ranks = non_match_before + torch.arange(1, m + 1, device=keys.device)
    return ranks, n_match


def match_ranks(row: np.ndarray, matches: np.ndarray, junk: np.ndarray) -> np.ndarray:
    """1-based ranks, among the kept items of one query's row (G,) float32, of its matches
    (gallery indices, ascending) in (distance, index) order; ``junk`` are the ignored items."""
    t = row[matches]
    order = np.lexsort((matches, t))
    t, index = t[order], matches[order]
    ahead = np.empty(len(t), dtype=np.int64)
    for k, (value, at) in enumerate(zip(t.tolist(), index.tolist(), strict=True)):
        below = np.count_nonzero(row < value)
        ties = np.count_nonzero(row <= value) - below  # itself and any equal distance
        ahead[k] = below if ties == 1 else below + np.count_nonzero(row[:at] == value)
    if len(junk):
        jt = row[junk]
        first = (jt[None] < t[:, None]) | ((jt[None] == t[:, None]) & (junk[None] < index[:, None]))
        ahead -= first.sum(axis=1)
    return ahead + 1


def _cpu_counts(
    dist: np.ndarray,
    qp: np.ndarray,
    gp: np.ndarray,
    qc: np.ndarray,
    gc: np.ndarray,
    max_rank: int,
) -> tuple[np.ndarray, float, int]:
    """(hits per rank, sum of AP, valid queries) on the CPU, queries split over the cores."""
    by_id = np.argsort(gp, kind="stable")
    ids, starts = np.unique(gp[by_id], return_index=True)
    ends = np.append(starts[1:], len(gp))

    def part(rows: range) -> tuple[np.ndarray, float, int]:
        hits = np.zeros(max_rank + 1, dtype=np.int64)
        ap, valid = 0.0, 0
        for i in rows:
            j = np.searchsorted(ids, qp[i])
            if j == len(ids) or ids[j] != qp[i]:
                continue
            same = by_id[starts[j] : ends[j]]
            same_cam = gc[same] == qc[i]
            matches = same[~same_cam]
            if not len(matches):
                continue
            ranks = match_ranks(dist[i], matches, same[same_cam])
            hits[min(int(ranks[0]), max_rank + 1) - 1] += 1
            ap += float((np.arange(1, len(ranks) + 1) / ranks).mean())
            valid += 1
        return hits, ap, valid

    workers = usable_cores()
    step = max(1, -(-len(qp) // (8 * workers)))
    with ThreadPoolExecutor(workers) as pool:
        parts = list(
            pool.map(part, [range(s, min(s + step, len(qp))) for s in range(0, len(qp), step)])
        )
    hits = np.sum([p[0] for p in parts], axis=0)
    return np.cumsum(hits)[:max_rank], sum(p[1] for p in parts), sum(p[2] for p in parts)


def rank_metrics(
    distmat: np.ndarray | torch.Tensor,
    q_pids: np.ndarray | torch.Tensor,
    g_pids: np.ndarray | torch.Tensor,
    q_camids: np.ndarray | torch.Tensor,
    g_camids: np.ndarray | torch.Tensor,
    max_rank: int = 50,
    chunk: int = 512,
) -> RankResult:
    """CMC and mAP of a (num_query, num_gallery) distance matrix (smaller = more similar): the
    CPU kernel for a matrix in main memory, the chunked torch kernel on a GPU."""
    if isinstance(distmat, torch.Tensor) and distmat.is_cuda:
        return _rank_metrics_torch(distmat, q_pids, g_pids, q_camids, g_camids, max_rank, chunk)
    dist = np.ascontiguousarray(_numpy(distmat), dtype=np.float32)
    qp, gp, qc, gc = (_numpy(x) for x in (q_pids, g_pids, q_camids, g_camids))
    max_rank = min(max_rank, dist.shape[1])
    hits, ap_sum, valid = _cpu_counts(dist, qp, gp, qc, gc, max_rank)
    _require_valid(valid, dist.shape)
    return RankResult(hits / valid, ap_sum / valid, valid, dist.shape[0] - valid)


def _numpy(x: np.ndarray | torch.Tensor) -> np.ndarray:
    return x.cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def _require_valid(valid: int, shape: tuple[int, ...]) -> None:
    if valid == 0:
        raise OccreidError(
            f"none of the {shape[0]} queries has a match in the gallery of {shape[1]} "
            "(same identity in another camera): are query and gallery from the same dataset?"
        )


def _rank_metrics_torch(
    distmat: np.ndarray | torch.Tensor,
    q_pids: np.ndarray | torch.Tensor,
    g_pids: np.ndarray | torch.Tensor,
    q_camids: np.ndarray | torch.Tensor,
    g_camids: np.ndarray | torch.Tensor,
    max_rank: int,
    chunk: int,
) -> RankResult:
    dist = torch.as_tensor(distmat).float()
    device = dist.device
    qp, gp = torch.as_tensor(q_pids).to(device), torch.as_tensor(g_pids).to(device)
    qc, gc = torch.as_tensor(q_camids).to(device), torch.as_tensor(g_camids).to(device)
    max_rank = min(max_rank, dist.shape[1])
    thresholds = torch.arange(1, max_rank + 1, device=device)
    hits = torch.zeros(max_rank, dtype=torch.float64, device=device)
    ap_sum, valid = 0.0, 0
    for start in range(0, dist.shape[0], chunk):
        sl = slice(start, start + chunk)
        same_id = gp[None] == qp[sl, None]
        keep = ~(same_id & (gc[None] == qc[sl, None]))
        ranks, n_match = _chunk_ranks(order_keys(dist[sl]), same_id & keep, keep)
        has = n_match > 0
        ranks, n_match = ranks[has], n_match[has]
        hits += (ranks[:, :1] <= thresholds[None]).sum(dim=0)
        k = torch.arange(1, ranks.shape[1] + 1, device=device)
        real = k[None] <= n_match[:, None]
        precision = torch.where(real, k[None].double() / ranks, 0.0)
        ap_sum += float((precision.sum(dim=1) / n_match).sum())
        valid += int(has.sum())
    _require_valid(valid, tuple(dist.shape))
    return RankResult((hits / valid).cpu().numpy(), ap_sum / valid, valid, dist.shape[0] - valid)


def evaluate_rank(
    distmat: np.ndarray | torch.Tensor,
    q_pids: np.ndarray | torch.Tensor,
    g_pids: np.ndarray | torch.Tensor,
    q_camids: np.ndarray | torch.Tensor,
    g_camids: np.ndarray | torch.Tensor,
    max_rank: int = 50,
) -> tuple[np.ndarray, float]:
    """(cmc, mAP): cmc[k] is the share of valid queries matched within the top k + 1."""
    result = rank_metrics(distmat, q_pids, g_pids, q_camids, g_camids, max_rank)
    return result.cmc, result.mAP


def evaluate_rank_reference(
    distmat: np.ndarray,
    q_pids: np.ndarray,
    g_pids: np.ndarray,
    q_camids: np.ndarray,
    g_camids: np.ndarray,
    max_rank: int = 50,
) -> tuple[np.ndarray, float]:
    """The protocol written plainly, one query at a time (torchreid's eval loop): the yardstick
    that ``evaluate_rank`` must agree with, and what to read to understand it."""
    all_cmc, all_ap = [], []
    for i in range(len(q_pids)):
        order = np.argsort(distmat[i], kind="stable")
        keep = ~((g_pids[order] == q_pids[i]) & (g_camids[order] == q_camids[i]))
        matches = (g_pids[order] == q_pids[i])[keep].astype(np.int64)
        if not matches.any():
            continue  # no valid match: skipped
        all_cmc.append(np.minimum(matches.cumsum(), 1)[:max_rank])
        precision = matches.cumsum() / (np.arange(len(matches)) + 1)
        all_ap.append(float((precision * matches).sum() / matches.sum()))
    return np.mean(all_cmc, axis=0), float(np.mean(all_ap))
