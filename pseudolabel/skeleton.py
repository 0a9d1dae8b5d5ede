"""A skeleton that is not a body: the rule that tells a pose model's collapsed guess from a person.

A pose model places all 17 COCO key points on every crop where it reports a pose, the hidden ones
too (with a low score). On a crop it cannot read it still returns a skeleton, but one that no
body makes: every point bunched on the legs or the chest, levels out of order, a torso a tenth of
a leg. Such a skeleton is no evidence about what is hidden (its scores say "hidden" for parts
that are plainly visible) and no target for the locator. Three checks, each from the geometry of
an upright adult (fractions of the body height h, as in silhouette.py and the synth person: nose
0.085, shoulders 0.19, hips 0.52, knees 0.72, ankles 0.93), never fitted on real crops:

- span: the placed points (score > 0) must cover at least MIN_SPAN = 0.4 of the box height.
  DukeMTMC-VideoReID and MOT boxes are full-extent, so a body's skeleton spans nose to ankle,
  0.845 of its box, even where a car hides the legs (the model still places them). 0.4 is under
  half of that: a crouching or sitting person (whose box is their own, smaller, extent) and a
  partial crop cut to the visible part (the model places the cut-off points outside the box)
  keep more; a skeleton inside 40 % of the box is bunched.
- order: image y grows downwards through head, shoulders, hips, knees, ankles (each level's mean
  over its placed points). Checked on levels two apart (head above hips, shoulders above knees,
  hips above ankles): 0.4-0.44 h apart in a standing body, so no walk, stride or turn reverses
  them, while adjacent levels may tie (a bow, a raised knee). A level with no placed point is
  not checked.
- proportions: the neck (nose to shoulder midpoint), thigh (hip to knee midpoints) and shin (knee
  to ankle midpoints), each against the torso (shoulder to hip midpoints, the longest rigid
  segment), must lie within a factor PROPORTION = 3 of an adult's ratio (0.105, 0.20 and 0.21 h
  against 0.33 h). Walking swings a leg by about 30 degrees (its image length shrinks to 0.87
  at most) and a child's head is relatively larger (a ratio up to 1.5x an adult's), far inside a
  factor 3; a thigh pointing straight at the camera (a seated person seen from the front) can
  fail it, and is then treated as unreadable. Not checked where the torso or the segment's
  levels are not placed.

A frame with no placed point is not a body. Vectorised over frames; used by the occlusion
evidence (evidence.py) and meant for the APU targets too.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np

HEAD, SHOULDERS, HIPS, KNEES, ANKLES = (0, 1, 2, 3, 4), (5, 6), (11, 12), (13, 14), (15, 16)
CHAIN = (HEAD[:1], SHOULDERS, HIPS, KNEES, ANKLES)  # the nose stands for the head on the chain
ORDER_LEVELS = (HEAD, SHOULDERS, HIPS, KNEES, ANKLES)
MIN_SPAN = 0.4  # of the box height: under half a full-extent body's nose-to-ankle 0.845
PROPORTION = 3.0  # factor by which a segment / torso ratio may differ from an adult's
# adult segment length / torso length, from the body fractions of the module docstring
ADULT_RATIO = {"neck": 0.105 / 0.33, "thigh": 0.20 / 0.33, "shin": 0.21 / 0.33}


def found_mean(keypoints: np.ndarray, joints: tuple[int, ...], found: np.ndarray) -> np.ndarray:
    """(N, 2) mean x, y of the ``joints`` of (N, 17, 3) ``keypoints`` where ``found`` (N, 17)
    holds; NaN where none of them does. The one mean of a body level (here: placed points; the
    APU targets: seen points)."""
    pick = list(joints)
    hit = found[:, pick]
    count = hit.sum(axis=1)[:, None]
    total = np.where(hit[..., None], keypoints[:, pick, :2], 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _level_mean(keypoints: np.ndarray, joints: tuple[int, ...]) -> np.ndarray:
    """(N, 2) mean x, y of a level's placed points (score > 0); NaN where none is placed."""
    return found_mean(keypoints, joints, keypoints[..., 2] > 0)


def spans_box(keypoints: np.ndarray, heights: np.ndarray) -> np.ndarray:
    """(N,) the placed points cover at least MIN_SPAN of the box height (False: none placed)."""
    placed = keypoints[..., 2] > 0
    y = keypoints[..., 1]
    top = np.where(placed, y, np.inf).min(axis=1)
    bottom = np.where(placed, y, -np.inf).max(axis=1)
    with np.errstate(invalid="ignore"):
        span = bottom - top
    return placed.any(axis=1) & (span >= MIN_SPAN * np.asarray(heights, dtype=np.float64))


def in_order(keypoints: np.ndarray) -> np.ndarray:
    """(N,) every pair of placed levels two apart stands in head-to-ankle order."""
    ys = np.stack([_level_mean(keypoints, j)[:, 1] for j in ORDER_LEVELS], axis=1)
    ok = np.ones(len(keypoints), dtype=bool)
    for upper in range(len(ORDER_LEVELS) - 2):
        above, below = ys[:, upper], ys[:, upper + 2]
        checked = ~np.isnan(above) & ~np.isnan(below)
        ok &= ~checked | (above < below)
    return ok


def proportionate(keypoints: np.ndarray) -> np.ndarray:
    """(N,) neck, thigh and shin each within PROPORTION of an adult's length against the torso."""
    centre = [_level_mean(keypoints, j) for j in CHAIN]
    length = [np.linalg.norm(b - a, axis=1) for a, b in pairwise(centre)]
    torso = length[1]
    ok = np.ones(len(keypoints), dtype=bool)
    for name, segment in (("neck", length[0]), ("thigh", length[2]), ("shin", length[3])):
        checked = ~np.isnan(torso) & ~np.isnan(segment)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = segment / np.where(torso > 0, torso, np.nan) / ADULT_RATIO[name]
        within = (ratio >= 1 / PROPORTION) & (ratio <= PROPORTION)  # NaN (no torso) fails
        ok &= ~checked | within
    return ok


def is_body(keypoints: np.ndarray, heights: np.ndarray | float) -> np.ndarray:
    """(N,) bool: the skeleton of each frame could be a person's body (module docstring).

    keypoints (N, 17, 3) x, y, score in frame pixels (score 0 = not placed); heights (N,) or one
    number: each box's height in the same pixels. False where no point is placed, the points are
    bunched in under MIN_SPAN of the box, levels are out of order, or proportions impossible.
    """
    kp = np.asarray(keypoints, dtype=np.float64)
    heights = np.broadcast_to(np.asarray(heights, dtype=np.float64), (len(kp),))
    return spans_box(kp, heights) & in_order(kp) & proportionate(kp)
