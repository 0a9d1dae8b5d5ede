"""A small synth source with a tag CSV (with confidence) for the review app's tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from occreid.occdata.synth import SynthConfig, synthesize
from occreid.review.options import ReviewOptions
from occreid.review.session import open_session

SMALL = SynthConfig(ids=4, distractors=1, min_frames=5, max_frames=9, seed=11)


@pytest.fixture(scope="session")
def review_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("review") / "source"
    synthesize(dest, SMALL)
    return dest


@pytest.fixture
def tags(review_source: Path, tmp_path: Path) -> Path:
    """The synth annotations with a confidence per tracklet (0.1, 0.2, ... by tracklet order)."""
    table = pd.read_csv(review_source / "annotations.csv")
    tracklet = table["path"].str.rsplit("/", n=1).str[0]
    rank = tracklet.rank(method="dense").astype(int)
    table["confidence"] = np.round((rank % 9 + 1) / 10, 1)
    out = tmp_path / "tags.csv"
    table.to_csv(out, index=False)
    return out


@pytest.fixture
def session(review_source: Path, tags: Path):
    return open_session(ReviewOptions(source=review_source, annotations=tags), "ann")
