"""`mediapipe`: offline CPU inference with the models inside the mediapipe 0.10.x wheel
(pose landmarker "full" for keypoints, selfie segmentation for the person mask); no download.

Install: ``pip install ".[mediapipe]"`` then ``pip install --no-deps mediapipe==0.10.14`` (its
declared dependencies pull jax and a clashing OpenCV). Input policy (letterbox.py): the crop is
padded to a square and scaled to 256x256; where no pose is found, the pose model tries again with
a grey margin of ``margin`` (MARGIN) around the crop. The 33 landmarks are mapped to COCO-17
order and back to frame pixels, the visibility is the score.

Tracking (``tracking=True``): the frames of a tracklet are consecutive video frames, so they go
through mediapipe's video mode, where the landmark model reads the region of the previous frame's
landmarks and the person detector runs only where that track is lost (frames/s:
benchmarks/pseudolabel_speed.py). The track is dropped where the tracklet changes
(FrameBatch.tracklets), so a tracklet's labels depend on its own frames only: not on the batch
size, the shard's other tracklets, a resumed run or which process labels it. Smoothing across
frames is off: with it, mediapipe low-pass filters the visibility (the score read as occlusion
evidence) over about ten frames, so an occluder would be seen late and a frame's points would be
partly its neighbours'. A one-frame tracklet (a photo) goes through image mode, where the
detector runs on every frame. The retry with a margin runs in image mode too (its landmarks are
in the margin's coordinates, not the next frame's). In a tracklet, after RETRY_MISSES retries in
a row found nothing, its next frames are not retried until a pose is found again: they are
near-duplicates of the frames just retried, and the video mode's own detector still runs on each
of them, so it picks the person up where they come back. On the toy (24 identities) this keeps 53
of the 64 poses the retry finds at half its cost (138 retries instead of 280, about 7 % of the
labelling time); on the MOT17 dev crops 20 of 21 at 75 retries instead of 121
(benchmarks/retry_policy.py).

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
from occreid.pseudolabel.backends.native_log import quiet_native_logs
from occreid.pseudolabel.letterbox import MARGIN, PAD_VALUE, Letterbox, letterbox

INPUT = (256, 256)
TRACKING = True  # the frames of a tracklet read as a video (see above)
RETRY_MISSES = 3  # retries in a row that find nothing before a tracklet's retries stop (above)
BLANK = np.full((*INPUT, 3), PAD_VALUE, dtype=np.uint8)  # a frame with no one in it
# mediapipe pose landmark index of each COCO-17 keypoint
COCO_FROM_MEDIAPIPE = [0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28]


def _solutions() -> Any:
    quiet_native_logs()  # before mediapipe builds a graph: its C++ logs go to fd 2
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
    one_core = True  # one graph runs its models one after the other on one core

    def __init__(
        self,
        complexity: int = 1,
        margin: float = MARGIN,
        tracking: bool = TRACKING,
        retry_misses: int | None = RETRY_MISSES,  # None: every miss retried (as before)
    ) -> None:
        self.complexity = complexity
        self.margin = margin
        self.tracking = tracking
        self.retry_misses = retry_misses
        pose = _solutions().pose.Pose
        self.still = pose(static_image_mode=True, model_complexity=complexity)
        self.track = pose(
            static_image_mode=False, model_complexity=complexity, smooth_landmarks=False
        )
        self._tracklet: str | None = None  # the tracklet the tracking graph saw last
        self._holding = False  # whether it carries a pose into its next frame
        self._misses = 0  # retries in a row in this tracklet that found nothing

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": version("mediapipe"),
            "model": "pose_landmark",
            "complexity": self.complexity,
            "input": list(INPUT),
            "margin": self.margin,
            "tracking": self.tracking,
            "retry_misses": self.retry_misses,
        }

    def _landmarks(
        self, graph: Any, image: np.ndarray, margin: float
    ) -> tuple[Any, Letterbox] | None:
        """The landmarks of one crop padded by ``margin`` and its letterbox; None if no pose."""
        canvas, box = letterbox(image, INPUT, margin)
        result = graph.process(cv2.cvtColor(canvas, cv2.COLOR_BGR2RGB))
        return None if result.pose_landmarks is None else (result.pose_landmarks.landmark, box)

    def _drop_track(self) -> None:
        """Make the tracking graph start afresh: a blank frame loses the pose it holds (the next
        frame then runs the detector, as on a new graph); reset() restarts the whole graph and
        costs a model set-up, so it is the fall-back only."""
        if self._holding and self.track.process(BLANK).pose_landmarks is not None:
            self.track.reset()
        self._holding = False

    def _tracked(self, image: np.ndarray, tracklet: str) -> tuple[Any, Letterbox] | None:
        """One frame of a tracklet in video mode; the track is dropped where the tracklet
        changes."""
        if tracklet != self._tracklet:
            self._drop_track()
            self._tracklet = tracklet
            self._misses = 0
        found = self._landmarks(self.track, image, 0.0)
        self._holding = found is not None
        return found

    def _find(self, image: np.ndarray, tracklet: str | None) -> tuple[Any, Letterbox] | None:
        """The crop as it is (video mode within a tracklet), then the retry with a margin unless
        this tracklet's last ``retry_misses`` retries found nothing (module docstring)."""
        if self.tracking and tracklet is not None:
            found = self._tracked(image, tracklet)
            may_retry = self.retry_misses is None or self._misses < self.retry_misses
        else:
            found = self._landmarks(self.still, image, 0.0)
            may_retry = True
        if found is None and self.margin > 0 and may_retry:
            found = self._landmarks(self.still, image, self.margin)
            self._misses += found is None
        if found is not None:
            self._misses = 0
        return found

    def predict(self, batch: FrameBatch) -> np.ndarray:
        out = np.zeros((len(batch.images), 17, 3), dtype=np.float32)
        tracklets = batch.tracklets or [None] * len(batch.images)
        for i, (image, tracklet) in enumerate(zip(batch.images, tracklets, strict=True)):
            found = self._find(image, tracklet)
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
