"""What the page's header and queue are computed from, kept in memory between writes.

The queue and the header read per-tracklet aggregates of every frame (ReviewStore.tracklets) and
the frames of the accepted tracklets (ReviewStore.frames, compared_frames): at DukeMTMC-VideoReID's
size each is a pass over 927k rows, and the page asks for them after every decision. A decision
touches one tracklet, so after one only the rows of the tracklets written since the last read
are read again and replaced (ReviewStore.touched_since); a new proposal set (a re-tag, a changed
CSV) or a change in the blind columns reads everything again (benchmarks/review_speed.py).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import pandas as pd

from occreid.review.store import ReviewStore

FULL_READ_AT = 500  # tracklets touched since the last read: from here one full read is cheaper


@dataclass(frozen=True)
class Tables:
    """The store's state they were read at, the per-tracklet aggregates (with the counts above
    ``edges``), the reviewed frames (the header's tables) and the compared frames (its
    quality numbers)."""

    state: tuple[int, int]
    tracklets: pd.DataFrame  # ReviewStore.tracklets(edges)
    reviewed: pd.DataFrame
    compared: pd.DataFrame


@dataclass
class LiveTables:
    """The Tables of one store, patched per tracklet after each write (one reader at a time:
    the page asks for the queue and the header together)."""

    store: ReviewStore
    edges: tuple[float, ...]
    kept: Tables | None = field(default=None)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def current(self) -> Tables:
        """The tables as the store is now."""
        with self.lock:
            return self._current()

    def _current(self) -> Tables:
        state = self.store.state()
        kept = self.kept
        if kept is not None and kept.state == state:
            return kept
        touched = None
        if kept is not None and kept.state[1] == state[1]:
            touched = sorted(self.store.touched_since(kept.state[0]))
            if len(touched) >= FULL_READ_AT:
                touched = None
        self.kept = self._read(state) if touched is None else self._patch(kept, state, touched)
        return self.kept

    def _read(self, state: tuple[int, int]) -> Tables:
        store = self.store
        return Tables(
            state,
            _sorted(store.tracklets(self.edges), "key"),
            _sorted(store.frames(reviewed_only=True), "path"),
            _sorted(store.compared_frames(), "tracklet"),
        )

    def _patch(self, kept: Tables | None, state: tuple[int, int], keys: list[str]) -> Tables:
        """``kept`` with the rows of tracklets ``keys`` read again (everything where the
        compared frames' columns changed: a first or last blind review)."""
        assert kept is not None
        store = self.store
        compared = store.compared_frames(keys)
        if list(compared.columns) != list(kept.compared.columns):
            return self._read(state)
        return Tables(
            state,
            _replace(kept.tracklets, store.tracklets(self.edges, keys), "key", keys, "key"),
            _replace(kept.reviewed, store.frames(True, keys), "tracklet", keys, "path"),
            _replace(kept.compared, compared, "tracklet", keys, "tracklet"),
        )


def _replace(
    old: pd.DataFrame, new: pd.DataFrame, column: str, keys: list[str], order: str
) -> pd.DataFrame:
    """``old`` without the rows whose ``column`` is in ``keys``, plus ``new``, in the order
    ``_sorted`` gives a full read."""
    kept = old[~old[column].isin(keys)]
    if not len(new) or not len(kept):
        return _sorted(new if len(new) else kept, order)
    return _sorted(pd.concat([kept, new], ignore_index=True), order)


def _sorted(table: pd.DataFrame, by: str) -> pd.DataFrame:
    """``table`` sorted by ``by``, stable (a tracklet's frames keep their order), so that a
    patched table equals a full read."""
    return table.infer_objects().sort_values(by, kind="stable").reset_index(drop=True)


def count_columns(tracklets: pd.DataFrame) -> list[str]:
    """The columns of ReviewStore.tracklets(edges) that only the header's estimate reads."""
    return [c for c in tracklets.columns if c == "undecided" or c.startswith("at_least_")]
