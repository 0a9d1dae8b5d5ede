"""The review store over review rounds: proposals follow the CSV (by content hash), a CSV's
reviewed column and precision and order are kept, the store finds SOURCE by content, old stores
migrate, read-only stores export, and a store that cannot be written is a one-line error."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from occreid.cli.main import main
from occreid.common.errors import OccreidError
from occreid.review.export import export
from occreid.review.options import ReviewOptions
from occreid.review.session import open_session, open_store
from occreid.review.store import SCHEMA_VERSION, disagreement_path, store_path


def _decide(opts: ReviewOptions, open_page: type) -> tuple[str, str, str]:
    """Frame 0 of one tracklet set to 7, another tracklet accepted as proposed; (the frame's
    path, the set tracklet, the accepted tracklet)."""
    page = open_page(open_session(opts, "ann")[0])
    items = page.get("/api/queue").json()["items"]
    set_key, accepted = items[0]["key"], items[1]["key"]
    page.write("/api/frames", key=set_key, first=0, last=0, field="occlusion", value=7)
    page.write("/api/tracklet", key=accepted, field="accepted", value=1)
    path = page.get("/api/tracklet", params={"key": set_key}).json()["frame_rows"][0]["path"]
    return path, set_key, accepted


def test_a_changed_csv_gives_new_proposals_to_frames_nobody_decided(
    review_source: Path, tags: Path, open_page: type
) -> None:
    opts = ReviewOptions(source=review_source, annotations=tags)
    path, set_key, accepted = _decide(opts, open_page)
    table = pd.read_csv(tags)
    tracklet = table["path"].str.rsplit("/", n=1).str[0]
    old = table.copy()
    table["occlusion"] = (table["occlusion"] + 3) % 11  # the tagger ran again: every tag moved
    table["confidence"] = (table["confidence"] / 2).round(3)
    table.to_csv(tags, index=False)
    ctx, opened = open_session(opts, "ann")
    assert opened.state == "reloaded" and opened.changed == len(table)
    decided = 1 + int((tracklet == accepted).sum())
    agrees = int(table.set_index("path").loc[path, "occlusion"] == 7)  # by chance
    assert opened.kept == decided and opened.disagree == decided - agrees
    assert f"{decided - agrees:,} decisions now differ from the new tags' label" in opened.line()
    listed = pd.read_csv(disagreement_path(ctx.store.path))
    yes_no = (listed["occlusion"] >= 1) != (listed["proposed_occlusion"] >= 1)
    assert opened.disagree_occluded == int(yes_no.sum()) < len(listed)  # a label, not a yes / no
    assert f"{int(yes_no.sum()):,} of them on occluded yes / no" in opened.line()
    assert set(listed["tracklet"]) == ({accepted} if agrees else {set_key, accepted})
    assert set(listed["reviewer"]) == {"ann"}
    out = pd.read_csv(export(ctx.store, tags.with_name("out.csv"))["csv"]).set_index("path")
    assert out.loc[path, "occlusion"] == 7  # the person's decision
    mine = tracklet == accepted
    keep = old[mine].set_index("path")["occlusion"]
    assert (out.loc[keep.index, "occlusion"] == keep).all()  # accepted as it was shown
    rest = table[~mine & (table["path"] != path)].set_index("path")["occlusion"]
    assert (out.loc[rest.index, "occlusion"] == rest).all()  # the new proposals
    # auto_occlusion of the accepted tracklet is the proposal its reviewer was shown, not the
    # new CSV's (the tags vs reviewers measure would compare the reviews with later tags)
    assert (out.loc[keep.index, "auto_occlusion"] == keep).all()
    compared = ctx.store.compared_frames([accepted])
    assert (compared["auto_occlusion"].to_numpy() == keep.to_numpy()).all()
    shown_confidence = old[mine]["confidence"].to_numpy()  # with the confidence it had then
    assert compared["confidence"].to_numpy() == pytest.approx(shown_confidence)
    table["occlusion"] = (table["occlusion"] + 3) % 11  # a third round: still the one shown
    table.to_csv(tags, index=False)
    ctx, _ = open_session(opts, "ann")
    out = pd.read_csv(export(ctx.store, tags.with_name("out.csv"))["csv"]).set_index("path")
    assert (out.loc[keep.index, "auto_occlusion"] == keep).all()
    table.to_csv(tags, index=False)
    sets = ctx.store.proposal_sets()
    assert (
        len(sets) == 3 and sets["sha256"].nunique() == 3 and sets["changed"].iloc[1] == len(table)
    )
    assert open_session(opts, "ann")[1].state == "unchanged"  # the same CSV again: nothing


def test_a_reviewed_column_precision_and_row_order_come_back(
    review_source: Path, tags: Path, tmp_path: Path, open_page
) -> None:
    table = pd.read_csv(tags).sample(frac=1.0, random_state=3).reset_index(drop=True)
    tracklet = table["path"].str.rsplit("/", n=1).str[0]
    whole, part = sorted(tracklet.unique())[:2]
    table["confidence"] = [f"0.{i + 1:03d}456789123" for i in range(len(table))]
    table["reviewed"] = (tracklet == whole).astype(int)
    table.loc[table.index[tracklet == part][:2], "reviewed"] = 1
    csv = tmp_path / "round1.csv"
    table.to_csv(csv, index=False)
    opts = ReviewOptions(source=review_source, annotations=csv)
    ctx, opened = open_session(opts, "ann")
    assert opened.imported == int(table["reviewed"].sum())
    assert ctx.store.tracklet(whole)["accepted"] == 1
    assert ctx.store.tracklet(part)["accepted"] == 0
    unreviewed = open_page(ctx).get("/api/queue", params={"reviewed": "false"}).json()["items"]
    assert whole not in {i["key"] for i in unreviewed}
    out = tmp_path / "round2.csv"
    export(ctx.store, out)
    back = pd.read_csv(out, dtype={"confidence": "string"})
    assert back["path"].tolist() == table["path"].tolist()  # the input's order
    assert back["reviewed"].tolist() == table["reviewed"].tolist()
    assert back["confidence"].tolist() == table["confidence"].tolist()  # every digit


def test_the_store_finds_its_source_by_content_not_by_path(
    review_source: Path, tags: Path, tmp_path: Path, open_page: type
) -> None:
    opts = ReviewOptions(source=review_source, annotations=tags)
    path, _, _ = _decide(opts, open_page)
    moved = tmp_path / "moved"
    shutil.copytree(review_source, moved)  # the dataset moved to another disk
    ctx, _ = open_session(ReviewOptions(source=moved, annotations=tags), "ann")
    assert ctx.source == moved
    assert ctx.store.frames().set_index("path").loc[path, "occlusion"] == 7
    next(moved.glob("train/*/*/*.jpg")).unlink()  # another frame set
    shorter = pd.read_csv(tags)
    shorter = shorter[shorter["path"].map(lambda p: (moved / p).exists())]
    shorter.to_csv(tags, index=False)
    with pytest.raises(OccreidError, match="belongs to another frame set"):
        open_store(ReviewOptions(source=moved, annotations=tags))


def test_store_puts_the_store_where_asked(review_source: Path, tags: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "stores" / "round1.sqlite"
    elsewhere.parent.mkdir()
    opts = ReviewOptions(source=review_source, annotations=tags, store=elsewhere)
    ctx, _ = open_session(opts, "ann")
    assert ctx.store.path == elsewhere and elsewhere.is_file()
    assert not store_path(tags).exists()


V1_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE frames (
    path TEXT PRIMARY KEY, tracklet TEXT NOT NULL, frame INTEGER NOT NULL,
    proposed_occlusion INTEGER NOT NULL, proposed_persons INTEGER NOT NULL, confidence REAL,
    occlusion INTEGER NOT NULL, persons INTEGER NOT NULL);
CREATE INDEX frames_by_tracklet ON frames (tracklet, frame);
CREATE TABLE tracklets (
    key TEXT PRIMARY KEY, split TEXT NOT NULL, pid INTEGER NOT NULL, camid INTEGER NOT NULL,
    frames INTEGER NOT NULL, accepted INTEGER NOT NULL DEFAULT 0,
    exclude INTEGER NOT NULL DEFAULT 0, reviewer TEXT, at REAL);
CREATE TABLE changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, reviewer TEXT NOT NULL,
    tracklet TEXT NOT NULL, action TEXT NOT NULL, undone INTEGER NOT NULL DEFAULT 0);
CREATE TABLE change_rows (
    change INTEGER NOT NULL, target TEXT NOT NULL, field TEXT NOT NULL,
    old INTEGER NOT NULL, new INTEGER NOT NULL);
"""


