"""mediapipe's tracking (video) mode within a tracklet: the track is dropped where the tracklet
changes, so labels depend neither on the batch size nor on a resumed run. A fake `solutions`
object stands in for mediapipe: it records every call and carries state from frame to frame as
the real video mode does."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from occreid.pseudolabel.backends import mediapipe_backend
from occreid.pseudolabel.backends.base import FrameBatch
from occreid.pseudolabel.cache import LabelCache
from occreid.pseudolabel.runner import RunOptions, run


def _has_person(rgb: np.ndarray) -> bool:
    """Whether the fake finds a pose: a fixed function of the frame (about 9 in 10 textured
    frames, none that are flat)."""
    return float(rgb.std()) > 5 and int(rgb[::7, ::7].sum()) % 10 != 0


@dataclass
class FakePose:
    """mediapipe's Pose as the backend uses it. Video mode: a pose found on a frame is carried
    into the next one and the landmarks say how long the track has run; a frame without a
    person (a blank one) or reset() drops it. Image mode: every frame stands alone."""

    static_image_mode: bool
    model_complexity: int = 1
    smooth_landmarks: bool = True
    log: list[tuple[str, str]] = field(default_factory=list)
    run: int = 0
    blank_finds: bool = False

    def process(self, rgb: np.ndarray) -> Any:
        blank = bool((rgb == 114).all())
        graph = "still" if self.static_image_mode else "track"
        self.log.append((graph, "blank" if blank else "frame"))
        if not (_has_person(rgb) or (blank and self.blank_finds)):
            self.run = 0
            return SimpleNamespace(pose_landmarks=None)
        self.run = 1 if self.static_image_mode else self.run + 1
        points = [
            SimpleNamespace(x=0.5, y=(j + 1) / 34, visibility=1 / self.run) for j in range(33)
        ]
        return SimpleNamespace(pose_landmarks=SimpleNamespace(landmark=points))

    def reset(self) -> None:
        self.log.append(("track", "reset"))
        self.run = 0


@pytest.fixture
def fake_mediapipe(monkeypatch: pytest.MonkeyPatch) -> list[FakePose]:
    """Every Pose the backend builds, in order (fake mediapipe, no version lookup)."""
    made: list[FakePose] = []

    def pose(**kwargs: Any) -> FakePose:
        made.append(FakePose(**kwargs))
        return made[-1]

    solutions = SimpleNamespace(pose=SimpleNamespace(Pose=pose))
    monkeypatch.setattr(mediapipe_backend, "_solutions", lambda: solutions)
    monkeypatch.setattr(mediapipe_backend, "version", lambda _: "fake")
    return made


def _frames(n: int, seed: int = 0) -> list[np.ndarray]:
    """Random frames on which the fake finds a person (at the model's input size, so the
    letterbox leaves their pixels as they are)."""
    rng = np.random.default_rng(seed)
    frames: list[np.ndarray] = []
    while len(frames) < n:
        image = rng.integers(0, 255, (*mediapipe_backend.INPUT, 3), dtype=np.uint8)
        if _has_person(image):
            frames.append(image)
    return frames


def _runs(kp: np.ndarray) -> list[int]:
    """The fake's track length behind each frame's score (0: no pose)."""
    return [round(1 / s) if s > 0 else 0 for s in kp[:, 0, 2]]


def test_the_track_is_dropped_where_the_tracklet_changes(fake_mediapipe) -> None:
    backend = mediapipe_backend.MediaPipePose(margin=0.0)
    still, track = fake_mediapipe
    assert still.static_image_mode and not track.static_image_mode
    assert not track.smooth_landmarks  # each frame's visibility its own
    images = _frames(6)
    tracklets: list[str | None] = ["a", "a", "b", "b", None, "c"]
    kp = backend.predict(FrameBatch([""] * 6, images, tracklets=tracklets))
    assert _runs(kp) == [1, 2, 1, 2, 1, 1]  # b and c start afresh; the photo stands alone
    assert track.log == [("track", "frame")] * 2 + [("track", "blank")] + [
        ("track", "frame")
    ] * 2 + [("track", "blank"), ("track", "frame")]
    assert still.log == [("still", "frame")]  # the one-frame tracklet, in image mode


def test_the_track_continues_into_the_next_batch(fake_mediapipe) -> None:
    backend = mediapipe_backend.MediaPipePose(margin=0.0)
    images = _frames(5)
    first = backend.predict(FrameBatch([""] * 3, images[:3], tracklets=["a"] * 3))
    second = backend.predict(FrameBatch([""] * 2, images[3:], tracklets=["a", "b"]))
    assert _runs(first) + _runs(second) == [1, 2, 3, 4, 1]


def test_no_blank_frame_where_the_track_holds_nothing_and_reset_where_it_fails(
    fake_mediapipe, monkeypatch
) -> None:
    backend = mediapipe_backend.MediaPipePose(margin=0.0)
    _, track = fake_mediapipe
    nobody = np.full((64, 32, 3), 120, dtype=np.uint8)  # the fake finds no one on flat grey
    images = [_frames(1)[0], nobody, *_frames(2, seed=1)]
    backend.predict(FrameBatch([""] * 4, images, tracklets=["a", "a", "b", "c"]))
    # a's last frame had no pose: b starts without a blank; c's start drops b's track
    assert [kind for _, kind in track.log] == ["frame", "frame", "frame", "blank", "frame"]
    track.blank_finds = True  # a blank frame that keeps the pose: the graph is restarted
    backend.predict(FrameBatch([""], _frames(1, seed=2), tracklets=["d"]))
    assert [kind for _, kind in track.log[5:]] == ["blank", "reset", "frame"]


def test_image_mode_and_the_margin_retry_use_the_still_graph(fake_mediapipe) -> None:
    backend = mediapipe_backend.MediaPipePose(margin=0.25, tracking=False)
    still, track = fake_mediapipe
    nobody = np.full((64, 32, 3), 120, dtype=np.uint8)  # no one, bare or with the margin
    kp = backend.predict(FrameBatch([""] * 3, [*_frames(2), nobody], tracklets=["a"] * 3))
    assert _runs(kp) == [1, 1, 0]
    assert track.log == [] and still.log == [("still", "frame")] * 4  # the miss tried twice
    assert backend.describe()["tracking"] is False


def _found_only_with_margin(margin: float) -> np.ndarray:
    """A frame on which the fake finds no one as it is, but finds a person with the margin."""
    from occreid.pseudolabel.letterbox import letterbox

    rng = np.random.default_rng(7)
    while True:
        image = rng.integers(0, 255, (*mediapipe_backend.INPUT, 3), dtype=np.uint8)
        padded, _ = letterbox(image, mediapipe_backend.INPUT, margin)
        if not _has_person(image) and _has_person(padded):
            return image


def test_a_tracklets_retries_stop_after_misses_in_a_row_until_a_pose_is_found(
    fake_mediapipe,
) -> None:
    backend = mediapipe_backend.MediaPipePose(margin=0.25)
    still, _ = fake_mediapipe
    assert mediapipe_backend.RETRY_MISSES == 3
    person, nobody = _frames(1)[0], np.full((64, 32, 3), 120, dtype=np.uint8)
    rescued = _found_only_with_margin(0.25)
    images = [person, nobody, nobody, rescued, nobody, nobody, nobody, nobody, rescued, nobody]
    tracklets = ["a"] * 9 + ["b"]
    kp = backend.predict(FrameBatch([""] * 10, images, tracklets=tracklets))
    # two misses, then a retry that finds the person: the count starts again; three misses,
    # then a's frames are not retried (the last one would have been found); b retries afresh
    assert [int(found) for found in kp[:, 0, 2] > 0] == [1, 0, 0, 1, 0, 0, 0, 0, 0, 0]
    assert len(still.log) == 2 + 1 + 3 + 1
    assert backend.describe()["retry_misses"] == 3
    every = mediapipe_backend.MediaPipePose(margin=0.25, retry_misses=None)  # as before
    kp = every.predict(FrameBatch([""] * 10, images, tracklets=tracklets))
    assert [int(found) for found in kp[:, 0, 2] > 0] == [1, 0, 0, 1, 0, 0, 0, 0, 1, 0]
    assert len(fake_mediapipe[2].log) == 2 + 1 + 4 + 1 + 1


def test_retry_policy_benchmark_counts_as_the_backend_retries(
    fake_mediapipe, monkeypatch: pytest.MonkeyPatch
) -> None:
    """benchmarks/retry_policy.py counts each limit from one pass instead of running the
    backend: its count must follow the backend's rule (the frames of the test above)."""
    import importlib.util
    import sys

    bench = Path(__file__).parents[2] / "benchmarks"
    monkeypatch.syspath_prepend(str(bench))
    spec = importlib.util.spec_from_file_location("retry_policy", bench / "retry_policy.py")
    assert spec is not None and spec.loader is not None
    policy = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "retry_policy", policy)
    spec.loader.exec_module(policy)
    person, nobody = _frames(1)[0], np.full((64, 32, 3), 120, dtype=np.uint8)
    rescued = _found_only_with_margin(0.25)
    images = [person, nobody, nobody, rescued, nobody, nobody, nobody, nobody, rescued, nobody]
    tracklets = ["a"] * 9 + ["b"]
    rows = [  # (tracklet, found as it is, found by the retry): what outcomes() records
        (t, im is person, None if im is person else im is rescued)
        for t, im in zip(tracklets, images, strict=True)
    ]
    for limit in (1, 2, 3, None):
        backend = mediapipe_backend.MediaPipePose(margin=0.25, retry_misses=limit)
        kp = backend.predict(FrameBatch([""] * 10, images, tracklets=tracklets))
        counted = policy.count(rows, limit)
        assert counted["retries"] == len(fake_mediapipe[-2].log), limit  # its still graph
        assert counted["poses_found"] == int((kp[:, 0, 2] > 0).sum()) - 1, limit


