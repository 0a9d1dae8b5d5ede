"""Statistics of a built dataset: the paper's Tables 1-3 (DESIGN.md, stats.json schema).

Ratios are fractions of 1. Table 1 bins tracklets by their share f of occluded frames ("0": f = 0,
"a-b": a % < f <= b %); Table 2 bins the occluded frames by their occlusion label (0 or 1 ->
"0-10", k -> "(k-1)0-k0", 8-10 -> "70-100"); Table 3 counts identities, tracklets and frames.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

TABLE1_BINS: list[str] = [
    "0",
    "0-30",
    "30-40",
    "40-50",
    "50-60",
    "60-70",
    "70-80",
    "80-90",
    "90-100",
]
TABLE1_EDGES: list[int] = [0, 30, 40, 50, 60, 70, 80, 90, 100]
TABLE2_BINS: list[str] = ["0-10", "10-20", "20-30", "30-40", "40-50", "50-60", "60-70", "70-100"]
TABLE2_BIN_OF_LABEL: np.ndarray = np.array([0, 0, 1, 2, 3, 4, 5, 6, 7, 7, 7])

# The paper's values (Tables 1-3), for side-by-side reports.
PAPER: dict[str, Any] = {
    "table1": {
        "query": [0.0, 0.0, 0.011, 0.021, 0.040, 0.084, 0.138, 0.332, 0.334],
        "gallery": [0.310, 0.243, 0.013, 0.014, 0.020, 0.036, 0.059, 0.124, 0.181],
    },
    "table2": {
        "query": [0.135, 0.111, 0.124, 0.148, 0.149, 0.156, 0.111, 0.066],
        "gallery": [0.133, 0.112, 0.123, 0.147, 0.144, 0.146, 0.112, 0.083],
    },
    "table3": {
        "train": {"ids": 702, "tracklets": 1702, "images": 292343},
        "query": {"ids": 661, "tracklets": 661, "images": 39526},
        "gallery": {"ids": 1110, "tracklets": 2636, "images": 281114},
    },
}


def table1_bin(occluded_count: np.ndarray, length: np.ndarray) -> np.ndarray:
    """Bin index per tracklet of the share occluded_count / length, exact in integers."""
    k = np.asarray(occluded_count, dtype=np.int64) * 100
    n = np.asarray(length, dtype=np.int64)
    bins = np.zeros(k.shape, dtype=np.int64)
    for i, upper in enumerate(TABLE1_EDGES[1:], start=1):
        lower = TABLE1_EDGES[i - 1]
        bins[(k > lower * n) & (k <= upper * n)] = i
    return bins


def _ratios(counts: np.ndarray) -> list[float]:
    total = counts.sum()
    return [float(c / total) if total else 0.0 for c in counts]


def table1(split: pd.DataFrame) -> list[float]:
    """Share of tracklets per bin of their fraction of occluded frames."""
    per = split.groupby("tracklet", sort=False)["occluded"].agg(["sum", "size"])
    bins = table1_bin(per["sum"].to_numpy(), per["size"].to_numpy())
    return _ratios(np.bincount(bins, minlength=len(TABLE1_BINS)))


def table2(split: pd.DataFrame) -> list[float]:
    """Share of occluded frames per occlusion-label bin."""
    labels = split.loc[split["occluded"].to_numpy(), "occlusion"].to_numpy()
    bins = TABLE2_BIN_OF_LABEL[labels.astype(np.int64)]
    return _ratios(np.bincount(bins, minlength=len(TABLE2_BINS)))


def table3(split: pd.DataFrame) -> dict[str, int]:
    """Identities, tracklets and frames of one split."""
    return {
        "ids": int(split["pid"].nunique()),
        "tracklets": int(split["tracklet"].nunique()),
        "images": len(split),
    }


def compute_stats(splits: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """stats.json content for the train/query/gallery manifests."""
    test = ("query", "gallery")
    return {
        "table1": {"bins": TABLE1_BINS, **{s: table1(splits[s]) for s in test}},
        "table2": {"bins": TABLE2_BINS, **{s: table2(splits[s]) for s in test}},
        "table3": {s: table3(splits[s]) for s in ("train", "query", "gallery")},
    }
