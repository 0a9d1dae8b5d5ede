"""The rule "a skeleton that is not a body": toy bodies pass in every pose the synth draws, and
each kind of collapsed or scrambled skeleton fails its own check."""

from __future__ import annotations

import numpy as np
import pytest

from occreid.occdata.synth.person import Pose, skeleton
from occreid.pseudolabel.skeleton import in_order, is_body, proportionate, spans_box

BOX_H = 128.0


def _body(phase: float = 0.4, front: bool = True, scale: float = 0.92, score: float = 1.0):
    """(17, 3) a synth person's skeleton in a 128-high box, every point placed at ``score``."""
    height = BOX_H * scale
    pose = Pose(cx=32.0, top=(BOX_H - height) / 2, height=height, phase=phase, front=front)
    return np.concatenate([skeleton(pose), np.full((17, 1), score, np.float32)], axis=1)


@pytest.mark.parametrize("front", [True, False])
def test_every_synth_pose_and_size_is_a_body(front: bool) -> None:
    kps = np.stack(
        [_body(p, front, s) for p in np.linspace(0, 2 * np.pi, 13) for s in (0.74, 0.85, 0.92)]
    )
    assert is_body(kps, BOX_H).all()


def test_hidden_parts_scored_low_are_still_a_body() -> None:
    kp = _body()
    kp[11:, 2] = 0.05  # hips down behind a car: the model still places them
    assert is_body(kp[None], BOX_H)[0]


def test_points_bunched_in_a_small_part_of_the_box_are_not_a_body() -> None:
    kp = _body()
    squeezed = kp.copy()
    squeezed[:, 1] = 90 + (kp[:, 1] - 90) * 0.35  # the whole skeleton pulled onto the legs
    assert in_order(squeezed[None])[0] and proportionate(squeezed[None])[0]
    assert not spans_box(squeezed[None], np.array([BOX_H]))[0]
    assert not is_body(squeezed[None], BOX_H)[0]
    # the same skeleton in a box it fills is a body: the span is relative to the box
    assert is_body(squeezed[None], BOX_H * 0.35)[0]


def test_levels_out_of_order_are_not_a_body() -> None:
    kp = _body()
    upside_down = kp.copy()
    upside_down[:, 1] = BOX_H - kp[:, 1]
    swapped = kp.copy()
    swapped[[5, 6, 13, 14], 1] = swapped[[13, 14, 5, 6], 1]  # shoulders below the knees
    for bad in (upside_down, swapped):
        assert spans_box(bad[None], np.array([BOX_H]))[0]
        assert not in_order(bad[None])[0]
        assert not is_body(bad[None], BOX_H)[0]


def test_impossible_proportions_are_not_a_body() -> None:
    kp = _body()
    short_torso = kp.copy()
    hips_y = kp[[11, 12], 1].mean()
    short_torso[[5, 6], 1] = hips_y - 0.08 * (hips_y - kp[[5, 6], 1].mean())  # torso 8 % long
    short_torso[:5, 1] += short_torso[[5, 6], 1].mean() - kp[[5, 6], 1].mean()  # head follows
    assert not proportionate(short_torso[None])[0]
    assert not is_body(short_torso[None], BOX_H)[0]
    long_shins = kp.copy()
    long_shins[[15, 16], 1] += 4 * (kp[[15, 16], 1] - kp[[13, 14], 1])  # shins 5x a thigh
    assert in_order(long_shins[None])[0]
    assert not is_body(long_shins[None], BOX_H)[0]


def test_no_placed_point_is_no_body_and_frames_are_judged_one_by_one() -> None:
    good = _body()
    bunched = good.copy()
    bunched[:, 1] = 40 + (good[:, 1] - 40) * 0.2
    batch = np.stack([good, np.zeros((17, 3)), bunched, good])
    assert is_body(batch, np.full(4, BOX_H)).tolist() == [True, False, False, True]


def test_a_level_that_is_not_placed_is_not_checked() -> None:
    kp = _body()
    kp[13:, 2] = 0.0  # knees and ankles outside the frame: score 0, not placed
    kp[13:, :2] = 0.0  # and their coordinates meaningless
    assert is_body(kp[None], BOX_H * 0.9)[0]
