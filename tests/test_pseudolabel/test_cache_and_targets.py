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
    # nothing found: no target at all (Lk ignores NaN), not a made-up layout
    assert np.isnan(apu_targets(_kp({}), np.array([10]), np.array([10]))).all()


def test_apu_targets_keep_knees_when_hips_are_hidden() -> None:
    # shoulders y 46, knees y 140 / 150 found, hips hidden: the knees stay, the hips lie between
    kp = _kp({5: (40, 46, 0.9), 6: (60, 46, 0.9), 13: (30, 140, 0.9), 14: (60, 150, 0.9)})
    a = apu_targets(kp, np.array([200]), np.array([100]))[0]
    assert np.isclose(a[2], 0.725)  # the knees that were seen
    share = (0.50 - 0.23) / (0.70 - 0.23)
    assert np.isclose(a[1], 0.23 + (0.725 - 0.23) * share, atol=1e-6)
    assert np.isclose(a[3], 0.45)  # both knees: the split between the legs
    # no shoulders either: the top of the crop is the upper anchor
    kp = _kp({13: (30, 140, 0.9), 14: (60, 140, 0.9)})
    a = apu_targets(kp, np.array([200]), np.array([100]))[0]
    assert np.allclose(a[:3], [0.23, 0.5, 0.7], atol=1e-6)


def test_apu_targets_knee_x_is_the_split_between_the_legs() -> None:
    # one knee (x 30) and both hips (x 40 / 60): a4 is the hips' midpoint, not the lone knee
    kp = _kp({11: (40, 100, 0.9), 12: (60, 100, 0.9), 13: (30, 140, 0.9)})
    a = apu_targets(kp, np.array([200]), np.array([100]))[0]
    assert np.isclose(a[3], 0.5) and np.isclose(a[2], 0.7)
    # knees missing, hips found: a4 takes the hips' x; knees go to the bottom (nothing below)
    kp = _kp({11: (20, 100, 0.9), 12: (40, 100, 0.9)})
    a = apu_targets(kp, np.array([200]), np.array([100]))[0]
    assert np.isclose(a[3], 0.3) and np.isclose(a[2], 1.0)
    # knees hidden but ankles seen: the knees lie between hips and ankles
    kp = _kp({11: (20, 100, 0.9), 12: (40, 100, 0.9), 15: (20, 186, 0.9), 16: (40, 186, 0.9)})
    a = apu_targets(kp, np.array([200]), np.array([100]))[0]
    assert np.isclose(a[2], 0.5 + (0.93 - 0.5) * (0.2 / 0.43))


@pytest.mark.parametrize("margin", [0.0, 0.1, 0.25])
@pytest.mark.parametrize("shape", [(120, 48), (64, 200), (256, 128)])
def test_letterbox_maps_points_and_masks_back(shape: tuple[int, int], margin: float) -> None:
    h, w = shape
    image = np.zeros((h, w, 3), dtype=np.uint8)
    image[h // 4 : h // 2, w // 3 : w // 2] = 255
    canvas, box = letterbox(image, (256, 256), margin)
    assert canvas.shape == (256, 256, 3)
    grey = canvas[..., 1] == 114  # a margin is grey padding on every side of the crop
    edges = grey[0].all() and grey[-1].all() and grey[:, 0].all() and grey[:, -1].all()
    assert edges == (margin > 0)
    ys, xs = np.nonzero(canvas[..., 0] == 255)
    corner = box.points_to_frame(np.array([xs.min(), ys.min()], dtype=float))
    assert np.allclose(corner, [w // 3, h // 4], atol=1.5)
    mask = box.mask_to(canvas[..., 0] == 255, (h, w))
    assert np.mean(mask == (image[..., 0] == 255)) > 0.98
