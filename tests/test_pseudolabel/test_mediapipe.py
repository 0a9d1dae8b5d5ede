"""Real offline inference with the models inside the mediapipe wheel (optional extra)."""

from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

pytest.importorskip("mediapipe")

from occreid.pseudolabel.backends import make_parsing, make_pose
from occreid.pseudolabel.backends.base import FrameBatch


@pytest.fixture(scope="module")
def clean_frames(toy_source: Path) -> tuple[FrameBatch, np.ndarray, np.ndarray]:
    gt = pd.read_parquet(toy_source / "groundtruth" / "index.parquet")
    rows = np.flatnonzero((gt["occlusion"] == 0) & (gt["persons"] == 1))[:80]
    paths = gt["path"].iloc[rows].tolist()
    images = [cv2.imread(str(toy_source / p)) for p in paths]
    kp = np.load(toy_source / "groundtruth" / "keypoints.npy")[rows]
    masks = np.unpackbits(np.load(toy_source / "groundtruth" / "masks.npy")[rows], axis=2)
    return FrameBatch(paths, images), kp, masks


def test_pose_finds_the_toy_person_in_frame_pixels(clean_frames) -> None:
    batch, gt, _ = clean_frames
    kp = make_pose("mediapipe").predict(batch)
    found = kp[:, 5:7, 2].min(axis=1) > 0.5  # both shoulders
    assert found.mean() > 0.5
    err = np.linalg.norm(kp[found][:, 5:7, :2] - gt[found][:, 5:7, :2], axis=-1)
    assert np.median(err) < 12  # pixels, on 128x64 frames: mapped back through the letterbox
    # left / right order on people facing the camera (their left is on the image's right); toy
    # people seen from behind show no face, and the model takes them as facing it
    front = found & (gt[:, 5, 0] > gt[:, 6, 0])
    assert front.sum() >= 3
    assert (kp[front][:, 5, 0] > kp[front][:, 6, 0]).mean() > 0.7


def test_parsing_mask_overlaps_the_person(clean_frames) -> None:
    batch, _, gt_masks = clean_frames
    masks, persons = make_parsing("mediapipe").predict(batch, (128, 64))
    assert masks.shape == (80, 128, 64) and persons is None
    inter = (masks & gt_masks.astype(bool)).sum()
    union = (masks | gt_masks.astype(bool)).sum()
    assert inter / union > 0.3


def test_batching_equals_one_by_one(clean_frames) -> None:
    batch, _, _ = clean_frames
    pose = make_pose("mediapipe")
    together = pose.predict(FrameBatch(batch.paths[:4], batch.images[:4]))
    alone = np.concatenate(
        [
            pose.predict(FrameBatch([p], [im]))
            for p, im in zip(batch.paths[:4], batch.images[:4], strict=True)
        ]
    )
    assert np.allclose(together, alone, atol=1e-3)