def test_a_store_of_the_first_version_opens_and_keeps_its_decisions(
    review_source: Path, tags: Path, open_page
) -> None:
    from occreid.review.source import proposals, source_frames

    root, frames = source_frames(review_source)
    table = proposals(frames, tags).frames
    path = store_path(tags)  # what the old code made: its schema, its rows
    con = sqlite3.connect(path)
    con.executescript(V1_SCHEMA)
    con.executemany(
        "INSERT INTO meta VALUES (?, ?)",
        [("source", str(root.resolve())), ("csv", str(tags)), ("created", "1.0")],
    )
    con.executemany(
        "INSERT INTO frames VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (r.path, r.tracklet, r.frame, r.occlusion, r.persons, r.confidence, r.occlusion, 1)
            for r in table.itertuples()
        ],
    )
    per = table.groupby("tracklet").agg(split=("split", "first"), n=("path", "size"))
    con.executemany(
        "INSERT INTO tracklets (key, split, pid, camid, frames) VALUES (?, ?, 1, 1, ?)",
        [(k, r.split, r.n) for k, r in per.iterrows()],
    )
    first, accepted = per.index[0], per.index[1]
    target = table.loc[table["tracklet"] == first, "path"].iloc[0]
    old = int(table.loc[table["path"] == target, "occlusion"].iloc[0])
    con.execute(
        "INSERT INTO changes (at, reviewer, tracklet, action) VALUES (2, 'ann', ?, ?)",
        (first, "set occlusion"),
    )
    con.execute(
        "INSERT INTO change_rows VALUES (1, ?, 'occlusion', ?, ?)", (target, old, (old + 5) % 11)
    )
    con.execute("UPDATE frames SET occlusion = ? WHERE path = ?", ((old + 5) % 11, target))
    con.execute("UPDATE tracklets SET accepted = 1, reviewer = 'bob' WHERE key = ?", (accepted,))
    con.commit()
    con.close()
    retag = pd.read_csv(tags)
    retag["occlusion"] = (retag["occlusion"] + 1) % 11
    retag.to_csv(tags, index=False)
    ctx, opened = open_session(ReviewOptions(source=review_source, annotations=tags), "ann")
    assert ctx.store.meta()["schema"] == str(SCHEMA_VERSION)
    assert opened.state == "reloaded"
    camids = table.groupby("tracklet")["camid"].first()  # re-read from the source, not the 1s
    assert [ctx.store.tracklet(k)["camid"] for k in camids.index] == camids.tolist()
    now = ctx.store.frames().set_index("path")
    assert now.loc[target, "occlusion"] == (old + 5) % 11  # the old decision kept
    assert ctx.store.tracklet(accepted)["accepted"] == 1
    other = now[(now["tracklet"] != accepted) & (now.index != target)]
    new = retag.set_index("path").loc[other.index, "occlusion"]
    assert (other["occlusion"] == new).all()  # the rest follows the new CSV
    assert open_page(ctx).write("/api/undo").json() == {"undone": None}  # not this page's


