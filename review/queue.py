"""The order in which tracklets are offered for review, and the numbers of the page's header.

Most needed first: tracklets not yet reviewed; then those with frames that have no evidence
("unknown", confidence 0); then the highest expected disagreement, the share of frames whose tag
a reviewer is expected to change, mean(1 - confidence) (after calibration a tag's confidence is
the chance that it is right; a frame without a confidence, hand-made, counts as sure: 1); then
the occluded fraction nearest the 1/3 that decides whether a tracklet can give a query (paper
5.1); ties by key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from occreid.occdata.stats import PAPER, TABLE1_BINS, TABLE2_BINS, table1, table2

QUERY_SHARE = 1 / 3  # a query sub-tracklet needs more than this share of occluded frames


@dataclass(frozen=True, kw_only=True)
class QueueFilter:
    """What the queue shows: None = any."""

    split: str | None = None
    camid: int | None = None
    pid: int | None = None
    reviewed: bool | None = None


def order_queue(tracklets: pd.DataFrame, where: QueueFilter = QueueFilter()) -> pd.DataFrame:
    """``tracklets`` (ReviewStore.tracklets) filtered and sorted by need."""
    keep = np.ones(len(tracklets), dtype=bool)
    for column, value in (("split", where.split), ("camid", where.camid), ("pid", where.pid)):
        if value is not None:
            keep &= (tracklets[column] == value).to_numpy()
    if where.reviewed is not None:
        keep &= (tracklets["accepted"].astype(bool) == where.reviewed).to_numpy()
    out = tracklets[keep].assign(
        disagreement=expected_disagreement(tracklets[keep]),
        _known=tracklets["unknown"] == 0 if "unknown" in tracklets else True,
        _near=(tracklets["occluded"] - QUERY_SHARE).abs(),
    )
    out = out.sort_values(
        ["accepted", "_known", "disagreement", "_near", "key"],
        ascending=[True, True, False, True, True],
        kind="stable",
    )
    return out.drop(columns=["_known", "_near"]).reset_index(drop=True)


def expected_disagreement(tracklets: pd.DataFrame) -> pd.Series:
    """The expected share of a tracklet's frames whose tag a reviewer would change: mean(1 -
    confidence) (``confidence`` is the tracklet's mean; hand-made frames count as sure)."""
    return 1.0 - tracklets["confidence"].fillna(1.0)


def header(tracklets: pd.DataFrame, reviewed: pd.DataFrame) -> dict[str, Any]:
    """Progress (tracklets reviewed / total, frames changed) and Tables 1-2 over the frames of
    the reviewed query and gallery tracklets of the source, beside the paper's."""
    tables: dict[str, Any] = {"table1": {"bins": TABLE1_BINS}, "table2": {"bins": TABLE2_BINS}}
    for split in ("query", "gallery"):
        part = reviewed[reviewed["split"] == split].assign(
            occluded=lambda f: (f["occlusion"] >= 1) | (f["persons"] > 1)
        )
        has = len(part) > 0
        tables["table1"][split] = table1(part) if has else None
        tables["table2"][split] = table2(part) if has and part["occluded"].any() else None
        for table in ("table1", "table2"):
            tables[table][f"paper_{split}"] = PAPER[table][split]
    return {
        "tracklets": len(tracklets),
        "reviewed": int(tracklets["accepted"].sum()),
        "frames_changed": int(tracklets["changed"].sum()),
        "excluded": int(tracklets["exclude"].sum()),
        **tables,
    }
