"""The header's label-quality numbers: the estimated occluded yes / no accuracy of the tags nobody
has decided yet, from what the reviewers did to the tags they were shown (label_quality's
per-confidence-bin rates and tracklet bootstrap, the numbers build-dataset's report gives).

They are computed from the whole store, so they are kept per store state (ReviewStore.state)
and recomputed only after a write (benchmarks/review_speed.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from occreid.occdata.label_quality import (
    N_BINS,
    SPLITS,
    Frames,
    QualityOptions,
    Reviewed,
    accuracy_interval,
    confidence_bin,
)
from occreid.review.store import ReviewStore


def unreviewed_accuracy(reviewed: pd.DataFrame, todo: pd.DataFrame) -> dict[str, Any]:
    """Estimated accuracy (with a 95 % interval) of the undecided frames counted per confidence
    in ``todo``, from the ``reviewed`` frames (ReviewStore.compared_frames)."""
    reviewed = reviewed.assign(reviewed=1)
    frames = Frames.of({s: reviewed[reviewed["split"] == s] for s in SPLITS})
    conf = todo["confidence"].to_numpy(np.float64)
    counts = np.bincount(confidence_bin(conf) + 1, weights=todo["frames"], minlength=N_BINS)
    return {
        "frames": int(todo["frames"].sum()),
        "reviewed_tracklets": int(reviewed["tracklet"].nunique()),
        **accuracy_interval(Reviewed.of(frames), counts, QualityOptions()),
    }


@dataclass
class QualityCache:
    """The header's quality numbers of one store, kept until its state changes."""

    store: ReviewStore
    kept: tuple[tuple[int, int], dict[str, Any]] | None = field(default=None)

    def numbers(self) -> dict[str, Any]:
        state = self.store.state()
        if self.kept is None or self.kept[0] != state:
            self.kept = (state, unreviewed_accuracy(*self.store.compared_frames()))
        return self.kept[1]
