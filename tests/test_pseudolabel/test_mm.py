"""mmpose / mmseg backends end to end with a real config from the installed packages and random
weights (no checkpoint can be downloaded here): shapes, frame pixels, COCO order, batching."""

from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from occreid.occdata.synth import SynthConfig, synthesize
from occreid.occdata.synth.person import COCO_KEYPOINTS
from occreid.pseudolabel.backends import make_parsing, make_pose
from occreid.pseudolabel.backends.base import FrameBatch
from occreid.pseudolabel.cache import LabelCache
from occreid.pseudolabel.runner import RunOptions, run

pytestmark = [pytest.mark.mm, pytest.mark.filterwarnings("ignore")]


@pytest.fixture(scope="module")
def frames() -> FrameBatch:
    rng = np.random.default_rng(0)
    small = rng.integers(0, 255, (128, 64, 3), dtype=np.uint8)
    large = cv2.resize(small, (200, 400))
    return FrameBatch(["a.jpg", "b.jpg"], [small, large])


@pytest.fixture(scope="module")
def pose():
    return make_pose("mmpose", device="cpu")


def test_mmpose_keypoints_in_each_frames_pixels(pose, frames: FrameBatch) -> None:
    kp = pose.predict(frames)
    assert kp.shape == (2, 17, 3) and np.isfinite(kp).all()
    for points, image in zip(kp, frames.images, strict=True):
        h, w = image.shape[:2]
        # the top-down affine widens the frame to the model's 192:256 aspect and pads it by 1.25;
        # predictions stay inside that box, centred on the frame
        box_w, box_h = 1.25 * max(w, h * 192 / 256), 1.25 * max(h, w * 256 / 192)
        assert (np.abs(points[:, 0] - w / 2) <= box_w / 2 + 1).all()
        assert (np.abs(points[:, 1] - h / 2) <= box_h / 2 + 1).all()


def test_mmpose_is_coco17_in_our_order(pose) -> None:
    names = pose.model.dataset_meta["keypoint_id2name"]
    assert [names[i] for i in range(17)] == list(COCO_KEYPOINTS)


def test_mmpose_batching_equals_one_by_one(pose, frames: FrameBatch) -> None:
    together = pose.predict(frames)
    alone = np.concatenate(
        [
            pose.predict(FrameBatch([p], [im]))
            for p, im in zip(frames.paths, frames.images, strict=True)
        ]
    )
    assert np.allclose(together, alone, atol=1e-3)


def test_mmseg_masks_and_batching(frames: FrameBatch) -> None:
    seg = make_parsing("mmseg", device="cpu", person_classes=[12], input_size=(256, 128))
    masks, persons = seg.predict(frames, (64, 32))
    assert masks.shape == (2, 64, 32) and masks.dtype == bool
    assert persons.shape == (2,) and (persons >= 1).all()  # the detector's count, target incl.
    assert seg.describe()["detector"]["config"].startswith("rtmdet")
    one = seg.predict(FrameBatch(frames.paths[:1], frames.images[:1]), (64, 32))[0]
    assert np.array_equal(one[0], masks[0])
    every = make_parsing(
        "mmseg", device="cpu", person_classes=list(range(150)), input_size=(256, 128)
    )
    assert every.predict(frames, (64, 32))[0].all()  # every class: the whole frame, no padding


def test_pseudolabel_runs_with_mm_backends(tmp_path: Path) -> None:
    source = tmp_path / "toy"
    synthesize(source, SynthConfig(ids=4, distractors=1, min_frames=2, max_frames=3, seed=5))
    out = tmp_path / "labels"
    run(
        RunOptions(
            root=source,
            out=out,
            pose="mmpose",
            parsing="mmseg",
            device="cpu",
            parsing_options={"input_size": (256, 128)},
            batch_size=4,
        )
    )
    cache = LabelCache(out)
    n = len(pd.read_csv(source / "annotations.csv"))
    assert len(cache.index) == n and cache.index["ok"].all()
    assert cache.meta["backends"]["pose"]["config"].startswith("rtmpose-m")
