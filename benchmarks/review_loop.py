"""A simulated reviewer: how much the occlusion tags of the unreviewed frames gain from
calibrating on K % of the tracklets reviewed (issue 20, item 7).

For each DIR in the layout of ../shared/realdata (labels.csv is the reviewer's answers: MOT17's
``visibility`` -> label ceil(10 (1 - visibility)), 0 up to MIN_SHARE hidden; Partial-REID's
``occluded`` -> yes / no, an occluded photo labelled 5; partial crops, cut to the visible part, left
out) the frames are labelled once with the chosen backends (tagging_real.label_frames, every core
busy); then, for K = 0, 5, 10, 20, 40 % of the tracklets, in several review orders (the review
page's queue, review/queue.py: frames without evidence first, then the lowest tag confidence; and
random orders, one per seed), the reviewed tracklets' answers go to `occreid calibrate`'s fit
(calibrate.fit_calibration, which falls back to the defaults where its cross-validation says the fit
is not better) and the unreviewed frames are tagged with the defaults ("before") and with the result
("after"). Printed per K, as mean and range over the orders: occluded yes / no agreement, balanced
accuracy, and the gap between the share of frames tagged occluded and the share that is: of the
CSV's labels (a frame without evidence counts with its prior label), of the frames with evidence
(the summary line's: an unknown frame is never counted as occluded), and the expected share (mean
P(occluded)); the ceiling of balanced accuracy and gap that the unknown frames leave (every frame
with evidence right, the unknown ones at their prior's yes / no); how often the fit was used; the
share of orders where the result is better than before; the reliability of the confidence (agreement
per confidence bin, all orders); and what the review header would say of the unreviewed frames'
accuracy (review/quality.py) from the tags the reviewers were shown and from the fit's out-of-fold
check: its error against their true accuracy and how often its 95 % interval holds it.

On toy data (fresh `occreid synth` seeds) the same loop with a deliberately mis-scaled backend:
the oracle's key-point scores squeezed into 0.2-0.9 (0.2 + 0.7 s) under a backend name that
declares nothing (the base classes' step at 0.5, mask not trusted), against the exact ground
truth; the oracle's own tags are the reference.

The real sets are research-only: they stay where they are; this script takes their path.

    python benchmarks/review_loop.py ../shared/realdata/mot17-dev \\
        ../shared/realdata/partial-reid-dev --toy-seeds 31 32 33 34 35 36 37 38 \\
        --json benchmarks/results/review_loop.json

Targets (issue 20): mis-scaled toy, 10 % of tracklets reviewed: occluded yes / no >= 0.93;
MOT17 unreviewed frames after 20 %: gap and balanced accuracy better than without calibration in
most orders; after 40 %: gap <= 0.05, balanced accuracy >= 0.75; confidence >= 0.8 -> agreement
>= 0.9.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tagging_real import label_frames, real_set_parser, reliability, write_results

from occreid.occdata.label_quality import confidence_bin
from occreid.pseudolabel.cache import LabelCache, shard_name
from occreid.pseudolabel.calibrate import (
    CalibrationFit,
    balanced_accuracy,
    fit_calibration,
    occluded,
)
from occreid.pseudolabel.calibration import MIN_SHARE, Calibration, calibration_for
from occreid.pseudolabel.tagging import evidence_table, occlusion_labels, tag_table
from occreid.review.quality import quality_numbers
from occreid.review.queue import order_queue

SHARES = (0.0, 0.05, 0.10, 0.20, 0.40)
SQUEEZE = (0.2, 0.9)


def real_answers(source: Path) -> pd.DataFrame:
    """The reviewer's answers (path, occlusion, persons) from a realdata labels.csv."""
    labels = pd.read_csv(source / "labels.csv")
    if "kind" in labels:  # a partial crop is cut to the visible part: neither occluded nor whole
        labels = labels[labels["kind"] != "partial"]
    if "visibility" in labels:
        label = occlusion_labels(1 - labels["visibility"].to_numpy(), MIN_SHARE)
    else:
        label = np.where(labels["occluded"] == 1, 5, 0)
    return pd.DataFrame({"path": labels["path"], "occlusion": label, "persons": 1})


