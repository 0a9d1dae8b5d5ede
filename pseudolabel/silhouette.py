"""The body a skeleton stands for: a person's expected silhouette drawn from COCO-17 keypoints.

A pose model places every key point, the hidden ones too (with a low score), so a frame's
skeleton says where the whole body is even where it cannot be seen. Drawn with the proportions
of an adult (fractions of the body height h, nose to ankle = 0.845 h): legs 0.075 h thick, arms
0.045 h, the torso the shoulder-hip quadrilateral, a head of radius 0.062 h, feet 0.10 x 0.044 h.
The hidden share of the body is then what the target person's visible mask lacks of this
silhouette (evidence.py). Given which points are seen, only the parts they support are drawn
(a limb whose two ends are seen, the torso where its four corners are, the head where one of its
points is, a foot where its ankle is): the visible body as far as the key points say, the mask
target of a parsing backend whose own mask is not the visible body (backends/keypoints.py).
Drawn at 4x the mask size and reduced by area, so thin limbs keep their width at the cache's
64x32.
"""

from __future__ import annotations

import cv2
import numpy as np

NOSE, LEFT_ANKLE, RIGHT_ANKLE = 0, 15, 16
NOSE_TO_ANKLE = 0.845  # of the body height: nose at 0.085 h, ankles at 0.93 h
LIMBS = {
    "legs": ((11, 13), (13, 15), (12, 14), (14, 16)),
    "arms": ((5, 7), (7, 9), (6, 8), (8, 10)),
}
THICKNESS = {"legs": 0.075, "arms": 0.045}
TORSO = (5, 6, 12, 11)
HEAD = (0, 1, 2, 3, 4)
HEAD_RADIUS, FOOT_AXES = 0.062, (0.05, 0.022)
UPSCALE = 4


def body_height(keypoints: np.ndarray) -> float:
    """Body height in the keypoints' pixels, from the nose to the mean ankle height."""
    ankles = float(keypoints[[LEFT_ANKLE, RIGHT_ANKLE], 1].mean())
    return (ankles - float(keypoints[NOSE, 1])) / NOSE_TO_ANKLE


def silhouette(
    keypoints: np.ndarray,
    frame: tuple[int, int],
    size: tuple[int, int],
    seen: np.ndarray | None = None,
) -> np.ndarray:
    """(H, W) bool expected body at ``size`` for keypoints (17, 2+) in the pixels of a frame of
    size ``frame`` (h, w); all False when the skeleton is upside down or degenerate. ``seen``
    (17,) bool: draw only the parts the seen points support (module docstring); None: all."""
    seen = np.ones(17, dtype=bool) if seen is None else np.asarray(seen, dtype=bool)
    big = (size[0] * UPSCALE, size[1] * UPSCALE)
    canvas = np.zeros(big, dtype=np.uint8)
    pts = keypoints[:, :2].astype(np.float64) * [big[1] / frame[1], big[0] / frame[0]]
    h = body_height(pts)
    if not np.isfinite(h) or h < 2:
        return np.zeros(size, dtype=bool)

    def at(i: int, dy: float = 0.0) -> tuple[int, int]:
        return round(pts[i, 0]), round(pts[i, 1] + dy * h)

    for part, limbs in LIMBS.items():
        width = max(1, round(THICKNESS[part] * h))
        for a, b in limbs:
            if seen[a] and seen[b]:
                cv2.line(canvas, at(a), at(b), 1, width)
    if seen[list(TORSO)].all():
        cv2.fillConvexPoly(canvas, np.round(pts[list(TORSO)]).astype(np.int32), 1)
    if seen[list(HEAD)].any():
        cv2.circle(canvas, at(NOSE, -0.01), max(1, round(HEAD_RADIUS * h)), 1, -1)
    axes = (max(1, round(FOOT_AXES[0] * h)), max(1, round(FOOT_AXES[1] * h)))
    for ankle in (LEFT_ANKLE, RIGHT_ANKLE):
        if seen[ankle]:
            cv2.ellipse(canvas, at(ankle, 0.025), axes, 0, 0, 360, 1, -1)
    blocks = canvas.reshape(size[0], UPSCALE, size[1], UPSCALE)
    covered = blocks.sum(axis=(1, 3), dtype=np.int32)  # area reduction in numpy (module note)
    return 2 * covered >= UPSCALE * UPSCALE
