"""What one frame's cached labels say about how much of its person is hidden, frame by frame.

DukeMTMC-VideoReID boxes, like MOT's, are full-extent: they cover the hidden parts too, so the
crop itself is the expected body and no other frame of the tracklet is needed. Two estimates of
the hidden share of the body, each from one kind of evidence:

- key points (``kp_hidden``): each body level (head = nose, eyes and ears; shoulders; hips;
  knees; ankles) is seen as far as its best-seen point (one side hides the other when a person
  walks side on; an occluder hides the whole level), its score put on the backend's scale
  (``visibility``: 0 at or below the score of a hidden point, 1 at or above that of a seen one;
  a step at the seen threshold where the two are equal), and the hidden share is the sum over
  unseen levels of the share of the body height each level stands for (LEVEL_WEIGHTS, from the
  adult proportions of silhouette.py: the span from halfway to the level above to halfway to the
  level below). Arms are left out: they swing in front of the torso and say little about what
  is hidden. A point scored 0.9 on a scale whose seen score is 0.9 counts as fully seen. Read
  as probabilities (mediapipe's visibility is one), the levels' seen parts also give
  ``kp_occluded`` = 1 - their product, the probability that some level is hidden.
- the mask (``mask_hidden``): the share of the skeleton's silhouette (silhouette.py) that the
  target person's visible mask does not cover. The target is the mask's connected components
  that hold a seen key point (a neighbour or an occluder that the parsing model took for a person
  is a separate component, unless it touches the target).

Also kept as evidence (the review app shows it, the calibration fits on it): which levels are
seen, the lowest seen point as a fraction of the box height (1 - it is the share hidden from
below when a car or a wall hides the legs), whether a pose was found at all, and whether the
skeleton is a body (skeleton.py): a frame whose skeleton is not a body has no evidence.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from occreid.pseudolabel.silhouette import silhouette
from occreid.pseudolabel.skeleton import is_body

LEVELS: dict[str, tuple[int, ...]] = {
    "head": (0, 1, 2, 3, 4),
    "shoulders": (5, 6),
    "hips": (11, 12),
    "knees": (13, 14),
    "ankles": (15, 16),
}
# share of the body height each level stands for: nose 0.085, shoulders 0.19, hips 0.52, knees
# 0.72, ankles 0.93 of the height (silhouette.py), each level reaching halfway to its neighbours
LEVEL_WEIGHTS = np.diff([0.0, 0.1375, 0.355, 0.62, 0.825, 1.0])


@dataclass
class Evidence:
    """Per-frame evidence (N frames); NaN where a frame has none of that kind."""

    pose_found: np.ndarray  # (N,) bool: the pose backend placed a skeleton
    body: np.ndarray  # (N,) bool: ... and it is a body (skeleton.py); else no key-point evidence
    levels: np.ndarray  # (N, 5) score of each body level, LEVELS order
    lowest: np.ndarray  # (N,) lowest seen key point, fraction of the box height
    kp_hidden: np.ndarray  # (N,) sum of LEVEL_WEIGHTS over the levels' unseen part
    kp_occluded: np.ndarray  # (N,) 1 - product of the levels' seen part: P(some level hidden)
    mask_hidden: np.ndarray  # (N,) share of the silhouette the target's mask does not cover


def level_scores(keypoints: np.ndarray) -> np.ndarray:
    """(N, 17, 3) keypoints -> (N, 5) mean score of each body level."""
    return level_means(keypoints[..., 2].astype(np.float32))


def level_means(scores: np.ndarray) -> np.ndarray:
    """(N, 17) per-point values -> (N, 5) their mean over each body level."""
    return np.stack([scores[:, list(j)].mean(axis=1) for j in LEVELS.values()], axis=1)


def level_seen(seen: np.ndarray) -> np.ndarray:
    """(N, 17) per-point visibility (0-1) -> (N, 5) each level's best-seen point: walking side
    on hides one knee behind the other (the body hides itself), an occluder hides the level."""
    return np.stack([seen[:, list(j)].max(axis=1) for j in LEVELS.values()], axis=1)


def visibility(scores: np.ndarray, scale: tuple[float, float]) -> np.ndarray:
    """Scores -> 0-1 on the backend's scale (hidden score, seen score): linear between them, a
    step at the seen score where the two are equal."""
    low, high = scale
    if high <= low:
        return (scores >= high).astype(np.float32)
    return np.clip((scores - low) / (high - low), 0.0, 1.0).astype(np.float32)


def lowest_seen(keypoints: np.ndarray, heights: np.ndarray, seen_score: float) -> np.ndarray:
    """The lowest seen key point's height as a fraction of the box, NaN where none is seen."""
    seen = keypoints[..., 2] >= seen_score
    y = np.where(seen, keypoints[..., 1].astype(np.float32), -np.inf).max(axis=1)
    fraction = np.clip(y / np.maximum(heights, 1), 0.0, 1.0)
    return np.where(seen.any(axis=1), fraction, np.nan)


