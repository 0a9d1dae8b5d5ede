"""`occreid tag-occlusion`: occlusion label (0-10), person count and confidence of every frame.

Every number below is the backend pair's calibration (calibration.py), saved beside the tags.
From a frame's evidence (evidence.py) to its tag:

1. A frame has evidence when it was decoded, its pose backend placed a skeleton and that skeleton
   is a body (skeleton.py). Its hidden share s = w * mask_hidden + (1 - w) * kp_hidden, where w is
   ``mask_weight`` (how far the parsing backend's mask is the target's visible body; 0 where it is
   not, e.g. mediapipe's selfie mask, which covers occluders); s = kp_hidden where the skeleton
   gives no silhouette. Then each share is the mean over its frame and the frames with evidence
   on either side in the tracklet (SMOOTH_FRAMES = 3): consecutive frames show nearly the same
   occlusion, and a pose model's scores flicker from frame to frame.
2. Without a fitted model (the shipped defaults): P(occluded) p = w * sigmoid((mask_hidden -
   min_share) / MASK_SPREAD) + (1 - w) * kp_occluded (the probability that some body level is
   hidden, reading the backend's scale as visibility probabilities), smoothed like s; occluded
   when p >= 0.5, with label max(1, ceil(10 s)) (1 = up to 10 % hidden ... 10 = over 90 %, the
   paper's footnote 3), else 0. With a fitted model (`occreid calibrate`): p and the label from
   the model's monotone features (FEATURES) of the frame.
3. Confidence = P(the occluded yes / no is right): max(p, 1 - p), mapped, after `occreid
   calibrate`, to the agreement with the reviewers found out of fold at that certainty, at
   least (calibration.py): confidence 0.9 means right 9 times in 10 or more, as far as the
   reviewed tracklets can tell
   (benchmarks/review_loop.py and tagging_real.py print the reliability per confidence bin).
4. Frames without evidence are unknown: confidence 0 (first in the review queue), ``unknown`` and
   ``evidence`` (no_pose / not_a_body) in the table; their P(occluded) and label are the
   calibration's prior for that reason (calibration.py says why not the tracklet's). They are
   never counted as occluded in a summary (``summary``).

Persons come from the parsing backend where it can count (mmseg runs an mmdet detector), else 1.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from tqdm import tqdm

from occreid.occdata.annotations import is_occluded
from occreid.pseudolabel.cache import LabelCache, unpack_masks
from occreid.pseudolabel.calibration import NO_EVIDENCE, Calibration, calibration_for
from occreid.pseudolabel.evidence import LEVELS, Evidence, frame_evidence

SMOOTH_FRAMES = 3  # frames a share is averaged over in its tracklet (centred)
MASK_SPREAD = 0.02  # noise of an exact mask's share: clear toy frames reach 0.02 +- 0.01
CHUNK = 65_536  # frames per evidence pass: bounded memory at DukeMTMC's 927,268 frames
LEVEL_COLUMNS = [f"seen_{level}" for level in LEVELS]
# the fitted model's features, each oriented so that more means more hidden
FEATURES = (
    "share",
    "kp_hidden",
    "kp_occluded",
    "below",
    "tracklet_share",
    "mask_hidden",
    *(f"unseen_{level}" for level in LEVELS),
)


def occlusion_labels(share: np.ndarray, min_share: float) -> np.ndarray:
    """Hidden share -> label 0-10 (step 2)."""
    labels = np.ceil(np.clip(share, 0, 1) * 10 - 1e-9).astype(np.int16)
    return np.where(share <= min_share, 0, np.clip(labels, 1, 10))


def cache_evidence(cache: LabelCache, cal: Calibration) -> tuple[Evidence, np.ndarray]:
    """Evidence and persons (>= 1) of every frame of the cache, in the order of its index, read
    once, in bounded chunks (masks only where the calibration trusts them)."""
    index = cache.index
    parts, persons = [], []
    for start in tqdm(range(0, len(index), CHUNK), desc="occlusion evidence", unit="chunk"):
        rows = index.iloc[start : start + CHUNK]
        data = cache.gather(rows["path"].tolist())
        trusted = cal.mask_is_visible_body and cal.mask_weight > 0
        masks = unpack_masks(data["mask"], cache.mask_size) if trusted else None
        frames = rows[["height", "width"]].to_numpy()
        ev = frame_evidence(
            data["keypoints"], masks, frames, data["ok"], cal.score_scale, cal.seen_score
        )
        parts.append(ev)
        persons.append(np.maximum(data["persons"], 1).astype(np.int16))
    evidence = Evidence(
        *(np.concatenate([getattr(p, f) for p in parts]) for f in Evidence.__dataclass_fields__)
    )
    return evidence, np.concatenate(persons)


def evidence_table(cache: LabelCache, cal: Calibration) -> pd.DataFrame:
    """Every frame of the cache (tracklet then frame order): path, tracklet, the evidence of
    evidence.py under ``cal``, persons."""
    ev, persons = cache_evidence(cache, cal)
    table = pd.DataFrame({"path": cache.index["path"], "tracklet": cache.index["tracklet"]})
    for i, column in enumerate(LEVEL_COLUMNS):
        table[column] = ev.levels[:, i]
    table["pose_found"] = ev.pose_found
    table["body"] = ev.body
    table["lowest_seen"] = ev.lowest
    table["kp_hidden"] = ev.kp_hidden
    table["kp_occluded"] = ev.kp_occluded
    table["mask_hidden"] = ev.mask_hidden
    table["persons"] = persons
    return table


def _in_tracklet(values: pd.Series, tracklets: pd.Series, window: int) -> np.ndarray:
    """Centred rolling mean over frames of the same tracklet, NaNs skipped."""
    rolling = values.groupby(tracklets.to_numpy(), sort=False).rolling(
        window, center=True, min_periods=1
    )
    return rolling.mean().reset_index(level=0, drop=True).sort_index().to_numpy()


def _mask_weight(cal: Calibration) -> float:
    return cal.mask_weight if cal.mask_is_visible_body else 0.0


def _mixed(table: pd.DataFrame, cal: Calibration, mask: np.ndarray, kp: np.ndarray) -> np.ndarray:
    """w * mask + (1 - w) * kp where the mask estimate exists, else kp; smoothed in the
    tracklet over frames with evidence; NaN without evidence."""
    w = _mask_weight(cal)
    own = np.where(np.isnan(mask), kp, w * mask + (1 - w) * kp)
    smooth = _in_tracklet(pd.Series(own, index=table.index), table["tracklet"], SMOOTH_FRAMES)
    return np.where(np.isnan(own), np.nan, smooth)


def frame_share(table: pd.DataFrame, cal: Calibration) -> np.ndarray:
    """Step 1: each frame's hidden share, smoothed in its tracklet; NaN without evidence."""
    mask, kp = table["mask_hidden"].to_numpy(), table["kp_hidden"].to_numpy()
    return _mixed(table, cal, mask, kp)


