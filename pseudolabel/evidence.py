"""What one frame's cached labels say about how much of its person is hidden, frame by frame.

DukeMTMC-VideoReID boxes, like MOT's, are full-extent: they cover the hidden parts too, so the
crop itself is the expected body and no other frame of the tracklet is needed. Two estimates of
the hidden share of the body, each from one kind of evidence:

- key points (``kp_hidden``): the pose model's score of each body level (head = nose, eyes and
  ears; shoulders; hips; knees; ankles; a level's score is the mean of its points), and 1 - their
  mean. Arms are left out: they swing in front of the torso and say little about what is hidden.
  A pose model still guesses hidden points, with scores of 0.2-0.4 (mediapipe), so this estimate
  saturates near 0.6 for a body hidden from the waist down.
- the mask (``mask_hidden``): the share of the skeleton's silhouette (silhouette.py) that the
  target person's visible mask does not cover. The target is the mask's connected components
  that hold a seen key point (a neighbour or an occluder that the parsing model took for a person
  is a separate component, unless it touches the target).

Also kept as evidence (the review app shows it, the benchmarks measure it): which levels are
seen, the lowest seen point as a fraction of the box height (1 - it is the share hidden from
below when a car or a wall hides the legs), and whether a pose was found at all.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from occreid.pseudolabel.silhouette import silhouette

LEVELS: dict[str, tuple[int, ...]] = {
    "head": (0, 1, 2, 3, 4),
    "shoulders": (5, 6),
    "hips": (11, 12),
    "knees": (13, 14),
    "ankles": (15, 16),
}
SEEN = 0.5  # a key point with this score or more counts as seen (mediapipe's visibility scale)


@dataclass
class Evidence:
    """Per-frame evidence (N frames); NaN where a frame has none of that kind."""

    pose_found: np.ndarray  # (N,) bool: the pose backend placed a skeleton
    levels: np.ndarray  # (N, 5) score of each body level, LEVELS order
    lowest: np.ndarray  # (N,) lowest seen key point, fraction of the box height
    kp_hidden: np.ndarray  # (N,) 1 - mean level score
    certainty: np.ndarray  # (N,) mean |2 score - 1| over levels: 0 = every level undecided
    mask_hidden: np.ndarray  # (N,) share of the silhouette the target's mask does not cover


def level_scores(keypoints: np.ndarray) -> np.ndarray:
    """(N, 17, 3) keypoints -> (N, 5) mean score of each body level."""
    scores = keypoints[..., 2].astype(np.float32)
    return np.stack([scores[:, list(j)].mean(axis=1) for j in LEVELS.values()], axis=1)


def lowest_seen(keypoints: np.ndarray, heights: np.ndarray) -> np.ndarray:
    """The lowest seen key point's height as a fraction of the box, NaN where none is seen."""
    seen = keypoints[..., 2] >= SEEN
    y = np.where(seen, keypoints[..., 1].astype(np.float32), -np.inf).max(axis=1)
    fraction = np.clip(y / np.maximum(heights, 1), 0.0, 1.0)
    return np.where(seen.any(axis=1), fraction, np.nan)


def target_mask(mask: np.ndarray, keypoints: np.ndarray, frame: tuple[int, int]) -> np.ndarray:
    """The components of ``mask`` (H, W) bool that hold a seen key point (or touch one within a
    pixel); the whole mask when no point is seen (nothing says which component is the target).
    Flood fill, single-threaded (see silhouette.py on OpenCV threads and fork)."""
    seen = keypoints[keypoints[:, 2] >= SEEN, :2]
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
    masks: np.ndarray, keypoints: np.ndarray, frames: np.ndarray, found: np.ndarray
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
            covered = int((target_mask(masks[i], kp, frame) & body).sum())
            out[i] = 1.0 - covered / total
    return out


def frame_evidence(
    keypoints: np.ndarray,
    masks: np.ndarray | None,
    frames: np.ndarray,
    ok: np.ndarray,
) -> Evidence:
    """Evidence of N frames: keypoints (N, 17, 3) in frame pixels, masks (N, H, W) bool or None
    (skip the mask estimate), frames (N, 2) height and width, ok (N,) decoded."""
    found = ok & (keypoints[..., 2] > 0).any(axis=1)
    levels = level_scores(keypoints)
    nan = np.full(len(found), np.nan)
    kp_hidden = np.where(found, 1.0 - levels.mean(axis=1), nan)
    certainty = np.where(found, np.abs(2.0 * levels - 1.0).mean(axis=1), nan)
    lowest = np.where(found, lowest_seen(keypoints, frames[:, 0]), nan)
    mask_hidden = nan if masks is None else mask_hidden_share(masks, keypoints, frames, found)
    return Evidence(found, levels, lowest, kp_hidden, certainty, mask_hidden)