def queue_order(tags: pd.DataFrame) -> list[str]:
    """Tracklets as the review page's queue offers them (review/queue.py's order_queue, on the
    columns ReviewStore.tracklets gives it): tracklets with frames without evidence first, then
    the highest expected disagreement (lowest mean confidence)."""
    per = tags.assign(
        occluded=occluded(tags).astype(np.float64), unknown=tags["unknown"].astype(int)
    ).groupby("tracklet")
    tracklets = pd.DataFrame(
        {
            "key": per.size().index,
            "accepted": 0,
            "occluded": per["occluded"].mean().to_numpy(),
            "confidence": per["confidence"].mean().to_numpy(),
            "unknown": per["unknown"].sum().to_numpy(),
        }
    )
    return order_queue(tracklets)["key"].tolist()


def orders(tags: pd.DataFrame, seeds: int) -> dict[str, list[str]]:
    tracklets = sorted(tags["tracklet"].unique())
    out = {"queue": queue_order(tags)}
    for seed in range(seeds):
        out[f"random {seed}"] = list(np.random.default_rng(seed).permutation(tracklets))
    return out


def measures(tags: pd.DataFrame, truth: np.ndarray) -> dict[str, float]:
    """Agreement, balanced accuracy and three occluded-share gaps: the CSV's labels over all
    frames, the summary line's (frames with evidence only, an unknown frame is never counted),
    and the expected share (mean P(occluded), the prior for unknown frames)."""
    tagged = occluded(tags)
    known = ~tags["unknown"].to_numpy()
    return {
        "agreement": float((tagged == truth).mean()),
        "balanced_accuracy": balanced_accuracy(truth, tagged),
        "occluded_gap": float(tagged.mean() - truth.mean()),
        "occluded_gap_with_evidence": float(tagged[known].mean() - truth[known].mean())
        if known.any()
        else float("nan"),
        "occluded_gap_expected": float(tags["p_occluded"].mean() - truth.mean()),
        **ceiling(tagged, truth, known),
    }


def ceiling(tagged: np.ndarray, truth: np.ndarray, known: np.ndarray) -> dict[str, float]:
    """The best balanced accuracy and occluded-share gap any tagger reaches that keeps these
    tags of the unknown frames (one yes / no per reason: their prior's) and gets every frame with
    evidence right: what the frames without evidence leave possible."""
    best = np.where(known, truth, tagged)
    return {
        "balanced_accuracy_ceiling": balanced_accuracy(truth, best),
        "occluded_gap_ceiling": float(best.mean() - truth.mean()),
    }


def header_estimates(
    start: pd.DataFrame,
    answers: pd.DataFrame,
    fit: CalibrationFit,
    after: pd.DataFrame,
    truth: np.ndarray,
) -> dict[str, float]:
    """What the review header says of the unreviewed frames' ``after`` tags (review/quality.py,
    the same numbers): from the tags the reviewers were shown (``start``: the header before the
    check) and from the fit's check (out of fold: the header now), each with its error against
    their true accuracy (``truth``) and whether its 95 % interval holds it."""
    true = float((occluded(after) == truth).mean())
    reviewed = answers.assign(
        tracklet=start["tracklet"].to_numpy(),
        split="train",
        confidence=start["confidence"].to_numpy(),
        auto_occlusion=start["occlusion"].to_numpy(),
        auto_persons=start["persons"].to_numpy(),
    )
    counts = np.bincount(confidence_bin(after["confidence"].to_numpy()), minlength=5)
    counts = np.concatenate([[0], counts]).astype(np.float64)
    out: dict[str, float] = {}
    check = fit.check.set_index("path").loc[reviewed["path"]] if fit.check is not None else None
    for name, frames in (
        ("shown", reviewed),
        ("check", reviewed if check is None else reviewed.assign(
            check_occlusion=check["occlusion"].to_numpy(),
            check_persons=check["persons"].to_numpy(),
            check_confidence=check["confidence"].to_numpy(),
        )),
    ):  # fmt: skip
        numbers = quality_numbers(frames, counts)["unreviewed"]
        low, high = numbers["interval"]
        out[f"header_{name}_error"] = numbers["estimated_accuracy"] - true
        out[f"header_{name}_holds"] = float(low <= true <= high)
    return out


