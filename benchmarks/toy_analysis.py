"""Where RFCnet gains or loses against the baseline on the toy benchmark: per-query AP of the
models that ``toy_accuracy.py`` trained, paired by seed, query draw and query, grouped by how much
of the query's body is hidden (its frames' mean occlusion label) and by the share of its frames
that are occluded; how much of each model's error is telling group-mates apart (toy identities
come in groups that share head and upper body and differ only in the legs, so a leg occluder
leaves nothing in the frame to tell them apart by): the share of wrong rank-1 answers that are a
group-mate, and the mAP with every query's group-mates left out of its gallery; and whether the
RFC blocks matter at all: each RFCnet's mAP with its blocks turned into the identity at test time
(the projection BN that ends each block set to zero, as it starts), beside the size of that BN's
weights.

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
import torch
from _results import write_json

from occreid.common.runtime import Runtime
from occreid.engine.checkpoint import model_from_checkpoint
from occreid.engine.data import load_split
from occreid.engine.evaluate import embed_split
from occreid.engine.metrics import Embedded, rank_metrics
from occreid.occdata.synth import SynthConfig
from occreid.occdata.synth.plan import look_group

BINS = {"hidden < 20 %": (0.0, 2.0), "hidden 20-40 %": (2.0, 3.0), "hidden > 40 %": (3.0, 11.0)}


def query_aps(checkpoint: Path, draws: list[Path], groups: SynthConfig) -> pd.DataFrame:
    """One row per (draw, query): AP, the query's mean occlusion label and occluded share, AP
    with its group-mates out of the gallery, and whether its rank-1 answer is a group-mate."""
    model, cfg = model_from_checkpoint(checkpoint)
    rt = Runtime.create("cpu", channels_last=cfg.run.channels_last)
    model = rt.place(model)
    gallery = embed_split(model, load_split(draws[0], "gallery"), cfg, rt)
    g_groups = np.array([look_group(int(p), groups) for p in gallery.pids])
    rows = []
    for draw, dataset in enumerate(draws):
        split = load_split(dataset, "query")
        query = embed_split(model, split, cfg, rt)
        dist = 1 - query.features @ gallery.features.t()
        q_groups = np.array([look_group(int(p), groups) for p in query.pids])
        mates = torch.from_numpy(
            (q_groups[:, None] == g_groups[None, :]) & (query.pids[:, None] != gallery.pids)
        )
        no_mates = dist.masked_fill(mates, float("inf"))  # after every match: out of the AP
        frames = split.frames.groupby("tracklet", sort=False)
        occlusion = frames["occlusion"].mean().reindex(split.tracklets["tracklet"]).to_numpy()
        occluded = frames["occluded"].mean().reindex(split.tracklets["tracklet"]).to_numpy()
        for i in range(len(query.pids)):
            ap, ap_no_mates = (_ap(d[i], query, gallery, i) for d in (dist, no_mates))
            first = _first_answer(dist[i], query, gallery, i)
            right = bool(gallery.pids[first] == query.pids[i])
            mate = bool(mates[i, first])
            chance = float(mates[i].sum()) / int((gallery.pids != query.pids[i]).sum())
            rows.append((draw, i, ap, occlusion[i], occluded[i], ap_no_mates, right, mate, chance))
    columns = ["draw", "query", "ap", "occlusion", "occluded", "ap_no_mates", "right"]
    columns += ["mate_first", "mate_chance"]
    return pd.DataFrame(rows, columns=columns)


def _ap(row: torch.Tensor, query: Embedded, gallery: Embedded, i: int) -> float:
    r = rank_metrics(
        row[None], query.pids[i : i + 1], gallery.pids, query.camids[i : i + 1], gallery.camids
    )
    return r.mAP


def _first_answer(row: torch.Tensor, query: Embedded, gallery: Embedded, i: int) -> int:
    """The gallery index ranked first for query ``i`` (same identity and camera ignored)."""
    junk = (gallery.pids == query.pids[i]) & (gallery.camids == query.camids[i])
    return int(row.masked_fill(torch.from_numpy(junk), float("inf")).argmin())


def blocks_as_identity(checkpoint: Path, draws: list[Path]) -> dict[str, float]:
    """Mean mAP over the draws with the RFC blocks as trained and as the identity, and the mean
    |weight| of the blocks' projection BN (0 at the start)."""
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


def group_mates(tables: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """Per model, over seeds: mAP, the share of wrong rank-1 answers that are a group-mate (and
    that share for a wrong answer drawn at random from the gallery), and the mAP with group-mates
    out of the gallery; and RFCnet - baseline for both mAPs."""
    out: dict[str, Any] = {}
    head = f"{'model':>10} {'mAP':>6} {'wrong rank-1':>13} {'on a mate':>10} {'(chance)':>9}"
    print(head + f" {'mAP w/o mates':>14}")
    for name, t in tables.items():
        wrong = t[~t["right"]]
        row = {
            "mAP": float(t["ap"].mean()),
            "wrong_rank1": float(len(wrong) / len(t)),
            "wrong_rank1_on_group_mate": float(wrong["mate_first"].mean()),
            "by_chance": float(wrong["mate_chance"].mean()),
            "mAP_without_group_mates": float(t["ap_no_mates"].mean()),
        }
        out[name] = row
        print(
            f"{name:>10} {row['mAP']:6.3f} {row['wrong_rank1']:13.3f} "
            f"{row['wrong_rank1_on_group_mate']:10.3f} {row['by_chance']:9.3f} "
            f"{row['mAP_without_group_mates']:14.3f}"
        )
    for column, key in (("ap", "mAP"), ("ap_no_mates", "mAP_without_group_mates")):
        per_seed = [t.groupby("seed")[column].mean() for t in tables.values()]
        diff = (per_seed[1] - per_seed[0]).round(4)
        out[f"rfcnet_minus_baseline_{key}"] = diff.tolist()
        print(f"RFCnet - baseline, {key}: " + " ".join(f"{d:+.3f}" for d in diff))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "occreid-toyacc")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--draws", type=int, default=5)
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    draws = [args.work / "dataset", *(args.work / f"dataset-draw{k}" for k in range(1, args.draws))]
    groups = SynthConfig(**json.loads((args.work / "src" / "synth.json").read_text()))
    scored: dict[str, list[pd.DataFrame]] = {"baseline": [], "rfcnet": []}
    for seed in args.seeds:
        for name, tables in scored.items():
            aps = query_aps(args.work / "runs" / f"{name}-{seed}" / "model.pt", draws, groups)
            tables.append(aps.assign(seed=seed))
    table = pd.concat(scored["baseline"], ignore_index=True)
    table["diff"] = pd.concat(scored["rfcnet"], ignore_index=True)["ap"] - table["ap"]
    result: dict[str, Any] = {"queries_scored": len(table)}
    result["group_mates"] = group_mates({m: pd.concat(t) for m, t in scored.items()})
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
        write_json(args.json, result)


if __name__ == "__main__":
    main()