def test_a_schema_3_store_opens_with_every_decision_and_no_check(
    review_source: Path, tags: Path, open_page: type
) -> None:
    opts = ReviewOptions(source=review_source, annotations=tags)
    path = _decide(opts, open_page)[0]
    store = open_session(opts, "ann")[0].store
    before = (store.frames().values.tolist(), store.history().values.tolist())
    compared = store.compared_frames()
    with sqlite3.connect(store.path) as con:  # what schema 3 left: no checks
        con.execute("DROP TABLE IF EXISTS checks")
        con.execute("UPDATE meta SET value = '3' WHERE key = 'schema'")
        con.execute("PRAGMA user_version = 3")
    con.close()
    ctx, opened = open_session(opts, "ann")
    assert opened.state == "unchanged"
    with sqlite3.connect(ctx.store.path) as con:
        assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 4
    con.close()
    assert ctx.store.meta()["schema"] == "4"
    assert (ctx.store.frames().values.tolist(), ctx.store.history().values.tolist()) == before
    assert ctx.store.compared_frames().equals(compared)  # the shown proposals, no check columns
    out = pd.read_csv(export(ctx.store, tags.with_name("out.csv"))["csv"]).set_index("path")
    assert not any(c.startswith("check_") for c in out.columns)
    assert out.loc[path, "occlusion"] == 7


