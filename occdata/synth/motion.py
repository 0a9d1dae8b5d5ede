"""How a toy person moves through a tracklet: a facing, size and height in the frame fixed per
tracklet, a walking phase that advances by a random step per frame, a small jitter of position,
and a slow camera pan over the background."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from occreid.occdata.synth.config import SynthConfig
from occreid.occdata.synth.person import Pose
from occreid.occdata.synth.render import Camera


@dataclass(frozen=True)
class Walk:
    """One tracklet's motion: facing, body height and top (pixels), phase start and step,
    pan start and pan speed (pixels per frame)."""

    front: bool
    height: float
    top: float
    phase0: float
    step: float
    pan0: int
    pan_speed: int

    def pan(self, i: int) -> int:
        """The background's offset at frame ``i``."""
        return self.pan0 + self.pan_speed * i


def start_walk(cfg: SynthConfig, cam: Camera, rng: np.random.Generator) -> Walk:
    """Draw a tracklet's motion (the person fills about 92 % of the frame at the camera's
    scale)."""
    front = bool(rng.random() < 0.5)
    height = cfg.height * 0.92 * cam.scale
    top = float(rng.uniform(0.02, 0.98 * cfg.height - height))
    phase0, step = rng.uniform(0, 2 * np.pi), rng.uniform(0.35, 0.7)
    pan0, pan_speed = int(rng.integers(0, 1000)), int(rng.integers(-2, 3))
    return Walk(front, height, top, phase0, step, pan0, pan_speed)


def frame_pose(cfg: SynthConfig, walk: Walk, i: int, rng: np.random.Generator) -> Pose:
    """The pose at frame ``i``: the walk's phase and a small jitter of position."""
    return Pose(
        cx=cfg.width / 2 + rng.normal(0, 0.6),
        top=walk.top + rng.normal(0, 0.4),
        height=walk.height,
        phase=walk.phase0 + walk.step * i,
        front=walk.front,
    )
