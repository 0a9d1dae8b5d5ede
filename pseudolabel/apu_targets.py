"""APU key-point targets from COCO-17 keypoints (paper footnote 1).

a1 = shoulder height, a2 = hip height, a3 = knee height (fractions of the image height) and
a4 = knee x (fraction of the width, the split between the legs). A point counts as found when its
score reaches ``threshold``: the pose backend's seen score (its calibration, calibration.py; the
runner passes it), the same rule as the occlusion evidence's "seen"; a level's height is the
mean of its found left / right points. Every
found point is kept as it is; the rules for what is missing, in order:

- nothing found on any level (shoulders, hips, knees, ankles): all four targets NaN, which Lk
  ignores. A frame without a pose teaches the locator nothing, rather than a made-up layout.
- a missing height with a found level below it lies between its neighbours: it is interpolated
  between the nearest found level above (or the top of the crop) and the nearest found level below,
  in proportion to the median heights of the levels. DukeMTMC-VideoReID boxes are full-extent (they
  cover hidden parts too), so a hip hidden behind a bag sits between the shoulders and the knees
  that were seen. Medians: shoulders 0.23, hips 0.50, knees 0.70 (the authors' training targets,
  authors-code-facts.md), ankles 0.93 (only used when knees are missing but ankles are seen).
- a missing height with nothing found below it: 1, the bottom. The body is cut off or hidden from
  there down, and the locator learns the boundary value (paper Fig. 9: hip and knee missed, a2 and
  a3 predicted at h).
- a4: the midpoint of the first complete left / right pair among knees, hips and ankles, else of
  the shoulders (the body's axis), else 0.5 (the box is centred on its person). A single knee is
  not the split between the legs, so it is not used alone.
"""

from __future__ import annotations

import numpy as np

from occreid.pseudolabel.backends.base import PoseBackend
from occreid.pseudolabel.skeleton import found_mean

SHOULDERS, HIPS, KNEES, ANKLES = (5, 6), (11, 12), (13, 14), (15, 16)
LEVELS = (SHOULDERS, HIPS, KNEES, ANKLES)
MEDIAN_HEIGHTS = np.array([0.23, 0.50, 0.70, 0.93])


def _pair_midpoint_x(kp: np.ndarray, joints: tuple[int, int], threshold: float) -> np.ndarray:
    """x midpoint of a left / right pair where both are found, else NaN."""
    both = (kp[:, list(joints), 2] >= threshold).all(axis=1)
    return np.where(both, kp[:, list(joints), 0].mean(axis=1), np.nan)


def fill_heights(heights: np.ndarray) -> np.ndarray:
    """(N, 4) level heights (shoulders, hips, knees, ankles; NaN = missing) -> (N, 3) a1..a3 by the
    rules of the module docstring (interpolate between found levels, else the bottom)."""
    out = heights[:, :3].copy()
    for level in range(3):
        below_value = np.full(len(heights), np.nan)
        below_median = np.full(len(heights), np.nan)
        for j in range(3, level, -1):  # nearest found level below wins: visit it last
            found = ~np.isnan(heights[:, j])
            below_value = np.where(found, heights[:, j], below_value)
            below_median = np.where(found, MEDIAN_HEIGHTS[j], below_median)
        above_value = np.zeros(len(heights))  # the top of the crop
        above_median = np.zeros(len(heights))
        for j in range(level):
            found = ~np.isnan(heights[:, j])
            above_value = np.where(found, heights[:, j], above_value)
            above_median = np.where(found, MEDIAN_HEIGHTS[j], above_median)
        share = (MEDIAN_HEIGHTS[level] - above_median) / (below_median - above_median)
        between = above_value + (below_value - above_value) * share
        guess = np.where(np.isnan(below_value), 1.0, between)
        out[:, level] = np.where(np.isnan(heights[:, level]), guess, heights[:, level])
    return out


def apu_targets(
    keypoints: np.ndarray,
    height: np.ndarray,
    width: np.ndarray,
    threshold: float = PoseBackend.seen_score,
) -> np.ndarray:
    """(N, 17, 3) pixel keypoints + image sizes (N,) -> (N, 4) float32 targets in [0, 1]
    (NaN rows where no body point is found)."""
    kp = keypoints.astype(np.float64)
    h = np.asarray(height, dtype=np.float64)
    w = np.asarray(width, dtype=np.float64)
    seen = kp[..., 2] >= threshold
    heights = np.stack([found_mean(kp, joints, seen)[:, 1] / h for joints in LEVELS], axis=1)
    a123 = fill_heights(heights)
    a4 = np.full(len(kp), np.nan)
    for joints in (KNEES, HIPS, ANKLES, SHOULDERS):
        a4 = np.where(np.isnan(a4), _pair_midpoint_x(kp, joints, threshold) / w, a4)
    a4 = np.where(np.isnan(a4), 0.5, a4)
    targets = np.clip(np.concatenate([a123, a4[:, None]], axis=1), 0.0, 1.0)
    nothing = np.isnan(heights).all(axis=1)
    targets[nothing] = np.nan
    return targets.astype(np.float32)
