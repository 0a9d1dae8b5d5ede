"""Real offline inference with the models inside the mediapipe wheel (optional extra)."""

import shutil
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


def test_pose_retries_with_a_margin_where_none_is_found(clean_frames, monkeypatch) -> None:
    """The crop goes in as it is first; only where no pose is found, again with the margin."""
    from occreid.pseudolabel.backends.mediapipe_backend import INPUT

    batch, _, _ = clean_frames
    pose = make_pose("mediapipe", margin=0.25)
    image = batch.images[0]
    as_is = pose.predict(FrameBatch(batch.paths[:1], [image]))
    seen: list[tuple[int, int]] = []
    real = pose.still.process

    def blind_without_margin(canvas: np.ndarray):
        grey_rows = (canvas == 114).all(axis=(1, 2)).sum()
        seen.append((len(seen), int(grey_rows)))
        result = real(canvas)
        if len(seen) == 1:
            result.pose_landmarks = None  # nothing found on the crop as it is
        return result

    monkeypatch.setattr(pose.still, "process", blind_without_margin)
    retried = pose.predict(FrameBatch(batch.paths[:1], [image]))
    assert len(seen) == 2 and seen[1][1] > seen[0][1]  # the retry has the grey margin
    assert retried[0, :, 2].max() > 0  # ... and finds the person
    shoulders = np.linalg.norm(retried[0, 5:7, :2] - as_is[0, 5:7, :2], axis=-1)
    assert (shoulders < 0.1 * INPUT[0]).all()  # mapped back to the same frame pixels
    monkeypatch.setattr(pose.still, "process", real)
    once = make_pose("mediapipe", margin=0.0)
    calls: list[int] = []
    monkeypatch.setattr(once.still, "process", lambda c: calls.append(1) or real(c))
    once.predict(FrameBatch(batch.paths[:1], [image]))
    assert calls == [1]


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


def test_tracking_labels_a_tracklet_by_its_own_frames_whatever_the_batches(
    toy_source: Path,
) -> None:
    """Video mode: a tracklet's key points are exactly those it gets alone on a new backend,
    whatever came before it and however the frames are cut into batches."""
    gt = pd.read_parquet(toy_source / "groundtruth" / "index.parquet")
    frames = gt.assign(tracklet=gt["path"].map(lambda p: str(Path(p).parent)))
    keys = frames["tracklet"].drop_duplicates().iloc[:3]
    frames = frames[frames["tracklet"].isin(keys)].sort_values("path")
    paths, tracklets = frames["path"].tolist(), frames["tracklet"].tolist()
    images = [cv2.imread(str(toy_source / p)) for p in paths]
    pose = make_pose("mediapipe")
    together = pose.predict(FrameBatch(paths, images, tracklets=tracklets))
    ones = make_pose("mediapipe")
    one_by_one = np.concatenate(
        [
            ones.predict(FrameBatch([p], [im], tracklets=[t]))
            for p, im, t in zip(paths, images, tracklets, strict=True)
        ]
    )
    alone = np.concatenate(
        [
            make_pose("mediapipe").predict(
                FrameBatch(
                    [p for p, t in zip(paths, tracklets, strict=True) if t == key],
                    [im for im, t in zip(images, tracklets, strict=True) if t == key],
                    tracklets=[key] * tracklets.count(key),
                )
            )
            for key in keys
        ]
    )
    assert (together[:, :, 2].max(axis=1) > 0).mean() > 0.5
    assert np.array_equal(together, one_by_one) and np.array_equal(together, alone)


def test_two_labelling_processes_give_the_labels_of_one(toy_source: Path, tmp_path: Path) -> None:
    """Each process has its own tracking graph; the one shard is split into parts of whole
    tracklets over both, and its labels do not depend on which process labels which part."""
    from occreid.pseudolabel.cache import LabelCache
    from occreid.pseudolabel.runner import RunOptions, run

    src = tmp_path / "src"
    for folder in sorted((toy_source / "train").glob("*/*"))[:4]:
        shutil.copytree(folder, src / "train" / folder.relative_to(toy_source / "train"))
    arrays = []
    for processes in (1, 2):
        out = tmp_path / f"labels-{processes}"
        opts = RunOptions(root=src, out=out, pose="mediapipe", parsing="keypoints")
        opts.processes = processes
        report = run(opts)
        assert report["processes"] == processes
        cache = LabelCache(out)
        arrays.append(cache.gather(sorted(cache.index["path"]))["keypoints"])
    assert (arrays[0][:, :, 2].max(axis=1) > 0).mean() > 0.5
    assert np.array_equal(arrays[0], arrays[1])
