from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from occreid.occdata.source_index import index_source
from occreid.occdata.synth import SynthConfig, synthesize
from occreid.occdata.synth.person import COCO_KEYPOINTS, Pose, skeleton
from occreid.occdata.synth.plan import appearances, draw_plan, look_group
from occreid.occdata.synth.render import occlusion_label


def _kp(name: str) -> int:
    return COCO_KEYPOINTS.index(name)


def test_layout_and_ground_truth(toy_source: Path) -> None:
    index = index_source(toy_source)
    ann = pd.read_csv(toy_source / "annotations.csv")
    assert sorted(ann["path"]) == sorted(index.frames["path"])
    gt = pd.read_parquet(toy_source / "groundtruth" / "index.parquet")
    kp = np.load(toy_source / "groundtruth" / "keypoints.npy")
    masks = np.load(toy_source / "groundtruth" / "masks.npy")
    assert kp.shape == (len(gt), 17, 3) and masks.shape == (len(gt), 128, 8)
    assert gt["row"].tolist() == list(range(len(gt)))
    img = cv2.imread(str(toy_source / gt["path"].iloc[0]))
    assert img.shape == (128, 64, 3)
    # the visible mask lies on the person: its share of the frame is what the index says
    share = np.unpackbits(masks, axis=2).reshape(len(gt), -1).mean(axis=1)
    assert np.allclose(share, gt["visible_share"])


def test_splits_follow_dukemtmc_videoreid(toy_source: Path) -> None:
    f = index_source(toy_source).frames
    train_ids = set(f.loc[f["split"] == "train", "pid"])
    test_ids = set(f.loc[f["split"] != "train", "pid"])
    assert train_ids and test_ids and not train_ids & test_ids
    t = f.groupby("tracklet").agg(split=("split", "first"), pid=("pid", "first"))
    assert t[t["split"] == "query"].groupby("pid").size().eq(1).all()
    distractors = test_ids - set(f.loc[f["split"] == "query", "pid"])
    assert len(distractors) == 4
    g = f[f["pid"].isin(distractors)]
    assert (g["split"] == "gallery").all() and g.groupby("pid")["camid"].nunique().eq(1).all()


def test_occluders_enter_and_leave(toy_source: Path) -> None:
    gt = pd.read_parquet(toy_source / "groundtruth" / "index.parquet")
    gt["tracklet"] = gt["path"].str.rsplit("/", n=1).str[0]
    occluded = (gt["occlusion"] > 0) | (gt["persons"] > 1)
    enters = leaves = 0
    for _, o in occluded.groupby(gt["tracklet"]):
        changes = np.diff(o.to_numpy().astype(int))
        enters += int((changes == 1).any())
        leaves += int((changes == -1).any())
    assert enters > 3 and leaves > 3
    assert (
        (gt["persons"] > 1).any() and (gt["occlusion"] >= 3).any() and (gt["occlusion"] == 0).any()
    )


def test_hidden_keypoints_only_on_occluded_frames(toy_source: Path) -> None:
    gt = pd.read_parquet(toy_source / "groundtruth" / "index.parquet")
    kp = np.load(toy_source / "groundtruth" / "keypoints.npy")
    body = kp[:, 5:, 2]  # shoulders .. ankles (face may be hidden from behind)
    hidden_frames = (body == 1).any(axis=1)
    # a hidden body keypoint means something covers the body
    assert (gt.loc[hidden_frames, "occlusion"] > 0).mean() > 0.95
    # lower-body occluders hide the ankles more often than the shoulders
    assert (kp[:, _kp("left_ankle"), 2] == 1).sum() > (kp[:, _kp("left_shoulder"), 2] == 1).sum()


def test_groups_share_the_upper_body_and_differ_below() -> None:
    cfg = SynthConfig(group_size=3)
    apps = appearances(cfg, list(range(1, 13)), np.random.default_rng(0))
    for g in range(1, 13, 3):
        group = [apps[p] for p in range(g, g + 3)]
        assert len({(a.skin, a.hair, a.upper, a.bag) for a in group}) == 1
        assert len({a.left_leg for a in group}) == 3


def test_look_group_names_the_identities_that_share_the_upper_body() -> None:
    cfg = SynthConfig(ids=24, distractors=6, seed=3)
    looks = draw_plan(cfg).looks
    assert sorted(looks) == list(range(1, 31))
    for p in looks:
        mates = [q for q in looks if look_group(q, cfg) == look_group(p, cfg)]
        assert len(mates) == cfg.group_size
        upper = {(looks[q].skin, looks[q].hair, looks[q].upper, looks[q].bag) for q in mates}
        assert len(upper) == 1
        assert len({looks[q].left_leg for q in mates}) == cfg.group_size


def test_skeleton_left_right_and_walking() -> None:
    front = skeleton(Pose(cx=32, top=5, height=110, phase=0.0, front=True))
    back = skeleton(Pose(cx=32, top=5, height=110, phase=0.0, front=False))
    # facing the camera, the person's left side is on the image's right
    assert front[_kp("left_shoulder"), 0] > front[_kp("right_shoulder"), 0]
    assert back[_kp("left_shoulder"), 0] < back[_kp("right_shoulder"), 0]
    assert front[_kp("left_hip"), 1] > front[_kp("left_shoulder"), 1]
    assert front[_kp("left_ankle"), 1] > front[_kp("left_knee"), 1] > front[_kp("left_hip"), 1]
    mid = skeleton(Pose(cx=32, top=5, height=110, phase=np.pi / 2, front=True))
    assert abs(mid[_kp("left_ankle"), 0] - front[_kp("left_ankle"), 0]) > 5  # legs swing


@pytest.mark.parametrize(
    ("visible", "label"), [(100, 0), (99, 0), (95, 1), (90, 1), (70, 3), (69, 4), (5, 10), (0, 10)]
)
def test_occlusion_label_worked_examples(visible: int, label: int) -> None:
    body = np.ones((10, 10), dtype=np.uint8)
    seen = np.zeros_like(body)
    seen.flat[:visible] = 1
    assert occlusion_label(body, seen) == label


def test_same_seed_same_dataset(tmp_path: Path) -> None:
    cfg = SynthConfig(ids=4, distractors=1, min_frames=3, max_frames=4, seed=11)
    synthesize(tmp_path / "a", cfg)
    synthesize(tmp_path / "b", cfg)
    for rel in ("annotations.csv", "groundtruth/keypoints.npy", "groundtruth/masks.npy"):
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()
    frames = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.jpg"))
    assert frames and all(
        (tmp_path / "a" / p).read_bytes() == (tmp_path / "b" / p).read_bytes() for p in frames
    )
