"""evaluate_rank at MSMT17 size (11,659 queries x 82,161 gallery) against a straightforward NumPy
per-query loop (argsort each row, torchreid's protocol): same inputs, same answers, speed ratio.

    python benchmarks/eval_speed.py --json benchmarks/results/eval_speed.json [--device cuda]
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

import numpy as np
import torch
from _results import write_json

from occreid.engine.metrics import evaluate_rank, evaluate_rank_reference


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=11_659)
    parser.add_argument("--gallery", type=int, default=82_161)
    parser.add_argument("--ids", type=int, default=3_060, help="Identities (MSMT17 test: 3,060).")
    parser.add_argument("--cameras", type=int, default=15)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/eval_speed.json"))
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    q_pids, g_pids = (
        rng.integers(0, args.ids, args.queries),
        rng.integers(0, args.ids, args.gallery),
    )
    q_cams = rng.integers(0, args.cameras, args.queries)
    g_cams = rng.integers(0, args.cameras, args.gallery)
    # distances that carry identity, so the metrics are not all near zero; made in row blocks so
    # that the peak memory measured is the matrix (3.8 GB at MSMT17 size) plus evaluate_rank's own
    dist = rng.random((args.queries, args.gallery), dtype=np.float32)
    pull = rng.random(args.queries, dtype=np.float32)
    for r in range(0, args.queries, 512):
        same = q_pids[r : r + 512, None] == g_pids[None]
        dist[r : r + 512] -= 0.5 * same * pull[r : r + 512, None]
    on_device = torch.from_numpy(dist).to(args.device)
    t = time.perf_counter()
    cmc, m_ap = evaluate_rank(on_device, q_pids, g_pids, q_cams, g_cams)
    if args.device == "cuda":
        torch.cuda.synchronize()
    t_torch = time.perf_counter() - t
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB on Linux
    t = time.perf_counter()
    ref_cmc, ref_ap = evaluate_rank_reference(dist, q_pids, g_pids, q_cams, g_cams)
    t_loop = time.perf_counter() - t
    same = bool(np.allclose(cmc, ref_cmc) and abs(m_ap - ref_ap) < 1e-9)
    result = {
        "queries": args.queries,
        "gallery": args.gallery,
        "device": args.device,
        "evaluate_rank_s": round(t_torch, 2),
        "numpy_loop_s": round(t_loop, 2),
        "speedup": round(t_loop / t_torch, 1),
        "same_answers": same,
        "distances_gb": round(dist.nbytes / 2**30, 2),
        "peak_rss_gb_after_evaluate_rank": round(peak_gb, 2),
        "mAP": round(m_ap, 5),
        "rank1": round(float(cmc[0]), 5),
    }
    print(
        f"{args.queries} x {args.gallery} on {args.device}: evaluate_rank {t_torch:.1f} s, "
        f"NumPy loop {t_loop:.1f} s, x{t_loop / t_torch:.1f}, same answers: {same}"
    )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    write_json(args.json, result)


if __name__ == "__main__":
    main()
