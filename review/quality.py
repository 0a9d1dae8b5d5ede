"""The header's label-quality numbers: the estimated occluded yes / no accuracy of the tags nobody
has decided yet, from what the reviewers did to the tags they were shown (label_quality's
per-confidence-bin rates and tracklet bootstrap), and the agreement between the first reviewer
and a blind second one (label_quality.between_reviewers: Cohen's kappa on occluded yes / no,
label MAE, frames): the numbers build-dataset's report gives.

They are computed from the whole store (review/aggregates.py keeps its tables), so they are
kept per store state (ReviewStore.state) and recomputed only after a write
(benchmarks/review_speed.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from occreid.occdata.label_quality import (
    CONFIDENCE_EDGES,
    SPLITS,
    Frames,
    QualityOptions,
    Reviewed,
    accuracy_interval,
    between_reviewers,
)
from occreid.review.aggregates import Tables

INNER_EDGES = CONFIDENCE_EDGES[1:-1]  # a confidence's bin: how many of these it reaches


def undecided_by_bin(tracklets: pd.DataFrame) -> np.ndarray:
    """Frames nobody decided, per confidence bin (index 0: no confidence, never counted), from
    ReviewStore.tracklets(INNER_EDGES) (the counts above each edge of the tracklets not
    accepted)."""
    todo = tracklets[tracklets["accepted"] == 0]
    above = [todo["undecided"].sum()] + [
        todo[f"at_least_{i}"].sum() for i in range(len(INNER_EDGES))
    ]
    return np.concatenate([[0], -np.diff([*above, 0])]).astype(np.float64)


def quality_numbers(reviewed: pd.DataFrame, counts: np.ndarray) -> dict[str, Any]:
    """``unreviewed``: the estimated accuracy (with a 95 % interval) of the undecided frames
    counted per confidence bin in ``counts`` (undecided_by_bin), from the ``reviewed`` frames
    (ReviewStore.compared_frames); ``reviewers``: the agreement between reviewers on the frames
    reviewed twice."""
    reviewed = reviewed.assign(reviewed=1)
    frames = Frames.of({s: reviewed[reviewed["split"] == s] for s in SPLITS})
    unreviewed = {
        "frames": int(counts.sum()),
        "reviewed_tracklets": int(reviewed["tracklet"].nunique()),
        **accuracy_interval(Reviewed.of(frames), counts, QualityOptions()),
    }
    everything = np.ones(len(frames.tracklet), dtype=bool)
    return {"unreviewed": unreviewed, "reviewers": between_reviewers(frames, everything)}


@dataclass
class QualityCache:
    """The header's quality numbers, kept until the store's state changes."""

    kept: tuple[tuple[int, int], dict[str, Any]] | None = field(default=None)

    def numbers(self, tables: Tables) -> dict[str, Any]:
        """quality_numbers of ``tables`` (LiveTables.current(), read with INNER_EDGES): the
        bootstrap runs again only after a write."""
        if self.kept is None or self.kept[0] != tables.state:
            counts = undecided_by_bin(tables.tracklets)
            self.kept = (tables.state, quality_numbers(tables.compared, counts))
        return self.kept[1]
