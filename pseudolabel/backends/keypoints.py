"""`keypoints`: the person mask that the pose backend's seen key points support, with no model.

For a pose backend without a parsing model whose mask is the target's visible body (mediapipe:
its selfie mask covers occluders, so it would teach the foreground map to keep them): each seen
limb, the torso where its four corners are seen, the head and the feet, drawn with adult
proportions (silhouette.py). It is what the key points say and nothing more, so the occlusion
tags do not read it (mask_weight 0: no evidence beyond the key points); it is the training mask
target. Chosen over the selfie mask by measurement on the toy data (README, tag-occlusion).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from occreid.common.errors import OccreidError
from occreid.pseudolabel.backends.base import FrameBatch, ParsingBackend
from occreid.pseudolabel.silhouette import silhouette


class KeypointParsing(ParsingBackend):
    name = "keypoints"
    mask_is_visible_body = True
    mask_weight = 0.0
    mask_source = "drawn from the seen key points: the visible body as far as they say, no more"

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "model": "none: drawn from the seen key points"}

    def predict(self, batch: FrameBatch, size: tuple[int, int]) -> tuple[np.ndarray, None]:
        if batch.keypoints is None:
            raise OccreidError("the keypoints parsing backend needs the pose backend's keypoints")
        masks = np.zeros((len(batch.images), *size), dtype=bool)
        for i, (image, kp) in enumerate(zip(batch.images, batch.keypoints, strict=True)):
            seen = kp[:, 2] >= batch.seen_score
            if seen.any():
                masks[i] = silhouette(kp, image.shape[:2], size, seen)
        return masks, None
