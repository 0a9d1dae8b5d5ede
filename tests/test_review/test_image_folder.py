"""`occreid review` on an image ReID folder (Market-1501 layout): the unit is an image (the
session says so, the CLI's lines too), there is no exclusion list, and cameras are numbered as
the file names number them (c1 is camera 1), as for DukeMTMC-VideoReID (C1 is camera 1)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from occreid.cli.main import main
from occreid.common.errors import OccreidError
from occreid.review.app import ReviewContext
from occreid.review.export import exclude_path
from occreid.review.options import ReviewOptions
from occreid.review.session import open_session
from occreid.review.store import SCHEMA_VERSION


def test_the_session_says_the_unit_is_an_image_and_offers_no_exclusions(
    image_session: ReviewContext, open_page: Any, session: ReviewContext
) -> None:
    images = open_page(image_session).get("/api/session").json()
    assert (images["unit"], images["units"], images["exclusions"]) == ("image", "images", False)
    video = open_page(session).get("/api/session").json()
    assert (video["unit"], video["units"], video["exclusions"]) == ("tracklet", "tracklets", True)


def test_an_image_cannot_be_excluded(image_session: ReviewContext, open_page: Any) -> None:
    page = open_page(image_session)
    train = page.get("/api/queue", params={"split": "train"}).json()["items"][0]["key"]
    refused = page.write("/api/tracklet", key=train, field="exclude", value=1)
    assert refused.status_code == 400 and "no exclusion list" in refused.json()["detail"]
    assert image_session.store.tracklet(train)["exclude"] == 0


def test_cameras_are_numbered_as_the_file_names_number_them(
    image_session: ReviewContext, open_page: Any
) -> None:
    page = open_page(image_session)
    for camera in (1, 2):
        items = page.get("/api/queue", params={"camid": camera}).json()["items"]
        assert items and all(f"_c{camera}s1" in t["key"] for t in items)
        assert {t["camid"] for t in items} == {camera}
        shown = page.get("/api/tracklet", params={"key": items[0]["key"]}).json()
        assert shown["camid"] == camera == image_session.store.tracklet(shown["key"])["camid"]
    assert page.get("/api/queue", params={"camid": 0}).status_code == 422  # no camera 0


def test_duke_cameras_are_numbered_as_its_file_names_too(
    session: ReviewContext, open_page: Any
) -> None:
    page = open_page(session)
    items = page.get("/api/queue", params={"limit": 10_000}).json()["items"]
    for t in items:
        rows = page.get("/api/tracklet", params={"key": t["key"]}).json()["frame_rows"]
        named = {int(Path(f["path"]).name.split("_C")[1].split("_")[0]) for f in rows}
        assert named == {t["camid"]}
        only = page.get("/api/queue", params={"camid": t["camid"], "limit": 10_000}).json()
        assert t["key"] in {i["key"] for i in only["items"]}


def _named_camera(key: str) -> int:
    """The camera number in an image's file name (``0001_c2s1_...jpg``: 2)."""
    return int(Path(key).name.split("_c")[1].split("s")[0])


def _as_schema_2(store: Path) -> None:
    """Turn a store back into what schema 2 left: the camids of image folders were c<n> - 1."""
    with sqlite3.connect(store) as con:
        con.execute("UPDATE tracklets SET camid = camid - 1")
        con.execute("UPDATE meta SET value = '2' WHERE key = 'schema'")
        con.execute("PRAGMA user_version = 2")
    con.close()


def _decisions(ctx: ReviewContext) -> tuple[list[Any], list[Any], list[Any]]:
    """Everything people decided in a store: frame values, tracklet flags, the history."""
    frames = ctx.store.frames()[["path", "occlusion", "persons", "accepted"]]
    tracklets = ctx.store.tracklets()[["key", "accepted", "reviewer", "version"]]
    history = ctx.store.history().drop(columns=["at"])
    return (
        frames.values.tolist(),
        tracklets.sort_values("key").values.tolist(),
        history.values.tolist(),
    )


def test_a_schema_2_store_opens_with_the_file_names_cameras_and_every_decision(
    image_tags: tuple[Path, Path], open_page: Any
) -> None:
    root, csv = image_tags
    opts = ReviewOptions(source=root, annotations=csv)
    ctx = open_session(opts, "ann")[0]
    page = open_page(ctx)
    keys = [t["key"] for t in page.get("/api/queue", params={"limit": 100}).json()["items"]]
    page.write("/api/frames", key=keys[0], first=0, last=0, field="occlusion", value=7)
    page.write("/api/tracklet", key=keys[1], field="accepted", value=1)
    before = _decisions(ctx)
    _as_schema_2(ctx.store.path)
    assert {ctx.store.tracklet(k)["camid"] for k in keys} == {0, 1}  # the old numbering
    ctx = open_session(opts, "ann")[0]
    with sqlite3.connect(ctx.store.path) as con:
        assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 4
    con.close()
    assert ctx.store.meta()["schema"] == "4"
    assert all(ctx.store.tracklet(k)["camid"] == _named_camera(k) for k in keys)
    assert _decisions(ctx) == before
    page = open_page(ctx)
    on_2 = page.get("/api/queue", params={"camid": 2, "limit": 100}).json()["items"]
    assert on_2 and {_named_camera(t["key"]) for t in on_2} == {2}
    first = page.get("/api/tracklet", params={"key": keys[0]}).json()["frame_rows"][0]
    assert first["occlusion"] == 7  # the decision, on the page too


def test_a_store_of_a_newer_schema_is_refused(image_tags: tuple[Path, Path]) -> None:
    root, csv = image_tags
    opts = ReviewOptions(source=root, annotations=csv)
    store = open_session(opts, "ann")[0].store.path
    with sqlite3.connect(store) as con:
        con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    con.close()
    with pytest.raises(OccreidError, match="newer occreid"):
        open_session(opts, "ann")


def test_export_of_an_image_folder_speaks_of_images_and_writes_no_exclusions(
    image_tags: tuple[Path, Path], tmp_path: Path
) -> None:
    root, csv = image_tags
    out = tmp_path / "reviewed.csv"
    args = ["review", str(root), "--annotations", str(csv), "--export", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"wrote {out} (18 images, 0 reviewed)"
    assert out.is_file() and not exclude_path(out).exists()


def test_every_review_option_is_described_and_the_port_says_where_it_listens() -> None:
    import click

    command = main.commands["review"]
    bare = [p.name for p in command.params if isinstance(p, click.Option) and not p.help]
    assert bare == []
    text = CliRunner().invoke(main, ["review", "--help"]).output
    port = text.split("--port", 1)[1].split("\n  --", 1)[0]
    assert "loopback" in port and "8765" in port