def default_probability(table: pd.DataFrame, cal: Calibration) -> np.ndarray:
    """Step 2 without a model: P(occluded) = w * P from the mask share (its noise MASK_SPREAD)
    + (1 - w) * P(some level hidden) from the key points, smoothed like the share."""
    mask = table["mask_hidden"].to_numpy()
    from_mask = _sigmoid((mask - cal.min_share) / MASK_SPREAD)
    return _mixed(table, cal, from_mask, table["kp_occluded"].to_numpy())


def features(table: pd.DataFrame, cal: Calibration) -> pd.DataFrame:
    """The fitted model's FEATURES of every frame (NaN rows where a frame has no evidence)."""
    share = frame_share(table, cal)
    has = ~np.isnan(share)
    out = pd.DataFrame(index=table.index)
    out["share"] = share
    out["kp_hidden"] = table["kp_hidden"]
    out["kp_occluded"] = table["kp_occluded"]
    out["below"] = np.where(has, 1 - table["lowest_seen"].fillna(0.0), np.nan)
    context = pd.Series(share, index=table.index).groupby(table["tracklet"].to_numpy())
    out["tracklet_share"] = context.transform("mean").to_numpy()
    out["mask_hidden"] = table["mask_hidden"].fillna(table["kp_hidden"])
    for level in LEVELS:
        out[f"unseen_{level}"] = 1 - table[f"seen_{level}"]
    out.loc[~has] = np.nan
    return out


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


