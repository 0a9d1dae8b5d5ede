"""Which frames of a tracklet make a clip: training draws, test cuts (authors-code-facts, TCLNet).

Training (``train_clip``): ``length`` frames ``stride`` apart when the tracklet has at least
``length * stride`` frames, from a start drawn in [0, n - (length - 1) * stride - 1], so that every
frame can be drawn (a 32-frame chunk has 8 starts for 4 frames at stride 8); else ``length`` sorted
distinct random frames when it has that many; else sorted random frames with repeats. Training
tracklets are sampled in chunks (``chunk_ranges``): 32-frame pieces, the remainder appended to the
last one, as TCLNet cuts them. Test (``eval_clips``): the whole tracklet cut into consecutive clips
of ``length``, the last clip loop-padded with its own frames.
"""

from __future__ import annotations

import numpy as np


def train_clip(n: int, length: int, stride: int, rng: np.random.Generator) -> np.ndarray:
    """Indices (length,) into a tracklet of ``n`` frames."""
    if n < 1:
        raise ValueError("a tracklet has at least one frame")
    if n >= length * stride:
        last_start = n - (length - 1) * stride - 1
        start = int(rng.integers(0, last_start + 1))
        return start + stride * np.arange(length)
    if n >= length:
        return np.sort(rng.choice(n, size=length, replace=False))
    return np.sort(rng.choice(n, size=length, replace=True))


def eval_clips(n: int, length: int) -> list[np.ndarray]:
    """Consecutive clips covering frames 0..n-1; the last one wraps around its own frames."""
    clips = []
    for start in range(0, n, length):
        frames = np.arange(start, min(start + length, n))
        if len(frames) < length:
            frames = np.resize(frames, length)  # loop-pad: 60, 61, 62, 60, 61, ...
        clips.append(frames)
    return clips


def chunk_ranges(n: int, chunk: int) -> list[tuple[int, int]]:
    """Cut a tracklet of n frames into [start, stop) chunks of ``chunk`` frames (0: one chunk).

    The remainder joins the last chunk (which then holds chunk to 2 * chunk - 1 frames), as TCLNet
    does, so every unit is sampled with the stride.
    """
    if chunk <= 0 or n < 2 * chunk:
        return [(0, n)]
    starts = list(range(0, n - n % chunk, chunk))
    stops = [*starts[1:], n]
    return list(zip(starts, stops, strict=True))
