"""The review API through FastAPI's test client: queue order, changes, undo per page, versions,
the export into build-dataset, what is served."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from occreid.review.app import ReviewContext
from occreid.review.export import exclude_path, export
from occreid.review.options import ReviewOptions
from occreid.review.queue import QUERY_SHARE, order_queue
from occreid.review.session import open_session
from occreid.review.store import ReviewStore


def test_queue_puts_unreviewed_then_unknown_then_expected_disagreement_first() -> None:
    t = pd.DataFrame(
        {
            "key": ["a", "b", "c", "d", "e", "f"],
            "accepted": [1, 0, 0, 0, 0, 0],
            "confidence": [0.1, 0.9, None, 0.3, 0.9, 0.7],
            "unknown": [0, 0, 0, 0, 0, 2],
            "occluded": [0.3, 0.9, 0.35, 0.0, 0.34, 0.0],
            "split": ["query"] * 6,
            "camid": [1] * 6,
            "pid": [1] * 6,
        }
    )
    ordered = order_queue(t)
    assert ordered["key"].tolist() == ["f", "d", "e", "b", "c", "a"]
    assert ordered["disagreement"].round(2).tolist() == [0.3, 0.7, 0.1, 0.1, 0.0, 0.9]
    assert abs(0.34 - QUERY_SHARE) < abs(0.9 - QUERY_SHARE)  # why e comes before b


def test_the_api_queue_offers_a_tracklet_with_a_frame_without_evidence_first(
    review_source: Path, tags: Path, open_page: Any
) -> None:
    table = pd.read_csv(tags)
    sure = table["confidence"] == table["confidence"].max()
    target = table.loc[sure, "path"].iloc[0].rsplit("/", 1)[0]
    table.loc[table["path"] == table.loc[sure, "path"].iloc[0], "confidence"] = 0.0
    table.to_csv(tags, index=False)
    ctx = open_session(ReviewOptions(source=review_source, annotations=tags), "ann")[0]
    items = open_page(ctx).get("/api/queue").json()["items"]
    assert items[0]["key"].endswith(target) and items[0]["unknown"] == 1
    rest = [i["disagreement"] for i in items[1:]]
    assert rest == sorted(rest, reverse=True)


def test_the_api_queue_follows_confidence_and_moves_reviewed_to_the_end(page: Any) -> None:
    items = page.get("/api/queue").json()["items"]
    confidences = [i["confidence"] for i in items]
    assert confidences == sorted(confidences)
    first = items[0]["key"]
    assert page.write("/api/tracklet", key=first, field="accepted", value=1).is_success
    after = page.get("/api/queue").json()["items"]
    assert after[-1]["key"] == first and after[-1]["accepted"] == 1
    only = page.get("/api/queue", params={"reviewed": "false"}).json()
    assert first not in {i["key"] for i in only["items"]}
    split = page.get("/api/queue", params={"split": "gallery"}).json()["items"]
    assert split and {i["split"] for i in split} == {"gallery"}
    summary = page.get("/api/summary").json()
    assert summary["reviewed"] == 1 and summary["table1"]["paper_query"][-1] == 0.334


def test_a_label_change_and_its_undo_are_stored_with_the_reviewer(
    session: ReviewContext, page: Any
) -> None:
    key = page.first_key()
    before = page.get("/api/tracklet", params={"key": key}).json()["frame_rows"]
    r = page.write("/api/frames", key=key, first=3, last=1, field="occlusion", value=7)
    assert r.is_success and [f["frame"] for f in r.json()["frames"]] == [1, 2, 3]
    now = page.get("/api/tracklet", params={"key": key}).json()["frame_rows"]
    assert [f["occlusion"] for f in now[1:4]] == [7, 7, 7]
    assert now[0]["occlusion"] == before[0]["occlusion"]
    assert page.write("/api/undo").json()["tracklet"] == key
    back = page.get("/api/tracklet", params={"key": key}).json()["frame_rows"]
    assert [f["occlusion"] for f in back] == [f["occlusion"] for f in before]
    log = session.store.history()
    assert set(log["reviewer"]) == {"ann"} and list(log["action"].unique()) == [
        "set occlusion",
        "undo",
    ]
    assert set(log["page"]) == {"page-one"}
    assert log.loc[log["action"] == "set occlusion", "undone"].eq(1).all()
    assert page.write("/api/undo").json() == {"undone": None}
    bad = page.write("/api/frames", key=key, first=0, last=0, field="occlusion", value=11)
    assert bad.status_code == 422


def test_a_write_on_an_outdated_version_is_refused_and_the_tracklet_sent_back(
    session: ReviewContext, open_page
) -> None:
    a, b = open_page(session, "tab-aaaa"), open_page(session, "tab-bbbb")
    key = a.first_key()
    seen = a.get("/api/tracklet", params={"key": key}).json()["version"]
    change = {"key": key, "first": 0, "last": 0, "field": "occlusion"}
    assert b.write("/api/frames", **change, value=6).is_success  # the other tab
    late = a.write("/api/frames", **change, value=4, version=seen)  # on what tab a showed
    assert late.status_code == 409 and late.json()["stale"] is True
    assert "another tab" in late.json()["detail"]
    assert late.json()["tracklet"]["frame_rows"][0]["occlusion"] == 6  # what a reloads
    assert session.store.tracklet(key)["frame_rows"][0]["occlusion"] == 6
    accept = a.write("/api/tracklet", key=key, field="accepted", value=1, version=seen)
    assert accept.status_code == 409 and session.store.tracklet(key)["accepted"] == 0
    now = late.json()["tracklet"]["version"]
    assert a.write("/api/frames", **change, value=4, version=now).is_success


def test_undo_undoes_only_what_this_page_did(session: ReviewContext, open_page) -> None:
    a, b = open_page(session, "tab-aaaa"), open_page(session, "tab-bbbb")  # one reviewer, two tabs
    key = a.first_key()
    assert a.write("/api/frames", key=key, first=0, last=0, field="occlusion", value=9).is_success
    assert b.write("/api/undo").json() == {"undone": None}
    assert session.store.tracklet(key)["frame_rows"][0]["occlusion"] == 9
    other = ReviewContext(session.source, ReviewStore(session.store.path), "bob", port=8765)
    c = open_page(other, "tab-cccc")  # another reviewer on the same store
    assert c.write("/api/frames", key=key, first=1, last=1, field="occlusion", value=8).is_success
    assert a.write("/api/undo").json()["tracklet"] == key  # a's own 9 is undone, c's 8 stays
    rows = session.store.tracklet(key)["frame_rows"]
    assert rows[0]["occlusion"] != 9 and rows[1]["occlusion"] == 8


def test_an_undone_frame_overwritten_since_keeps_the_later_value(
    session: ReviewContext, open_page
) -> None:
    a, b = open_page(session, "tab-aaaa"), open_page(session, "tab-bbbb")
    key = a.first_key()
    change = {"key": key, "first": 0, "last": 0, "field": "occlusion"}
    assert a.write("/api/frames", **change, value=4).is_success
    assert b.write("/api/frames", **change, value=6).is_success
    log = session.store.history()
    assert log[["page", "new"]].values.tolist() == [["tab-aaaa", 4], ["tab-bbbb", 6]]
    a.write("/api/undo")  # a's 4 was overwritten by b: the undo leaves b's 6
    assert session.store.tracklet(key)["frame_rows"][0]["occlusion"] == 6


def test_a_restart_continues_where_the_reviewer_stopped(
    review_source: Path, tags: Path, open_page
) -> None:
    opts = ReviewOptions(source=review_source, annotations=tags)
    first = open_page(open_session(opts, "ann")[0])
    key = first.first_key()
    first.write("/api/tracklet", key=key, field="accepted", value=1)
    again, opened = open_session(opts, "ann")  # a new server on the same store
    assert opened.state == "unchanged"
    assert again.store.tracklet(key)["accepted"] == 1 and again.store.tracklet(key)["reviewer"]


def test_export_pair_build_dataset_reads_it(
    session: ReviewContext, tmp_path: Path, open_page
) -> None:
    from occreid.occdata.build import BuildOptions, build_dataset
    from occreid.occdata.manifest import read_manifest

    page = open_page(session)
    items = page.get("/api/queue").json()["items"]
    query = next(i["key"] for i in items if i["split"] == "gallery")
    train = next(i["key"] for i in items if i["split"] == "train")
    page.write("/api/frames", key=query, first=0, last=1, field="occlusion", value=9)
    page.write("/api/tracklet", key=query, field="accepted", value=1)
    page.write("/api/tracklet", key=train, field="exclude", value=1)
    assert page.write("/api/tracklet", key=query, field="exclude", value=1).status_code == 400
    out = tmp_path / "reviewed.csv"
    done = export(session.store, out)
    assert done["excluded_tracklets"] == 1
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    table = pd.read_csv(out)
    assert list(table.columns) == [
        "path", "occlusion", "persons", "confidence", "reviewed", "auto_occlusion", "auto_persons"
    ]  # fmt: skip
    mine = table[table["path"].str.startswith(query + "/")]
    assert mine["reviewed"].eq(1).all() and mine["occlusion"].head(2).eq(9).all()
    assert mine["auto_occlusion"].notna().all() and not mine["auto_occlusion"].head(2).eq(9).any()
    assert table.loc[table["reviewed"] == 0, "auto_occlusion"].isna().all()
    assert table["reviewed"].sum() == len(mine)
    assert train in exclude_path(out).read_text().splitlines()
    ds = tmp_path / "ds"
    build_dataset(
        BuildOptions(source=session.source, out=ds, annotations=out, exclude=exclude_path(out))
    )
    gallery = read_manifest(ds / "manifests" / "gallery.parquet")
    assert gallery.loc[gallery["src_tracklet"] == query, "reviewed"].all()
    trained = read_manifest(ds / "manifests" / "train.parquet")
    assert train not in set(trained["src_tracklet"])


def test_only_image_files_under_the_source_are_served(
    session: ReviewContext, page: Any, tmp_path: Path
) -> None:
    frame = session.store.frames()["path"].iloc[0]
    ok = page.get(f"/frame/{frame}")
    assert ok.status_code == 200 and ok.headers["content-type"] == "image/jpeg"
    assert page.get("/static/app.js").headers["content-type"].startswith("text/javascript")
    secret = tmp_path / "secret.jpg"
    secret.write_bytes(b"not yours")
    link = session.source / "train" / "leak.jpg"
    os.symlink(secret, link)
    try:
        for bad in (
            "../" * 6 + "etc/passwd",
            "%2e%2e/%2e%2e/" + str(secret.relative_to("/")),
            "train/leak.jpg",  # a symbolic link out of the source
            "annotations.csv",  # under the source, but not an image
            "train/none.jpg",
            "train/a%00.jpg",  # a NUL byte
        ):
            assert page.get(f"/frame/{bad}").status_code == 404, bad
    finally:
        link.unlink()


def test_the_overlay_serves_the_cached_key_points_and_mask(
    session: ReviewContext, tmp_path: Path, open_page
) -> None:
    from occreid.pseudolabel.cache import LabelCache
    from occreid.pseudolabel.runner import RunOptions, run

    path = session.store.frames()["path"].iloc[0]
    assert open_page(session).get("/api/overlay", params={"path": path}).status_code == 404
    run(RunOptions(root=session.source, out=tmp_path / "labels"))
    session.labels = LabelCache(tmp_path / "labels")
    page = open_page(session)
    got = page.get("/api/overlay", params={"path": path}).json()
    assert got["size"] == [128, 64] and len(got["keypoints"]) == 17
    assert len(got["mask"]) == 64 and len(got["mask"][0]) == 32 and sum(map(sum, got["mask"])) > 50
    assert page.get("/api/session").json()["overlay"] is True
    assert page.get("/api/overlay", params={"path": "train/x.jpg"}).status_code == 404


def test_a_built_dataset_is_reviewed_as_the_frames_of_its_source(
    review_source: Path, tags: Path, tmp_path: Path
) -> None:
    from occreid.occdata.build import BuildOptions, build_dataset
    from occreid.review.source import source_frames

    ds = tmp_path / "ds"
    build_dataset(BuildOptions(source=review_source, out=ds, annotations=tags))
    root, frames = source_frames(ds)
    _, every = source_frames(review_source)
    assert root == review_source and set(frames["path"]) <= set(every["path"])
    mine = every.set_index("path").loc[frames["path"]]
    assert (mine["tracklet"].to_numpy() == frames["tracklet"].to_numpy()).all()
    assert (mine["split"].to_numpy() == frames["split"].to_numpy()).all()
    for _, t in frames.groupby("tracklet"):  # numbered 0.. in frame (F) order
        f_index = t["path"].str.extract(r"_F(\d+)_")[0].astype(int)
        assert t["frame"].tolist() == list(range(len(t))) and f_index.is_monotonic_increasing


def test_the_header_estimates_the_unreviewed_tags_accuracy_from_the_reviewed_ones(
    session: ReviewContext, page: Any
) -> None:
    from occreid.occdata.label_quality import wilson_interval

    assert page.get("/api/summary").json()["unreviewed"]["estimated_accuracy"] is None
    key = page.first_key()
    rows = page.get("/api/tracklet", params={"key": key}).json()["frame_rows"]
    flipped = [f for f in rows if f["persons"] == 1][:2]
    assert len(flipped) == 2
    for f in flipped:  # the reviewer turns two tags' occluded yes / no
        at, value = f["frame"], 0 if f["occlusion"] else 5
        page.write("/api/frames", key=key, first=at, last=at, field="occlusion", value=value)
    page.write("/api/tracklet", key=key, field="accepted", value=1)
    first = page.get("/api/summary").json()["unreviewed"]
    right = 1 - len(flipped) / len(rows)
    assert first["estimated_accuracy"] == pytest.approx(right)
    low, high = wilson_interval(right, 1)  # one tracklet: the bootstrap has nothing to vary,
    assert first["interval"] == pytest.approx([low, high])  # the interval is Wilson's over one
    total = sum(t["frames"] for t in page.get("/api/queue").json()["items"])
    assert first["frames"] == total - len(rows) and first["reviewed_tracklets"] == 1
    other = page.first_key()
    page.write("/api/tracklet", key=other, field="accepted", value=1)  # all its tags right
    second = page.get("/api/summary").json()["unreviewed"]
    assert second["estimated_accuracy"] > right
    low, high = second["interval"]
    assert low <= right + 1e-9 and high == pytest.approx(1.0)


def test_the_undecided_frames_are_counted_in_label_quality_s_confidence_bins(
    session: ReviewContext, page: Any
) -> None:
    from occreid.occdata.label_quality import N_BINS, confidence_bin
    from occreid.review.quality import INNER_EDGES, undecided_by_bin

    store = session.store
    paths = store.frames()["path"].tolist()
    edges = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 0.19999, 0.79, None]  # on and beside every edge
    values = [edges[i % len(edges)] for i in range(len(paths))]
    with store.connect(write=True) as con:
        con.executemany(
            "UPDATE frames SET confidence = ? WHERE path = ?", zip(values, paths, strict=True)
        )
    key = page.first_key()
    page.write("/api/tracklet", key=key, field="accepted", value=1)
    table = store.frames()
    todo = table[table["accepted"] == 0]["confidence"].to_numpy(dtype=float, na_value=np.nan)
    todo = todo[~np.isnan(todo)]
    expected = np.bincount(confidence_bin(todo) + 1, minlength=N_BINS)
    assert undecided_by_bin(store.tracklets(INNER_EDGES)).tolist() == expected.tolist()
