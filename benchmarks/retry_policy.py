"""How many margin retries mediapipe runs and how many poses they find, for each limit on a
tracklet's retries in a row that find nothing (mediapipe_backend.RETRY_MISSES).

Every frame of each tree (DukeMTMC-VideoReID layout: a folder of frames is a tracklet, read in
name order) goes once through the tracking graph as `occreid pseudolabel` runs it; each frame
without a pose is retried once with the margin. The retry runs in image mode, which holds no
state, so its outcome does not depend on which frames were retried before: every limit is then
counted exactly from these outcomes. One process; the time per retry is measured on the way.

    python benchmarks/retry_policy.py TREE [TREE ...] --json benchmarks/results/retry_policy.json

TREE: a set in the layout of ../shared/realdata (research-only: it stays where it is); synth
sources are made with ``--toy-ids N --toy-seeds S ...`` (24 ids, seed 0: pseudolabel_speed.py's
toy).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import cv2
from _results import write_json

LIMITS = (0, 1, 2, 3, 5, None)  # None: every miss retried (the rule before RETRY_MISSES)


def outcomes(tree: Path) -> tuple[list[tuple[str, bool, bool | None]], float]:
    """(tracklet, found by the tracking graph, found by the retry or None) per frame, and the
    seconds per retry."""
    from occreid.pseudolabel.backends.mediapipe_backend import MediaPipePose

    pose = MediaPipePose()
    frames = sorted(tree.rglob("*.jpg"), key=lambda p: (str(p.parent), p.name))
    rows: list[tuple[str, bool, bool | None]] = []
    retry_s = 0.0
    for path in frames:
        image = cv2.imread(str(path))
        found = pose._tracked(image, str(path.parent)) is not None
        retried = None
        if not found:
            start = time.perf_counter()
            retried = pose._landmarks(pose.still, image, pose.margin) is not None
            retry_s += time.perf_counter() - start
        rows.append((str(path.parent), found, retried))
    misses = sum(r[2] is not None for r in rows)
    return rows, retry_s / max(misses, 1)


def count(rows: list[tuple[str, bool, bool | None]], limit: int | None) -> dict[str, int]:
    """Retries run and poses they found where a tracklet stops retrying after ``limit`` misses
    in a row (the backend's rule)."""
    retries = found = misses = 0
    tracklet = None
    for name, tracked, retried in rows:
        if name != tracklet:
            tracklet, misses = name, 0
        if tracked:
            misses = 0
            continue
        if limit is not None and misses >= limit:
            continue
        retries += 1
        if retried:
            found, misses = found + 1, 0
        else:
            misses += 1
    return {"retries": retries, "poses_found": found}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("trees", nargs="*", type=Path)
    parser.add_argument("--toy-ids", type=int, default=0, help="also synth sources of N ids")
    parser.add_argument("--toy-seeds", type=int, nargs="+", default=[0], help="their seeds")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    trees = list(args.trees)
    with tempfile.TemporaryDirectory() as work:
        for seed in args.toy_seeds if args.toy_ids else []:
            from occreid.occdata.synth import SynthConfig, synthesize

            tree = Path(work) / f"toy-{args.toy_ids}-seed-{seed}"
            ids = args.toy_ids
            synthesize(tree, SynthConfig(ids=ids, distractors=max(2, ids // 6), seed=seed))
            trees.append(tree)
        results: dict[str, Any] = {}
        for tree in trees:
            rows, per_retry = outcomes(tree)
            name = tree.name
            results[name] = {
                "frames": len(rows),
                "tracklets": len({r[0] for r in rows}),
                "no_pose_tracked": sum(not r[1] for r in rows),
                "retry_ms": round(1000 * per_retry, 1),
                "by_limit": {str(limit): count(rows, limit) for limit in LIMITS},
            }
            print(name, results[name])
    if args.json:
        write_json(args.json, {"limits": [str(x) for x in LIMITS], "sets": results})


if __name__ == "__main__":
    main()
