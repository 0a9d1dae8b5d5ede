"""The obstacles of the toy data, in one table: how often each kind occurs, its size, where its
top edge stands and how it is drawn.

Kinds: vehicle and wall (low: they hide the legs, which is what tells group-mates apart), pole and
tree (a vertical strip over the whole height), person (another pedestrian crossing in front, or in
30 % of cases behind: a two-person frame without occlusion). An obstacle crosses the crop from one
side to the other over 0.5-1.5 tracklet lengths, entering at a random frame. Every kind's size and
every low kind's top edge are drawn for each occluded tracklet, whichever kind is chosen, so the
random stream of a tracklet does not depend on its obstacle's kind.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from occreid.occdata.synth.person import Appearance, Colour, Pose, draw_person

PERSON_WIDTH = 0.45  # a crossing pedestrian's extent with swinging arms, in frame heights
BEHIND = 0.3  # share of crossing pedestrians that walk behind the main one


@dataclass(frozen=True)
class Occluder:
    """An obstacle that crosses the crop over a tracklet: it enters and leaves as frames pass.

    ``x0`` is its left edge at frame 0 and ``speed`` in pixels per frame; ``top`` the upper edge
    of a low obstacle; ``other`` the appearance of a crossing person; ``behind`` puts that person
    behind the main one.
    """

    kind: str
    x0: float
    speed: float
    width: float
    top: float
    colour: Colour
    other: Appearance | None = None
    behind: bool = False

    def left(self, t: int) -> float:
        return self.x0 + self.speed * t


Draw = Callable[[np.ndarray, np.ndarray, Occluder, float], None]


def _span(occ: Occluder, x: float) -> tuple[int, int]:
    """Pixel columns [x0, x1] of an obstacle whose left edge is at ``x``."""
    return round(x), round(x + occ.width)


def _draw_low(img: np.ndarray, mask: np.ndarray, occ: Occluder, x: float) -> None:
    """A box from ``top`` to the bottom of the frame."""
    hgt = img.shape[0]
    x0, x1 = _span(occ, x)
    cv2.rectangle(img, (x0, round(occ.top)), (x1, hgt), occ.colour, -1)
    cv2.rectangle(mask, (x0, round(occ.top)), (x1, hgt), 1, -1)


def _draw_vehicle(img: np.ndarray, mask: np.ndarray, occ: Occluder, x: float) -> None:
    hgt, wid = img.shape[:2]
    top = round(occ.top)
    x0, x1 = _span(occ, x)
    _draw_low(img, mask, occ, x)
    win = tuple(int(c * 0.4 + 120) for c in occ.colour)
    cv2.rectangle(img, (x0 + 3, top + 3), (x1 - 3, top + max(4, (hgt - top) // 3)), win, -1)
    for wx in (x0 + occ.width * 0.22, x0 + occ.width * 0.78):
        cv2.circle(img, (int(wx), hgt - 2), max(3, int(0.08 * wid)), (20, 20, 20), -1)


def _draw_wall(img: np.ndarray, mask: np.ndarray, occ: Occluder, x: float) -> None:
    hgt = img.shape[0]
    top = round(occ.top)
    x0, x1 = _span(occ, x)
    _draw_low(img, mask, occ, x)
    dark = tuple(int(c * 0.6) for c in occ.colour)
    for row, y in enumerate(range(top, hgt, 6)):
        cv2.line(img, (x0, y), (x1, y), dark, 1)
        for bx in range(x0 + (row % 2) * 6, x1, 12):
            cv2.line(img, (bx, y), (bx, min(hgt, y + 6)), dark, 1)


def _draw_strip(img: np.ndarray, mask: np.ndarray, occ: Occluder, x: float) -> None:
    """A vertical strip over the whole height (a pole)."""
    hgt = img.shape[0]
    x0, x1 = _span(occ, x)
    cv2.rectangle(img, (x0, 0), (x1, hgt), occ.colour, -1)
    cv2.rectangle(mask, (x0, 0), (x1, hgt), 1, -1)


def _draw_tree(img: np.ndarray, mask: np.ndarray, occ: Occluder, x: float) -> None:
    """A trunk and a round crown."""
    _draw_strip(img, mask, occ, x)
    crown = (int(x + occ.width / 2), int(0.12 * img.shape[0]))
    cv2.circle(img, crown, int(occ.width * 1.6), (40, 120, 40), -1, cv2.LINE_AA)
    cv2.circle(mask, crown, int(occ.width * 1.6), 1, -1)


@dataclass(frozen=True)
class OccluderKind:
    """share: probability among occluded tracklets; width: range in frame widths (None: a
    person, PERSON_WIDTH frame heights); top: range of the top edge in frame heights (None:
    from the top of the frame); draw: the shape (None: a person, drawn as one)."""

    share: float
    width: tuple[float, float] | None
    top: tuple[float, float] | None
    draw: Draw | None


OCCLUDERS: dict[str, OccluderKind] = {
    "vehicle": OccluderKind(0.30, (1.5, 3.0), (0.45, 0.75), _draw_vehicle),
    "wall": OccluderKind(0.25, (1.5, 3.5), (0.5, 0.8), _draw_wall),
    "pole": OccluderKind(0.12, (0.12, 0.3), None, _draw_strip),
    "tree": OccluderKind(0.13, (0.15, 0.35), None, _draw_tree),
    "person": OccluderKind(0.20, None, None, None),
}


def plan_occluder(
    length: int,
    width: int,
    height: int,
    rng: np.random.Generator,
    others: list[Appearance],
) -> Occluder:
    """The obstacle of one occluded tracklet of ``length`` frames of ``width`` x ``height``."""
    kinds = list(OCCLUDERS)
    kind = kinds[int(rng.choice(len(kinds), p=[k.share for k in OCCLUDERS.values()]))]
    sizes = {
        name: rng.uniform(*k.width) * width if k.width else PERSON_WIDTH * height
        for name, k in OCCLUDERS.items()
    }
    extent = sizes[kind]
    duration = length * rng.uniform(0.5, 1.5)
    t_enter = rng.uniform(-0.4, 0.6) * length
    speed = (width + extent) / duration
    x0 = -extent - speed * t_enter
    if rng.random() < 0.5:  # right to left
        speed, x0 = -speed, width - speed * -t_enter
    tops = {name: rng.uniform(*k.top) for name, k in OCCLUDERS.items() if k.top}
    top = tops.get(kind, 0.0) * height
    colour = tuple(int(v) for v in rng.integers(30, 220, 3))
    other = others[int(rng.integers(len(others)))] if kind == "person" else None
    behind = kind == "person" and rng.random() < BEHIND
    return Occluder(kind, float(x0), float(speed), float(extent), float(top), colour, other, behind)


def draw_occluder(img: np.ndarray, occ: Occluder, t: int, pose: Pose) -> np.ndarray:
    """Draw ``occ`` at frame ``t`` into ``img``; returns its mask (the pixels it covers)."""
    mask = np.zeros(img.shape[:2], dtype=np.uint8)
    x = occ.left(t)
    draw = OCCLUDERS[occ.kind].draw
    if draw is None:  # a person crossing, facing the other way, a step out of phase
        other_pose = Pose(
            cx=x + occ.width / 2,
            top=pose.top + 0.03 * pose.height,
            height=pose.height * 0.97,
            phase=pose.phase + 1.7,
            front=not pose.front,
        )
        assert occ.other is not None
        _, mask = draw_person(img, other_pose, occ.other)
        return mask
    draw(img, mask, occ, x)
    return mask