def target_mask(
    mask: np.ndarray, keypoints: np.ndarray, frame: tuple[int, int], seen_score: float
) -> np.ndarray:
    """The components of ``mask`` (H, W) bool that hold a seen key point (or touch one within a
    pixel); the whole mask when no point is seen (nothing says which component is the target).
    Flood fill, single-threaded (see silhouette.py on OpenCV threads and fork)."""
    seen = keypoints[keypoints[:, 2] >= seen_score, :2]
    if not len(seen) or not mask.any():
        return mask
    h, w = mask.shape
    image = mask.astype(np.uint8)
    kept = np.zeros((h + 2, w + 2), dtype=np.uint8)
    xs = np.clip((seen[:, 0] * w / frame[1]).astype(int), 0, w - 1)
    ys = np.clip((seen[:, 1] * h / frame[0]).astype(int), 0, h - 1)
    for x, y in set(zip(xs.tolist(), ys.tolist(), strict=True)):
        if kept[y + 1, x + 1]:
            continue
        sy, sx = y, x
        if not mask[y, x]:
            y0, x0 = max(0, y - 1), max(0, x - 1)
            near = np.argwhere(mask[y0 : y + 2, x0 : x + 2])
            if not len(near):
                continue
            sy, sx = int(near[0][0]) + y0, int(near[0][1]) + x0
        if not kept[sy + 1, sx + 1]:
            flags = 8 | cv2.FLOODFILL_MASK_ONLY | (1 << 8)
            cv2.floodFill(image, kept, (sx, sy), 1, 0, 0, flags)
    return kept[1:-1, 1:-1] > 0 if kept.any() else mask


def mask_hidden_share(
    masks: np.ndarray,
    keypoints: np.ndarray,
    frames: np.ndarray,
    found: np.ndarray,
    seen_score: float,
) -> np.ndarray:
    """(N,) share of each skeleton's silhouette that its target mask leaves uncovered; NaN where
    no pose was found or the skeleton is degenerate. masks (N, H, W) bool, frames (N, 2) h, w."""
    out = np.full(len(masks), np.nan)
    size = masks.shape[1:]
    for i in np.flatnonzero(found):
        frame = (int(frames[i, 0]), int(frames[i, 1]))
        kp = keypoints[i].astype(np.float32)
        body = silhouette(kp, frame, size)
        total = int(body.sum())
        if total:
            covered = int((target_mask(masks[i], kp, frame, seen_score) & body).sum())
            out[i] = 1.0 - covered / total
    return out


def frame_evidence(
    keypoints: np.ndarray,
    masks: np.ndarray | None,
    frames: np.ndarray,
    ok: np.ndarray,
    scale: tuple[float, float],
    seen_score: float,
) -> Evidence:
    """Evidence of N frames: keypoints (N, 17, 3) in frame pixels, masks (N, H, W) bool or None
    (skip the mask estimate), frames (N, 2) height and width, ok (N,) decoded; ``scale`` the pose
    backend's (hidden score, seen score), ``seen_score`` where a point counts as seen."""
    found = ok & (keypoints[..., 2] > 0).any(axis=1)
    body = found & is_body(keypoints, frames[:, 0])
    levels = level_scores(keypoints)
    nan = np.full(len(found), np.nan)
    seen = level_seen(visibility(keypoints[..., 2], scale))
    kp_hidden = np.where(body, (1.0 - seen) @ LEVEL_WEIGHTS, nan)
    kp_occluded = np.where(body, 1.0 - seen.prod(axis=1), nan)
    lowest = np.where(body, lowest_seen(keypoints, frames[:, 0], seen_score), nan)
    mask_hidden = (
        nan if masks is None else mask_hidden_share(masks, keypoints, frames, body, seen_score)
    )
    return Evidence(found, body, levels, lowest, kp_hidden, kp_occluded, mask_hidden)
