"""The blind second review (--overlap): a seeded, stable share of tracklets; a second reviewer
sees the proposals, not the first decision; their labels are kept apart; the header, the export
and build-dataset's label-quality section report the agreement between the reviewers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score

from occreid.common.errors import OccreidError
from occreid.review.export import export
from occreid.review.options import ReviewOptions
from occreid.review.overlap import in_overlap
from occreid.review.session import open_session


def test_the_overlap_is_a_seeded_stable_share_of_tracklets() -> None:
    keys = pd.Series([f"query/{i:04d}/0001" for i in range(4000)])
    half = in_overlap(keys, 0.5)
    assert abs(half.mean() - 0.5) < 0.03
    assert (in_overlap(keys[::-1], 0.5)[::-1] == half).all()  # not the order of review
    tenth = in_overlap(keys, 0.1)
    assert abs(tenth.mean() - 0.1) < 0.02 and not (tenth & ~half).any()  # nested
    assert not in_overlap(keys, 0.0).any() and in_overlap(keys, 1.0).all()


def test_overlap_must_be_a_share(review_source: Path, tags: Path) -> None:
    with pytest.raises(OccreidError, match=r"--overlap 1\.5"):
        open_session(ReviewOptions(source=review_source, annotations=tags, overlap=1.5), "a")


def _label(page: Any, key: str, occluded: list[int]) -> None:
    """Every frame persons 1; occlusion 5 where ``occluded``, else 0; then accept."""
    n = len(occluded)
    page.write("/api/frames", key=key, first=0, last=n - 1, field="persons", value=1)
    page.write("/api/frames", key=key, first=0, last=n - 1, field="occlusion", value=0)
    for i in np.flatnonzero(occluded):
        page.write("/api/frames", key=key, first=int(i), last=int(i), field="occlusion", value=5)
    assert page.write("/api/tracklet", key=key, field="accepted", value=1).is_success


def test_a_second_reviewer_labels_blind_apart_and_the_agreement_is_reported(
    review_source: Path, tags: Path, open_page: Any, tmp_path: Path
) -> None:
    opts = ReviewOptions(source=review_source, annotations=tags, overlap=1.0)
    ann = open_page(open_session(opts, "ann")[0], "page-ann1")
    bob_ctx = open_session(opts, "bob")[0]
    bob = open_page(bob_ctx, "page-bob1")
    key = ann.first_key()
    shown = ann.get("/api/tracklet", params={"key": key}).json()["frame_rows"]
    n = len(shown)
    first = [1, 1] + [0] * (n - 2)
    second = [1, 0] + [0] * (n - 3) + [1]
    assert bob.get("/api/tracklet", params={"key": key}).json()["blind"] is False  # not yet
    _label(ann, key, first)
    seen = bob.get("/api/tracklet", params={"key": key}).json()
    assert seen["blind"] is True and seen["accepted"] == 0
    assert [f["occlusion"] for f in seen["frame_rows"]] == [f["occlusion"] for f in shown]
    item = next(i for i in bob.get("/api/queue").json()["items"] if i["key"] == key)
    assert item["blind"] and item["accepted"] == 0 and item["changed"] is None
    _label(bob, key, second)
    assert bob.get("/api/tracklet", params={"key": key}).json()["accepted"] == 1
    mine = ann.get("/api/tracklet", params={"key": key}).json()
    assert [int(f["occlusion"] >= 1) for f in mine["frame_rows"]] == first  # never overwritten
    assert mine["blind"] is False and mine["reviewer"] == "ann"
    kappa = cohen_kappa_score(first, second)
    header = ann.get("/api/summary").json()["reviewers"]
    assert header["frames"] == n and header["kappa"] == pytest.approx(kappa)
    assert header["label_mae"] == pytest.approx(np.mean(np.abs(np.subtract(first, second))) * 5)

    out = tmp_path / "reviewed.csv"
    done = export(bob_ctx.store, out)
    assert done["reviewers"]["kappa"] == pytest.approx(kappa)
    table = pd.read_csv(out)
    mine_rows = table[table["path"].isin({f["path"] for f in shown})].set_index("path")
    by_path = {f["path"]: f for f in shown}
    assert (mine_rows["occlusion_2"] == [5 * s for s in second]).all()
    assert (mine_rows["auto_occlusion"] == [by_path[p]["occlusion"] for p in mine_rows.index]).all()
    assert table.loc[table["reviewed"] == 0, ["auto_occlusion", "occlusion_2"]].isna().all().all()

    from occreid.occdata.build import BuildOptions, build_dataset

    ds = tmp_path / "ds"
    build_dataset(BuildOptions(source=review_source, out=ds, annotations=out))
    quality = json.loads((ds / "reports" / "label_quality.json").read_text())["splits"]
    both = [q["between_reviewers"] for q in quality.values() if q["between_reviewers"]["frames"]]
    assert len(both) == 1 and both[0]["frames"] == n and both[0]["kappa"] == pytest.approx(kappa)
    versus = [q["auto_vs_reviewers"] for q in quality.values() if q["auto_vs_reviewers"]["frames"]]
    assert sum(v["frames"] for v in versus) == n
