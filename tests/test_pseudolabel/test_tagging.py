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
from occreid.pseudolabel.calibration import MIN_SHARE, PRIOR_LABEL
from occreid.pseudolabel.evidence import LEVEL_WEIGHTS, frame_evidence, level_scores, target_mask
from occreid.pseudolabel.silhouette import silhouette
from occreid.pseudolabel.tagging import occlusion_labels, summary, tag_frames, tag_occlusion

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


def test_the_silhouette_of_the_seen_points_leaves_out_what_they_do_not_support() -> None:
    kp, _ = _person()
    whole = silhouette(kp, FRAME, MASK_SIZE)
    seen = np.ones(17, dtype=bool)
    seen[[13, 14, 15, 16]] = False  # knees and ankles hidden
    upper = silhouette(kp, FRAME, MASK_SIZE, seen)
    assert upper.sum() < 0.75 * whole.sum() and not (upper & ~whole).any()
    knee_row = int(kp[13, 1] * MASK_SIZE[0] / FRAME[0])
    assert whole[knee_row + 3 :].any() and not upper[knee_row + 3 :].any()


def test_level_scores_and_lowest_seen_point() -> None:
    kp, _ = _person()
    kp[[13, 14, 15, 16], 2] = 0.1  # knees and ankles hidden
    kp[13, 2] = 0.3  # one knee a little more sure: a level is seen as far as its best point
    ev = frame_evidence(kp[None], None, np.array([FRAME]), np.array([True]), (0.0, 1.0), 0.5)
    assert np.allclose(level_scores(kp[None])[0], [1, 1, 1, 0.2, 0.1])
    assert ev.kp_hidden[0] == pytest.approx(0.7 * LEVEL_WEIGHTS[3] + 0.9 * LEVEL_WEIGHTS[4])
    assert ev.kp_occluded[0] == pytest.approx(1 - 0.3 * 0.1)
    assert ev.lowest[0] == pytest.approx(kp[11, 1] / FRAME[0], abs=1e-4)  # the hips
    step = frame_evidence(kp[None], None, np.array([FRAME]), np.array([True]), (0.3, 0.3), 0.3)
    assert step.kp_hidden[0] == pytest.approx(LEVEL_WEIGHTS[4])  # the knee at 0.3 counts seen
    none = frame_evidence(np.zeros((1, 17, 3)), None, np.array([FRAME]), np.array([True]),
                          (0.0, 1.0), 0.5)  # fmt: skip
    assert not none.pose_found[0] and np.isnan(none.kp_hidden[0])


def test_the_target_mask_drops_a_separate_person() -> None:
    kp, mask = _person()
    small = _small(mask)
    neighbour = np.zeros_like(small)
    neighbour[5:60, 0:3] = True  # a second person at the left edge, not touching the target
    both = small | neighbour
    kept = target_mask(both, kp, FRAME, 0.5)
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
    assert tags.loc["b", "occlusion"] == occlusion_labels(np.array([truth]), MIN_SHARE)[0] >= 4


def test_with_an_untrusted_mask_the_key_points_decide(tmp_path: Path) -> None:
    kp, mask = _person()
    legs_hidden = kp.copy()
    legs_hidden[[11, 12, 13, 14, 15, 16], 2] = 0.1
    masks = np.stack([_small(mask)] * 2)  # the selfie mask covers the car too: no difference
    cache = _cache(tmp_path / "c", ["a", "b"], np.stack([kp, legs_hidden]), masks, "mediapipe")
    tags = tag_frames(cache).set_index("tracklet")
    assert tags.loc["a", "occlusion"] == 0
    # oracle scale: 0.1 is under the hidden score 0.5, so hips, knees and ankles are unseen
    assert tags.loc["b", "share"] == pytest.approx(LEVEL_WEIGHTS[2:].sum(), abs=1e-3)
    assert tags.loc["b", "occlusion"] == 7


def test_frames_without_evidence_are_unknown_at_the_prior_never_counted_occluded(
    tmp_path: Path,
) -> None:
    kp, mask = _person()
    small = _small(mask)
    nothing = np.zeros_like(kp)
    bunched = kp.copy()
    bunched[:, 1] = 20 + (kp[:, 1] - 20) * 0.2  # a skeleton collapsed onto the chest
    # tracklet t: seen clear, no pose, not a body, seen clear; s: a single frame, no pose
    keypoints = np.stack([kp, nothing, bunched, kp, nothing])
    masks = np.stack([small, np.zeros_like(small), small, small, np.zeros_like(small)])
    cache = _cache(tmp_path / "c", ["t", "t", "t", "t", "s"], keypoints, masks)
    tags = tag_frames(cache)
    t = tags[tags["tracklet"] == "t"].reset_index(drop=True)
    assert t["evidence"].tolist() == ["ok", "no_pose", "not_a_body", "ok"]
    assert t["unknown"].tolist() == [False, True, True, False]
    # not filled from the clear neighbours: the calibration's prior, at confidence 0
    assert (t.loc[1:2, "occlusion"] == PRIOR_LABEL).all() and (t.loc[1:2, "confidence"] == 0).all()
    assert (t.loc[[0, 3], "occlusion"] == 0).all() and (t.loc[[0, 3], "confidence"] > 0.8).all()
    assert tags.loc[tags["tracklet"] == "s", "occlusion"].item() == PRIOR_LABEL
    assert (
        summary(tags)
        == "5 frames, 3 unknown (no evidence: confidence 0), 0.0% of the others occluded"
    )
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
    alone = LEVEL_WEIGHTS[3:].sum()  # the flickering frame's own key-point share
    assert tags.loc[2, "share"] == pytest.approx(alone / 3, abs=1e-3)
    assert tags.loc[1, "share"] == tags.loc[3, "share"] == pytest.approx(alone / 3, abs=1e-3)
    assert tags.loc[0, "share"] == pytest.approx(0, abs=1e-3)  # two clear frames in its window
    assert tags.loc[2, "occlusion"] == 0  # P(occluded) 1/3 after smoothing: not occluded
    assert tags.loc[2, "confidence"] == pytest.approx(2 / 3, abs=1e-3)
