"""A toy pedestrian: appearance, pose, COCO-17 skeleton, drawing and key-point visibility.

Shapes are drawn with OpenCV into the frame and, in parallel, into a mask, so the ground truth
(keypoints with visibility, the body mask) is exact. Coordinates are pixels; body proportions are
fractions of the body height ``h``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

COCO_KEYPOINTS: tuple[str, ...] = (
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
)
# (y, x) of each keypoint as fractions of the body height; x is for the person's LEFT side,
# mirrored for the right; the facing decides which image side is the person's left.
_BODY: dict[str, tuple[float, float]] = {
    "nose": (0.085, 0.0),
    "eye": (0.07, 0.022),
    "ear": (0.075, 0.048),
    "shoulder": (0.19, 0.11),
    "elbow": (0.33, 0.135),
    "wrist": (0.46, 0.14),
    "hip": (0.52, 0.062),
    "knee": (0.72, 0.064),
    "ankle": (0.93, 0.066),
}
_FACE = (0, 1, 2)  # nose and eyes: labelled but not visible from behind
Colour = tuple[int, int, int]


@dataclass(frozen=True)
class Appearance:
    """What identifies a person: head and upper body (shared in a group) and the legs."""

    skin: Colour
    hair: Colour
    upper: Colour
    left_leg: Colour
    right_leg: Colour
    shoes: Colour
    bag: Colour | None
    bag_side: int


@dataclass(frozen=True)
class Pose:
    """Where the body stands in the frame and the walking phase."""

    cx: float
    top: float
    height: float
    phase: float
    front: bool


def skeleton(pose: Pose) -> np.ndarray:
    """(17, 2) keypoint positions (x, y) in pixels; legs and arms swing with the walking phase."""
    h, s = pose.height, math.sin(pose.phase)
    left_sign = 1.0 if pose.front else -1.0  # facing the camera, the person's left is image right
    out = np.zeros((17, 2), dtype=np.float32)
    swing = {"knee": 0.035 * s, "ankle": 0.085 * s, "elbow": -0.02 * s, "wrist": -0.05 * s}
    for i, name in enumerate(COCO_KEYPOINTS):
        side, _, part = name.partition("_") if "_" in name else ("", "", name)
        y, x = _BODY[part]
        sign = 0.0 if not side else (left_sign if side == "left" else -left_sign)
        dx = swing.get(part, 0.0) * (1.0 if side == "left" else -1.0) if side else 0.0
        dy = -0.012 * abs(s) if part in ("knee", "ankle") and (dx * s > 0) else 0.0
        out[i] = (pose.cx + (sign * x + dx) * h, pose.top + (y + dy) * h)
    return out


def _line(
    img: np.ndarray, mask: np.ndarray, a: np.ndarray, b: np.ndarray, colour: Colour, width: int
) -> None:
    pa, pb = tuple(round(v) for v in a), tuple(round(v) for v in b)
    cv2.line(img, pa, pb, colour, width, cv2.LINE_AA)
    cv2.line(mask, pa, pb, 1, width)


def _circle(img: np.ndarray, mask: np.ndarray, c: np.ndarray, r: float, colour: Colour) -> None:
    pc = (round(c[0]), round(c[1]))
    cv2.circle(img, pc, max(1, round(r)), colour, -1, cv2.LINE_AA)
    cv2.circle(mask, pc, max(1, round(r)), 1, -1)


def draw_person(img: np.ndarray, pose: Pose, app: Appearance) -> tuple[np.ndarray, np.ndarray]:
    """Draw a person into ``img`` in place; returns (keypoints (17, 2), body mask uint8)."""
    kp = skeleton(pose)
    k = {n: kp[i] for i, n in enumerate(COCO_KEYPOINTS)}
    h = pose.height
    mask = np.zeros(img.shape[:2], dtype=np.uint8)
    leg_w, arm_w = max(2, int(0.075 * h)), max(2, int(0.045 * h))
    for side, colour in (("left", app.left_leg), ("right", app.right_leg)):
        _line(img, mask, k[f"{side}_hip"], k[f"{side}_knee"], colour, leg_w)
        _line(img, mask, k[f"{side}_knee"], k[f"{side}_ankle"], colour, leg_w)
        foot = k[f"{side}_ankle"] + np.array([0.0, 0.025 * h])
        centre = (round(foot[0]), round(foot[1]))
        axes = (max(1, int(0.05 * h)), max(1, int(0.022 * h)))
        cv2.ellipse(img, centre, axes, 0, 0, 360, app.shoes, -1, cv2.LINE_AA)
        cv2.ellipse(mask, centre, axes, 0, 0, 360, 1, -1)
    ls, rs, lh, rh = k["left_shoulder"], k["right_shoulder"], k["left_hip"], k["right_hip"]
    widen = np.array([0.012 * h, 0.0]) * np.sign(ls[0] - rs[0] + 1e-6)
    torso = np.array([ls + widen, rs - widen, rh - widen * 2, lh + widen * 2], dtype=np.float32)
    torso_px = np.round(torso).astype(np.int32)
    cv2.fillConvexPoly(img, torso_px, app.upper, cv2.LINE_AA)
    cv2.fillConvexPoly(mask, torso_px, 1)
    for side in ("left", "right"):
        _line(img, mask, k[f"{side}_shoulder"], k[f"{side}_elbow"], app.upper, arm_w)
        _line(img, mask, k[f"{side}_elbow"], k[f"{side}_wrist"], app.skin, max(2, arm_w - 1))
    if app.bag is not None:
        side = "left" if app.bag_side > 0 else "right"
        c = k[f"{side}_hip"] + np.array(
            [np.sign(k[f"{side}_hip"][0] - pose.cx) * 0.1 * h, -0.03 * h]
        )
        p0 = (int(c[0] - 0.05 * h), int(c[1] - 0.06 * h))
        p1 = (int(c[0] + 0.05 * h), int(c[1] + 0.06 * h))
        cv2.rectangle(img, p0, p1, app.bag, -1)
        cv2.rectangle(mask, p0, p1, 1, -1)
    head = np.array([pose.cx, pose.top + 0.075 * h])
    _circle(img, mask, head, 0.062 * h, app.skin if pose.front else app.hair)
    hair_c = (round(head[0]), round(head[1] - 0.02 * h))
    axes = (max(1, int(0.062 * h)), max(1, int(0.045 * h)))
    cv2.ellipse(img, hair_c, axes, 0, 180, 360, app.hair, -1, cv2.LINE_AA)
    return kp, mask


def keypoint_visibility(kp: np.ndarray, occluders: np.ndarray, front: bool) -> np.ndarray:
    """COCO visibility: 0 outside the frame, 1 labelled but hidden, 2 visible."""
    hgt, wid = occluders.shape
    vis = np.full(17, 2, dtype=np.float32)
    xi, yi = np.round(kp[:, 0]).astype(int), np.round(kp[:, 1]).astype(int)
    inside = (xi >= 0) & (xi < wid) & (yi >= 0) & (yi < hgt)
    hidden = np.zeros(17, dtype=bool)
    hidden[inside] = occluders[yi[inside], xi[inside]] > 0
    if not front:
        hidden[list(_FACE)] = True
    vis[hidden] = 1
    vis[~inside] = 0
    return vis
