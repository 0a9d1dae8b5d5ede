"""`mediapipe`: offline CPU inference with the models inside the mediapipe 0.10.x wheel
(pose landmarker "full" for keypoints, selfie segmentation for the person mask); no download.

Install: ``pip install ".[mediapipe]"`` then ``pip install --no-deps mediapipe==0.10.14`` (its
declared dependencies pull jax and a clashing OpenCV). Input policy (letterbox.py): the crop is
padded to a square and scaled to 256x256; where no pose is found, the pose model tries again with
a grey margin of ``margin`` (MARGIN) around the crop. The 33 landmarks are mapped to COCO-17
order and back to frame pixels, the visibility is the score.

Persons: this backend cannot count them. The pose landmarker follows one person and selfie
segmentation merges everyone into one mask, so persons stays unknown (None, stored as 1); a
frame with a second person is tagged only by what that person hides of the first.
"""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

import cv2
import numpy as np

from occreid.common.errors import OccreidError
from occreid.pseudolabel.backends.base import FrameBatch, ParsingBackend, PoseBackend
from occreid.pseudolabel.letterbox import MARGIN, Letterbox, letterbox

INPUT = (256, 256)
# mediapipe pose landmark index of each COCO-17 keypoint
COCO_FROM_MEDIAPIPE = [0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28]


def _solutions() -> Any:
    try:
        import mediapipe as mp
    except ImportError as err:
        raise OccreidError(
            "the mediapipe backend needs mediapipe 0.10.x: "
            'pip install ".[mediapipe]" && pip install --no-deps mediapipe==0.10.14'
        ) from err
    if not hasattr(mp, "solutions"):
        raise OccreidError("mediapipe >= 1.0 ships no models; install mediapipe==0.10.14")
    return mp.solutions


class MediaPipePose(PoseBackend):
    name = "mediapipe"
    score_scale = (0.0, 1.0)
    seen_score = 0.5
    score_source = (
        "mediapipe documents a landmark's visibility as the likelihood that it is visible: "
        "read as that probability (0-1), seen at 0.5; not fitted on any crops"
    )
    confidence_cap = 0.75  # its likelihoods were never checked against people: not above 0.8

    def __init__(self, complexity: int = 1, margin: float = MARGIN) -> None:
        self.complexity = complexity
        self.margin = margin
        self.pose = _solutions().pose.Pose(static_image_mode=True, model_complexity=complexity)

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": version("mediapipe"),
            "model": "pose_landmark",
            "complexity": self.complexity,
            "input": list(INPUT),
            "margin": self.margin,
        }

    def _landmarks(self, image: np.ndarray, margin: float) -> tuple[Any, Letterbox] | None:
        """The landmarks of one crop padded by ``margin`` and its letterbox; None if no pose."""
        canvas, box = letterbox(image, INPUT, margin)
        result = self.pose.process(cv2.cvtColor(canvas, cv2.COLOR_BGR2RGB))
        return None if result.pose_landmarks is None else (result.pose_landmarks.landmark, box)

    def predict(self, batch: FrameBatch) -> np.ndarray:
        out = np.zeros((len(batch.images), 17, 3), dtype=np.float32)
        for i, image in enumerate(batch.images):
            found = self._landmarks(image, 0.0)
            if found is None and self.margin > 0:
                found = self._landmarks(image, self.margin)
            if found is None:
                continue
            lm, box = found
            xy = np.array([[lm[j].x * INPUT[1], lm[j].y * INPUT[0]] for j in COCO_FROM_MEDIAPIPE])
            out[i, :, :2] = box.points_to_frame(xy)
            out[i, :, 2] = [lm[j].visibility for j in COCO_FROM_MEDIAPIPE]
        return out


class MediaPipeParsing(ParsingBackend):
    name = "mediapipe"
    mask_is_visible_body = False
    mask_weight = 0.0
    mask_source = (
        "selfie segmentation covers occluders and other people too "
        "(measured: benchmarks/pseudolabel_quality.py)"
    )

    def __init__(self) -> None:
        self.segmenter = _solutions().selfie_segmentation.SelfieSegmentation(model_selection=0)

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": version("mediapipe"),
            "model": "selfie_segmentation",
            "input": list(INPUT),
        }

    def predict(self, batch: FrameBatch, size: tuple[int, int]) -> tuple[np.ndarray, None]:
        masks = np.zeros((len(batch.images), *size), dtype=bool)
        for i, image in enumerate(batch.images):
            canvas, box = letterbox(image, INPUT)
            result = self.segmenter.process(cv2.cvtColor(canvas, cv2.COLOR_BGR2RGB))
            masks[i] = box.mask_to(result.segmentation_mask, size)
        return masks, None
