"""benchmarks/review_loop.py's simulated reviewer follows the review page's queue."""

from __future__ import annotations

import importlib
from pathlib import Path

import pandas as pd
import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def test_the_simulated_queue_offers_tracklets_with_unknown_frames_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As review/queue.py does: a tracklet with a frame without evidence comes before one whose
    mean confidence is lower, then the lowest mean confidence."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))  # the benchmarks import each other as scripts
    review_loop = importlib.import_module("review_loop")
    tags = pd.DataFrame(
        {
            "tracklet": ["a"] * 4 + ["b"] * 4 + ["c"] * 4,
            "confidence": [0.0, 0.95, 0.95, 0.95] + [0.6] * 4 + [0.7] * 4,
            "unknown": [True] + [False] * 11,
            "occlusion": [5, 0, 0, 0] + [0] * 8,
            "persons": 1,
        }
    )
    assert review_loop.queue_order(tags) == ["a", "b", "c"]
