"""Joint augmentation of a clip and its labels (paper 6.1: flip + random erasing, p = 0.5).

A flip mirrors every frame, the person masks and the knee x target (a4 -> 1 - a4, which is the
authors' W - 2 - a4 once turned into a grid index). Random erasing (Zhong et al.) paints one box on
every frame of the clip (a static occluder). By default as the authors' code: the box is filled
with their constant and the mask target is left alone; ``fill = "random"`` and ``clear_mask``
(``data.erase_fill``, ``data.erase_clears_mask``) are our variant, where the box looks like an
occluder and is background in the mask target (README, "Where we depart from the paper or the
authors' code"). Key-point heights are left as they are: APU still places the regions where the
body would be (the completion has to fill them).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ERASE_FILLS = ("mean", "random")
# The authors write (0.4914, 0.4822, 0.4465) into the ImageNet-normalised image; in pixels that is
# 255 * (mean + value * std) (tests/test_engine/test_augment.py checks it against engine.data).
AUTHORS_FILL = (152, 144, 129)


@dataclass
class Sample:
    """A clip and its labels. frames (T, H, W, 3) uint8; apu (T, 4) fractions; mask (T, h, w)."""

    frames: np.ndarray
    apu: np.ndarray | None = None
    mask: np.ndarray | None = None


def hflip(sample: Sample) -> Sample:
    """Mirror frames, masks and a4."""
    apu = None
    if sample.apu is not None:
        apu = sample.apu.copy()
        apu[:, 3] = 1.0 - apu[:, 3]
    mask = None if sample.mask is None else np.ascontiguousarray(sample.mask[:, :, ::-1])
    return Sample(np.ascontiguousarray(sample.frames[:, :, ::-1]), apu, mask)


def erase_box(
    height: int,
    width: int,
    rng: np.random.Generator,
    area: tuple[float, float] = (0.02, 0.4),
    aspect: float = 0.3,
) -> tuple[float, float, float, float] | None:
    """A random box (top, left, bottom, right) as fractions of the frame, or None after 100 tries
    (Zhong et al.: area 2-40 %, aspect ratio between 0.3 and 1 / 0.3)."""
    for _ in range(100):
        target = rng.uniform(*area) * height * width
        ratio = np.exp(rng.uniform(np.log(aspect), np.log(1 / aspect)))
        h = round(np.sqrt(target * ratio))
        w = round(np.sqrt(target / ratio))
        if 0 < h < height and 0 < w < width:
            top = int(rng.integers(0, height - h + 1))
            left = int(rng.integers(0, width - w + 1))
            return top / height, left / width, (top + h) / height, (left + w) / width
    return None


def _pixels(box: tuple[float, float, float, float], height: int, width: int) -> tuple[slice, slice]:
    top, left, bottom, right = box
    rows = slice(round(top * height), round(bottom * height))
    cols = slice(round(left * width), round(right * width))
    return rows, cols


def erase(
    sample: Sample,
    box: tuple[float, float, float, float],
    rng: np.random.Generator,
    fill: str = "mean",
    clear_mask: bool = False,
) -> Sample:
    """Paint ``box`` on every frame with the authors' constant (``mean``) or random values
    (``random``); with ``clear_mask`` the box becomes background in the masks."""
    frames = sample.frames.copy()
    rows, cols = _pixels(box, frames.shape[1], frames.shape[2])
    if fill == "random":
        patch = frames[:, rows, cols]
        frames[:, rows, cols] = rng.integers(0, 256, size=patch.shape[1:], dtype=np.uint8)
    elif fill == "mean":
        frames[:, rows, cols] = np.array(AUTHORS_FILL, dtype=np.uint8)
    else:
        raise ValueError(f"erase fill {fill!r}; choose one of {ERASE_FILLS}")
    mask = sample.mask
    if mask is not None and clear_mask:
        mask = mask.copy()
        mrows, mcols = _pixels(box, mask.shape[1], mask.shape[2])
        mask[:, mrows, mcols] = 0
    return Sample(frames, sample.apu, mask)


def augment(
    sample: Sample,
    flip: float,
    erasing: float,
    rng: np.random.Generator,
    fill: str = "mean",
    clear_mask: bool = False,
) -> Sample:
    """Flip with probability ``flip``, then erase one box with probability ``erasing`` (``fill``
    and ``clear_mask`` as in ``erase``)."""
    if rng.random() < flip:
        sample = hflip(sample)
    if rng.random() < erasing:
        box = erase_box(sample.frames.shape[1], sample.frames.shape[2], rng)
        if box is not None:
            sample = erase(sample, box, rng, fill, clear_mask)
    return sample