def spread(values: list[float]) -> dict[str, float]:
    return {
        "mean": round(float(np.mean(values)), 3),
        "min": round(float(np.min(values)), 3),
        "max": round(float(np.max(values)), 3),
    }


def review_loop(
    table: pd.DataFrame, answers: pd.DataFrame, base: Calibration, seeds: int
) -> dict[str, Any]:
    """The simulated reviewer on one set (the frames it has answers for): per K, before / after
    over the review orders."""
    table = table[table["path"].isin(set(answers["path"]))].reset_index(drop=True)
    answers = answers.set_index("path").loc[table["path"]].reset_index()
    truth = occluded(answers)
    start = tag_table(table, base)
    result: dict[str, Any] = {
        "frames": len(table),
        "tracklets": int(table["tracklet"].nunique()),
        "unknown_frames": int(start["unknown"].sum()),
        "defaults": measures(start, truth),
        "reliability_defaults": reliability(
            start["confidence"].to_numpy(), occluded(start) == truth
        ),
        "by_share": {},
    }
    tracklets = table["tracklet"].to_numpy()
    n = table["tracklet"].nunique()
    fitted_conf, fitted_agree = [], []
    for share in SHARES:
        rows: dict[str, list[float]] = {}
        used = []
        for order in orders(start, seeds).values():
            reviewed = set(order[: round(share * n)])
            mask = np.isin(tracklets, list(reviewed))
            fit = fit_calibration(table, answers[mask], base) if reviewed else None
            cal = fit.calibration if fit else base
            used.append(bool(fit and fit.used_fit))
            after = tag_table(table[~mask], cal)
            for when, tags in (("before", start[~mask]), ("after", after)):
                for key, value in measures(tags, truth[~mask]).items():
                    rows.setdefault(f"{when} {key}", []).append(value)
            if fit is not None:
                header = header_estimates(start[mask], answers[mask], fit, after, truth[~mask])
                for key, value in header.items():
                    rows.setdefault(key, []).append(value)
            if share == max(SHARES):
                fitted_conf.append(after["confidence"].to_numpy())
                fitted_agree.append(occluded(after) == truth[~mask])
        better = {
            key: float(np.mean(np.array(rows[f"after {key}"]) > np.array(rows[f"before {key}"])))
            for key in ("agreement", "balanced_accuracy")
        }
        closer = {
            key: float(np.mean(np.abs(rows[f"after {key}"]) < np.abs(rows[f"before {key}"])))
            for key in ("occluded_gap", "occluded_gap_with_evidence", "occluded_gap_expected")
        }
        result["by_share"][f"{share:.0%}"] = {
            "orders": len(used),
            "fit_used": float(np.mean(used)),
            **{key: spread(values) for key, values in rows.items()},
            "orders_after_better": {**better, **closer},
        }
    result[f"reliability_after_{max(SHARES):.0%}"] = reliability(
        np.concatenate(fitted_conf), np.concatenate(fitted_agree)
    )
    return result


def squeezed_cache(labels: Path, dest: Path) -> Path:
    """A copy of an oracle cache whose key-point scores are squeezed into SQUEEZE, under backend
    names that declare nothing (the base classes' defaults)."""
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(labels, dest)
    meta = json.loads((dest / "meta.json").read_text())
    meta["backends"] = {"pose": {"name": "squeezed-oracle"}, "parsing": {"name": "undeclared"}}
    (dest / "meta.json").write_text(json.dumps(meta))
    for shard in range(meta["shards"]):
        path = dest / "shards" / shard_name(shard) / "keypoints.npy"
        kp = np.load(path)
        kp[..., 2] = SQUEEZE[0] + (SQUEEZE[1] - SQUEEZE[0]) * kp[..., 2]
        np.save(path, kp)
    return dest


