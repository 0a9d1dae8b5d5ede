"""The header's label-quality numbers: the estimated occluded yes / no accuracy of the tags nobody
has decided yet, from what the reviewers did to the tags they were shown (label_quality's
per-confidence-bin rates and tracklet bootstrap), and the agreement between the first reviewer
and a blind second one (label_quality.between_reviewers: Cohen's kappa on occluded yes / no,
label MAE, frames): the numbers build-dataset's report gives.

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
    between_reviewers,
    confidence_bin,
)
from occreid.review.store import ReviewStore


def quality_numbers(reviewed: pd.DataFrame, todo: pd.DataFrame) -> dict[str, Any]:
    """``unreviewed``: the estimated accuracy (with a 95 % interval) of the undecided frames
    counted per confidence in ``todo``, from the ``reviewed`` frames; ``reviewers``: the
    agreement between reviewers on the frames reviewed twice (ReviewStore.compared_frames)."""
    reviewed = reviewed.assign(reviewed=1)
    frames = Frames.of({s: reviewed[reviewed["split"] == s] for s in SPLITS})
    conf = todo["confidence"].to_numpy(np.float64)
    counts = np.bincount(confidence_bin(conf) + 1, weights=todo["frames"], minlength=N_BINS)
    unreviewed = {
        "frames": int(todo["frames"].sum()),
        "reviewed_tracklets": int(reviewed["tracklet"].nunique()),
        **accuracy_interval(Reviewed.of(frames), counts, QualityOptions()),
    }
    everything = np.ones(len(frames.tracklet), dtype=bool)
    return {"unreviewed": unreviewed, "reviewers": between_reviewers(frames, everything)}


@dataclass
class QualityCache:
    """The header's quality numbers of one store, kept until its state changes."""

    store: ReviewStore
    kept: tuple[tuple[int, int], dict[str, Any]] | None = field(default=None)

    def numbers(self) -> dict[str, Any]:
        state = self.store.state()
        if self.kept is None or self.kept[0] != state:
            self.kept = (state, quality_numbers(*self.store.compared_frames()))
        return self.kept[1]
