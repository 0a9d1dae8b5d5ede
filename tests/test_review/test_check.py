"""After a re-tag the frames nobody decided carry the re-tag's tags: the header's estimate of their
accuracy compares the reviewers with the re-tag's own tags of the reviewed frames (its check:
out of fold), not with the tags the reviewers were shown; the export carries the check. A
check beside the CSV is kept for the source's own frames only, and says so where it names
others."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from occreid.occdata.annotations import is_occluded
from occreid.review.export import export
from occreid.review.options import ReviewOptions
from occreid.review.session import open_session
from occreid.review.store import ReviewStore

WHO = ("ann", "test")


def _review(store: ReviewStore, key: str, truth: pd.DataFrame) -> None:
    """Label tracklet ``key`` as ``truth`` (path -> occlusion, persons) says, then accept it."""
    found = store.tracklet(key)
    rows, version = found["frame_rows"], found["version"]
    for field in ("occlusion", "persons"):
        values = truth.loc[[r["path"] for r in rows], field].astype(int).tolist()
        start = 0
        for end in range(1, len(rows) + 1):  # runs of one value, one write each
            if end < len(rows) and values[end] == values[start]:
                continue
            span = (rows[start]["frame"], rows[end - 1]["frame"])
            version = store.set_frames(key, span, field, values[start], WHO, version)["version"]
            start = end
    store.set_tracklet(key, "accepted", 1, WHO, version)


def _true_accuracy(store: ReviewStore, truth: pd.DataFrame) -> float:
    """Occluded yes / no accuracy of the undecided frames' tags against the ground truth."""
    frames = store.frames()
    todo = frames[frames["accepted"] == 0]
    real = truth.loc[todo["path"]]
    tagged = is_occluded(todo["occlusion"].to_numpy(), todo["persons"].to_numpy())
    return float((tagged == is_occluded(real["occlusion"], real["persons"])).mean())


def _holds(unreviewed: dict[str, Any], value: float) -> bool:
    low, high = unreviewed["interval"]
    return bool(low <= value <= high)


def test_after_a_re_tag_the_header_s_interval_holds_the_new_tags_true_accuracy(
    squeezed: tuple[Path, Path], tmp_path: Path, open_page: Any
) -> None:
    from occreid.pseudolabel.cache import LabelCache
    from occreid.pseudolabel.tagging import tag_occlusion

    source, labels = squeezed
    csv = tmp_path / "tags.csv"
    tag_occlusion(LabelCache(labels)).to_csv(csv, index=False)  # the squeezed defaults' tags
    truth = pd.read_csv(source / "annotations.csv").set_index("path")
    ctx = open_session(ReviewOptions(source=source, annotations=csv, labels=labels), "ann")[0]
    page = open_page(ctx)
    keys = sorted(ctx.store.tracklets()["key"])
    for key in np.random.default_rng(0).permutation(keys)[:12]:
        _review(ctx.store, str(key), truth)
    before = page.get("/api/summary").json()["unreviewed"]
    assert _holds(before, _true_accuracy(ctx.store, truth))  # the shown tags' own accuracy
    out = page.write("/api/retag").json()
    assert out["used_fit"] is True and out["retagged"] > 0, out
    true = _true_accuracy(ctx.store, truth)
    after = page.get("/api/summary").json()["unreviewed"]
    assert true > 0.95 and before["interval"][1] < true  # the shown tags' rates say 0.80
    assert _holds(after, true), (after, true)


def test_the_check_is_the_reference_of_the_frames_in_it_and_only_there(
    review_source: Path, tags: Path, tmp_path: Path, open_page: Any
) -> None:
    ctx = open_session(ReviewOptions(source=review_source, annotations=tags), "ann")[0]
    page = open_page(ctx)
    first, later = (item["key"] for item in page.get("/api/queue").json()["items"][:2])
    assert page.write("/api/tracklet", key=first, field="accepted", value=1).is_success
    plain = pd.read_csv(export(ctx.store, tmp_path / "plain.csv")["csv"])
    assert not any(c.startswith("check_") for c in plain.columns)  # no re-tag, no check
    frames = ctx.store.frames()
    shown = frames.loc[frames["tracklet"] == first, "occlusion"].to_numpy()
    check = frames.loc[frames["tracklet"] == first, ["path"]].assign(
        occlusion=9, persons=2, confidence=0.123
    )
    new = frames[["path"]].assign(occlusion=3, persons=1, confidence=0.777)
    retag = tmp_path / "tags.csv.review.sqlite.retag-2.calibration.json"
    retag.write_text("{}")
    ctx.store.repropose(new, lambda _: retag, check)
    # decided after the re-tag: in no check, shown the re-tag's tags
    assert page.write("/api/tracklet", key=later, field="accepted", value=1).is_success
    compared = ctx.store.compared_frames()
    mine, theirs = compared[compared["tracklet"] == first], compared[compared["tracklet"] == later]
    assert (mine["auto_occlusion"].to_numpy() == shown).all()  # what was shown stays
    assert (mine["check_occlusion"] == 9).all() and (mine["check_persons"] == 2).all()
    assert mine["check_confidence"].to_numpy() == pytest.approx(0.123)
    assert theirs["check_occlusion"].isna().all() and (theirs["auto_occlusion"] == 3).all()
    out = pd.read_csv(export(ctx.store, tmp_path / "out.csv")["csv"])
    tracklet = out["path"].str.rsplit("/", n=1).str[0]
    ours = out[tracklet == first]
    assert (ours["check_occlusion"] == 9).all() and (ours["check_persons"] == 2).all()
    assert ours["check_confidence"].to_numpy() == pytest.approx(0.123)
    others = out[tracklet != first]
    assert others[["check_occlusion", "check_persons", "check_confidence"]].isna().all().all()
    assert (out.loc[tracklet == later, "auto_occlusion"] == 3).all()


