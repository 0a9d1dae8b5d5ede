"""How far the automatic occlusion tags agree with people's labels, on real crops and on toy data.

For each DIR in the layout of ../shared/realdata (a DukeMTMC-VideoReID tree + labels.csv with a
``visibility`` (0-1) or an ``occluded`` (0/1) column): `occreid pseudolabel` with the chosen
backends, every core busy (torchrun, one process per core), then the tags of tagging.py against
the labels: Spearman of the label (and of P(occluded)) with 1 - visibility, ROC-AUC for
visibility < 0.5, ROC-AUC occluded vs whole (rows whose ``kind`` is occluded or whole; partial
crops are left out), agreement (tagged occluded vs hidden share over MIN_SHARE / occluded),
frames with no pose, and frames/s; each headline number with its 2.5-97.5 % range over
bootstrap redraws of tracks (MOT17) or identities (Partial-REID). The ``kind == whole`` photos
(nearly unoccluded people) are also counted alone: the share tagged occluded (an unknown frame
is never counted as occluded; the unknown ones are counted apart), at their own size and
resized to ``--whole-size`` (48x128 by default: small crops as a new user's; the resized copy
goes into --work, outside the repository). Then, on fresh `occreid synth` seeds (not the ones the
mapping was looked at on), the same tags against the exact ground truth with the oracle backend
(and the chosen backend when it is not the oracle): occluded yes / no accuracy and label MAE.

The real sets are research-only: they stay where they are; this script takes their path.

    python benchmarks/tagging_real.py ../shared/realdata/mot17-dev \\
        ../shared/realdata/partial-reid-dev --pose mediapipe --parsing keypoints \\
        --json benchmarks/results/tagging_real.json

Every number with the shipped default calibration of the backend pair (no reviewed labels), the
reliability of the confidence per bin, and the unknown frames (no evidence) counted apart.

Targets (issue 20), offline backend on the dev crops: MOT17 Spearman >= 0.45, frames tagged
occluded within 0.10 of frames that are; nearly unoccluded photos: at most 20 % tagged
occluded; Partial-REID (each photo alone) AUC >= 0.9; oracle on
synth: occluded yes / no >= 0.95 on every seed; among tags with confidence >= 0.8 at least 90 %
agree; >= 80 frames/s on 2 cores (mediapipe + keypoints).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from _results import write_json

from occreid.occdata.annotations import is_occluded
from occreid.pseudolabel.backends import paired_parsing
from occreid.pseudolabel.cache import LabelCache
from occreid.pseudolabel.calibration import MIN_SHARE
from occreid.pseudolabel.letterbox import MARGIN
from occreid.pseudolabel.tagging import occlusion_labels, tag_frames


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman rank correlation (pandas' average ranks for ties)."""
    table = pd.DataFrame({"a": np.asarray(a, float), "b": np.asarray(b, float)})
    return float(table.corr(method="spearman").iloc[0, 1])