def test_a_store_that_cannot_be_written_is_one_line_with_its_path(
    review_source: Path, tags: Path, tmp_path: Path
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a folder")
    where = blocker / "store.sqlite"
    r = CliRunner().invoke(
        main,
        [
            "review",
            str(review_source),
            "--annotations",
            str(tags),
            "--store",
            str(where),
            "--export",
            str(tmp_path / "o.csv"),
        ],
    )
    assert r.exit_code != 0 and r.output.startswith("Error: ") and str(where) in r.output
    assert r.output.strip().count("\n") == 0, r.output


def test_a_server_is_refused_a_store_it_cannot_write_before_any_copy_of_it(
    review_source: Path, tags: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The private copy a read-only store is read through (an export's) is seconds of copying
    at DukeMTMC's size: a server, which is refused that store, never makes it."""
    from occreid.review import store as store_module

    opts = ReviewOptions(source=review_source, annotations=tags)
    open_store(opts)  # the store exists

    def no_copy(path: Path) -> Path:
        raise AssertionError(f"copied {path}")

    monkeypatch.setattr(store_module, "_writable", lambda path: False)
    monkeypatch.setattr(store_module, "_private_copy", no_copy)
    args = ["review", str(review_source), "--annotations", str(tags), "--reviewer", "ann"]
    r = CliRunner().invoke(main, args)
    said = (
        f"Error: {store_path(tags)}: the review store cannot be written here; it can be "
        "exported (--export), or copied to a writable place and reviewed with --store PATH"
    )
    assert r.exit_code == 1 and r.output.strip() == said, r.output
    with pytest.raises(AssertionError, match="copied"):  # an export still reads a copy
        open_store(opts)


def test_an_export_onto_the_csv_or_the_store_is_refused_and_nothing_is_lost(
    review_source: Path, tags: Path, open_page: type
) -> None:
    opts = ReviewOptions(source=review_source, annotations=tags)
    _decide(opts, open_page)
    store = store_path(tags)
    kept = {p: p.read_bytes() for p in (tags, store)}
    for onto in (tags, store, Path(f"{store}-wal"), Path(f"{store}.lock")):
        args = ["review", str(review_source), "--annotations", str(tags), "--export", str(onto)]
        r = CliRunner().invoke(main, args)
        assert r.exit_code == 1 and r.output.strip().count("\n") == 0, r.output
        assert (
            r.output.startswith(f"Error: {onto}: that is the ") and "another --export" in r.output
        )
        assert {p: p.read_bytes() for p in kept} == kept
    assert open_session(opts, "ann")[1].state == "unchanged"


@pytest.mark.parametrize("export", [False, True])
def test_a_store_in_a_missing_folder_says_to_create_it_and_makes_nothing(
    review_source: Path, tags: Path, tmp_path: Path, export: bool
) -> None:
    where = tmp_path / "no" / "such" / "store.sqlite"
    args = ["review", str(review_source), "--annotations", str(tags), "--store", str(where)]
    args += ["--export", str(tmp_path / "o.csv")] if export else ["--reviewer", "ann"]
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 1 and r.output.strip().count("\n") == 0, r.output
    said = f"Error: {where}: no folder {where.parent}; create it or pass another --store"
    assert r.output.strip() == said
    assert not (tmp_path / "no").exists() and not (tmp_path / "o.csv").exists()


@pytest.mark.skipif(not shutil.which("setpriv"), reason="no setpriv")
def test_a_read_only_store_exports(review_source: Path, tags: Path, open_page: type) -> None:
    """As another user (root drops to nobody), the store and its folder cannot be written."""
    work = Path(tempfile.mkdtemp())  # outside pytest's private folder: the other user reads it
    try:
        os.chmod(work, 0o755)
        source, csv, out = work / "source", work / "tags.csv", work / "out"
        shutil.copytree(review_source, source)
        shutil.copy(tags, csv)
        out.mkdir(mode=0o777)
        out.chmod(0o777)
        _decide(ReviewOptions(source=source, annotations=csv), open_page)
        last = pd.read_csv(csv)["path"].iloc[-1]
        held = sqlite3.connect(store_path(csv))  # a server killed before SQLite folded its log
        held.execute("PRAGMA wal_autocheckpoint = 0")
        held.execute("UPDATE frames SET occlusion = 9, decision = 1 WHERE path = ?", (last,))
        held.commit()
        assert Path(f"{store_path(csv)}-wal").stat().st_size > 0
        store_path(csv).chmod(0o444)
        retag = pd.read_csv(csv)  # and the tagger ran again
        first = retag["path"].iloc[0]
        retag.loc[0, "occlusion"] = (retag.loc[0, "occlusion"] + 1) % 11
        retag.to_csv(csv, index=False)
        cmd = [sys.executable, "-m", "occreid.cli", "review", str(source)]
        cmd += ["--annotations", str(csv), "--export", str(out / "r.csv")]
        if os.geteuid() == 0:
            drop = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
            probe = [*drop, sys.executable, "-c", "import occreid.cli"]
            if subprocess.run(probe, capture_output=True, timeout=120).returncode != 0:
                pytest.skip(
                    f"user nobody cannot read {sys.prefix} (a private folder): root "
                    "ignores file modes, so the read-only store needs that user"
                )
            cmd = [*drop, *cmd]
        before = store_path(csv).read_bytes()
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        table = pd.read_csv(out / "r.csv")
        assert table["occlusion"].eq(7).any() and table["reviewed"].sum() > 0
        assert table.set_index("path").loc[last, "occlusion"] == 9  # the log's decision
        assert table.set_index("path").loc[first, "occlusion"] == retag.loc[0, "occlusion"]
        assert store_path(csv).read_bytes() == before
        held.close()
        serve = [*cmd[:-2], "--reviewer", "x"]
        refused = subprocess.run(serve, capture_output=True, text=True, timeout=120)
        assert refused.returncode != 0 and "cannot be written" in refused.stderr
        assert f"Error: {store_path(csv)}: " in refused.stderr  # not its private copy's path
    finally:
        shutil.rmtree(work, ignore_errors=True)
