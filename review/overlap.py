"""The blind second review (``--overlap SHARE``): that share of the tracklets is offered, once
someone has accepted it, to every other reviewer blind: they see the automatic proposals, not the
first reviewer's decision, and their labels are kept apart (ReviewStore.set_frames with blind /
set_blind_tracklet), so that the header and the export can say how far two reviewers agree.

Which tracklets: those whose key hashes (SHA-256 with OVERLAP_SEED) below SHARE of the hash
range; a seeded choice that does not depend on the order of review, on the other tracklets or on
the run, so a tracklet stays in or out as reviewing goes on and a larger SHARE keeps the smaller
one's tracklets.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

OVERLAP_SEED = "occreid-overlap-0"
_RANGE = 2**64


def in_overlap(keys: pd.Series, share: float) -> np.ndarray:
    """Whether each tracklet key is among the ``share`` offered to a second reviewer."""
    draw = [
        int.from_bytes(hashlib.sha256(f"{OVERLAP_SEED}:{k}".encode()).digest()[:8], "big")
        for k in keys.tolist()
    ]
    return np.asarray(draw, dtype=np.float64) < share * _RANGE


def blind_for(tracklets: pd.DataFrame, reviewer: str, share: float) -> np.ndarray:
    """Tracklets (ReviewStore.tracklets rows) that ``reviewer`` reviews blind: in the overlap
    and accepted by someone else."""
    if share <= 0:
        return np.zeros(len(tracklets), dtype=bool)
    accepted = tracklets["accepted"].astype(bool).to_numpy()
    other = (tracklets["reviewer"].fillna("") != reviewer).to_numpy()
    return accepted & other & in_overlap(tracklets["key"], share)


def blind_queue(
    tracklets: pd.DataFrame, reviewer: str, share: float, done: set[str]
) -> pd.DataFrame:
    """The queue's rows as ``reviewer`` sees them: a tracklet they review blind is theirs to
    review until they accept it (``done``), marked ``blind``, without the first review's numbers
    (its changes, its reviewer, its occluded share: what the decision made of the tags)."""
    blind = blind_for(tracklets, reviewer, share)
    out = tracklets.assign(blind=blind)
    if blind.any():
        keys = out.loc[blind, "key"]
        out.loc[blind, "accepted"] = keys.isin(done).astype(int).to_numpy()
        out.loc[blind, ["changed", "occluded"]] = np.nan
        out.loc[blind, "reviewer"] = None
    return out
