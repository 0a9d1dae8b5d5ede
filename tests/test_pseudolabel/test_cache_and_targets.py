import numpy as np
import pandas as pd
import pytest

from occreid.pseudolabel.apu_targets import apu_targets
from occreid.pseudolabel.cache import pack_masks, plan_shards, unpack_masks
from occreid.pseudolabel.letterbox import letterbox


def test_mask_packing_round_trip_and_size() -> None:
    rng = np.random.default_rng(0)
    masks = rng.random((5, 64, 32)) > 0.5
    packed = pack_masks(masks)
    assert packed.shape == (5, 256) and packed.dtype == np.uint8  # 256 bytes per frame
    assert np.array_equal(unpack_masks(packed), masks)


def test_plan_keeps_tracklets_whole_and_sorted() -> None:
    frames = pd.DataFrame(
        {
            "tracklet": ["b"] * 3 + ["a"] * 4 + ["c"] * 5 + ["d"] * 1,
            "path": [
                f"{t}/{i}" for t, n in (("b", 3), ("a", 4), ("c", 5), ("d", 1)) for i in range(n)
            ],
        }
    )
    plan = plan_shards(frames, shard_frames=6)
    assert plan.groupby("tracklet")["shard"].nunique().eq(1).all()
    assert plan.drop_duplicates("tracklet").set_index("tracklet")["shard"].to_dict() == {
        "a": 0,
        "b": 1,
        "c": 2,
        "d": 2,
    }  # a (4) + b (3) > 6; b + c > 6; c + d = 6
    assert plan_shards(frames.sample(frac=1, random_state=1), 6).equals(plan)  # order-free


def _kp(points: dict[int, tuple[float, float, float]]) -> np.ndarray:
    kp = np.zeros((1, 17, 3), dtype=np.float32)
    for j, p in points.items():
        kp[0, j] = p
    return kp


def test_apu_targets_worked_example() -> None:
    # 200 x 100 frame; shoulders y 40 / 50, hips y 100, knees y 140 / 150 at x 30 / 50
    kp = _kp(
        {
            5: (40, 40, 0.9),
            6: (60, 50, 0.8),
            11: (40, 100, 0.9),
            12: (60, 100, 0.9),
            13: (30, 140, 0.9),
            14: (50, 150, 0.9),
        }
    )
    assert np.allclose(
        apu_targets(kp, np.array([200]), np.array([100])), [[0.225, 0.5, 0.725, 0.4]]
    )


def test_apu_targets_boundaries_when_not_found() -> None:
    # only shoulders found (the lower body is cut off): hip and knee go to the bottom (Fig. 9)
    kp = _kp({5: (40, 40, 0.9), 6: (60, 40, 0.9), 13: (30, 140, 0.1), 11: (45, 100, 0.2)})
    assert np.allclose(apu_targets(kp, np.array([200]), np.array([100])), [[0.2, 1.0, 1.0, 0.5]])
    # nothing found: a1 at the top, a2 and a3 at the bottom, a4 in the middle
    assert np.allclose(apu_targets(_kp({}), np.array([10]), np.array([10])), [[0, 1, 1, 0.5]])
    # knees missing but hips found: a4 takes the hips' x
    kp = _kp({11: (20, 100, 0.9), 12: (40, 100, 0.9)})
    assert np.allclose(apu_targets(kp, np.array([200]), np.array([100]))[0, 3], 0.3)


@pytest.mark.parametrize("shape", [(120, 48), (64, 200), (256, 128)])
def test_letterbox_maps_points_and_masks_back(shape: tuple[int, int]) -> None:
    h, w = shape
    image = np.zeros((h, w, 3), dtype=np.uint8)
    image[h // 4 : h // 2, w // 3 : w // 2] = 255
    canvas, box = letterbox(image, (256, 256))
    assert canvas.shape == (256, 256, 3)
    ys, xs = np.nonzero(canvas[..., 0] == 255)
    corner = box.points_to_frame(np.array([xs.min(), ys.min()], dtype=float))
    assert np.allclose(corner, [w // 3, h // 4], atol=1.5)
    mask = box.mask_to(canvas[..., 0] == 255, (h, w))
    assert np.mean(mask == (image[..., 0] == 255)) > 0.98
