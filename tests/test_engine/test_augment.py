import numpy as np
import torch

from occreid.engine.augment import AUTHORS_FILL, Sample, augment, erase, hflip
from occreid.engine.data import MEAN, STD
from occreid.model.losses import keypoint_targets


def _clip() -> Sample:
    """Two frames of a 16 x 8 'person' standing in the left half (columns 1-2)."""
    frames = np.zeros((2, 16, 8, 3), dtype=np.uint8)
    frames[:, 2:14, 1:3] = 200
    mask = np.zeros((2, 8, 4), dtype=np.uint8)
    mask[:, 1:7, 0:2] = 1
    apu = np.array([[0.25, 0.5, 0.75, 0.25]] * 2, dtype=np.float32)
    return Sample(frames, apu, mask)


def test_flip_mirrors_frames_masks_and_knee_x_together() -> None:
    s = _clip()
    f = hflip(s)
    assert np.array_equal(f.frames, s.frames[:, :, ::-1])
    assert f.mask is not None and f.mask[:, 1:7, 2:4].all() and not f.mask[:, :, :2].any()
    assert f.apu is not None
    assert np.allclose(f.apu[:, :3], s.apu[:, :3]) and np.allclose(f.apu[:, 3], 0.75)
    # the authors' flip of the grid index: W - 2 - a4
    w = 8
    before = keypoint_targets(torch.tensor([[0.5, 0.5, 0.5, 0.3]]), 16, w)[0, 3]
    after = keypoint_targets(torch.tensor([[0.5, 0.5, 0.5, 0.7]]), 16, w)[0, 3]
    assert int(after) == w - 2 - int(before)


def test_erasing_by_default_fills_the_authors_constant_and_keeps_the_mask() -> None:
    s = _clip()
    e = erase(s, (0.25, 0.0, 0.75, 0.5), np.random.default_rng(0))
    assert e.mask is not None and np.array_equal(e.mask, s.mask)
    assert (e.frames[:, 4:12, 0:4] == AUTHORS_FILL).all()
    assert np.array_equal(e.frames[:, :4], s.frames[:, :4])
    # the authors write (0.4914, 0.4822, 0.4465) into the normalised image
    normalised = (np.array(AUTHORS_FILL) / 255 - np.array(MEAN)) / np.array(STD)
    assert np.allclose(normalised, (0.4914, 0.4822, 0.4465), atol=1 / 255 / min(STD))


def test_erased_box_is_background_in_the_mask_and_the_same_on_every_frame() -> None:
    s = _clip()
    e = erase(s, (0.25, 0.0, 0.75, 0.5), np.random.default_rng(0), "random", clear_mask=True)
    assert e.mask is not None
    assert not e.mask[:, 2:6, 0:2].any()  # erased rows 4-12 of 16 -> mask rows 2-6 of 8
    assert e.mask[:, 1, 0:2].all() and e.mask[:, 6, 0:2].all()  # outside the box: kept
    changed = (e.frames != s.frames).any(axis=-1)
    assert not changed[:, :4].any() and not changed[:, 12:].any() and not changed[:, :, 4:].any()
    assert np.array_equal(e.frames[0], e.frames[1])


def test_augment_is_a_function_of_its_seed() -> None:
    a = augment(_clip(), 0.5, 0.5, np.random.default_rng(7))
    b = augment(_clip(), 0.5, 0.5, np.random.default_rng(7))
    assert np.array_equal(a.frames, b.frames) and np.array_equal(a.mask, b.mask)
    flips = [augment(_clip(), 0.5, 0.0, np.random.default_rng(i)).apu[0, 3] for i in range(200)]
    assert 0.35 < np.mean(np.isclose(flips, 0.75)) < 0.65
