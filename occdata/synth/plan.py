"""The plan of a toy dataset, drawn before any pixel: identities and their looks, cameras, and
which identity appears in which split and camera, as in DukeMTMC-VideoReID.

Identities come in groups of ``group_size`` that share head and upper body (skin, hair, upper
colour, bag) and differ only below the waist (trouser colours, shoes), so an occluder that hides
the legs hides exactly what tells group-mates apart. Cameras differ in brightness, colour cast,
person scale, noise and background.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from occreid.occdata.synth.config import SynthConfig
from occreid.occdata.synth.person import Appearance
from occreid.occdata.synth.render import Camera

PALETTE: list[tuple[int, int, int]] = [  # BGR, far apart in hue and lightness
    (40, 40, 200),
    (40, 160, 40),
    (200, 80, 30),
    (30, 200, 220),
    (160, 40, 160),
    (200, 200, 200),
    (30, 30, 30),
    (20, 100, 180),
    (180, 180, 60),
    (120, 60, 20),
    (90, 90, 90),
    (150, 120, 230),
]
SKIN: list[tuple[int, int, int]] = [(150, 180, 225), (110, 145, 200), (70, 100, 150), (50, 70, 110)]


@dataclass(frozen=True)
class TrackletPlan:
    """One tracklet to render."""

    split: str
    pid: int
    tid: int
    cam: int
    length: int
    first_frame: int
    seed: int


def appearances(
    cfg: SynthConfig, pids: list[int], rng: np.random.Generator
) -> dict[int, Appearance]:
    """Groups of ``group_size`` identities share skin, hair, upper colour and bag; legs differ."""
    out: dict[int, Appearance] = {}
    for g in range(0, len(pids), cfg.group_size):
        group = pids[g : g + cfg.group_size]
        skin = SKIN[int(rng.integers(len(SKIN)))]
        hair = PALETTE[int(rng.choice([6, 9, 10]))]
        upper = PALETTE[int(rng.integers(len(PALETTE)))]
        bag = PALETTE[int(rng.integers(len(PALETTE)))] if rng.random() < 0.4 else None
        bag_side = 1 if rng.random() < 0.5 else -1
        legs = rng.permutation(len(PALETTE))
        for j, pid in enumerate(group):
            left = PALETTE[int(legs[j % len(PALETTE)])]
            right = left if rng.random() < 0.6 else PALETTE[int(legs[(j + 5) % len(PALETTE)])]
            shoes = PALETTE[int(rng.integers(len(PALETTE)))]
            out[pid] = Appearance(skin, hair, upper, left, right, shoes, bag, bag_side)
    return out


def cameras(cfg: SynthConfig, rng: np.random.Generator) -> list[Camera]:
    cams = []
    for c in range(cfg.cameras):
        cams.append(
            Camera(
                background=tuple(int(v) for v in rng.integers(60, 230, 3)),
                ground=tuple(int(v) for v in rng.integers(50, 160, 3)),
                texture_seed=int(cfg.seed * 1000 + c),
                gain=float(rng.uniform(0.65, 1.25)),
                cast=tuple(float(v) for v in rng.uniform(0.8, 1.2, 3)),
                scale=float(rng.uniform(0.8, 1.0)),
                noise=float(rng.uniform(2.0, 6.0)),
            )
        )
    return cams


def plan_tracklets(cfg: SynthConfig, rng: np.random.Generator) -> list[TrackletPlan]:
    """Which identity appears in which split and camera, as in DukeMTMC-VideoReID.

    Train identities get 2-3 tracklets; each test identity one query tracklet and 1-2 gallery
    tracklets in other cameras (about one in ten only in the query's camera, so it can have no
    query after the re-split); distractors one gallery tracklet. Two cameras give each train
    identity two tracklets and each test identity one gallery tracklet.
    """
    n_train = cfg.ids // 2
    pids = [int(p) for p in rng.permutation(np.arange(1, cfg.ids + cfg.distractors + 1))]
    train_ids, test_ids = sorted(pids[:n_train]), sorted(pids[n_train : cfg.ids])
    distractors = sorted(pids[cfg.ids :])
    video_frame = {c: int(rng.integers(1000, 50000)) for c in range(1, cfg.cameras + 1)}
    next_tid: dict[int, int] = {}
    plans: list[TrackletPlan] = []

    def add(split: str, pid: int, cam: int) -> None:
        length = int(rng.integers(cfg.min_frames, cfg.max_frames + 1))
        next_tid[pid] = next_tid.get(pid, 0) + 1
        plans.append(
            TrackletPlan(
                split, pid, next_tid[pid], cam, length, video_frame[cam], int(rng.integers(2**31))
            )
        )
        video_frame[cam] += length + int(rng.integers(5, 200))

    every_camera = np.arange(1, cfg.cameras + 1)
    for pid in train_ids:
        for cam in rng.choice(every_camera, min(int(rng.integers(2, 4)), cfg.cameras), False):
            add("train", pid, int(cam))
    for pid in test_ids:
        cams = rng.choice(every_camera, min(3, cfg.cameras), replace=False)
        add("query", pid, int(cams[0]))
        same_camera_only = rng.random() < 0.1
        for cam in [cams[0]] if same_camera_only else cams[1 : 1 + int(rng.integers(1, 3))]:
            add("gallery", pid, int(cam))
    for pid in distractors:
        add("gallery", pid, int(rng.integers(1, cfg.cameras + 1)))
    return plans


@dataclass(frozen=True)
class Plan:
    """Everything drawn before the first pixel, in the order the seed draws it."""

    tracklets: list[TrackletPlan]
    looks: dict[int, Appearance]  # every identity, 1 .. ids + distractors
    cameras: list[Camera]
    passers_by: list[Appearance]  # the looks of people who cross a crop as occluders


def draw_plan(cfg: SynthConfig) -> Plan:
    """The plan of the toy dataset of ``cfg`` (a function of the seed alone)."""
    rng = np.random.default_rng(cfg.seed)
    tracklets = plan_tracklets(cfg, rng)
    looks = appearances(cfg, sorted({p.pid for p in tracklets}), rng)
    cams = cameras(cfg, rng)
    passers_by = [appearances(cfg, list(range(g * 3, g * 3 + 3)), rng)[g * 3] for g in range(8)]
    return Plan(tracklets, looks, cams, passers_by)


def look_group(pid: int, cfg: SynthConfig) -> int:
    """The group whose head and upper body identity ``pid`` shares (identities 1, 2, 3 form
    group 0 with the default size 3): group-mates can be told apart only by their legs."""
    return (pid - 1) // cfg.group_size