def tag_table(table: pd.DataFrame, cal: Calibration) -> pd.DataFrame:
    """Steps 1-4 on an evidence table: adds share, evidence, p_occluded, occlusion, unknown,
    confidence."""
    feats = features(table, cal)
    share = feats["share"].to_numpy()
    known = ~np.isnan(share)
    if cal.model is None:
        p = default_probability(table, cal)
        labels = occlusion_labels(np.nan_to_num(share), cal.min_share).astype(float)
        labels = np.where(p >= 0.5, np.maximum(labels, 1), 0)
    else:
        x = feats[list(cal.model.features)].to_numpy(dtype=np.float64)
        score = cal.model.score(np.nan_to_num(x))
        p = _sigmoid(score)
        fitted = cal.model.label(score)
        occluded_label = (
            np.maximum(occlusion_labels(np.nan_to_num(share), cal.min_share), 1)
            if fitted is None
            else fitted
        )
        labels = np.where(p >= 0.5, occluded_label, 0).astype(float)
    reason = np.where(table["pose_found"].to_numpy(), NO_EVIDENCE[1], NO_EVIDENCE[0])
    prior_p = np.array([cal.prior_occluded[r] for r in NO_EVIDENCE])
    prior_label = np.array([cal.prior_label[r] if cal.prior_occluded[r] >= 0.5 else 0
                            for r in NO_EVIDENCE])  # fmt: skip
    which = (reason == NO_EVIDENCE[1]).astype(int)
    out = table.copy()
    out["share"] = share
    out["evidence"] = np.where(known, "ok", reason)
    out["p_occluded"] = np.where(known, p, prior_p[which])
    out["occlusion"] = np.where(known, np.nan_to_num(labels), prior_label[which]).astype(np.int16)
    out["unknown"] = ~known
    out["confidence"] = tag_confidence(p, known, cal)
    return out


def tag_confidence(p: np.ndarray, known: np.ndarray, cal: Calibration) -> np.ndarray:
    """Step 3: the confidence of tags with P(occluded) ``p`` under ``cal`` (0 where not
    ``known``), to the CSV's precision; also what puts calibrate.py's out-of-fold tags on the
    scale of the tags a calibration gives."""
    confidence = np.where(known, cal.confidence(np.maximum(p, 1 - p)), 0.0)
    return np.round(np.nan_to_num(confidence), 3)


def tag_frames(cache: LabelCache, cal: Calibration | None = None) -> pd.DataFrame:
    """Every frame of the cache: path, tracklet, the evidence, share, p_occluded, occlusion,
    persons, confidence, unknown. ``cal`` defaults to calibration_for(the cache)."""
    cal = calibration_for(cache.root, cache.meta) if cal is None else cal
    return tag_table(evidence_table(cache, cal), cal)


def tag_occlusion(cache: LabelCache, cal: Calibration | None = None) -> pd.DataFrame:
    """The annotation CSV (path, occlusion, persons, confidence) of every frame of the cache."""
    return tag_frames(cache, cal)[["path", "occlusion", "persons", "confidence"]]


def summary(tags: pd.DataFrame) -> str:
    """One line: frames, unknown frames, and the occluded share of the frames with evidence
    (an unknown frame is never counted as occluded)."""
    unknown = tags["confidence"] <= 0
    known = tags[~unknown]
    occluded = (
        is_occluded(known["occlusion"].to_numpy(), known["persons"].to_numpy()).mean()
        if len(known)
        else 0.0
    )
    return (
        f"{len(tags):,} frames, {int(unknown.sum()):,} unknown (no evidence: confidence 0), "
        f"{occluded:.1%} of the others occluded"
    )
