"""The one small interface every pose / parsing backend implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class FrameBatch:
    """Frames to label: paths relative to the source root and the decoded BGR images."""

    paths: list[str]
    images: list[np.ndarray]


class PoseBackend(ABC):
    """Predicts COCO-17 keypoints (x, y, score) in the pixels of each frame."""

    name: str = "pose"

    @abstractmethod
    def predict(self, batch: FrameBatch) -> np.ndarray:
        """(B, 17, 3) float32; score 0 where a point is not found."""

    def describe(self) -> dict[str, Any]:
        """Name, version and settings, stored in the cache's meta.json."""
        return {"name": self.name}


class ParsingBackend(ABC):
    """Predicts a binary person mask per frame, at the cache's mask size."""

    name: str = "parsing"
    # How far the mask is the target person's visible body, for the occlusion tags (tagging.py):
    # 1 = exactly, 0 = not at all (it covers occluders or other people too).
    mask_weight: float = 0.0

    @abstractmethod
    def predict(
        self, batch: FrameBatch, size: tuple[int, int]
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """(B, H, W) bool masks and, where the backend can tell, persons per frame (B,)."""

    def describe(self) -> dict[str, Any]:
        return {"name": self.name}
