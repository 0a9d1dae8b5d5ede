"""`occreid tag-occlusion`: occlusion label (0-10), person count and confidence of every frame.

The mapping from a frame's evidence (evidence.py) to its label, in three steps:

1. Hidden share s = w * mask_hidden + (1 - w) * kp_hidden, where w is the parsing backend's
   ``mask_weight``: how far its mask is the target person's visible body (oracle 1: exact;
   mmseg 0.5: person classes of the target's component, not measured on real crops; mediapipe 0:
   the selfie mask covers cars, signs and other people too, and on the real dev crops its area
   does not track visibility). Where the skeleton gives no silhouette, s = kp_hidden.
2. Frames without evidence (no pose found, or not decodable) take s from their tracklet: linear
   between the nearest frames with evidence on either side, the nearest one at the ends; the
   tracklet fills gaps, it never defines the whole body. A frame with no such neighbour (a single
   frame, an image folder, a tracklet where nothing was found) gets s = UNSEEN_SHARE = 0.5, the
   mean hidden share of the real dev crops where mediapipe finds no pose (MOT17 visibility 0.51
   on those, 0.77 where a pose is found), at confidence 0: unknown, never "fully hidden".
   Then each share is the mean over its frame and the frames on either side in the tracklet
   (SMOOTH_FRAMES = 3): consecutive frames of a tracklet show nearly the same occlusion, and a
   pose model's scores flicker from frame to frame. Chosen on the dev crops among none, median
   and mean of 3, and mean of 3 weighted by confidence (MOT17 Spearman 0.49 / 0.49 / 0.51 / 0.50,
   Partial-REID label AUC 0.89 / 0.95 / 0.96 / 0.90); on the toy data with exact evidence it
   changes accuracy by -0.0 to +0.5 points and MAE by at most +0.015.
3. Label 0 when s <= ``min_share`` (MIN_SHARE = 0.08: mask noise on the toy data, where clear
   frames reach s = 0.02 +- 0.01, and key-point noise on real whole-body photos, 75 % under
   0.03); else ceil(10 s) (1 = up to 10 % hidden ... 10 = over 90 %, the paper's footnote 3).

Confidence (0-1, the CSV's optional column; the review app sorts by it): w * 1 + (1 - w) *
certainty, where certainty is how decided the pose model is per body level (mean |2 score - 1|);
half the interpolated confidence for a frame filled from its neighbours; 0 for UNSEEN_SHARE.
A share within BOUNDARY (0.05) of ``min_share`` lowers it, to half at most (occluded or not is in
doubt there): x (0.5 + 0.5 min(1, |s - min_share| / BOUNDARY)).

What it reaches (benchmarks/tagging_real.py; benchmarks/results/tagging_real.json): with the
oracle backend on 5 fresh synth seeds (11-15), occluded yes / no 0.969-0.987 and label MAE
0.110-0.126. With mediapipe on the real dev crops: MOT17 Spearman 0.51 of the label with
1 - visibility, ROC-AUC 0.73 for visibility < 0.5; Partial-REID occluded vs whole ROC-AUC 0.955 on
the label (0.975 on the share). What limits it: mediapipe finds no pose on half of the MOT17
crops, and on the others still scores hidden parts 0.2-0.4. Persons come from the parsing backend
where it can count (mmseg runs an mmdet detector), else 1.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from tqdm import tqdm

from occreid.pseudolabel.cache import LabelCache, unpack_masks
from occreid.pseudolabel.evidence import LEVELS, Evidence, frame_evidence

MIN_SHARE = 0.08  # hidden share up to which a frame counts as unoccluded (mask / key-point noise)
UNSEEN_SHARE = 0.5  # hidden share of a frame with no evidence and no neighbour with some
SMOOTH_FRAMES = 3  # frames a share is averaged over in its tracklet (centred)
FILLED_CONFIDENCE = 0.5  # a frame filled from its neighbours keeps this part of their confidence
BOUNDARY = 0.05  # shares this close to min_share lower the confidence (occluded or not?)
CHUNK = 65_536  # frames per evidence pass: bounded memory at DukeMTMC's 927,268 frames


def occlusion_labels(share: np.ndarray, min_share: float = MIN_SHARE) -> np.ndarray:
    """Hidden share -> label 0-10 (step 3)."""
    labels = np.ceil(np.clip(share, 0, 1) * 10 - 1e-9).astype(np.int16)
    return np.where(share <= min_share, 0, np.clip(labels, 1, 10))


def mask_weight(meta: dict[str, object]) -> float:
    """The ``mask_weight`` of the parsing backend that made a cache (0 for one we do not know)."""
    from occreid.pseudolabel.backends import BACKENDS, backend_class

    backends = meta.get("backends")
    name = backends.get("parsing", {}).get("name") if isinstance(backends, dict) else None
    if name not in BACKENDS["parsing"]:
        return 0.0
    return float(backend_class("parsing", str(name)).mask_weight)


def combine(ev: Evidence, weight: float) -> tuple[np.ndarray, np.ndarray]:
    """(share, confidence) of each frame from its own evidence (step 1); NaN where none."""
    has_mask = ~np.isnan(ev.mask_hidden)
    share = np.where(has_mask, weight * ev.mask_hidden + (1 - weight) * ev.kp_hidden, ev.kp_hidden)
    confidence = np.where(has_mask, weight + (1 - weight) * ev.certainty, ev.certainty)
    return share, confidence


def smooth_in_tracklet(share: np.ndarray, tracklets: np.ndarray) -> np.ndarray:
    """The mean share over each frame and its neighbours in the tracklet (frames in tracklet
    then frame order; a tracklet's first and last frames average over the two there are)."""
    series = pd.Series(share)
    window = series.groupby(tracklets, sort=False).rolling(
        SMOOTH_FRAMES, center=True, min_periods=1
    )
    return window.mean().reset_index(level=0, drop=True).sort_index().to_numpy()


def near_threshold(share: np.ndarray, min_share: float) -> np.ndarray:
    """The factor (0.5-1) by which a share close to ``min_share`` lowers the confidence."""
    return 0.5 + 0.5 * np.minimum(1.0, np.abs(share - min_share) / BOUNDARY)


def fill_from_neighbours(
    share: np.ndarray, confidence: np.ndarray, tracklets: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Step 2 on frames in tracklet then frame order: NaN shares from the tracklet's frames
    with evidence, else UNSEEN_SHARE at confidence 0."""
    table = pd.DataFrame({"share": share, "confidence": confidence, "tracklet": tracklets})
    missing = table["share"].isna().to_numpy()
    filled = table.groupby("tracklet", sort=False)[["share", "confidence"]].transform(
        lambda s: s.interpolate(limit_area="inside").ffill().bfill()
    )
    out_share = filled["share"].fillna(UNSEEN_SHARE).to_numpy()
    out_conf = filled["confidence"].to_numpy() * np.where(missing, FILLED_CONFIDENCE, 1.0)
    return out_share, np.nan_to_num(out_conf, nan=0.0)


def cache_evidence(cache: LabelCache, weight: float) -> tuple[Evidence, np.ndarray]:
    """Evidence and persons (>= 1) of every frame of the cache, in the order of its index, read
    once, in bounded chunks."""
    index = cache.index
    parts, persons = [], []
    for start in tqdm(range(0, len(index), CHUNK), desc="occlusion evidence", unit="chunk"):
        rows = index.iloc[start : start + CHUNK]
        data = cache.gather(rows["path"].tolist())
        masks = unpack_masks(data["mask"], cache.mask_size) if weight > 0 else None
        frames = rows[["height", "width"]].to_numpy()
        parts.append(frame_evidence(data["keypoints"], masks, frames, data["ok"]))
        persons.append(np.maximum(data["persons"], 1).astype(np.int16))
    evidence = Evidence(
        *(np.concatenate([getattr(p, f) for p in parts]) for f in Evidence.__dataclass_fields__)
    )
    return evidence, np.concatenate(persons)


def tag_frames(cache: LabelCache, min_share: float = MIN_SHARE) -> pd.DataFrame:
    """Every frame of the cache: path, tracklet, the evidence, share, occlusion, persons,
    confidence (the CSV's columns and what they came from)."""
    index = cache.index
    weight = mask_weight(cache.meta)
    ev, persons = cache_evidence(cache, weight)
    tracklets = index["tracklet"].to_numpy()
    share, confidence = fill_from_neighbours(*combine(ev, weight), tracklets)
    share = smooth_in_tracklet(share, tracklets)
    table = pd.DataFrame({"path": index["path"], "tracklet": index["tracklet"]})
    for i, level in enumerate(LEVELS):
        table[f"seen_{level}"] = ev.levels[:, i]
    table["pose_found"] = ev.pose_found
    table["lowest_seen"] = ev.lowest
    table["kp_hidden"] = ev.kp_hidden
    table["mask_hidden"] = ev.mask_hidden
    table["share"] = share
    table["occlusion"] = occlusion_labels(share, min_share)
    table["persons"] = persons
    confidence = confidence * near_threshold(share, min_share)
    table["confidence"] = np.round(np.clip(confidence, 0.0, 1.0), 3)
    return table


def tag_occlusion(cache: LabelCache, min_share: float = MIN_SHARE) -> pd.DataFrame:
    """The annotation CSV (path, occlusion, persons, confidence) of every frame of the cache."""
    return tag_frames(cache, min_share)[["path", "occlusion", "persons", "confidence"]]