def _accepted_first(opts: ReviewOptions, open_page: Any) -> tuple[Any, pd.DataFrame]:
    """(the session, a check of the first tracklet, accepted: label 9, 2 persons)."""
    ctx = open_session(opts, "ann")[0]
    first = open_page(ctx).first_key()
    assert open_page(ctx).write("/api/tracklet", key=first, field="accepted", value=1).is_success
    frames = ctx.store.frames()
    check = frames.loc[frames["tracklet"] == first, ["path"]].assign(
        occlusion=9, persons=2, confidence=0.5
    )
    return ctx, check


def _tag_again(tags: Path) -> None:
    """The CSV tagged again: every label moves."""
    table = pd.read_csv(tags)
    table["occlusion"] = (table["occlusion"] + 1) % 11
    table.to_csv(tags, index=False)


def test_a_csv_s_calibration_check_is_kept_with_its_proposals(
    review_source: Path, tags: Path, open_page: Any
) -> None:
    from occreid.pseudolabel.calibration import default_calibration, tags_calibration
    from occreid.pseudolabel.calibration_check import save_check

    opts = ReviewOptions(source=review_source, annotations=tags)
    _, check = _accepted_first(opts, open_page)
    _tag_again(tags)  # `occreid calibrate`, then tag-occlusion into the same CSV
    default_calibration("x", "y").save(tags_calibration(tags))
    save_check(tags_calibration(tags), check)
    ctx, opened = open_session(opts, "ann")
    assert opened.state == "reloaded"
    compared = ctx.store.compared_frames()
    assert (compared["check_occlusion"] == 9).all() and (compared["check_persons"] == 2).all()


def test_a_later_csv_without_a_check_ends_the_check_s_reference(
    review_source: Path, tags: Path, tmp_path: Path, open_page: Any
) -> None:
    opts = ReviewOptions(source=review_source, annotations=tags)
    ctx, check = _accepted_first(opts, open_page)
    retag = tmp_path / "retag.calibration.json"
    retag.write_text("{}")
    frames = ctx.store.frames()
    ctx.store.repropose(
        frames[["path"]].assign(occlusion=3, persons=1, confidence=0.7), lambda _: retag, check
    )
    assert (ctx.store.compared_frames()["check_occlusion"] == 9).all()
    _tag_again(tags)  # with no calibration check beside it
    ctx, opened = open_session(opts, "ann")
    assert opened.state == "reloaded"
    compared = ctx.store.compared_frames()
    assert not any(c.startswith("check_") for c in compared.columns)  # the shown tags again


def test_a_check_of_another_source_s_frames_is_said_and_only_this_source_s_rows_kept(
    review_source: Path, tags: Path
) -> None:
    """A check beside the CSV whose paths are partly (or all) another source's: one warning
    with the count, and only the rows of this source's frames are kept (none: no check)."""
    from occreid.pseudolabel.calibration import default_calibration, tags_calibration
    from occreid.pseudolabel.calibration_check import save_check
    from occreid.review.source import NO_CHECK, proposals, source_frames

    frames = source_frames(review_source)[1]
    ours = frames[["path"]].head(4).assign(occlusion=9, persons=2, confidence=0.5)
    other = ours.assign(path="other/" + ours["path"]).head(3)  # another source's frames
    default_calibration("x", "y").save(tags_calibration(tags))
    save_check(tags_calibration(tags), pd.concat([other, ours], ignore_index=True))
    with pytest.warns(UserWarning, match=r"3 of its 7 rows are not frames of this source: left"):
        kept = proposals(frames, tags).check
    assert kept is not None and kept["path"].tolist() == ours["path"].tolist()
    save_check(tags_calibration(tags), other)
    said = f"3 of its 3 rows are not frames of this source: {NO_CHECK}"
    with pytest.warns(UserWarning, match=said):
        assert proposals(frames, tags).check is None
    with pytest.warns(UserWarning, match=said):  # the review opens its store without a check
        ctx = open_session(ReviewOptions(source=review_source, annotations=tags), "ann")[0]
    with ctx.store.connect() as con:
        assert con.execute("SELECT COUNT(*) FROM checks").fetchone()[0] == 0
    save_check(tags_calibration(tags), ours)  # this source's: taken as it is, nothing said
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert proposals(frames, tags).check is not None


def test_the_check_s_warning_is_said_when_the_store_takes_the_csv_not_at_every_start(
    review_source: Path, tags: Path
) -> None:
    """A restart (or an export) on an unchanged CSV takes nothing from it: the warning about
    its check's rows of another source was said when the store took it, and is not repeated
    (after a re-tag it would wrongly say the reviews are compared with the tags shown)."""
    from occreid.pseudolabel.calibration import default_calibration, tags_calibration
    from occreid.pseudolabel.calibration_check import save_check
    from occreid.review.source import source_frames

    frames = source_frames(review_source)[1]
    other = frames[["path"]].head(3).assign(occlusion=9, persons=2, confidence=0.5)
    default_calibration("x", "y").save(tags_calibration(tags))
    save_check(tags_calibration(tags), other.assign(path="other/" + other["path"]))
    opts = ReviewOptions(source=review_source, annotations=tags)
    with pytest.warns(UserWarning, match="not frames of this source"):
        assert open_session(opts, "ann")[1].state == "created"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert open_session(opts, "ann")[1].state == "unchanged"
    _tag_again(tags)  # the tagger ran again, with the same check beside: said again
    with pytest.warns(UserWarning, match="not frames of this source"):
        assert open_session(opts, "ann")[1].state == "reloaded"
