"""`occreid tag-occlusion`: occlusion label (0-10) and person count per frame from the labels.

The expected body of a frame is its tracklet's: the 90th percentile of the person-mask area over
the tracklet's frames (a person keeps its size within a tracklet, and occluders enter and leave,
so some frames show the whole body; the area, unlike the per-row outline, does not change as the
legs swing). The hidden share of a frame is 1 - area / expected area; the label is 0 up to
``min_share`` (mask noise), else ceil(10 * share) (1 = up to 10 % hidden ... 10 = over 90 %).
A tracklet occluded the same way in nearly every frame (a parked car) under-counts: its expected
area already lacks the hidden part. Persons come from the parsing backend where it can tell,
else 1. On the toy data with oracle labels this agrees with the ground truth on 94 % of frames
(occluded yes / no), mean absolute label error 0.17 (benchmarks/pseudolabel_quality.py).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from occreid.pseudolabel.cache import LabelCache

MIN_SHARE = 0.08  # hidden share up to which a frame counts as unoccluded (mask noise)
_POPCOUNT = np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1).sum(axis=1)


def hidden_share(areas: np.ndarray, percentile: float = 90.0) -> np.ndarray:
    """Mask areas of one tracklet's frames (T,) -> hidden share per frame, in [0, 1]."""
    expected = np.percentile(areas, percentile)
    if expected <= 0:
        return np.ones(len(areas))
    return np.clip(1.0 - areas / expected, 0.0, 1.0)


def occlusion_labels(share: np.ndarray, min_share: float = MIN_SHARE) -> np.ndarray:
    """Hidden share -> label 0-10."""
    labels = np.ceil(np.clip(share, 0, 1) * 10 - 1e-9).astype(np.int16)
    return np.where(share <= min_share, 0, np.clip(labels, 1, 10))


def mask_areas(packed: np.ndarray) -> np.ndarray:
    """Person pixels per frame, counted on the packed masks (N, H * W / 8) without unpacking."""
    return _POPCOUNT[packed].sum(axis=1, dtype=np.int64).astype(np.float64)


def tag_occlusion(cache: LabelCache, min_share: float = MIN_SHARE) -> pd.DataFrame:
    """The annotation CSV (path, occlusion, persons) for every frame of the cache."""
    index = cache.index
    data = cache.gather(index["path"].tolist())
    areas, ok = mask_areas(data["mask"]), data["ok"]
    labels = np.full(len(index), 10, dtype=np.int16)  # unreadable frames: nothing seen
    for rows in index.groupby("tracklet", sort=False).indices.values():
        good = rows[ok[rows]]
        if len(good):
            labels[good] = occlusion_labels(hidden_share(areas[good]), min_share)
    persons = np.maximum(data["persons"], 1).astype(np.int16)
    return pd.DataFrame({"path": index["path"], "occlusion": labels, "persons": persons})
