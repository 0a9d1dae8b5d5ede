"""APU key-point targets from COCO-17 keypoints (paper footnote 1).

a1 = shoulder height, a2 = hip height, a3 = knee height (fractions of the image height) and
a4 = knee x (fraction of the width), each the mean over the left / right points whose score
reaches ``threshold``. Where a point is not found, the boundary value the locator learns to
predict (paper Fig. 9 discussion): no shoulder -> a1 = 0 (top), no hip -> a2 = 1 and no knee ->
a3 = 1 (bottom: the body is cut off below); no knee x -> the hips' x, else 0.5. Heights are then
made non-decreasing (a1 <= a2 <= a3).
"""

from __future__ import annotations

import numpy as np

SHOULDERS, HIPS, KNEES = (5, 6), (11, 12), (13, 14)


def _mean_coord(kp: np.ndarray, joints: tuple[int, int], axis: int, threshold: float) -> np.ndarray:
    """Mean of one coordinate over the found joints, NaN where none is found. kp (N, 17, 3)."""
    pts = kp[:, list(joints)]
    found = pts[..., 2] >= threshold
    total = np.where(found, pts[..., axis], 0.0).sum(axis=1)
    count = found.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def apu_targets(
    keypoints: np.ndarray, height: np.ndarray, width: np.ndarray, threshold: float = 0.3
) -> np.ndarray:
    """(N, 17, 3) pixel keypoints + image sizes (N,) -> (N, 4) float32 targets in [0, 1]."""
    kp = keypoints.astype(np.float64)
    h = np.asarray(height, dtype=np.float64)
    w = np.asarray(width, dtype=np.float64)
    a1 = _mean_coord(kp, SHOULDERS, 1, threshold) / h
    a2 = _mean_coord(kp, HIPS, 1, threshold) / h
    a3 = _mean_coord(kp, KNEES, 1, threshold) / h
    a4 = _mean_coord(kp, KNEES, 0, threshold) / w
    hip_x = _mean_coord(kp, HIPS, 0, threshold) / w
    a1 = np.where(np.isnan(a1), 0.0, a1)
    a2 = np.where(np.isnan(a2), 1.0, a2)
    a3 = np.where(np.isnan(a3), 1.0, a3)
    a4 = np.where(np.isnan(a4), np.where(np.isnan(hip_x), 0.5, hip_x), a4)
    a2 = np.maximum(a2, a1)
    a3 = np.maximum(a3, a2)
    return np.clip(np.stack([a1, a2, a3, a4], axis=1), 0.0, 1.0).astype(np.float32)
