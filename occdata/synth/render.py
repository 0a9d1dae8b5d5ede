"""One toy frame: a camera's scene, the person, the occluder, the camera's look, and the frame's
exact ground truth (keypoints with visibility, visible mask, occlusion label, person count)."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from occreid.occdata.synth.config import SynthConfig
from occreid.occdata.synth.occluders import Occluder, draw_occluder
from occreid.occdata.synth.person import Appearance, Colour, Pose, draw_person, keypoint_visibility


@dataclass(frozen=True)
class Camera:
    """A camera's look: background colours and texture, brightness, colour cast, person scale."""

    background: Colour
    ground: Colour
    texture_seed: int
    gain: float
    cast: tuple[float, float, float]
    scale: float
    noise: float


def background(cam: Camera, height: int, width: int, pan: int) -> np.ndarray:
    """A camera's scene (building with windows, ground) shifted by ``pan`` pixels."""
    rng = np.random.default_rng(cam.texture_seed)
    wide = width * 4
    img = np.empty((height, wide, 3), dtype=np.uint8)
    img[:] = cam.background
    horizon = int(height * rng.uniform(0.7, 0.85))
    img[horizon:] = cam.ground
    for _ in range(10):
        wx, wy = int(rng.integers(0, wide)), int(rng.integers(0, horizon - 10))
        ww, wh = int(rng.integers(5, 16)), int(rng.integers(6, 20))
        shade = tuple(
            int(c) for c in np.clip(np.array(cam.background) + rng.integers(-60, 60, 3), 0, 255)
        )
        cv2.rectangle(img, (wx, wy), (wx + ww, wy + wh), shade, -1)
    start = pan % (wide - width)
    return np.ascontiguousarray(img[:, start : start + width])


def apply_camera(img: np.ndarray, cam: Camera, rng: np.random.Generator) -> np.ndarray:
    """Brightness gain, colour cast and sensor noise of the camera."""
    out = img.astype(np.float32) * (cam.gain * np.array(cam.cast, dtype=np.float32))
    out += np.asarray(rng.normal(0.0, cam.noise, size=out.shape), dtype=np.float32)
    return np.clip(out, 0, 255).astype(np.uint8)


def occlusion_label(body: np.ndarray, visible: np.ndarray) -> int:
    """0 = none (at most 1 % hidden), k = (k-1)*10 % < hidden share <= k*10 % of the body."""
    total = int(body.sum())
    if total == 0:
        return 10
    hidden = total - int(visible.sum())  # integer arithmetic keeps the bin edges exact
    return 0 if 100 * hidden <= total else min(10, -(-10 * hidden // total))


@dataclass
class FrameTruth:
    """Ground truth of one rendered frame."""

    keypoints: np.ndarray
    mask: np.ndarray
    occlusion: int
    persons: int


def render_frame(
    cfg: SynthConfig,
    cam: Camera,
    app: Appearance,
    pose: Pose,
    occ: Occluder | None,
    t: int,
    pan: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, FrameTruth]:
    """Render frame ``t`` of a tracklet: background, person, occluder, camera look."""
    img = background(cam, cfg.height, cfg.width, pan)
    persons = 1
    if occ is not None and occ.kind == "person" and occ.behind:
        other = draw_occluder(img, occ, t, pose)
        persons += int(other.sum() > 0.1 * cfg.height * cfg.width * 0.15)
    kp, body = draw_person(img, pose, app)
    covered = np.zeros_like(body)
    if occ is not None and not occ.behind:
        covered = draw_occluder(img, occ, t, pose)
        if occ.kind == "person":
            persons += int(covered.sum() > 0.1 * cfg.height * cfg.width * 0.15)
    visible = body & (covered == 0)
    vis = keypoint_visibility(kp, covered, pose.front)
    truth = FrameTruth(
        keypoints=np.concatenate([kp, vis[:, None]], axis=1),
        mask=visible.astype(bool),
        occlusion=occlusion_label(body, visible),
        persons=persons,
    )
    return apply_camera(img, cam, rng), truth
