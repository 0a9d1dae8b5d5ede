"""`occreid synth`: a toy DukeMTMC-VideoReID with exact ground truth, small enough for a laptop CPU.

Layout (the real dataset's)::

    DEST/{train,query,gallery}/<pid:04d>/<tracklet:04d>/<pid:04d>_C<cam>_F<i:04d>_X<frame>.jpg
    DEST/annotations.csv               path, occlusion, persons (the DESIGN format)
    DEST/groundtruth/index.parquet     path -> row, occlusion, persons, visible body share
    DEST/groundtruth/keypoints.npy     (N, 17, 3) float32: x, y, COCO visibility (0 / 1 / 2)
    DEST/groundtruth/masks.npy         (N, H, W / 8) uint8: visible person mask, np.packbits
    DEST/README.md                     dataset card: how it was made, counts, seed

What makes it hard the way the paper describes: identities come in groups that share head and
upper body and differ only below the waist (trouser colours, shoes), so an occluder that hides
the legs hides exactly what tells group-mates apart; cameras change brightness, colour cast,
scale and background; vehicles and low walls cover the lower body, poles and trees a vertical
strip, other people cross the crop (two-person frames); each occluder enters and leaves over
the frames of a tracklet. Query / gallery follow DukeMTMC-VideoReID: test identities disjoint
from train, one query tracklet each, distractor identities in one gallery camera only.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from tqdm import tqdm

from occreid.common.errors import OccreidError
from occreid.occdata.staging import staged_output
from occreid.occdata.toy_render import (
    Appearance,
    Camera,
    Occluder,
    Pose,
    apply_camera,
    background,
    draw_occluder,
    draw_person,
    keypoint_visibility,
    occlusion_label,
)

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
OCCLUDER_KINDS: tuple[str, ...] = ("vehicle", "wall", "pole", "tree", "person")


@dataclass(frozen=True)
class SynthConfig:
    """Size and randomness of the toy dataset (see `occreid synth --help`)."""

    ids: int = 60
    distractors: int = 10
    cameras: int = 8
    min_frames: int = 12
    max_frames: int = 40
    height: int = 128
    width: int = 64
    group_size: int = 3
    occluded_tracklets: float = 0.7
    seed: int = 0

    def __post_init__(self) -> None:
        if self.ids < 4 or self.cameras < 2:
            raise OccreidError("synth needs --ids >= 4 and --cameras >= 2")
        if not 1 <= self.min_frames <= self.max_frames:
            raise OccreidError("synth needs 1 <= --min-frames <= --max-frames")
        if self.width % 8:
            raise OccreidError("synth needs --width divisible by 8 (masks are bit-packed)")


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


def _appearances(
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


def _cameras(cfg: SynthConfig, rng: np.random.Generator) -> list[Camera]:
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
    query after the re-split); distractors one gallery tracklet.
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

    for pid in train_ids:
        for cam in rng.choice(np.arange(1, cfg.cameras + 1), int(rng.integers(2, 4)), False):
            add("train", pid, int(cam))
    for pid in test_ids:
        cams = rng.choice(np.arange(1, cfg.cameras + 1), 3, replace=False)
        add("query", pid, int(cams[0]))
        same_camera_only = rng.random() < 0.1
        for cam in [cams[0]] if same_camera_only else cams[1 : 1 + int(rng.integers(1, 3))]:
            add("gallery", pid, int(cam))
    for pid in distractors:
        add("gallery", pid, int(rng.integers(1, cfg.cameras + 1)))
    return plans


def _occluder(
    cfg: SynthConfig, plan: TrackletPlan, rng: np.random.Generator, others: list[Appearance]
) -> Occluder | None:
    """The obstacle of one tracklet (or none): it crosses the crop while the frames pass."""
    if rng.random() >= cfg.occluded_tracklets:
        return None
    kind = OCCLUDER_KINDS[int(rng.choice(len(OCCLUDER_KINDS), p=[0.3, 0.25, 0.12, 0.13, 0.2]))]
    w, h = cfg.width, cfg.height
    width = {
        "vehicle": rng.uniform(1.5, 3.0) * w,
        "wall": rng.uniform(1.5, 3.5) * w,
        "pole": rng.uniform(0.12, 0.3) * w,
        "tree": rng.uniform(0.15, 0.35) * w,
        "person": 0.45 * h,
    }[kind]
    # Cross from one side to the other over 0.5-1.5 tracklet lengths, starting at a random frame.
    duration = plan.length * rng.uniform(0.5, 1.5)
    t_enter = rng.uniform(-0.4, 0.6) * plan.length
    distance = w + width
    speed = distance / duration
    x0 = -width - speed * t_enter
    if rng.random() < 0.5:  # right to left
        speed, x0 = -speed, w - speed * -t_enter
    top = {"vehicle": rng.uniform(0.45, 0.75), "wall": rng.uniform(0.5, 0.8)}.get(kind, 0.0) * h
    colour = tuple(int(v) for v in rng.integers(30, 220, 3))
    other = others[int(rng.integers(len(others)))] if kind == "person" else None
    return Occluder(
        kind,
        float(x0),
        float(speed),
        float(width),
        float(top),
        colour,
        other,
        behind=kind == "person" and rng.random() < 0.3,
    )


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


def frame_name(pid: int, cam: int, index: int, video_frame: int) -> str:
    """``0001_C6_F0099_X30823.jpg``: F is 1-based inside the tracklet."""
    return f"{pid:04d}_C{cam}_F{index:04d}_X{video_frame}.jpg"


def synthesize(dest: Path, cfg: SynthConfig, overwrite: bool = False) -> dict[str, int]:
    """Render the toy dataset into ``dest`` (atomically); returns counts per split."""
    rng = np.random.default_rng(cfg.seed)
    plans = plan_tracklets(cfg, rng)
    all_pids = sorted({p.pid for p in plans})
    appearance = _appearances(cfg, all_pids, rng)
    cams = _cameras(cfg, rng)
    others = [_appearances(cfg, list(range(g * 3, g * 3 + 3)), rng)[g * 3] for g in range(8)]
    rows: list[tuple[str, int, int, float]] = []
    keypoints: list[np.ndarray] = []
    masks: list[np.ndarray] = []
    with staged_output(Path(dest), overwrite) as stage:
        for plan in tqdm(plans, desc="rendering tracklets", unit="tracklet"):
            trng = np.random.default_rng(plan.seed)
            cam = cams[plan.cam - 1]
            folder = stage / plan.split / f"{plan.pid:04d}" / f"{plan.tid:04d}"
            folder.mkdir(parents=True)
            occ = _occluder(cfg, plan, trng, others)
            front = bool(trng.random() < 0.5)
            height = cfg.height * 0.92 * cam.scale
            top = float(trng.uniform(0.02, 0.98 * cfg.height - height))
            phase0, step = trng.uniform(0, 2 * np.pi), trng.uniform(0.35, 0.7)
            pan0, pan_speed = int(trng.integers(0, 1000)), int(trng.integers(-2, 3))
            for i in range(plan.length):
                pose = Pose(
                    cx=cfg.width / 2 + trng.normal(0, 0.6),
                    top=top + trng.normal(0, 0.4),
                    height=height,
                    phase=phase0 + step * i,
                    front=front,
                )
                img, truth = render_frame(
                    cfg, cam, appearance[plan.pid], pose, occ, i, pan0 + pan_speed * i, trng
                )
                name = frame_name(plan.pid, plan.cam, i + 1, plan.first_frame + i)
                cv2.imwrite(str(folder / name), img, [cv2.IMWRITE_JPEG_QUALITY, 92])
                rel = f"{plan.split}/{plan.pid:04d}/{plan.tid:04d}/{name}"
                body_share = float(truth.mask.mean())
                rows.append((rel, truth.occlusion, truth.persons, body_share))
                keypoints.append(truth.keypoints)
                masks.append(np.packbits(truth.mask, axis=1))
        _write_groundtruth(stage, rows, keypoints, masks)
        counts = _write_card(stage, cfg, plans)
    return counts


def _write_groundtruth(
    stage: Path,
    rows: list[tuple[str, int, int, float]],
    keypoints: list[np.ndarray],
    masks: list[np.ndarray],
) -> None:
    table = pd.DataFrame(rows, columns=["path", "occlusion", "persons", "visible_share"])
    table[["path", "occlusion", "persons"]].to_csv(stage / "annotations.csv", index=False)
    gt = stage / "groundtruth"
    gt.mkdir()
    table.insert(1, "row", np.arange(len(table), dtype=np.int64))
    table.to_parquet(gt / "index.parquet", index=False)
    np.save(gt / "keypoints.npy", np.stack(keypoints).astype(np.float32))
    np.save(gt / "masks.npy", np.stack(masks))


def _write_card(stage: Path, cfg: SynthConfig, plans: list[TrackletPlan]) -> dict[str, int]:
    counts = {
        s: sum(p.length for p in plans if p.split == s) for s in ("train", "query", "gallery")
    }
    tracklets = {s: sum(p.split == s for p in plans) for s in counts}
    (stage / "synth.json").write_text(json.dumps(asdict(cfg), indent=2) + "\n")
    lines = [
        "# occreid toy dataset (DukeMTMC-VideoReID layout)",
        "",
        "Rendered by `occreid synth`; every frame has exact ground truth in groundtruth/ and",
        "annotations.csv. See `occreid synth --help` for what it models.",
        "",
        "| split | tracklets | frames |",
        "|---|---|---|",
        *(f"| {s} | {tracklets[s]} | {counts[s]} |" for s in counts),
        "",
        f"Config: `{json.dumps(asdict(cfg))}`",
    ]
    (stage / "README.md").write_text("\n".join(lines) + "\n")
    return counts
