"""The review store: one SQLite database (WAL mode) beside the annotation CSV.

Tables::

    meta(key, value)              source (resolved path), csv, created
    frames(path, tracklet, frame, proposed_occlusion, proposed_persons, confidence,
           occlusion, persons)    the proposal and the current value of every frame
    tracklets(key, split, pid, camid, frames, accepted, exclude, reviewer, at)
    changes(id, at, reviewer, tracklet, action, undone)      every decision, in order
    change_rows(change, target, field, old, new)             what each decision changed

Every decision is one transaction (``BEGIN IMMEDIATE``, ``synchronous = FULL``): once the
server has answered, it is on disk. Two tabs on one store write in turn; the later write of a
frame wins, and both are in ``changes``. An undo restores the old values of the reviewer's last
decision where nobody has changed them since, and is itself recorded.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from occreid.common.errors import OccreidError

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS frames (
    path TEXT PRIMARY KEY, tracklet TEXT NOT NULL, frame INTEGER NOT NULL,
    proposed_occlusion INTEGER NOT NULL, proposed_persons INTEGER NOT NULL, confidence REAL,
    occlusion INTEGER NOT NULL, persons INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS frames_by_tracklet ON frames (tracklet, frame);
CREATE TABLE IF NOT EXISTS tracklets (
    key TEXT PRIMARY KEY, split TEXT NOT NULL, pid INTEGER NOT NULL, camid INTEGER NOT NULL,
    frames INTEGER NOT NULL, accepted INTEGER NOT NULL DEFAULT 0,
    exclude INTEGER NOT NULL DEFAULT 0, reviewer TEXT, at REAL);
CREATE TABLE IF NOT EXISTS changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, reviewer TEXT NOT NULL,
    tracklet TEXT NOT NULL, action TEXT NOT NULL, undone INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS change_rows (
    change INTEGER NOT NULL, target TEXT NOT NULL, field TEXT NOT NULL,
    old INTEGER NOT NULL, new INTEGER NOT NULL);
"""
FRAME_FIELDS = ("occlusion", "persons")
TRACKLET_FIELDS = ("accepted", "exclude")


def store_path(csv: Path) -> Path:
    """Where the store of an annotation CSV lives: beside it."""
    return csv.with_name(csv.name + ".review.sqlite")


