"""The one small interface every pose / parsing backend implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class FrameBatch:
    """Frames to label: paths relative to the source root and the decoded BGR images; for the
    parsing backend, also the pose backend's keypoints (B, 17, 3) and its seen score.

    ``tracklets``: the tracklet of each frame, None for a frame that has no neighbours (a
    one-frame tracklet, a photo); None for the whole batch: every frame alone. A tracklet's
    frames come in order, and one may continue into the next batch: a backend that carries state
    from frame to frame (mediapipe's tracking) keeps it across batches and drops it where the
    tracklet changes, so labels do not depend on the batch size.
    """

    paths: list[str]
    images: list[np.ndarray]
    keypoints: np.ndarray | None = None
    seen_score: float = 0.5
    tracklets: list[str | None] | None = None


class PoseBackend(ABC):
    """Predicts COCO-17 keypoints (x, y, score) in the pixels of each frame."""

    name: str = "pose"
    # The score scale, for the occlusion evidence and the APU targets (calibration.py): the score
    # of a hidden point and of a plainly seen one (equal: a step), where a point counts as seen,
    # and where these numbers come from.
    score_scale: tuple[float, float] = (0.5, 0.5)
    seen_score: float = 0.5
    score_source: str = "not declared: a step at 0.5, the middle of a 0-1 score"
    # The highest confidence a tag may state before `occreid calibrate` has measured one: under
    # 0.8 unless the scores are exact (a score says nothing measured about how often it is right).
    confidence_cap: float = 0.75
    # Whether the model runs on one CPU core (then the runner labels in one process per core).
    one_core: bool = False

    @abstractmethod
    def predict(self, batch: FrameBatch) -> np.ndarray:
        """(B, 17, 3) float32; score 0 where a point is not found."""

    def describe(self) -> dict[str, Any]:
        """Name, version and settings, stored in the cache's meta.json."""
        return {"name": self.name}


class ParsingBackend(ABC):
    """Predicts a binary person mask per frame, at the cache's mask size."""

    name: str = "parsing"
    # Whether the mask is the target person's visible body (False: it covers occluders too, and
    # must teach neither the occlusion tags nor the foreground map), how far the tags trust it
    # (calibration.py; 1 = exactly, 0 = not at all), and where these come from.
    mask_is_visible_body: bool = False
    mask_weight: float = 0.0
    mask_source: str = "not declared: not the visible body"

    @abstractmethod
    def predict(
        self, batch: FrameBatch, size: tuple[int, int]
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """(B, H, W) bool masks and, where the backend can tell, persons per frame (B,)."""

    def describe(self) -> dict[str, Any]:
        return {"name": self.name}