def roc_auc(positive: np.ndarray, score: np.ndarray) -> float:
    """ROC-AUC of ``score`` for the boolean ``positive`` (Mann-Whitney U, ties count half)."""
    positive = np.asarray(positive, bool)
    ranks = pd.Series(np.asarray(score, float)).rank().to_numpy()
    n1, n0 = int(positive.sum()), int((~positive).sum())
    if not n1 or not n0:
        return float("nan")
    return float((ranks[positive].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


DRAWS = 1000  # bootstrap draws over groups (MOT17 tracks, Partial-REID identities)


def interval(
    stat: Callable[[pd.DataFrame], float], table: pd.DataFrame, groups: str, seed: int = 0
) -> list[float]:
    """The 2.5-97.5 % range of ``stat`` over bootstrap redraws of ``table``'s ``groups``
    (frames of one track or one identity are not independent)."""
    rows = table.groupby(groups, sort=False).indices
    members = list(rows.values())
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(DRAWS):
        pick = rng.integers(0, len(members), len(members))
        values.append(stat(table.iloc[np.concatenate([members[i] for i in pick])]))
    drawn = np.asarray(values, dtype=np.float64)
    if np.isnan(drawn).all():
        return [float("nan"), float("nan")]
    low, high = np.nanquantile(drawn, [0.025, 0.975])
    return [round(float(low), 3), round(float(high), 3)]


def label_frames(
    source: Path,
    out: Path,
    pose: str,
    parsing: str,
    margin: float,
    procs: int,
    tracking: bool = True,
) -> dict[str, Any]:
    """`occreid pseudolabel` on ``source`` with ``procs`` processes; wall time and frames/s."""
    frames = sum(1 for _ in source.rglob("*.jpg"))
    shard = max(4, math.ceil(frames / (procs * 8)))  # enough shards for every process
    args = ["-m", "occreid.cli", "pseudolabel", str(source), "--out", str(out)]
    args += ["--pose", pose, "--parsing", parsing, "--margin", str(margin), "--device", "cpu"]
    args += ["--shard-frames", str(shard), "--overwrite"]
    args += [] if tracking else ["--no-tracking"]
    launcher = [sys.executable]
    if procs > 1:
        launcher += ["-m", "torch.distributed.run", "--nproc-per-node", str(procs)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TQDM_DISABLE": "1", "GLOG_minloglevel": "2"}
    t = time.perf_counter()
    subprocess.run(launcher + args, check=True, env=env, capture_output=True)
    wall = time.perf_counter() - t
    report = json.loads((out / "report.json").read_text())
    busy = report["seconds_this_run"]  # rank 0's labelling time; every rank has a like share
    return {
        "frames": frames,
        "processes": procs,
        "wall_s": round(wall, 1),
        "frames_per_s_wall": round(frames / wall, 1),
        "frames_per_s_labelling": round(frames / busy, 1) if busy else None,
    }


def reliability(confidence: np.ndarray, agree: np.ndarray) -> dict[str, Any]:
    """Agreement per confidence bin: 0 (unknown), then 0-0.6, 0.6-0.8, 0.8-0.9, 0.9-1."""
    edges = (0.0, 1e-9, 0.6, 0.8, 0.9, 1.0 + 1e-9)
    out: dict[str, Any] = {}
    for low, high in pairwise(edges):
        inside = (confidence >= low) & (confidence < high)
        name = "0 (unknown)" if high <= 1e-9 else f"{low:.1f}-{min(high, 1):.1f}"
        out[name] = {
            "frames": int(inside.sum()),
            "agreement": round(float(agree[inside].mean()), 3) if inside.any() else None,
        }
    high = confidence >= 0.8
    out[">=0.8"] = round(float(agree[high].mean()), 3) if high.any() else None
    return out


def score_real(source: Path, tags: pd.DataFrame) -> dict[str, Any]:
    """The agreement metrics of one real set's tags with its labels.csv (occluded yes / no: the
    label or more than one person; frames without evidence are unknown, counted apart)."""
    truth = pd.read_csv(source / "labels.csv").merge(tags, on="path", how="left")
    if "kind" in truth:  # partial crops are cut to the visible part: neither occluded nor whole
        truth = truth[truth["kind"].isin(["occluded", "whole"])].reset_index(drop=True)
    occluded_tag = ((truth["occlusion"] > 0) | (truth["persons"] > 1)).to_numpy()
    known = ~truth["unknown"].to_numpy()
    out: dict[str, Any] = {
        "frames_no_pose": round(float(1 - truth["pose_found"].mean()), 3),
        "frames_unknown": round(float(1 - known.mean()), 3),
    }
    if "visibility" in truth:
        hidden = 1 - truth["visibility"].to_numpy()
        is_occluded = hidden > MIN_SHARE
        out["spearman_label_vs_hidden"] = round(spearman(truth["occlusion"], hidden), 3)
        out["spearman_p_occluded_vs_hidden"] = round(spearman(truth["p_occluded"], hidden), 3)
        out["spearman_label_vs_hidden_with_evidence"] = round(
            spearman(truth["occlusion"][known], hidden[known]), 3
        )
        out["auc_visibility_below_half"] = round(roc_auc(hidden > 0.5, truth["occlusion"]), 3)
        out["auc_p_visibility_below_half"] = round(roc_auc(hidden > 0.5, truth["p_occluded"]), 3)
    else:
        is_occluded = (truth["occluded"] == 1).to_numpy()
        out["auc_occluded_vs_whole"] = round(roc_auc(is_occluded, truth["occlusion"]), 3)
        out["auc_p_occluded_vs_whole"] = round(roc_auc(is_occluded, truth["p_occluded"]), 3)
        out["auc_p_occluded_vs_whole_with_evidence"] = round(
            roc_auc(is_occluded[known], truth["p_occluded"][known]), 3
        )
        out["auc_csv_order_occluded_vs_whole"] = round(roc_auc(is_occluded, csv_order(truth)), 3)
    agree = occluded_tag == is_occluded
    out["agreement"] = round(float(agree.mean()), 3)
    out["agreement_with_evidence"] = round(float(agree[known].mean()), 3)
    out["tagged_occluded_with_evidence"] = round(float(occluded_tag[known].mean()), 3)
    out["occluded_with_evidence"] = round(float(is_occluded[known].mean()), 3)
    out["occluded_all"] = round(float(is_occluded.mean()), 3)
    out["expected_occluded_share"] = round(float(truth["p_occluded"].mean()), 3)
    out["reliability"] = reliability(truth["confidence"].to_numpy(), agree)
    truth["tagged"], truth["truth"], truth["known"] = occluded_tag, is_occluded, known
    out["intervals_95"] = intervals(truth, "visibility" in truth)
    out["operating_points"] = operating_points(truth)
    out["unknown_frames"] = unknown_signals(truth)
    truth["unseen_below"] = 1 - truth["lowest_seen"]
    for column in ("kp_hidden", "kp_occluded", "unseen_below", "mask_hidden"):
        if "visibility" in truth and truth[column].notna().sum() > 2:
            seen = truth[column].notna()
            out[f"spearman_{column}_where_found"] = round(
                spearman(truth.loc[seen, column], 1 - truth.loc[seen, "visibility"]), 3
            )
    return out


def csv_order(tags: pd.DataFrame) -> np.ndarray:
    """The order of the annotation CSV's own columns (label, then confidence): by label, and
    among equal labels the surer occluded first, or, at label 0, the surer clear last. The label
    alone ties every frame tagged clear at 0, so its AUC is little more than a balanced accuracy;
    this is how a reviewer sorting the CSV sees the tags, with nothing added to it."""
    label, confidence = tags["occlusion"].to_numpy(), tags["confidence"].to_numpy()
    return label + 0.5 * np.where(label > 0, confidence, 1 - confidence)


def unknown_signals(truth: pd.DataFrame) -> dict[str, Any]:
    """Among the frames without evidence (which all take the calibration's prior): the share that
    is occluded, and how well each thing known about them ranks the occluded ones first (ROC-AUC,
    0.5 = no better than the prior): the reason (no pose / not a body), the share of their
    tracklet without evidence, the mean P(occluded) of their tracklet's frames with evidence
    (where it has some), and the crop's height, smaller first (where labels.csv has it). A
    diagnostic of what a prior from context could learn, not a fit."""
    unknown = truth[~truth["known"]]
    if unknown.empty:
        return {"frames": 0}
    by_tracklet = truth.groupby("tracklet")
    share = by_tracklet["known"].transform(lambda k: 1 - k.mean())[~truth["known"]]
    p_known = truth["p_occluded"].where(truth["known"]).groupby(truth["tracklet"]).transform("mean")
    p_known = p_known[~truth["known"]]
    y = unknown["truth"].to_numpy()
    signals = {
        "no_pose": (~unknown["pose_found"]).to_numpy(float),
        "tracklet_share_unknown": share.to_numpy(),
        "tracklet_p_with_evidence": p_known.to_numpy(),
    }
    if "height" in unknown:
        signals["smaller_crop"] = -unknown["height"].to_numpy(float)
    out: dict[str, Any] = {"frames": len(unknown), "occluded": round(float(y.mean()), 3)}
    for name, score in signals.items():
        has = ~np.isnan(score)
        auc = roc_auc(y[has], score[has]) if len(np.unique(y[has])) == 2 else float("nan")
        out[f"auc_{name}"] = {"auc": round(auc, 3), "frames": int(has.sum())}
    return out


def operating_points(truth: pd.DataFrame) -> dict[str, dict[str, float]]:
    """What other P(occluded) thresholds than the tags' 0.5 would give on the frames with
    evidence (unknown frames keep their tags): a diagnostic of whether one operating point can
    meet a set's targets, never used to choose one (that is what `occreid calibrate` does from
    reviewed labels)."""
    known = truth["known"].to_numpy()
    share = np.nan_to_num(truth["share"].to_numpy())
    out = {}
    for threshold in (0.1, 0.2, 0.3, 0.4, 0.5):
        hit = known & (truth["p_occluded"].to_numpy() >= threshold)
        label = np.where(hit, np.maximum(occlusion_labels(share, MIN_SHARE), 1), 0)
        label = np.where(known, label, truth["occlusion"].to_numpy())
        tagged = label > 0
        if "visibility" in truth:
            row = {"gap_with_evidence": tagged[known].mean() - truth["truth"][known].mean()}
        else:
            whole = known & ~truth["truth"].to_numpy()
            row = {
                "auc_label": roc_auc(truth["truth"], label),
                "whole_with_evidence_tagged": tagged[whole].mean(),
            }
        out[f"p>={threshold}"] = {k: round(float(v), 3) for k, v in row.items()}
    return out


def _gap_with_evidence(t: pd.DataFrame) -> float:
    known = t[t["known"]]
    return float(known["tagged"].mean() - known["truth"].mean())


def _agree_confident(t: pd.DataFrame) -> float:
    high = t[t["confidence"] >= 0.8]
    return float((high["tagged"] == high["truth"]).mean()) if len(high) else float("nan")


def intervals(truth: pd.DataFrame, graded: bool) -> dict[str, list[float]]:
    """Bootstrap ranges (``interval``) of the headline numbers: over tracks (the ``group``
    column) where labels are graded visibilities, over identities otherwise."""
    stats: dict[str, Callable[[pd.DataFrame], float]] = {
        "tagged_minus_occluded_with_evidence": _gap_with_evidence,
        "tagged_occluded_with_evidence": lambda t: float(t.loc[t["known"], "tagged"].mean()),
        "agreement_at_confidence_0.8": _agree_confident,
    }
    if graded:
        stats["spearman_label_vs_hidden"] = lambda t: spearman(t["occlusion"], 1 - t["visibility"])
    else:
        stats["auc_occluded_vs_whole"] = lambda t: roc_auc(t["truth"], t["occlusion"])
        stats["auc_p_occluded_vs_whole"] = lambda t: roc_auc(t["truth"], t["p_occluded"])
        stats["auc_csv_order_occluded_vs_whole"] = lambda t: roc_auc(t["truth"], csv_order(t))
    return {name: interval(stat, truth, "group") for name, stat in stats.items()}


def resized_whole(source: Path, dest: Path, size: tuple[int, int]) -> Path:
    """A copy of the ``kind == whole`` photos of a realdata set, each resized to ``size`` (width,
    height) as a new user's small crops would be, in ``dest`` (outside the repository), with
    their labels.csv rows."""
    import cv2

    labels = pd.read_csv(source / "labels.csv")
    labels = labels[labels["kind"] == "whole"]
    if dest.exists():
        shutil.rmtree(dest)
    for path in labels["path"]:
        image = cv2.imread(str(source / path))
        if image is None:
            raise SystemExit(f"{source / path}: not a readable image")
        (dest / path).parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(dest / path), cv2.resize(image, size, interpolation=cv2.INTER_AREA))
    labels.to_csv(dest / "labels.csv", index=False)
    return dest


def score_whole(source: Path, tags: pd.DataFrame) -> dict[str, Any]:
    """The tags of the nearly unoccluded (``kind == whole``) photos of a set: the share tagged
    occluded (an unknown frame is never counted as occluded), how many are unknown, the share
    occluded in the CSV (where an unknown frame has its prior's label), and the histogram of the
    labels of the frames with evidence."""
    labels = pd.read_csv(source / "labels.csv")
    whole = labels[labels["kind"] == "whole"].merge(tags, on="path", how="left")
    known = ~whole["unknown"].to_numpy()
    tagged = is_occluded(whole["occlusion"].to_numpy(), whole["persons"].to_numpy()) & known
    return {
        "frames": len(whole),
        "unknown": int((~known).sum()),
        "unknown_reasons": whole.loc[~known, "evidence"].value_counts().to_dict(),
        "tagged_occluded": round(float(tagged.mean()), 3),
        "csv_occluded_unknown_at_prior": round(
            float(is_occluded(whole["occlusion"].to_numpy(), whole["persons"].to_numpy()).mean()),
            3,
        ),
        "tagged_occluded_with_evidence": round(float(tagged[known].mean()), 3)
        if known.any()
        else None,
        "labels_with_evidence": np.bincount(
            whole.loc[known, "occlusion"].to_numpy(), minlength=11
        ).tolist(),
        "confidence_of_occluded_tags": sorted(whole.loc[tagged, "confidence"].round(2).tolist()),
        "tagged_occluded_interval_95": interval(
            lambda t: float(t["tagged"].mean()), whole.assign(tagged=tagged), "group"
        ),
    }


def score_synth(
    seed: int, ids: int, work: Path, backends: list[tuple[str, str]], margin: float, procs: int
) -> dict[str, Any]:
    """Tags against the synth ground truth of one fresh seed, per backend pair."""
    from occreid.occdata.synth import SynthConfig, synthesize

    source = work / f"synth-{seed}"
    if not (source / "groundtruth").is_dir():
        synthesize(source, SynthConfig(ids=ids, distractors=2, seed=seed), overwrite=True)
    gt = pd.read_parquet(source / "groundtruth" / "index.parquet").set_index("path")
    result: dict[str, Any] = {}
    for pose, parsing in backends:
        out = work / f"labels-synth-{seed}-{pose}"
        speed = label_frames(source, out, pose, parsing, margin, procs)
        tags = tag_frames(LabelCache(out)).set_index("path").loc[gt.index]
        occluded_gt = (gt["occlusion"] > 0) | (gt["persons"] > 1)
        occluded_tag = (tags["occlusion"] > 0) | (tags["persons"] > 1)
        result[f"{pose}+{parsing}"] = {
            "frames": len(gt),
            "occluded_accuracy": round(float((occluded_gt == occluded_tag).mean()), 3),
            "label_mae": round(float((tags["occlusion"] - gt["occlusion"]).abs().mean()), 3),
            "frames_no_pose": round(float(1 - tags["pose_found"].mean()), 3),
            "frames_per_s_labelling": speed["frames_per_s_labelling"],
        }
    return result


def real_set_parser(doc: str) -> argparse.ArgumentParser:
    """The arguments of the benchmarks on realdata-layout sets (this one and review_loop.py)."""
    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    p.add_argument("dirs", nargs="*", type=Path, help="Folders in the realdata layout.")
    p.add_argument("--pose", default="mediapipe")
    p.add_argument("--parsing", default=paired_parsing("mediapipe"))
    p.add_argument("--margin", type=float, default=MARGIN)
    p.add_argument(
        "--no-tracking", dest="tracking", action="store_false", help="Every frame alone."
    )
    p.add_argument("--procs", type=int, default=len(os.sched_getaffinity(0)))
    p.add_argument("--json", type=Path)
    return p


def write_results(path: Path | None, results: dict[str, Any]) -> None:
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_json(path, results)
        print(f"-> {path}")


def real_set(
    source: Path, out: Path, args: argparse.Namespace
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Label ``source`` into ``out`` (unless ``--reuse`` finds a cache there) and tag it with
    the default calibration: the labelling speed and the tags."""
    speed: dict[str, Any] = {}
    if not (args.reuse and (out / "meta.json").is_file()):
        speed = label_frames(
            source, out, args.pose, args.parsing, args.margin, args.procs, args.tracking
        )
    return speed, tag_frames(LabelCache(out))


def main() -> None:
    p = real_set_parser(__doc__)
    p.add_argument("--synth-seeds", type=int, nargs="*", default=[11, 12, 13, 14, 15])
    p.add_argument("--synth-ids", type=int, default=16)
    p.add_argument(
        "--oracle-synth-only", action="store_true", help="On synth seeds, only the oracle."
    )
    p.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "occreid-tagbench")
    p.add_argument(
        "--whole-size",
        default="48x128",
        help="WxH: the whole photos of a set with a kind column are also tagged resized to it "
        "(a copy in --work); 'none' to skip.",
    )
    p.add_argument("--reuse", action="store_true", help="Reuse label caches already in --work.")
    args = p.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "backends": f"{args.pose}+{args.parsing}",
        "margin": args.margin,
        "tracking": args.tracking,
        "min_share": MIN_SHARE,
        "real": {},
        "synth": {},
    }
    for source in args.dirs:
        metrics, tags = real_set(source, args.work / f"labels-{source.name}", args)
        results["real"][source.name] = {**score_real(source, tags), **metrics}
        if "kind" in pd.read_csv(source / "labels.csv", nrows=1):
            whole = {"own size": score_whole(source, tags)}
            if args.whole_size != "none":
                width, height = (int(v) for v in args.whole_size.split("x"))
                dest = args.work / f"{source.name}-whole-{args.whole_size}"
                small = resized_whole(source, dest, (width, height))
                speed, small_tags = real_set(small, args.work / f"labels-{small.name}", args)
                whole[args.whole_size] = {**score_whole(small, small_tags), **speed}
            results["real"][source.name]["whole"] = whole
        print(
            f"{source.name}: "
            + ", ".join(f"{k} {v}" for k, v in results["real"][source.name].items())
        )
    pairs = [("oracle", "oracle")]
    if (args.pose, args.parsing) != ("oracle", "oracle") and not args.oracle_synth_only:
        pairs.append((args.pose, args.parsing))
    for seed in args.synth_seeds:
        synth = score_synth(seed, args.synth_ids, args.work, pairs, args.margin, args.procs)
        results["synth"][f"seed {seed}"] = synth
        for name, m in synth.items():
            print(f"synth seed {seed} {name}: " + ", ".join(f"{k} {v}" for k, v in m.items()))
    write_results(args.json, results)


if __name__ == "__main__":
    main()