def _labels(root: Path) -> dict[str, np.ndarray]:
    cache = LabelCache(root)
    return cache.gather(cache.index["path"].tolist())


def test_labels_do_not_depend_on_the_batch_size_or_a_resumed_run(
    fake_mediapipe, toy_source: Path, tmp_path: Path
) -> None:
    def label(out: Path, **options: Any) -> dict[str, np.ndarray]:
        opts = RunOptions(
            root=toy_source,
            out=out,
            pose="mediapipe",
            parsing="keypoints",
            margin=0.0,
            processes=1,  # the fake lives in this process only
        )
        for key, value in options.items():
            setattr(opts, key, value)
        run(opts)
        return _labels(out)

    one = label(tmp_path / "b1", batch_size=1, shard_frames=64)
    many = label(tmp_path / "b64", batch_size=64, shard_frames=64)
    assert np.array_equal(one["keypoints"], many["keypoints"])
    runs = _runs(many["keypoints"].astype(np.float32))
    assert max(runs) >= 5  # the tracks did run across frames (and across batches of one)
    # a resumed run: the finished shards that start where the previous shard's last frame
    # carried a track are lost, and labelled again by a new backend
    index = LabelCache(tmp_path / "b64").index
    starts = np.flatnonzero(np.diff(index["shard"]) != 0) + 1
    lost = [i for i in starts if runs[i - 1] > 0 and runs[i] > 0]
    assert lost
    for i in lost:
        shutil.rmtree(tmp_path / "b64" / "shards" / f"{index['shard'].iloc[i]:05d}")
    resumed = label(tmp_path / "b64", resume=True, shard_frames=64)
    for key in ("keypoints", "apu", "mask"):
        assert np.array_equal(resumed[key], many[key], equal_nan=True), key