def toy_loop(seed: int, ids: int, work: Path, seeds: int) -> dict[str, Any]:
    """The loop on a fresh synth seed with the squeezed oracle; the oracle's own tags beside."""
    from occreid.occdata.synth import SynthConfig, synthesize
    from occreid.pseudolabel.runner import RunOptions, run

    source, labels = work / f"synth-{seed}", work / f"labels-synth-{seed}-oracle"
    if not (labels / "meta.json").is_file():
        synthesize(source, SynthConfig(ids=ids, distractors=2, seed=seed), overwrite=True)
        run(RunOptions(root=source, out=labels, overwrite=True))
    truth = pd.read_parquet(source / "groundtruth" / "index.parquet")
    answers = truth[["path", "occlusion", "persons"]]
    oracle = LabelCache(labels)
    oracle_cal = calibration_for(labels, oracle.meta)
    oracle_tags = tag_table(evidence_table(oracle, oracle_cal), oracle_cal)
    y = occluded(answers.set_index("path").loc[oracle_tags["path"]])
    squeezed = LabelCache(squeezed_cache(labels, work / f"labels-synth-{seed}-squeezed"))
    base = calibration_for(squeezed.root, squeezed.meta)
    loop = review_loop(evidence_table(squeezed, base), answers, base, seeds)
    return {
        "oracle_occluded_accuracy": round(float((occluded(oracle_tags) == y).mean()), 3),
        **loop,
    }


def print_loop(name: str, loop: dict[str, Any]) -> None:
    print(
        f"{name}: {loop['frames']} frames, {loop['tracklets']} tracklets, "
        f"{loop['unknown_frames']} unknown; defaults "
        + ", ".join(f"{k} {v:.3f}" for k, v in loop["defaults"].items())
    )
    for share, row in loop["by_share"].items():
        parts = [f"fit used {row['fit_used']:.2f}"]
        for key in list(loop["defaults"]):
            b, a = row[f"before {key}"], row[f"after {key}"]
            parts.append(
                f"{key} {b['mean']:.3f} -> {a['mean']:.3f} ({a['min']:.3f}..{a['max']:.3f})"
            )
        print(f"  {share:>4} reviewed ({row['orders']} orders): " + "; ".join(parts))
        if "header_check_holds" in row:
            said = []
            for name in ("shown", "check"):
                e, held = row[f"header_{name}_error"], row[f"header_{name}_holds"]["mean"]
                said.append(
                    f"from the {name} tags: error {e['mean']:+.3f} ({e['min']:+.3f}.."
                    f"{e['max']:+.3f}), interval holds the truth in {held:.0%} of orders"
                )
            print("       header's estimate " + "; ".join(said))
    for key in [k for k in loop if k.startswith("reliability")]:
        cells = [
            f"{name}: {r['agreement']} (n {r['frames']})" if isinstance(r, dict) else f"{name}: {r}"
            for name, r in loop[key].items()
        ]
        print(f"  {key}: " + "; ".join(cells))


def main() -> None:
    p = real_set_parser(__doc__)
    p.add_argument("--seeds", type=int, default=8, help="Random review orders per K.")
    p.add_argument("--toy-seeds", type=int, nargs="*", default=[31, 32, 33])
    p.add_argument("--toy-ids", type=int, default=24)
    p.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "occreid-loop")
    p.add_argument("--reuse", action="store_true", help="Reuse label caches already in --work.")
    args = p.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {
        "backends": f"{args.pose}+{args.parsing}",
        "shares": list(SHARES),
        "random_orders": args.seeds,
        "real": {},
        "toy_squeezed": {},
    }
    for source in args.dirs:
        out = args.work / f"labels-{source.name}"
        if not (args.reuse and (out / "meta.json").is_file()):
            label_frames(
                source, out, args.pose, args.parsing, args.margin, args.procs, args.tracking
            )
        cache = LabelCache(out)
        base = calibration_for(out, cache.meta)
        results["backends"] = f"{base.pose}+{base.parsing}"  # a reused cache's own
        loop = review_loop(evidence_table(cache, base), real_answers(source), base, args.seeds)
        results["real"][source.name] = loop
        print_loop(source.name, loop)
    for seed in args.toy_seeds:
        loop = toy_loop(seed, args.toy_ids, args.work, args.seeds)
        results["toy_squeezed"][f"seed {seed}"] = loop
        print(f"toy seed {seed}: oracle's own tags {loop['oracle_occluded_accuracy']:.3f}")
        print_loop(f"toy seed {seed}, squeezed scores", loop)
    write_results(args.json, results)


if __name__ == "__main__":
    main()
