"""Where RFCnet gains or loses against the baseline on the toy benchmark: per-query AP of the
models that ``toy_accuracy.py`` trained, paired by seed, query draw and query, grouped by how much
of the query's body is hidden (its frames' mean occlusion label) and by the share of its frames
that are occluded; and whether the RFC blocks matter at all: each RFCnet's mAP with its blocks
turned into the identity at test time (the projection BN that ends each block set to zero, as it
starts), beside the size of that BN's weights.

    python benchmarks/toy_analysis.py --work /tmp/occreid-toyacc --seeds 0 1 2 3 4 --draws 5 \
        --json benchmarks/results/toy_analysis.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from occreid.common.runtime import Runtime
from occreid.engine.checkpoint import model_from_checkpoint
from occreid.engine.data import load_split
from occreid.engine.evaluate import embed_split
from occreid.engine.metrics import rank_metrics

BINS = {"hidden < 20 %": (0.0, 2.0), "hidden 20-40 %": (2.0, 3.0), "hidden > 40 %": (3.0, 11.0)}


def query_aps(checkpoint: Path, draws: list[Path]) -> pd.DataFrame:
    """One row per (draw, query): AP, the query's mean occlusion label and occluded share."""
    model, cfg = model_from_checkpoint(checkpoint)
    rt = Runtime.create("cpu", channels_last=cfg.run.channels_last)
    model = rt.place(model)
    gallery = embed_split(model, load_split(draws[0], "gallery"), cfg, rt)
    rows = []
    for draw, dataset in enumerate(draws):
        split = load_split(dataset, "query")
        query = embed_split(model, split, cfg, rt)
        dist = 1 - query.features @ gallery.features.t()
        frames = split.frames.groupby("tracklet", sort=False)
        occlusion = frames["occlusion"].mean().reindex(split.tracklets["tracklet"]).to_numpy()
        occluded = frames["occluded"].mean().reindex(split.tracklets["tracklet"]).to_numpy()
        for i in range(len(query.pids)):
            r = rank_metrics(
                dist[i : i + 1],
                query.pids[i : i + 1],
                gallery.pids,
                query.camids[i : i + 1],
                gallery.camids,
            )
            rows.append((draw, i, r.mAP, occlusion[i], occluded[i]))
    return pd.DataFrame(rows, columns=["draw", "query", "ap", "occlusion", "occluded"])


def blocks_as_identity(checkpoint: Path, draws: list[Path]) -> dict[str, float]:
    """Mean mAP over the draws with the RFC blocks as trained and as the identity, and the mean
    |weight| of the blocks' projection BN (0 at the start)."""
    import torch

    model, cfg = model_from_checkpoint(checkpoint)
    rt = Runtime.create("cpu", channels_last=cfg.run.channels_last)
    model = rt.place(model)
    norms = [float(b.expand[1].weight.detach().abs().mean()) for b in model.blocks.values()]
    out = {"projection_bn_abs_weight": float(np.mean(norms))}
    for name in ("mAP_with_blocks", "mAP_blocks_as_identity"):
        gallery = embed_split(model, load_split(draws[0], "gallery"), cfg, rt)
        maps = []
        for dataset in draws:
            query = embed_split(model, load_split(dataset, "query"), cfg, rt)
            dist = 1 - query.features @ gallery.features.t()
            maps.append(rank_metrics(dist, query.pids, gallery.pids, query.camids, gallery.camids))
        out[name] = float(np.mean([m.mAP for m in maps]))
        with torch.no_grad():  # the second pass: every block reduced to its identity start
            for block in model.blocks.values():
                block.expand[1].weight.zero_()
                block.expand[1].bias.zero_()
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "occreid-toyacc")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--draws", type=int, default=5)
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    draws = [args.work / "dataset", *(args.work / f"dataset-draw{k}" for k in range(1, args.draws))]
    paired = []
    for seed in args.seeds:
        base = query_aps(args.work / "runs" / f"baseline-{seed}" / "model.pt", draws)
        rfc = query_aps(args.work / "runs" / f"rfcnet-{seed}" / "model.pt", draws)
        base["diff"] = rfc["ap"] - base["ap"]
        base["seed"] = seed
        paired.append(base)
    table = pd.concat(paired, ignore_index=True)
    result: dict[str, Any] = {"queries_scored": len(table)}
    print(f"{'queries':>16} {'n':>5} {'baseline AP':>12} {'RFCnet - baseline':>18}  per seed")
    for name, (lo, hi) in BINS.items():
        part = table[(table["occlusion"] >= lo) & (table["occlusion"] < hi)]
        per_seed = part.groupby("seed")["diff"].mean()
        base_ap = float(part["ap"].mean())
        result[name] = {
            "queries": len(part),
            "baseline_ap": base_ap,
            "diff_mean": float(part["diff"].mean()),
            "diff_per_seed": per_seed.round(4).tolist(),
        }
        seeds = " ".join(f"{d:+.3f}" for d in per_seed)
        print(f"{name:>16} {len(part):5d} {base_ap:12.3f} {part['diff'].mean():+18.3f}  {seeds}")
    corr = float(np.corrcoef(table["occlusion"], table["diff"])[0, 1])
    result["corr_occlusion_diff"] = corr
    print(f"correlation of the query's hidden share with RFCnet's AP gain: {corr:+.3f}")
    print(f"{'RFCnet':>10} {'|BN w|':>7} {'mAP':>6} {'blocks off':>10}")
    result["blocks_as_identity"] = {}
    for seed in args.seeds:
        r = blocks_as_identity(args.work / "runs" / f"rfcnet-{seed}" / "model.pt", draws)
        result["blocks_as_identity"][seed] = r
        print(
            f"{'seed ' + str(seed):>10} {r['projection_bn_abs_weight']:7.4f} "
            f"{r['mAP_with_blocks']:6.3f} {r['mAP_blocks_as_identity']:10.3f}"
        )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
