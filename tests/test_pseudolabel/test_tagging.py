"""Occlusion tags from per-frame evidence: the skeleton's silhouette, the target's own mask,
key-point levels, filling from tracklet neighbours, confidence, person counting."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from occreid.occdata.synth.person import Appearance, Pose, draw_person
from occreid.pseudolabel.backends.mm import count_persons
from occreid.pseudolabel.cache import (
    FORMAT_VERSION,
    MASK_SIZE,
    LabelCache,
    ShardData,
    pack_masks,
    plan_shards,
    write_shard,
)
from occreid.pseudolabel.evidence import frame_evidence, level_scores, target_mask
from occreid.pseudolabel.silhouette import silhouette
from occreid.pseudolabel.tagging import (
    MIN_SHARE,
    UNSEEN_SHARE,
    occlusion_labels,
    tag_frames,
    tag_occlusion,
)

FRAME = (128, 64)
APPEARANCE = Appearance((200, 170, 150), (20, 20, 20), (0, 0, 200), (90, 60, 30), (90, 60, 30),
                        (10, 10, 10), None, 1)  # fmt: skip


def _person(phase: float = 0.4) -> tuple[np.ndarray, np.ndarray]:
    """A toy person filling a full-extent 128x64 box: keypoints (17, 3) scored 1, body mask."""
    pose = Pose(cx=32.0, top=4.0, height=118.0, phase=phase, front=True)
    body = np.zeros((*FRAME, 3), dtype=np.uint8)
    kp, mask = draw_person(body, pose, APPEARANCE)
    return np.concatenate([kp, np.ones((17, 1), np.float32)], axis=1), mask.astype(bool)


def _small(mask: np.ndarray) -> np.ndarray:
    return mask.reshape(MASK_SIZE[0], 2, MASK_SIZE[1], 2).mean(axis=(1, 3)) >= 0.5


@pytest.mark.parametrize("phase", [0.0, 1.2, 2.5])
def test_the_silhouette_of_a_skeleton_is_its_body(phase: float) -> None:
    kp, mask = _person(phase)
    drawn = silhouette(kp, FRAME, MASK_SIZE)
    body = _small(mask)
    iou = (drawn & body).sum() / (drawn | body).sum()
    assert iou > 0.85
    assert not silhouette(kp[::-1], FRAME, MASK_SIZE).any()  # upside down: no body


def test_level_scores_and_lowest_seen_point() -> None:
    kp, _ = _person()
    kp[[13, 14, 15, 16], 2] = 0.1  # knees and ankles hidden
    ev = frame_evidence(kp[None], None, np.array([FRAME]), np.array([True]))
    assert np.allclose(level_scores(kp[None])[0], [1, 1, 1, 0.1, 0.1])
    assert ev.kp_hidden[0] == pytest.approx(1 - 3.2 / 5)
    assert ev.lowest[0] == pytest.approx(kp[11, 1] / FRAME[0], abs=1e-4)  # the hips
    none = frame_evidence(np.zeros((1, 17, 3)), None, np.array([FRAME]), np.array([True]))
    assert not none.pose_found[0] and np.isnan(none.kp_hidden[0])


def test_the_target_mask_drops_a_separate_person() -> None:
    kp, mask = _person()
    small = _small(mask)
    neighbour = np.zeros_like(small)
    neighbour[5:60, 0:3] = True  # a second person at the left edge, not touching the target
    both = small | neighbour
    kept = target_mask(both, kp, FRAME)
    assert np.array_equal(kept, small & both) or (kept == small).mean() > 0.99
    assert not kept[:, 0].any()


def _cache(
    root: Path,
    tracklets: list[str],
    keypoints: np.ndarray,
    masks: np.ndarray,
    parsing: str = "oracle",
    persons: np.ndarray | None = None,
) -> LabelCache:
    """A finished label cache written by hand: one frame per row, in tracklet order."""
    paths = [f"train/{t}/F{i:04d}.jpg" for i, t in enumerate(tracklets)]
    plan = plan_shards(pd.DataFrame({"path": paths, "tracklet": tracklets}), 4096)
    n = len(paths)
    index = pd.DataFrame(
        {"path": paths, "ok": True, "height": FRAME[0], "width": FRAME[1]}
    ).set_index("path").loc[plan["path"]].reset_index()  # fmt: skip
    order = pd.Index(paths).get_indexer(plan["path"])
    persons = np.ones(n, np.int8) if persons is None else persons
    data = ShardData(
        index, keypoints[order], np.zeros((n, 4)), pack_masks(masks[order]), persons[order]
    )
    root.mkdir(parents=True)
    (root / "shards").mkdir()
    write_shard(root, 0, data)
    plan.to_parquet(root / "plan.parquet", index=False)
    meta = {
        "format": FORMAT_VERSION,
        "complete": True,
        "mask_size": list(MASK_SIZE),
        "shards": 1,
        "backends": {"pose": {"name": "oracle"}, "parsing": {"name": parsing}},
    }
    (root / "meta.json").write_text(json.dumps(meta))
    return LabelCache(root)


def test_a_mask_that_lacks_the_lower_half_is_labelled_by_what_it_lacks(tmp_path: Path) -> None:
    kp, mask = _person()
    small = _small(mask)
    hidden = small.copy()
    hidden[32:] = False  # a car hides the body from the middle of the box down
    truth = 1 - hidden.sum() / small.sum()
    cache = _cache(tmp_path / "c", ["a", "b"], np.stack([kp, kp]), np.stack([small, hidden]))
    tags = tag_frames(cache).set_index("tracklet")
    assert tags.loc["a", "occlusion"] == 0
    assert abs(tags.loc["b", "share"] - truth) < 0.05
    assert tags.loc["b", "occlusion"] == occlusion_labels(np.array([truth]))[0] >= 4


def test_with_an_untrusted_mask_the_key_points_decide(tmp_path: Path) -> None:
    kp, mask = _person()
    legs_hidden = kp.copy()
    legs_hidden[[11, 12, 13, 14, 15, 16], 2] = 0.1
    masks = np.stack([_small(mask)] * 2)  # the selfie mask covers the car too: no difference
    cache = _cache(tmp_path / "c", ["a", "b"], np.stack([kp, legs_hidden]), masks, "mediapipe")
    tags = tag_frames(cache).set_index("tracklet")
    assert tags.loc["a", "occlusion"] == 0
    assert tags.loc["b", "share"] == pytest.approx(1 - (1 + 1 + 0.1 * 3) / 5, abs=1e-3)  # float16
    assert tags.loc["b", "occlusion"] == 6


def test_frames_without_a_pose_are_filled_from_neighbours_never_fully_hidden(
    tmp_path: Path,
) -> None:
    kp, mask = _person()
    small = _small(mask)
    lower = small.copy()
    lower[40:] = False
    nothing = np.zeros_like(kp)
    # tracklet t: seen clear, no pose, seen with the legs hidden; s: a single frame, no pose
    keypoints = np.stack([kp, nothing, kp, nothing])
    masks = np.stack([small, np.zeros_like(small), lower, np.zeros_like(small)])
    cache = _cache(tmp_path / "c", ["t", "t", "t", "s"], keypoints, masks)
    tags = tag_frames(cache)
    t = tags[tags["tracklet"] == "t"].reset_index(drop=True)
    assert t.loc[1, "share"] == pytest.approx((t.loc[0, "share"] + t.loc[2, "share"]) / 2)
    assert t.loc[1, "confidence"] < min(t.loc[0, "confidence"], t.loc[2, "confidence"])
    single = tags[tags["tracklet"] == "s"].iloc[0]
    assert single["share"] == UNSEEN_SHARE and single["confidence"] == 0
    assert single["occlusion"] == 5  # unknown, not "fully hidden" (10)
    csv = tag_occlusion(cache)
    assert list(csv.columns) == ["path", "occlusion", "persons", "confidence"]
    assert csv["confidence"].between(0, 1).all()


def test_confidence_is_lower_near_the_occluded_threshold(tmp_path: Path) -> None:
    kp, mask = _person()
    small = _small(mask)
    near = small.copy()
    rows = np.flatnonzero(small.any(axis=1))
    near[rows[-3:]] = False  # the feet only: a share close to MIN_SHARE
    cache = _cache(tmp_path / "c", ["a", "b"], np.stack([kp, kp]), np.stack([small, near]))
    tags = tag_frames(cache).set_index("tracklet")
    assert abs(tags.loc["b", "share"] - MIN_SHARE) < 0.1
    assert tags.loc["b", "confidence"] < tags.loc["a", "confidence"], tags[["share", "confidence"]]
    assert tags.loc["b", "confidence"] < 0.8


def test_person_count_thresholds_on_score_and_size() -> None:
    labels = np.array([0, 0, 0, 2])  # person, person, person, car
    scores = np.array([0.9, 0.8, 0.3, 0.9])
    heights = np.array([120.0, 90.0, 120.0, 120.0])
    assert count_persons(labels, scores, heights, crop_height=128) == 2
    assert count_persons(labels, scores, heights * 0.4, crop_height=128) == 1  # far behind
    assert count_persons(labels[:0], scores[:0], heights[:0], crop_height=128) == 1  # the target


def test_a_flickering_frame_is_evened_out_by_its_tracklet_neighbours(tmp_path: Path) -> None:
    kp, mask = _person()
    flicker = kp.copy()
    flicker[[13, 14, 15, 16], 2] = 0.2  # the pose model loses the legs in one frame
    keypoints = np.stack([kp, kp, flicker, kp, kp])
    masks = np.stack([_small(mask)] * 5)
    cache = _cache(tmp_path / "c", ["t"] * 5, keypoints, masks, "mediapipe")
    tags = tag_frames(cache)
    alone = 1 - (3 + 0.2 + 0.2) / 5  # the flickering frame's own key-point share
    assert tags.loc[2, "share"] == pytest.approx(alone / 3, abs=1e-3)
    assert tags.loc[1, "share"] == tags.loc[3, "share"] == pytest.approx(alone / 3, abs=1e-3)
    assert tags.loc[0, "share"] == pytest.approx(0, abs=1e-3)  # two clear frames in its window
    assert tags.loc[2, "occlusion"] < occlusion_labels(np.array([alone]))[0]  # 2, not 4
