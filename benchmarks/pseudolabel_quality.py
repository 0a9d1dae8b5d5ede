"""Each pseudolabel backend on toy frames against the synth ground truth.

PCK: share of the ground-truth visible keypoints predicted within 0.1 x frame height (12.8 px on
128x64 frames); mask IoU at the cache's 64x32; APU-target error in pixels (targets from the
ground-truth keypoints, occluded points included, vs from the backend); tagging agreement of
`tag-occlusion` with the ground-truth occlusion (occluded yes / no accuracy, label MAE). For the
foreground-map target (issue 20, item 6): mask IoU and the share of the mask outside the target's
visible body on occluded frames (what Lf would teach it to keep), e.g. mediapipe's selfie mask
against the body its seen key points support (mediapipe+keypoints).
mediapipe + keypoints is also scored with every frame alone (no tracking), as it was labelled
before tracking (backends/mediapipe_backend.py).
The models behind mediapipe (and mmpose / mmseg) were trained on photographs: on flat-shaded toy
people they are expected to do worse than on real frames; this says how much worse.

    python benchmarks/pseudolabel_quality.py --json benchmarks/results/pseudolabel_quality.json
"""

from __future__ import annotations

import shutil
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from _results import write_json

from occreid.pseudolabel.apu_targets import apu_targets
from occreid.pseudolabel.cache import LabelCache, unpack_masks
from occreid.pseudolabel.runner import RunOptions, run
from occreid.pseudolabel.tagging import tag_occlusion


def score(source: Path, labels: Path) -> dict[str, float]:
    """PCK, mask IoU, APU error and tagging agreement of one cache against the ground truth."""
    gt = pd.read_parquet(source / "groundtruth" / "index.parquet")
    gt_kp = np.load(source / "groundtruth" / "keypoints.npy")
    gt_masks = np.unpackbits(np.load(source / "groundtruth" / "masks.npy"), axis=2).astype(bool)
    cache = LabelCache(labels)
    got = cache.gather(gt["path"].tolist())
    h, w = gt_masks.shape[1:]
    visible = gt_kp[..., 2] == 2
    dist = np.linalg.norm(got["keypoints"][..., :2].astype(np.float32) - gt_kp[..., :2], axis=-1)
    hit = (dist <= 0.1 * h) & (got["keypoints"][..., 2] >= 0.3)
    small = gt_masks.reshape(len(gt), 64, h // 64, 32, w // 32).mean(axis=(2, 4)) >= 0.5
    pred = unpack_masks(got["mask"], cache.mask_size)
    occ_gt = (gt["occlusion"].to_numpy() > 0) | (gt["persons"].to_numpy() > 1)
    iou = (pred & small).sum((1, 2)) / np.maximum((pred | small).sum((1, 2)), 1)
    outside = (pred & ~small).sum((1, 2)) / np.maximum(pred.sum((1, 2)), 1)
    labelled = gt_kp.copy()
    labelled[..., 2] = (gt_kp[..., 2] >= 1).astype(np.float32)
    target_gt = apu_targets(labelled, np.full(len(gt), h), np.full(len(gt), w))
    scale = np.array([h, h, h, w])
    apu_err = np.abs(got["apu"].astype(np.float32) - target_gt) * scale
    found = got["keypoints"][..., 2].max(axis=1) > 0
    tags = tag_occlusion(cache).set_index("path").loc[gt["path"]]
    occ_tag = (tags["occlusion"].to_numpy() > 0) | (tags["persons"].to_numpy() > 1)
    return {
        "pck@0.1h": round(float(hit[visible].mean()), 3),
        "frames_pose_found": round(float(found.mean()), 3),
        "pck@0.1h_frames_with_a_pose": round(float(hit[visible & found[:, None]].mean()), 3),
        "mask_iou": round(float(iou.mean()), 3),
        "mask_iou_occluded_frames": round(float(iou[occ_gt].mean()), 3),
        "mask_outside_visible_body_occluded_frames": round(float(outside[occ_gt].mean()), 3),
        "apu_error_px": [round(float(e), 2) for e in np.nanmean(apu_err, axis=0)],
        "tag_occluded_accuracy": round(float((occ_gt == occ_tag).mean()), 3),
        "tag_label_mae": round(
            float(np.abs(gt["occlusion"].to_numpy() - tags["occlusion"].to_numpy()).mean()), 3
        ),
    }


def main() -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from _toy import available_pairs, toy
    from _toy import parser as toy_parser

    parser = toy_parser(__doc__, "pseudolabel_quality")
    parser.add_argument("--ids", type=int, default=12)
    parser.add_argument("--pose-checkpoint", help="mmpose checkpoint (mm is scored only with both)")
    parser.add_argument("--parsing-checkpoint", help="mmseg checkpoint")
    args = parser.parse_args()
    with_mm = bool(args.pose_checkpoint and args.parsing_checkpoint)
    warnings.simplefilter("ignore")
    source = toy(args.work, args.ids)
    results = {}
    print(
        f"{'backends':<20}{'PCK':>7}{'IoU':>7}  {'APU err px (a1 a2 a3 a4)':<28}"
        f"{'tag acc':>8}{'MAE':>7}"
    )
    runs = [(f"{pose}+{parsing}", pose, parsing, True) for pose, parsing in available_pairs()]
    if ("mediapipe+keypoints", "mediapipe", "keypoints", True) in runs:
        runs.append(("mediapipe+keypoints, every frame alone", "mediapipe", "keypoints", False))
    for name, pose, parsing, tracking in runs:
        if pose == "mmpose" and not with_mm:
            continue  # random weights say nothing about quality
        out = args.work / f"quality-{pose}-{parsing}"
        shutil.rmtree(out, ignore_errors=True)
        mm = pose == "mmpose"
        run(
            RunOptions(
                root=source,
                out=out,
                pose=pose,
                parsing=parsing,
                pose_options={"checkpoint": args.pose_checkpoint} if mm else {},
                parsing_options={"checkpoint": args.parsing_checkpoint} if mm else {},
                tracking=tracking,
            )
        )
        r = results[name] = score(source, out)
        apu = " ".join(f"{e:.1f}" for e in r["apu_error_px"])
        print(
            f"{name:<20}{r['pck@0.1h']:>7.3f}{r['mask_iou']:>7.3f}  {apu:<28}"
            f"{r['tag_occluded_accuracy']:>8.3f}{r['tag_label_mae']:>7.2f}"
        )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    write_json(args.json, results)


if __name__ == "__main__":
    main()
