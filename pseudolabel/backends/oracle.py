"""`oracle`: the ground truth that `occreid synth` wrote beside the frames (tests, the demo, and
the yardstick of the real backends). Visible keypoints score 1.0, labelled but hidden ones 0.5
(a pose model still guesses them), points outside the frame 0."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from occreid.common.errors import OccreidError
from occreid.pseudolabel.backends.base import FrameBatch, ParsingBackend, PoseBackend

SCORE_OF_VISIBILITY = np.array([0.0, 0.5, 1.0], dtype=np.float32)


class GroundTruth:
    """The synth ground truth of a source root, loaded once (memory-mapped)."""

    def __init__(self, root: Path) -> None:
        folder = Path(root) / "groundtruth"
        if not (folder / "index.parquet").is_file():
            raise OccreidError(
                f"{root}: no groundtruth/ beside the frames; the oracle backend (the default "
                "of --pose and --parsing) only works on `occreid synth` data; for real frames "
                "pass --pose mediapipe --parsing keypoints (the mediapipe extra: README) or the "
                "mmpose / mmseg backends"
            )
        index = pd.read_parquet(folder / "index.parquet")
        self.rows = pd.Series(index["row"].to_numpy(), index=index["path"].to_numpy())
        self.persons = index["persons"].to_numpy()
        self.keypoints = np.load(folder / "keypoints.npy", mmap_mode="r")
        self.masks = np.load(folder / "masks.npy", mmap_mode="r")

    def locate(self, paths: list[str]) -> np.ndarray:
        try:
            return self.rows.loc[paths].to_numpy()
        except KeyError as err:
            raise OccreidError(f"no ground truth for {err}; is this the synth root?") from None


class OraclePose(PoseBackend):
    name = "oracle"
    score_scale = (0.5, 1.0)
    seen_score = 0.75
    score_source = "exact: hidden points score 0.5, visible ones 1.0 (SCORE_OF_VISIBILITY)"
    confidence_cap = 1.0

    def __init__(self, root: Path) -> None:
        self.truth = GroundTruth(root)

    def predict(self, batch: FrameBatch) -> np.ndarray:
        kp = np.array(self.truth.keypoints[self.truth.locate(batch.paths)], dtype=np.float32)
        kp[..., 2] = SCORE_OF_VISIBILITY[kp[..., 2].astype(np.int64)]
        return kp


class OracleParsing(ParsingBackend):
    name = "oracle"
    mask_is_visible_body = True
    mask_weight = 1.0
    mask_source = "exact: the synth's visible mask of the target person"

    def __init__(self, root: Path) -> None:
        self.truth = GroundTruth(root)

    def predict(self, batch: FrameBatch, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        rows = self.truth.locate(batch.paths)
        full = np.unpackbits(np.asarray(self.truth.masks[rows]), axis=2).astype(np.float32)
        masks = np.stack(
            [cv2.resize(m, (size[1], size[0]), interpolation=cv2.INTER_AREA) >= 0.5 for m in full]
        )
        return masks, self.truth.persons[rows].astype(np.int8)
