"""`occreid synth`: plan -> motion -> render -> write, into DEST atomically.

Layout (the real dataset's)::

    DEST/{train,query,gallery}/<pid:04d>/<tracklet:04d>/<pid:04d>_C<cam>_F<i:04d>_X<frame>.jpg
    DEST/annotations.csv               path, occlusion, persons (the DESIGN format)
    DEST/groundtruth/index.parquet     path -> row, occlusion, persons, visible body share
    DEST/groundtruth/keypoints.npy     (N, 17, 3) float32: x, y, COCO visibility (0 / 1 / 2)
    DEST/groundtruth/masks.npy         (N, H, W / 8) uint8: visible person mask, np.packbits
    DEST/README.md                     dataset card: how it was made, counts, seed
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from tqdm import tqdm

from occreid.occdata.staging import staged_output
from occreid.occdata.synth.config import SynthConfig
from occreid.occdata.synth.motion import frame_pose, start_walk
from occreid.occdata.synth.occluders import plan_occluder
from occreid.occdata.synth.plan import TrackletPlan, draw_plan
from occreid.occdata.synth.render import render_frame


def frame_name(pid: int, cam: int, index: int, video_frame: int) -> str:
    """``0001_C6_F0099_X30823.jpg``: F is 1-based inside the tracklet."""
    return f"{pid:04d}_C{cam}_F{index:04d}_X{video_frame}.jpg"


def synthesize(dest: Path, cfg: SynthConfig, overwrite: bool = False) -> dict[str, int]:
    """Render the toy dataset into ``dest`` (atomically); returns counts per split."""
    drawn = draw_plan(cfg)
    rows: list[tuple[str, int, int, float]] = []
    keypoints: list[np.ndarray] = []
    masks: list[np.ndarray] = []
    with staged_output(Path(dest), overwrite) as stage:
        for plan in tqdm(drawn.tracklets, desc="rendering tracklets", unit="tracklet"):
            trng = np.random.default_rng(plan.seed)
            cam = drawn.cameras[plan.cam - 1]
            folder = stage / plan.split / f"{plan.pid:04d}" / f"{plan.tid:04d}"
            folder.mkdir(parents=True)
            occ = None
            if trng.random() < cfg.occluded_tracklets:
                occ = plan_occluder(plan.length, cfg.width, cfg.height, trng, drawn.passers_by)
            walk = start_walk(cfg, cam, trng)
            for i in range(plan.length):
                pose = frame_pose(cfg, walk, i, trng)
                img, truth = render_frame(
                    cfg, cam, drawn.looks[plan.pid], pose, occ, i, walk.pan(i), trng
                )
                name = frame_name(plan.pid, plan.cam, i + 1, plan.first_frame + i)
                cv2.imwrite(str(folder / name), img, [cv2.IMWRITE_JPEG_QUALITY, 92])
                rel = f"{plan.split}/{plan.pid:04d}/{plan.tid:04d}/{name}"
                body_share = float(truth.mask.mean())
                rows.append((rel, truth.occlusion, truth.persons, body_share))
                keypoints.append(truth.keypoints)
                masks.append(np.packbits(truth.mask, axis=1))
        _write_groundtruth(stage, rows, keypoints, masks)
        counts = _write_card(stage, cfg, drawn.tracklets)
    return counts


def _write_groundtruth(
    stage: Path,
    rows: list[tuple[str, int, int, float]],
    keypoints: list[np.ndarray],
    masks: list[np.ndarray],
) -> None:
    table = pd.DataFrame(rows, columns=["path", "occlusion", "persons", "visible_share"])
    table[["path", "occlusion", "persons"]].to_csv(stage / "annotations.csv", index=False)
    gt = stage / "groundtruth"
    gt.mkdir()
    table.insert(1, "row", np.arange(len(table), dtype=np.int64))
    table.to_parquet(gt / "index.parquet", index=False)
    np.save(gt / "keypoints.npy", np.stack(keypoints).astype(np.float32))
    np.save(gt / "masks.npy", np.stack(masks))


def _write_card(stage: Path, cfg: SynthConfig, plans: list[TrackletPlan]) -> dict[str, int]:
    counts = {
        s: sum(p.length for p in plans if p.split == s) for s in ("train", "query", "gallery")
    }
    tracklets = {s: sum(p.split == s for p in plans) for s in counts}
    (stage / "synth.json").write_text(json.dumps(asdict(cfg), indent=2) + "\n")
    lines = [
        "# occreid toy dataset (DukeMTMC-VideoReID layout)",
        "",
        "Rendered by `occreid synth`; every frame has exact ground truth in groundtruth/ and",
        "annotations.csv. See `occreid synth --help` for what it models.",
        "",
        "| split | tracklets | frames |",
        "|---|---|---|",
        *(f"| {s} | {tracklets[s]} | {counts[s]} |" for s in counts),
        "",
        f"Config: `{json.dumps(asdict(cfg))}`",
    ]
    (stage / "README.md").write_text("\n".join(lines) + "\n")
    return counts
