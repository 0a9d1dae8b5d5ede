"""The review API through FastAPI's test client: queue order, changes, undo, two writers, the
export into build-dataset, what is served and who is let in."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
from click.testing import CliRunner
from fastapi.testclient import TestClient

from occreid.cli.main import main
from occreid.review.app import ReviewContext, create_app
from occreid.review.export import exclude_path, export
from occreid.review.options import ReviewOptions, is_loopback
from occreid.review.queue import QUERY_SHARE, order_queue
from occreid.review.session import open_session
from occreid.review.store import ReviewStore, store_path


def _client(ctx: ReviewContext) -> TestClient:
    return TestClient(create_app(ctx))


def test_queue_puts_unreviewed_then_doubtful_then_near_a_third_first() -> None:
    t = pd.DataFrame(
        {
            "key": ["a", "b", "c", "d", "e"],
            "accepted": [1, 0, 0, 0, 0],
            "confidence": [0.1, 0.9, None, 0.3, 0.9],
            "occluded": [0.3, 0.9, 0.35, 0.0, 0.34],
            "split": ["query"] * 5,
            "camid": [1] * 5,
            "pid": [1] * 5,
        }
    )
    assert order_queue(t)["key"].tolist() == ["d", "e", "b", "c", "a"]
    assert abs(0.34 - QUERY_SHARE) < abs(0.9 - QUERY_SHARE)  # why e comes before b


def test_the_api_queue_follows_confidence_and_moves_reviewed_to_the_end(session) -> None:
    client = _client(session)
    items = client.get("/api/queue").json()["items"]
    confidences = [i["confidence"] for i in items]
    assert confidences == sorted(confidences)
    first = items[0]["key"]
    assert client.post(
        "/api/tracklet", json={"key": first, "field": "accepted", "value": 1}
    ).is_success
    after = client.get("/api/queue").json()["items"]
    assert after[-1]["key"] == first and after[-1]["accepted"] == 1
    only = client.get("/api/queue", params={"reviewed": "false"}).json()
    assert first not in {i["key"] for i in only["items"]}
    split = client.get("/api/queue", params={"split": "gallery"}).json()["items"]
    assert split and {i["split"] for i in split} == {"gallery"}
    summary = client.get("/api/summary").json()
    assert summary["reviewed"] == 1 and summary["table1"]["paper_query"][-1] == 0.334


def test_a_label_change_and_its_undo_are_stored_with_the_reviewer(session) -> None:
    client = _client(session)
    key = client.get("/api/queue").json()["items"][0]["key"]
    before = client.get("/api/tracklet", params={"key": key}).json()["frame_rows"]
    r = client.post(
        "/api/frames", json={"key": key, "first": 3, "last": 1, "field": "occlusion", "value": 7}
    )
    assert r.is_success and [f["frame"] for f in r.json()["frames"]] == [1, 2, 3]
    now = client.get("/api/tracklet", params={"key": key}).json()["frame_rows"]
    assert [f["occlusion"] for f in now[1:4]] == [7, 7, 7]
    assert now[0]["occlusion"] == before[0]["occlusion"]
    assert client.post("/api/undo").json()["tracklet"] == key
    back = client.get("/api/tracklet", params={"key": key}).json()["frame_rows"]
    assert [f["occlusion"] for f in back] == [f["occlusion"] for f in before]
    log = session.store.history()
    assert set(log["reviewer"]) == {"ann"} and list(log["action"].unique()) == [
        "set occlusion",
        "undo",
    ]
    assert log.loc[log["action"] == "set occlusion", "undone"].eq(1).all()
    assert client.post("/api/undo").json() == {"undone": None}
    bad = {"key": key, "first": 0, "last": 0, "field": "occlusion", "value": 11}
    assert client.post("/api/frames", json=bad).status_code == 422


def test_two_tabs_on_one_store_the_later_write_wins_and_both_are_kept(session) -> None:
    other = ReviewContext(session.source, ReviewStore(session.store.path), "bob")
    a, b = _client(session), _client(other)
    key = a.get("/api/queue").json()["items"][0]["key"]
    change = {"key": key, "first": 0, "last": 0, "field": "occlusion"}
    assert a.post("/api/frames", json={**change, "value": 4}).is_success
    assert b.post("/api/frames", json={**change, "value": 6}).is_success
    assert a.get("/api/tracklet", params={"key": key}).json()["frame_rows"][0]["occlusion"] == 6
    log = session.store.history()
    assert log[["reviewer", "new"]].values.tolist() == [["ann", 4], ["bob", 6]]
    a.post("/api/undo")  # ann's 4 was overwritten by bob: her undo leaves bob's 6
    assert a.get("/api/tracklet", params={"key": key}).json()["frame_rows"][0]["occlusion"] == 6


def test_a_restart_continues_where_the_reviewer_stopped(review_source: Path, tags: Path) -> None:
    opts = ReviewOptions(source=review_source, annotations=tags)
    first = open_session(opts, "ann")
    key = _client(first).get("/api/queue").json()["items"][0]["key"]
    _client(first).post("/api/tracklet", json={"key": key, "field": "accepted", "value": 1})
    again = open_session(opts, "ann")  # a new server on the same store
    assert again.store.tracklet(key)["accepted"] == 1 and again.store.tracklet(key)["reviewer"]


def test_export_is_atomic_and_build_dataset_reads_it(session, tmp_path: Path) -> None:
    from occreid.occdata.build import BuildOptions, build_dataset
    from occreid.occdata.manifest import read_manifest

    client = _client(session)
    items = client.get("/api/queue").json()["items"]
    query = next(i["key"] for i in items if i["split"] == "gallery")
    train = next(i["key"] for i in items if i["split"] == "train")
    client.post(
        "/api/frames", json={"key": query, "first": 0, "last": 1, "field": "occlusion", "value": 9}
    )
    client.post("/api/tracklet", json={"key": query, "field": "accepted", "value": 1})
    client.post("/api/tracklet", json={"key": train, "field": "exclude", "value": 1})
    test_only = {"key": query, "field": "exclude", "value": 1}
    assert client.post("/api/tracklet", json=test_only).status_code == 400
    out = tmp_path / "reviewed.csv"
    done = export(session.store, out)
    assert done["excluded_tracklets"] == 1
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    table = pd.read_csv(out)
    assert list(table.columns) == ["path", "occlusion", "persons", "confidence", "reviewed"]
    mine = table[table["path"].str.startswith(query + "/")]
    assert mine["reviewed"].eq(1).all() and mine["occlusion"].head(2).eq(9).all()
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


def test_only_image_files_under_the_source_are_served(session, tmp_path: Path) -> None:
    client = _client(session)
    frame = session.store.frames()["path"].iloc[0]
    ok = client.get(f"/frame/{frame}")
    assert ok.status_code == 200 and ok.headers["content-type"] == "image/jpeg"
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
        ):
            assert client.get(f"/frame/{bad}").status_code == 404, bad
    finally:
        link.unlink()


def test_a_token_is_required_where_one_is_set(session) -> None:
    session.token = "s3cret"
    client = _client(session)
    assert client.get("/api/queue").status_code == 401
    assert client.get("/frame/x.jpg").status_code == 401
    assert client.get("/api/queue", headers={"X-Occreid-Token": "wrong"}).status_code == 401
    assert client.get("/api/queue", headers={"X-Occreid-Token": "s3cret"}).is_success
    page = client.get("/", params={"token": "s3cret"})
    assert page.is_success and "occreid review" in page.text
    assert client.get("/api/queue").is_success  # the cookie set from the URL's token


def test_binding_beyond_loopback_makes_up_a_token(review_source: Path, tags: Path) -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and not is_loopback("0.0.0.0")
    local = open_session(ReviewOptions(source=review_source, annotations=tags), "ann")
    wide = open_session(
        ReviewOptions(source=review_source, annotations=tags, host="0.0.0.0"), "ann"
    )
    assert local.token is None and wide.token and len(wide.token) >= 24


def test_bad_input_is_one_line_before_anything_starts(
    review_source: Path, tags: Path, tmp_path: Path
) -> None:
    def run(*args: str) -> str:
        r = CliRunner().invoke(main, ["review", *args, "--export", str(tmp_path / "o.csv")])
        assert r.exit_code != 0 and r.output.startswith("Error: "), r.output
        assert r.output.strip().count("\n") == 0, r.output
        return r.output

    assert "none of train/ query/ gallery/" in run(str(tmp_path), "--annotations", str(tags))
    table = pd.read_csv(tags)
    table.loc[0, "occlusion"] = 12
    table.to_csv(tmp_path / "bad.csv", index=False)
    assert "not an integer in 0-10" in run(
        str(review_source), "--annotations", str(tmp_path / "bad.csv")
    )
    table.loc[0, ["path", "occlusion"]] = ["train/0001/0001/nope.jpg", 0]
    table.to_csv(tmp_path / "unknown.csv", index=False)
    assert "not in the source" in run(
        str(review_source), "--annotations", str(tmp_path / "unknown.csv")
    )
    open_session(ReviewOptions(source=review_source, annotations=tags), "ann")  # the store
    copy = tmp_path / "copy"
    shutil.copytree(review_source, copy)  # the same frames elsewhere: another source
    assert "belongs to the source" in run(str(copy), "--annotations", str(tags))
    assert store_path(tags).is_file()


def test_the_overlay_serves_the_cached_key_points_and_mask(session, tmp_path: Path) -> None:
    from occreid.pseudolabel.cache import LabelCache
    from occreid.pseudolabel.runner import RunOptions, run

    path = session.store.frames()["path"].iloc[0]
    assert _client(session).get("/api/overlay", params={"path": path}).status_code == 404
    run(RunOptions(root=session.source, out=tmp_path / "labels"))
    session.labels = LabelCache(tmp_path / "labels")
    client = _client(session)
    got = client.get("/api/overlay", params={"path": path}).json()
    assert got["size"] == [128, 64] and len(got["keypoints"]) == 17
    assert len(got["mask"]) == 64 and len(got["mask"][0]) == 32 and sum(map(sum, got["mask"])) > 50
    assert client.get("/api/session").json()["overlay"] is True
    assert client.get("/api/overlay", params={"path": "train/x.jpg"}).status_code == 404


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