class ReviewStore:
    """Reads and decisions on one store; a new SQLite connection per call (thread-safe)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def connect(self, write: bool = False) -> Iterator[sqlite3.Connection]:
        """A connection; ``write`` holds the write lock for one transaction, committed at exit."""
        con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            con.execute("PRAGMA journal_mode = WAL")
            con.execute("PRAGMA synchronous = FULL")
            con.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            yield con
            con.execute("COMMIT")
        except BaseException:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise
        finally:
            con.close()

    @classmethod
    def open(cls, csv: Path, source: Path, frames: pd.DataFrame) -> ReviewStore:
        """The store of ``csv``, created from ``frames`` (source_frames + proposals) the first
        time; a store made for another source is an error."""
        path = store_path(csv)
        store = cls(path)
        with sqlite3.connect(path) as con:
            con.executescript(SCHEMA)
        con.close()
        with store.connect(write=True) as con:
            recorded = dict(con.execute("SELECT key, value FROM meta").fetchall())
            here = str(source.resolve())
            if recorded.get("source", here) != here:
                raise OccreidError(
                    f"{path}: this review store belongs to the source {recorded['source']}, "
                    f"not {here}; pass that source or move the store away"
                )
            if not recorded:
                _fill(con, csv, here, frames)
        return store

    def tracklets(self) -> pd.DataFrame:
        """Every tracklet with its current occluded fraction and mean confidence."""
        query = """
            SELECT t.key, t.split, t.pid, t.camid, t.frames, t.accepted, t.exclude, t.reviewer,
                   AVG(CASE WHEN f.occlusion >= 1 OR f.persons > 1 THEN 1.0 ELSE 0.0 END)
                       AS occluded,
                   AVG(f.confidence) AS confidence,
                   SUM(f.occlusion != f.proposed_occlusion OR f.persons != f.proposed_persons)
                       AS changed
            FROM tracklets t JOIN frames f ON f.tracklet = t.key GROUP BY t.key"""
        with self.connect() as con:
            return pd.read_sql_query(query, con)

    def tracklet(self, key: str) -> dict[str, Any]:
        """One tracklet: its row and its frames in order."""
        with self.connect() as con:
            con.row_factory = sqlite3.Row
            row = con.execute("SELECT * FROM tracklets WHERE key = ?", (key,)).fetchone()
            if row is None:
                raise KeyError(key)
            frames = con.execute(
                "SELECT frame, path, proposed_occlusion, proposed_persons, confidence, "
                "occlusion, persons FROM frames WHERE tracklet = ? ORDER BY frame",
                (key,),
            ).fetchall()
        return {**dict(row), "frame_rows": [dict(f) for f in frames]}

    def set_frames(
        self, key: str, first: int, last: int, field: str, value: int, reviewer: str
    ) -> list[dict[str, Any]]:
        """Set ``field`` (occlusion or persons) of frames ``first``..``last`` (positions in
        tracklet ``key``, inclusive); returns those frames as they are now."""
        if field not in FRAME_FIELDS:
            raise ValueError(field)
        where = "tracklet = ? AND frame BETWEEN ? AND ?"
        span = (key, min(first, last), max(first, last))
        with self.connect(write=True) as con:
            old = con.execute(f"SELECT path, {field} FROM frames WHERE {where}", span).fetchall()
            if not old:
                raise KeyError(f"no frames {first}-{last} in {key}")
            change = _record(con, reviewer, key, f"set {field}")
            con.executemany(
                "INSERT INTO change_rows VALUES (?, ?, ?, ?, ?)",
                [(change, p, field, v, value) for p, v in old],
            )
            con.execute(f"UPDATE frames SET {field} = ? WHERE {where}", (value, *span))
            rows = con.execute(
                f"SELECT frame, path, occlusion, persons FROM frames WHERE {where} ORDER BY frame",
                span,
            ).fetchall()
        return [dict(zip(("frame", "path", "occlusion", "persons"), r, strict=True)) for r in rows]

    def set_tracklet(self, key: str, field: str, value: int, reviewer: str) -> dict[str, Any]:
        """Accept (accepted = 1) or mark / unmark as sharing an obstacle (exclude; train only)."""
        if field not in TRACKLET_FIELDS:
            raise ValueError(field)
        with self.connect(write=True) as con:
            row = con.execute(f"SELECT split, {field} FROM tracklets WHERE key = ?", (key,))
            found = row.fetchone()
            if found is None:
                raise KeyError(key)
            if field == "exclude" and found[0] != "train":
                raise OccreidError("only train tracklets can be excluded")
            change = _record(con, reviewer, key, f"set {field}")
            con.execute(
                "INSERT INTO change_rows VALUES (?, ?, ?, ?, ?)",
                (change, key, field, found[1], value),
            )
            con.execute(
                f"UPDATE tracklets SET {field} = ?, reviewer = ?, at = ? WHERE key = ?",
                (value, reviewer, time.time(), key),
            )
        return self.tracklet(key)

    def undo(self, reviewer: str) -> dict[str, Any] | None:
        """Undo ``reviewer``'s last decision not yet undone; None when there is none."""
        with self.connect(write=True) as con:
            last = con.execute(
                "SELECT id, tracklet FROM changes WHERE reviewer = ? AND undone = 0 "
                "AND action != 'undo' ORDER BY id DESC LIMIT 1",
                (reviewer,),
            ).fetchone()
            if last is None:
                return None
            change, key = last
            rows = con.execute(
                "SELECT target, field, old, new FROM change_rows WHERE change = ?", (change,)
            ).fetchall()
            undo = _record(con, reviewer, key, "undo")
            for target, field, old, new in rows:
                table, column = (
                    ("frames", "path") if field in FRAME_FIELDS else ("tracklets", "key")
                )
                done = con.execute(
                    f"UPDATE {table} SET {field} = ? WHERE {column} = ? AND {field} = ?",
                    (old, target, new),
                )
                if done.rowcount:
                    con.execute(
                        "INSERT INTO change_rows VALUES (?, ?, ?, ?, ?)",
                        (undo, target, field, new, old),
                    )
            con.execute("UPDATE changes SET undone = 1 WHERE id = ?", (change,))
        return {"undone": change, "tracklet": key}

    def frames(self, reviewed_only: bool = False) -> pd.DataFrame:
        """Every frame's current values and its tracklet's flags (for the export), or only those
        of accepted tracklets (for the header's tables)."""
        where = "WHERE t.accepted = 1" if reviewed_only else ""
        query = f"""
            SELECT f.path, f.tracklet, t.split, f.occlusion, f.persons, f.confidence,
                   t.accepted, t.exclude
            FROM frames f JOIN tracklets t ON t.key = f.tracklet {where} ORDER BY f.rowid"""
        with self.connect() as con:
            return pd.read_sql_query(query, con)

    def history(self) -> pd.DataFrame:
        """Every decision with what it changed (reviewer, time)."""
        query = """
            SELECT c.id, c.at, c.reviewer, c.tracklet, c.action, c.undone, r.target, r.field,
                   r.old, r.new
            FROM changes c LEFT JOIN change_rows r ON r.change = c.id ORDER BY c.id"""
        with self.connect() as con:
            return pd.read_sql_query(query, con)


def _fill(con: sqlite3.Connection, csv: Path, source: str, frames: pd.DataFrame) -> None:
    """Write the proposal of a new store."""
    con.executemany(
        "INSERT OR REPLACE INTO meta VALUES (?, ?)",
        [("source", source), ("csv", str(csv.resolve())), ("created", str(time.time()))],
    )
    confidence = frames["confidence"].astype("float64").to_numpy()
    con.executemany(
        "INSERT INTO frames VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        zip(
            frames["path"].tolist(),
            frames["tracklet"].tolist(),
            frames["frame"].astype(int).tolist(),
            frames["occlusion"].astype(int).tolist(),
            frames["persons"].astype(int).tolist(),
            [None if np.isnan(c) else float(c) for c in confidence],
            frames["occlusion"].astype(int).tolist(),
            frames["persons"].astype(int).tolist(),
            strict=True,
        ),
    )
    per = frames.groupby("tracklet", sort=True).agg(
        split=("split", "first"), pid=("pid", "first"), camid=("camid", "first"), n=("path", "size")
    )
    con.executemany(
        "INSERT INTO tracklets (key, split, pid, camid, frames) VALUES (?, ?, ?, ?, ?)",
        zip(
            per.index.tolist(),
            per["split"].tolist(),
            per["pid"].astype(int).tolist(),
            per["camid"].astype(int).tolist(),
            per["n"].astype(int).tolist(),
            strict=True,
        ),
    )


def _record(con: sqlite3.Connection, reviewer: str, key: str, action: str) -> int:
    cur = con.execute(
        "INSERT INTO changes (at, reviewer, tracklet, action) VALUES (?, ?, ?, ?)",
        (time.time(), reviewer, key, action),
    )
    return int(cur.lastrowid or 0)
