"""Which frames of a tracklet make a clip: training draws, test cuts (authors-code-facts, TCLNet).

Training (``train_clip``): ``length`` frames ``stride`` apart from a random start when the tracklet
spans them (n >= length * stride); else ``length`` sorted distinct random frames when it has that
many; else sorted random frames with repeats. Test (``eval_clips``): the whole tracklet cut into
consecutive clips of ``length``, the last clip loop-padded with its own frames.
"""

from __future__ import annotations

import numpy as np


def train_clip(n: int, length: int, stride: int, rng: np.random.Generator) -> np.ndarray:
    """Indices (length,) into a tracklet of ``n`` frames."""
    if n < 1:
        raise ValueError("a tracklet has at least one frame")
    span = length * stride
    if n >= span:
        start = int(rng.integers(0, n - span + 1))
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

    A remainder shorter than half a chunk joins the chunk before it, so no unit is tiny.
    """
    if chunk <= 0 or n <= chunk:
        return [(0, n)]
    starts = list(range(0, n, chunk))
    if n - starts[-1] < chunk // 2:
        starts.pop()
    stops = [*starts[1:], n]
    return list(zip(starts, stops, strict=True))
