"""The review store: one SQLite database (WAL mode), by default beside the annotation CSV.

Schema version 4 (``PRAGMA user_version``; an older store is migrated in place when opened,
keeping every decision: 1 -> 2 adds versions, pages, proposal sets and the fingerprint; 2 -> 3
re-reads the tracklets' camids from the source, since image folders stored ``c<n> - 1`` before
and now store ``n``, as DukeMTMC-VideoReID's ``C<n>`` always was; 3 -> 4 adds the checks, none:
the proposals the reviewers were shown stay the reference)::

    meta(key, value)          schema, fingerprint (of SOURCE's frame listing), source (the root
                              last seen, a hint only), created, retagged_from (the CSV a
                              re-tagged store follows)
    proposal_sets(id, sha256, csv, at, changed, disagree)
                              every CSV the proposals came from (content hash), in order
    frames(path, tracklet, frame, row, proposal_set, proposed_occlusion, proposed_persons,
           confidence, occlusion, persons, decision)
                              the current proposal of every frame and its current value;
                              ``decision`` = the change that set the value (NULL: the proposal);
                              ``row`` = the frame's position in the CSV (the export's order)
    superseded(proposal_set, path, occlusion, persons, confidence)
                              proposals a later CSV replaced
    checks(proposal_set, path, occlusion, persons, confidence)
                              the check of the calibration a proposal set came from (a re-tag's
                              calibrate.CalibrationFit.check, or the one beside a CSV:
                              pseudolabel/calibration_check.py): the reviewed frames' tags under
                              it, out of fold where it was fitted on them, the confidence on the
                              scale of the tags it proposes
    tracklets(key, split, pid, camid, frames, accepted, exclude, reviewer, at, version)
    changes(id, at, reviewer, page, tracklet, action, proposal_set, undone)
                              every decision, in order: who, from which page, on which proposals
    change_rows(change, target, field, old, new, old_decision)   what each decision changed
    blind(path, reviewer, occlusion, persons), blind_tracklets(key, reviewer, accepted, at)
                              a second reviewer's labels of tracklets someone else accepted,
                              made blind (review/overlap.py): kept apart, never a decision

Proposals and decisions are kept apart: a new CSV (another content hash) gives its proposals to
the frames nobody decided (no decision, tracklet not accepted); decided frames keep their value
and those that now differ from the new tags (label or persons) are listed. A CSV's ``reviewed``
column is a decision (change ``import reviewed``, reviewer ``csv:NAME``).

What the reviewers did says how good the tags nobody decided are (review/quality.py, the
export's label-quality columns) only when compared with tags like those: the *reference* tag of a
reviewed frame is its tag in the check of the latest proposal set, where that set has one (a
re-tag, or a CSV tagged with a fitted calibration) and the frame is in it, else the proposal its
reviewer was shown (a later CSV without a check replaces the tags the check was of). A frame
decided after that re-tag was undecided at its fit, so it is in no check and was shown a tag of
the re-tag itself.

Every decision is one transaction (``BEGIN IMMEDIATE``, ``synchronous = FULL``): once the
server has answered, it is on disk. Every write names the tracklet's ``version`` it was made on
and bumps it; a write on an older version is refused (``Stale``). An undo restores the old
values of one page's last decision where nobody has changed them since, and is recorded.
Several servers (one per reviewer) may run on one store, and an export reads it beside them; a
CSV's proposals are taken (a new store, a changed CSV) only where no server runs on it, else
`occreid review` stops with one line naming the store (review/lock.py).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from occreid.common.atomic import write_text
from occreid.common.errors import OccreidError
from occreid.occdata.annotations import file_sha256, is_occluded
from occreid.review.lock import StoreLock

SCHEMA_VERSION = 4
CAMIDS_AS_NAMED = 3  # the first schema whose image-folder camids are the file names' c<n>
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS proposal_sets (
    id INTEGER PRIMARY KEY, sha256 TEXT, csv TEXT NOT NULL, at REAL NOT NULL,
    changed INTEGER NOT NULL DEFAULT 0, disagree INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS frames (
    path TEXT PRIMARY KEY, tracklet TEXT NOT NULL, frame INTEGER NOT NULL,
    proposed_occlusion INTEGER NOT NULL, proposed_persons INTEGER NOT NULL, confidence REAL,
    occlusion INTEGER NOT NULL, persons INTEGER NOT NULL,
    row INTEGER NOT NULL, proposal_set INTEGER NOT NULL, decision INTEGER);
CREATE INDEX IF NOT EXISTS frames_by_tracklet ON frames (tracklet, frame);
CREATE TABLE IF NOT EXISTS superseded (
    proposal_set INTEGER NOT NULL, path TEXT NOT NULL, occlusion INTEGER NOT NULL,
    persons INTEGER NOT NULL, confidence REAL);
CREATE TABLE IF NOT EXISTS checks (
    proposal_set INTEGER NOT NULL, path TEXT NOT NULL, occlusion INTEGER NOT NULL,
    persons INTEGER NOT NULL, confidence REAL, PRIMARY KEY (proposal_set, path));
CREATE TABLE IF NOT EXISTS tracklets (
    key TEXT PRIMARY KEY, split TEXT NOT NULL, pid INTEGER NOT NULL, camid INTEGER NOT NULL,
    frames INTEGER NOT NULL, accepted INTEGER NOT NULL DEFAULT 0,
    exclude INTEGER NOT NULL DEFAULT 0, reviewer TEXT, at REAL,
    version INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, reviewer TEXT NOT NULL,
    tracklet TEXT NOT NULL, action TEXT NOT NULL, undone INTEGER NOT NULL DEFAULT 0,
    page TEXT, proposal_set INTEGER);
CREATE INDEX IF NOT EXISTS changes_by_page ON changes (page, undone);
CREATE TABLE IF NOT EXISTS change_rows (
    change INTEGER NOT NULL, target TEXT NOT NULL, field TEXT NOT NULL,
    old INTEGER NOT NULL, new INTEGER NOT NULL, old_decision INTEGER);
CREATE TABLE IF NOT EXISTS blind (
    path TEXT NOT NULL, reviewer TEXT NOT NULL, occlusion INTEGER NOT NULL,
    persons INTEGER NOT NULL, PRIMARY KEY (path, reviewer));
CREATE TABLE IF NOT EXISTS blind_tracklets (
    key TEXT NOT NULL, reviewer TEXT NOT NULL, accepted INTEGER NOT NULL DEFAULT 0, at REAL,
    PRIMARY KEY (key, reviewer));
"""
FRAME_FIELDS = ("occlusion", "persons")
TRACKLET_FIELDS = ("accepted", "exclude")
IMPORT = "import reviewed"
RETAGGED_FROM = "retagged_from"  # meta: the CSV's hash a re-tagged store still follows
RETAG_SET = re.compile(r"\.retag-\d+\.calibration\.json$")  # a re-tag's proposal set (retag.py)
CACHE_KIB = 64 * 1024  # SQLite's page cache: building the frame index of 927k rows fits
_DECIDED = "(f.decision IS NOT NULL OR t.accepted = 1)"
_SECOND = """LEFT JOIN (SELECT b.path, MIN(b.reviewer), b.occlusion AS occlusion_2,
        b.persons AS persons_2
    FROM blind b JOIN frames g ON g.path = b.path JOIN blind_tracklets bt ON bt.key = g.tracklet
        AND bt.reviewer = b.reviewer AND bt.accepted = 1 GROUP BY b.path) s ON s.path = f.path"""


def _second(con: sqlite3.Connection) -> tuple[str, str]:
    """(columns, join) that give each frame the blind labels (occlusion_2, persons_2) of the
    (first by name) second reviewer who accepted its tracklet; nothing where nobody did (the
    columns are then left out: the export stays fast)."""
    some = con.execute("SELECT EXISTS (SELECT 1 FROM blind_tracklets WHERE accepted = 1)")
    return (", s.occlusion_2, s.persons_2", _SECOND) if some.fetchone()[0] else ("", "")


_CHECK = (
    ", k.occlusion AS check_occlusion, k.persons AS check_persons, "
    "k.confidence AS check_confidence",
    "LEFT JOIN checks k ON k.path = f.path "
    "AND k.proposal_set = (SELECT MAX(id) FROM proposal_sets)",
)


def _latest_check(con: sqlite3.Connection) -> tuple[str, str]:
    """(columns, join) that give each frame its tag in the check of the latest proposal set
    (check_occlusion, check_persons, check_confidence; NULL where the frame is not in it);
    nothing where that set came without a check (the columns are then left out, as the blind
    ones): a check says nothing about tags that later proposals replaced."""
    some = con.execute(
        "SELECT EXISTS (SELECT 1 FROM checks "
        "WHERE proposal_set = (SELECT MAX(id) FROM proposal_sets))"
    ).fetchone()[0]
    return _CHECK if some else ("", "")


def _only(keys: list[str] | None, joined: str) -> str:
    """SQL that keeps the frames of the tracklets in ``keys`` (all where None), after
    ``joined`` (WHERE or AND); its one parameter is ``_keys(keys)``."""
    return "" if keys is None else f"{joined} f.tracklet IN (SELECT value FROM json_each(?))"


def _keys(keys: list[str] | None) -> tuple[str, ...]:
    """The parameter of ``_only``: the keys as a JSON array."""
    return () if keys is None else (json.dumps(keys),)


def store_path(csv: Path) -> Path:
    """Where the store of an annotation CSV lives by default: beside it."""
    return csv.with_name(csv.name + ".review.sqlite")


def disagreement_path(store: Path) -> Path:
    """Where the frames whose decision disagrees with a new CSV's tags are listed."""
    return store.with_name(store.name + ".disagree.csv")


def fingerprint(paths: pd.Series) -> str:
    """The content fingerprint of a source: SHA-256 of its sorted frame paths (a moved SOURCE
    keeps it; another frame set does not)."""
    return hashlib.sha256("\n".join(sorted(paths.tolist())).encode()).hexdigest()


class Stale(Exception):
    """A write made on an older version of a tracklet than the store's."""

    def __init__(self, key: str, version: int) -> None:
        super().__init__(f"{key} is at version {version}")
        self.key, self.version = key, version


@dataclass(frozen=True, kw_only=True)
class Proposals:
    """One annotation CSV on the source's frames: ``frames`` has path, tracklet, split, pid,
    camid, frame, row (CSV order), occlusion, persons, confidence (float64, NaN = none) and
    reviewed (bool); ``check`` (path, occlusion, persons, confidence): the check of the
    calibration the tags came from (calibrate.CalibrationFit.check), kept with them, if any."""

    csv: Path
    sha256: str
    frames: pd.DataFrame
    check: pd.DataFrame | None = None


@dataclass(frozen=True, kw_only=True)
class Opened:
    """What opening did to the proposals: created, unchanged or reloaded (a changed CSV; in a
    read-only store's private copy, only for this run)."""

    state: str
    changed: int = 0
    kept: int = 0
    disagree: int = 0  # decisions whose label (0-10) or persons differ from the new tags
    disagree_occluded: int = 0  # of those, the ones that differ on occluded yes / no
    listed: Path | None = None
    imported: int = 0
    other_csv: str | None = None  # the CSV the store followed before, where another was given

    def line(self) -> str:
        """The start-up line about the proposals."""
        if self.state == "reloaded" and (self.changed or self.disagree):
            listed = f" (listed in {self.listed})" if self.disagree and self.listed else ""
            what = "the CSV changed since the last run"
            if self.other_csv:
                what = f"this store followed {self.other_csv}; it now follows this CSV"
            return (
                f"{what}: {self.changed:,} frames have new "
                f"proposals, {self.kept:,} of them decided by people keep their decision, "
                f"{self.disagree:,} decisions now differ from the new tags' label or persons"
                f"{listed}, {self.disagree_occluded:,} of them on occluded yes / no"
            )
        if self.imported:
            return f"{self.imported:,} frames reviewed in the CSV kept as decisions"
        return ""


def _writable(path: Path) -> bool:
    folder = path.parent
    if path.exists():
        return os.access(path, os.W_OK) and os.access(folder, os.W_OK)
    return folder.is_dir() and os.access(folder, os.W_OK)


def is_read_only(path: Path) -> bool:
    """Whether the store at ``path`` exists and cannot be written here: ReviewStore.open reads it
    through a private copy (it exports), and a server is refused before that copy is made."""
    return path.exists() and not _writable(path)


def _private_copy(path: Path) -> Path:
    """A copy of a store that cannot be written, removed when the process ends: of one moment
    of it, with the last decisions its write-ahead log holds, read through SQLite (a backup)
    while a server of someone who can write it may be writing and folding its log in; where
    SQLite cannot read it (a log without its index, which a read-only folder cannot take: then
    no server runs on it), its files as they are."""
    import atexit
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="occreid-store-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    copy = folder / path.name
    try:
        _backup(path, copy)
    except sqlite3.Error:
        for leftover in folder.iterdir():  # a half backup (and its journal) goes
            leftover.unlink()
        for suffix in ("", "-wal"):
            if Path(f"{path}{suffix}").exists():
                shutil.copyfile(f"{path}{suffix}", folder / f"{path.name}{suffix}")
    return copy


def _backup(path: Path, copy: Path) -> None:
    """Copy the store ``path`` to ``copy`` as one read transaction sees it (read-only)."""
    source = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        target = sqlite3.connect(copy)
        try:
            source.backup(target)
        finally:
            target.close()
    finally:
        source.close()


class ReviewStore:
    """Reads and decisions on one store; a new SQLite connection per call (thread-safe)."""

    def __init__(self, path: Path, read_only: bool = False) -> None:
        self.path = path
        self.read_only = read_only
        self.lock: StoreLock | None = None  # a server's, held while it runs (review/lock.py)

    @contextmanager
    def connect(self, write: bool = False) -> Iterator[sqlite3.Connection]:
        """A connection; ``write`` holds the write lock for one transaction, committed at exit."""
        if write and self.read_only:
            raise OccreidError(f"{self.path}: the review store is read-only")
        con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            con.execute("PRAGMA journal_mode = WAL")
            con.execute("PRAGMA synchronous = FULL")
            con.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
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
    def open(
        cls, path: Path, root: Path, proposals: Proposals, serving: bool = False
    ) -> tuple[ReviewStore, Opened]:
        """The store at ``path`` for the frames of ``proposals``: created the first time,
        migrated from an older schema, given the proposals of a changed CSV; a store made for
        another frame set is an error. A store that cannot be written is opened as a private
        copy, read-only (it exports). Proposals are taken (a new store, a changed CSV) only
        where no server runs on the store, else a one-line error (review/lock.py); ``serving``:
        for a server, which holds the store's lock from before it opens the store on."""
        read_only = is_read_only(path)
        store = cls(_private_copy(path) if read_only else path)
        lock = None if read_only else StoreLock(path, serving)
        if lock is not None and serving:
            lock.share()
        try:
            opened = store._fill(path, root, proposals, lock)
        except BaseException:
            if lock is not None:
                lock.release()
            raise
        finally:
            store.read_only = read_only  # a private copy: read, migrated, never written back
        if lock is not None and serving:
            lock.share()  # with the other servers again, where it took proposals alone
            store.lock = lock
        elif lock is not None:
            lock.release()
        return store, opened

    def _fill(self, path: Path, root: Path, proposals: Proposals, lock: StoreLock | None) -> Opened:
        """ReviewStore.open's work on the store (``path``: the one named, where this is its
        private copy); ``lock`` (None: a private copy) is taken alone before proposals are."""
        here = fingerprint(proposals.frames["path"])
        listed = None if lock is None else disagreement_path(path)
        try:
            with self.connect(write=True) as con:
                found = _upgrade(con, path)
                if con.execute("SELECT COUNT(*) FROM meta").fetchone()[0] == 0:
                    if lock is not None:
                        lock.take(proposals.csv)
                    return _create(con, root, here, proposals)
                _check(con, path, here)
                if found < CAMIDS_AS_NAMED:
                    _refresh_camids(con, proposals.frames)
                con.execute("INSERT OR REPLACE INTO meta VALUES ('source', ?)", (str(root),))
                if proposals.sha256 in (_latest_sha(con), _retagged_from(con)):
                    return Opened(state="unchanged")
                if lock is not None:
                    lock.take(proposals.csv)
                con.execute(f"DELETE FROM meta WHERE key = '{RETAGGED_FROM}'")
                return _reload(con, proposals, listed)
        except sqlite3.OperationalError as err:
            raise OccreidError(
                f"{path}: cannot write the review store ({err}); pass --store PATH in a "
                "writable folder"
            ) from None
        except sqlite3.DatabaseError as err:
            raise OccreidError(f"{path}: not a review store ({err}); pass --store PATH") from None

    def repropose(
        self,
        tags: pd.DataFrame,
        save: Callable[[int], Path],
        check: pd.DataFrame | None = None,
    ) -> Opened:
        """Give new proposals ``tags`` (path, occlusion, persons, confidence: a re-tag of the
        label cache) to the frames nobody decided, as the proposal set from the file that
        ``save(N)`` writes and names for it, N being the set's number (chosen in the write
        transaction: two servers re-tagging at once each get their own); decisions, and the
        proposals their reviewers were shown, stay; ``check`` (path, occlusion, persons,
        confidence: calibrate.CalibrationFit.check) is kept with the set: the reference of the
        frames in it from now on (module docstring). The store keeps following the CSV it was
        opened with: reopened with it, the re-tag stays."""
        with self.connect(write=True) as con:
            undecided = pd.read_sql_query(
                "SELECT f.path, f.row FROM frames f JOIN tracklets t ON t.key = f.tracklet "
                f"WHERE NOT {_DECIDED}",
                con,
            )
            columns = ["path", "occlusion", "persons", "confidence"]
            frames = undecided.merge(tags[columns], on="path").assign(reviewed=False)
            following = _retagged_from(con) or _latest_sha(con)
            source = save(con.execute("SELECT MAX(id) + 1 FROM proposal_sets").fetchone()[0])
            new = Proposals(csv=source, sha256=file_sha256(source), frames=frames, check=check)
            opened = _reload(con, new, None)
            con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (RETAGGED_FROM, following))
        return opened

    def meta(self) -> dict[str, str]:
        with self.connect() as con:
            return dict(con.execute("SELECT key, value FROM meta").fetchall())

    def tracklets(
        self, edges: tuple[float, ...] = (), keys: list[str] | None = None
    ) -> pd.DataFrame:
        """Every tracklet (or those in ``keys``) with its current occluded fraction, mean
        confidence and frames without evidence (``unknown``: confidence 0); with ``edges``, also
        its undecided frames that have a confidence (``undecided``) and how many of them reach
        each edge (``at_least_I``): the header's estimate counts the tags nobody decided by
        confidence in the same pass."""
        counted = "".join(
            f", SUM(f.decision IS NULL AND f.confidence >= {float(e)!r}) AS at_least_{i}"
            for i, e in enumerate(edges)
        )
        if edges:
            counted += ", SUM(f.decision IS NULL AND f.confidence IS NOT NULL) AS undecided"
        query = f"""
            SELECT t.key, t.split, t.pid, t.camid, t.frames, t.accepted, t.exclude, t.reviewer,
                   t.version,
                   AVG(CASE WHEN f.occlusion >= 1 OR f.persons > 1 THEN 1.0 ELSE 0.0 END)
                       AS occluded,
                   AVG(f.confidence) AS confidence,
                   SUM(COALESCE(f.confidence = 0, 0)) AS unknown,
                   SUM(f.occlusion != f.proposed_occlusion OR f.persons != f.proposed_persons)
                       AS changed{counted}
            FROM tracklets t JOIN frames f ON f.tracklet = t.key {_only(keys, "WHERE")}
            GROUP BY t.key"""
        with self.connect() as con:
            return pd.read_sql_query(query, con, params=_keys(keys))

    def tracklet(self, key: str) -> dict[str, Any]:
        """One tracklet: its row (with ``version``) and its frames in order."""
        with self.connect() as con:
            return _tracklet(con, key)

    def acceptance(self, key: str) -> tuple[int, str | None]:
        """(accepted, who last set it) of tracklet ``key``."""
        with self.connect() as con:
            found = con.execute(
                "SELECT accepted, reviewer FROM tracklets WHERE key = ?", (key,)
            ).fetchone()
        if found is None:
            raise KeyError(key)
        return int(found[0]), found[1]

    def version(self, key: str) -> int:
        """The tracklet's version: what a page polls to learn of writes made elsewhere."""
        with self.connect() as con:
            found = con.execute("SELECT version FROM tracklets WHERE key = ?", (key,)).fetchone()
        if found is None:
            raise KeyError(key)
        return int(found[0])

    def set_frames(
        self,
        key: str,
        span: tuple[int, int],
        field: str,
        value: int,
        who: tuple[str, str],
        version: int,
        blind: bool = False,
    ) -> dict[str, Any]:
        """Set ``field`` (occlusion or persons) of the frames ``span`` (positions in tracklet
        ``key``, inclusive) for ``who`` (reviewer, page id), made on tracklet ``version``;
        returns those frames as they are now and the new version. ``blind``: in ``who``'s
        blind second review, kept apart (the first decision stays)."""
        if field not in FRAME_FIELDS:
            raise ValueError(field)
        where = "tracklet = ? AND frame BETWEEN ? AND ?"
        bounds = (key, min(span), max(span))
        with self.connect(write=True) as con:
            new_version = _bump(con, key, version)
            if blind:
                return {**_set_blind(con, who, field, value, bounds), "version": new_version}
            change = _record(con, who, key, f"set {field}")
            done = con.execute(
                f"INSERT INTO change_rows SELECT ?, path, ?, {field}, ?, decision FROM frames "
                f"WHERE {where}",
                (change, field, value, *bounds),
            )
            if done.rowcount == 0:
                raise KeyError(key)
            con.execute(
                f"UPDATE frames SET {field} = ?, decision = ? WHERE {where}",
                (value, change, *bounds),
            )
            rows = con.execute(
                f"SELECT frame, path, occlusion, persons FROM frames WHERE {where} ORDER BY frame",
                bounds,
            ).fetchall()
        names = ("frame", "path", "occlusion", "persons")
        return {
            "frames": [dict(zip(names, r, strict=True)) for r in rows],
            "version": new_version,
        }

    def set_tracklet(
        self, key: str, field: str, value: int, who: tuple[str, str], version: int
    ) -> dict[str, Any]:
        """Accept (accepted = 1) or mark / unmark as sharing an obstacle (exclude; train only),
        made on tracklet ``version``; returns the tracklet as it is now."""
        if field not in TRACKLET_FIELDS:
            raise ValueError(field)
        with self.connect(write=True) as con:
            found = con.execute(
                f"SELECT split, {field} FROM tracklets WHERE key = ?", (key,)
            ).fetchone()
            if found is None:
                raise KeyError(key)
            if field == "exclude" and found[0] != "train":
                raise OccreidError("only train tracklets can be excluded")
            _bump(con, key, version)
            change = _record(con, who, key, f"set {field}")
            con.execute(
                "INSERT INTO change_rows VALUES (?, ?, ?, ?, ?, NULL)",
                (change, key, field, found[1], value),
            )
            con.execute(
                f"UPDATE tracklets SET {field} = ?, reviewer = ?, at = ? WHERE key = ?",
                (value, who[0], time.time(), key),
            )
            return _tracklet(con, key)

    def blind_tracklet(self, key: str, reviewer: str) -> dict[str, Any]:
        """Tracklet ``key`` as ``reviewer`` sees it in a blind second review: the proposals, or
        their own blind labels, never the first reviewer's decisions."""
        with self.connect() as con:
            return _blind_tracklet(con, key, reviewer)

    def set_blind_tracklet(
        self, key: str, value: int, who: tuple[str, str], version: int
    ) -> dict[str, Any]:
        """Accept (1) or reopen (0) ``who``'s blind second review of ``key``; accepting takes
        the proposals as the labels of the frames they did not change."""
        with self.connect(write=True) as con:
            _bump(con, key, version)
            _record(con, who, key, "blind accepted")
            _blind_rows(con, who[0], "tracklet = ?", (key,))
            con.execute(
                "INSERT OR REPLACE INTO blind_tracklets VALUES (?, ?, ?, ?)",
                (key, who[0], value, time.time()),
            )
            return _blind_tracklet(con, key, who[0])

    def blind_accepted(self, reviewer: str) -> set[str]:
        """The tracklets ``reviewer`` accepted in a blind second review."""
        with self.connect() as con:
            rows = con.execute(
                "SELECT key FROM blind_tracklets WHERE reviewer = ? AND accepted = 1", (reviewer,)
            ).fetchall()
        return {r[0] for r in rows}

    def undo(self, who: tuple[str, str]) -> dict[str, Any] | None:
        """Undo the last decision of page ``who[1]`` not yet undone; None when there is none."""
        with self.connect(write=True) as con:
            last = con.execute(
                "SELECT id, tracklet, action FROM changes WHERE page = ? AND undone = 0 "
                "AND action != 'undo' AND action NOT LIKE 'blind %' ORDER BY id DESC LIMIT 1",
                (who[1],),
            ).fetchone()
            if last is None:
                return None
            change, key, action = last
            undo = _record(con, who, key, "undo")
            _restore(con, change, undo, action.removeprefix("set "))  # one field per decision
            con.execute("UPDATE changes SET undone = 1 WHERE id = ?", (change,))
            con.execute("UPDATE tracklets SET version = version + 1 WHERE key = ?", (key,))
        return {"undone": change, "tracklet": key}

    def frames(self, reviewed_only: bool = False, keys: list[str] | None = None) -> pd.DataFrame:
        """Every frame's current values and its tracklet's flags, or only those of accepted
        tracklets (the header's tables); ``keys``: only those tracklets' frames."""
        where = "WHERE t.accepted = 1" if reviewed_only else "WHERE 1"
        query = f"""
            SELECT f.path, f.tracklet, t.split, f.occlusion, f.persons, f.confidence,
                   t.accepted, t.exclude
            FROM frames f JOIN tracklets t ON t.key = f.tracklet {where} {_only(keys, "AND")}
            ORDER BY f.rowid"""
        with self.connect() as con:
            return pd.read_sql_query(query, con, params=_keys(keys))

    def holds(self, paths: list[str]) -> int:
        """How many of ``paths`` are frames of this store."""
        with self.connect() as con:
            sql = "SELECT COUNT(*) FROM frames WHERE path IN (SELECT value FROM json_each(?))"
            return int(con.execute(sql, (json.dumps(paths),)).fetchone()[0])

    def accepted(self) -> int:
        """How many tracklets are accepted."""
        with self.connect() as con:
            return int(
                con.execute("SELECT COUNT(*) FROM tracklets WHERE accepted = 1").fetchone()[0]
            )

    def state(self) -> tuple[int, int]:
        """(last decision, last proposal set): changes whenever any value or proposal does, so
        that what is computed from the whole store can be kept until it does."""
        with self.connect() as con:
            row = con.execute(
                "SELECT (SELECT COALESCE(MAX(id), 0) FROM changes), "
                "(SELECT COALESCE(MAX(id), 0) FROM proposal_sets)"
            ).fetchone()
        return int(row[0]), int(row[1])

    def compared_frames(self, keys: list[str] | None = None) -> pd.DataFrame:
        """The frames of accepted tracklets (of those in ``keys``) with the proposal their
        reviewer was shown, a second reviewer's blind labels and their tag in the latest check:
        tracklet, split, occlusion, persons, confidence, auto_occlusion, auto_persons,
        occlusion_2, persons_2, check_occlusion, check_persons, check_confidence (NULL: none; no
        blind or check columns where nobody reviewed blind or no check was kept), in the
        frames' order. label_quality takes the check, where there is one, as the reference."""
        query = """
            SELECT f.path, f.tracklet, t.split, f.occlusion, f.persons, f.confidence,
                   f.proposed_occlusion AS auto_occlusion, f.proposed_persons AS auto_persons{0}{2}
            FROM frames f JOIN tracklets t ON t.key = f.tracklet {1} {3}
            WHERE t.accepted = 1 {4} ORDER BY f.rowid"""
        with self.connect() as con:
            sql = query.format(*_second(con), *_latest_check(con), _only(keys, "AND"))
            table = pd.read_sql_query(sql, con, params=_keys(keys))
            return _shown_proposals(con, table, keys).drop(columns="path")

    def touched_since(self, change: int) -> set[str]:
        """The tracklets that decisions after ``change`` (an id of ``changes``) wrote to."""
        with self.connect() as con:
            rows = con.execute("SELECT DISTINCT tracklet FROM changes WHERE id > ?", (change,))
            return {r[0] for r in rows}

    def reviewed_frames(self) -> tuple[pd.DataFrame, list[str]]:
        """(every frame's path, occlusion, persons, confidence, reviewed (accepted tracklet, or
        reviewed in a CSV), the proposal (auto_occlusion, auto_persons), a second reviewer's
        blind labels (occlusion_2, persons_2) and the tag in the latest check (check_occlusion,
        check_persons, check_confidence; NULL: none; no blind or check columns where nobody
        reviewed blind or no check was kept) in the CSV's row order; the excluded
        tracklets): the export."""
        query = f"""
            SELECT f.path, f.occlusion, f.persons, f.confidence, f.row,
                   (t.accepted = 1 OR COALESCE(f.decision IN
                       (SELECT id FROM changes WHERE action = '{IMPORT}'), 0)) AS reviewed,
                   f.proposed_occlusion AS auto_occlusion, f.proposed_persons AS auto_persons{{0}}
                   {{2}}
            FROM frames f JOIN tracklets t ON t.key = f.tracklet {{1}} {{3}}"""
        with self.connect() as con:
            table = pd.read_sql_query(query.format(*_second(con), *_latest_check(con)), con)
            table = _shown_proposals(con, table)
            excluded = [r[0] for r in con.execute("SELECT key FROM tracklets WHERE exclude = 1")]
        row = table.pop("row").to_numpy()
        if not (np.diff(row) > 0).all():  # the CSV was not in the source's order
            table = table.iloc[np.argsort(row, kind="stable")].reset_index(drop=True)
        return table, sorted(excluded)

    def history(self) -> pd.DataFrame:
        """Every decision with what it changed (reviewer, page, time)."""
        query = """
            SELECT c.id, c.at, c.reviewer, c.page, c.tracklet, c.action, c.undone,
                   c.proposal_set, r.target, r.field, r.old, r.new
            FROM changes c LEFT JOIN change_rows r ON r.change = c.id ORDER BY c.id"""
        with self.connect() as con:
            return pd.read_sql_query(query, con)

    def proposal_sets(self) -> pd.DataFrame:
        with self.connect() as con:
            return pd.read_sql_query("SELECT * FROM proposal_sets ORDER BY id", con)


def _tracklet(con: sqlite3.Connection, key: str) -> dict[str, Any]:
    con.row_factory = sqlite3.Row
    row = con.execute("SELECT * FROM tracklets WHERE key = ?", (key,)).fetchone()
    if row is None:
        raise KeyError(key)
    frames = con.execute(
        "SELECT frame, path, proposed_occlusion, proposed_persons, confidence, "
        "occlusion, persons FROM frames WHERE tracklet = ? ORDER BY frame",
        (key,),
    ).fetchall()
    con.row_factory = None
    return {**dict(row), "frame_rows": [dict(f) for f in frames]}


def _blind_tracklet(con: sqlite3.Connection, key: str, reviewer: str) -> dict[str, Any]:
    """_tracklet with the reviewer's blind labels (else the proposals) as the values, their
    blind acceptance as ``accepted``, and nothing of the first review."""
    out = _tracklet(con, key)
    labels = dict(
        (r[0], (r[1], r[2]))
        for r in con.execute(
            "SELECT b.path, b.occlusion, b.persons FROM blind b JOIN frames f ON f.path = b.path "
            "WHERE f.tracklet = ? AND b.reviewer = ?",
            (key, reviewer),
        )
    )
    for f in out["frame_rows"]:
        f["occlusion"], f["persons"] = labels.get(
            f["path"], (f["proposed_occlusion"], f["proposed_persons"])
        )
    done = con.execute(
        "SELECT accepted FROM blind_tracklets WHERE key = ? AND reviewer = ?", (key, reviewer)
    ).fetchone()
    return {**out, "accepted": int(done[0]) if done else 0, "reviewer": reviewer, "blind": True}


def _set_blind(
    con: sqlite3.Connection, who: tuple[str, str], field: str, value: int, bounds: tuple
) -> dict[str, Any]:
    """ReviewStore.set_frames in ``who``'s blind labels; the frames ``bounds`` as they are now."""
    where = "tracklet = ? AND frame BETWEEN ? AND ?"
    _record(con, who, bounds[0], f"blind {field}")
    _blind_rows(con, who[0], where, bounds)
    con.execute(
        f"UPDATE blind SET {field} = ? WHERE reviewer = ? AND path IN "
        f"(SELECT path FROM frames WHERE {where})",
        (value, who[0], *bounds),
    )
    rows = _blind_tracklet(con, bounds[0], who[0])["frame_rows"]
    return {"frames": [r for r in rows if bounds[1] <= r["frame"] <= bounds[2]]}


def _blind_rows(con: sqlite3.Connection, reviewer: str, where: str, bounds: tuple) -> None:
    """Blind labels, from the proposals, for the frames ``where`` that have none yet."""
    con.execute(
        f"INSERT OR IGNORE INTO blind SELECT path, ?, proposed_occlusion, proposed_persons "
        f"FROM frames WHERE {where}",
        (reviewer, *bounds),
    )


def _restore(con: sqlite3.Connection, change: int, undo: int, field: str) -> None:
    """Put back the old values ``change`` gave ``field`` where nobody has changed them since,
    recording what was put back as the rows of ``undo``."""
    table, column, mine = (
        ("frames", "path", "AND x.decision = r.change")
        if field in FRAME_FIELDS
        else ("tracklets", "key", "")
    )
    con.execute(
        f"INSERT INTO change_rows SELECT ?, r.target, r.field, r.new, r.old, r.change "
        f"FROM change_rows r JOIN {table} x ON x.{column} = r.target "
        f"WHERE r.change = ? AND r.field = ? AND x.{field} = r.new {mine}",
        (undo, change, field),
    )
    decision = ", decision = r.old_decision" if field in FRAME_FIELDS else ""
    con.execute(
        f"UPDATE {table} AS x SET {field} = r.old{decision} FROM change_rows r "
        f"WHERE r.change = ? AND r.field = ? AND r.target = x.{column} AND x.{field} = r.new "
        f"{mine}",
        (change, field),
    )


def _bump(con: sqlite3.Connection, key: str, version: int) -> int:
    """Check that the write was made on the tracklet's current version; the next one."""
    done = con.execute(
        "UPDATE tracklets SET version = version + 1 WHERE key = ? AND version = ?", (key, version)
    )
    if done.rowcount == 0:
        found = con.execute("SELECT version FROM tracklets WHERE key = ?", (key,)).fetchone()
        if found is None:
            raise KeyError(key)
        raise Stale(key, found[0])
    return version + 1


def _shown_proposals(
    con: sqlite3.Connection, table: pd.DataFrame, keys: list[str] | None = None
) -> pd.DataFrame:
    """``table`` (path, auto_occlusion, auto_persons, confidence: the current proposals) with, on
    the frames of accepted tracklets that a later CSV gave new proposals, the proposal (and its
    confidence) their reviewer was shown instead: the one in effect at the tracklet's last
    acceptance (its change's proposal set). A proposal row (set k) holds from k until the next
    row's set; the shown one is the row of the highest set up to the acceptance's, or the first
    row where all came later (the frame carried it unchanged since before). ``keys``: only those
    tracklets' frames are in ``table``."""
    old = pd.read_sql_query(
        "SELECT s.proposal_set AS k, s.path, s.occlusion, s.persons, s.confidence, a.shown "
        "FROM superseded s JOIN frames f ON f.path = s.path JOIN (SELECT c.tracklet, "
        "c.proposal_set AS shown, MAX(c.id) FROM changes c JOIN change_rows r ON r.change = c.id "
        "WHERE c.action = 'set accepted' AND c.undone = 0 AND r.new = 1 GROUP BY c.tracklet) a "
        f"ON a.tracklet = f.tracklet {_only(keys, 'WHERE')}",
        con,
        params=_keys(keys),
    )
    if old.empty:
        return table
    now = pd.read_sql_query(
        "SELECT proposal_set AS k, path, proposed_occlusion AS occlusion, proposed_persons AS "
        "persons, confidence FROM frames WHERE path IN (SELECT value FROM json_each(?))",
        con,
        params=(json.dumps(old["path"].unique().tolist()),),
    ).merge(old[["path", "shown"]].drop_duplicates(), on="path")
    rows = pd.concat([old, now], ignore_index=True)
    held = rows["k"] <= rows["shown"]  # last of these, else the first row: sorted last per path
    rows = rows.assign(held=held, order=np.where(held, rows["k"], -rows["k"]))
    shown = rows.sort_values(["path", "held", "order"]).drop_duplicates("path", keep="last")
    where = pd.Index(shown["path"].to_numpy(dtype=object))
    at = where.get_indexer(table["path"].to_numpy(dtype=object))
    hit = at >= 0
    for column, source in (
        ("auto_occlusion", "occlusion"),
        ("auto_persons", "persons"),
        ("confidence", "confidence"),
    ):
        table.loc[hit, column] = shown[source].to_numpy()[at[hit]]
    return table


def _record(con: sqlite3.Connection, who: tuple[str, str | None], key: str, action: str) -> int:
    cur = con.execute(
        "INSERT INTO changes (at, reviewer, page, tracklet, action, proposal_set) "
        "VALUES (?, ?, ?, ?, ?, (SELECT MAX(id) FROM proposal_sets))",
        (time.time(), who[0], who[1], key, action),
    )
    return int(cur.lastrowid or 0)


def _keep_check(con: sqlite3.Connection, set_id: int, proposals: Proposals) -> None:
    """Store the check of ``proposals`` (if any) with their proposal set ``set_id``, for its
    frames that are in the store."""
    check = proposals.check
    if check is None:
        return
    con.executemany(
        "INSERT INTO checks SELECT ?, path, ?, ?, ? FROM frames WHERE path = ?",
        zip(
            [set_id] * len(check),
            check["occlusion"].astype(int).tolist(),
            check["persons"].astype(int).tolist(),
            _confidences(check),
            check["path"].tolist(),
            strict=True,
        ),
    )


def _latest_sha(con: sqlite3.Connection) -> str | None:
    row = con.execute("SELECT sha256 FROM proposal_sets ORDER BY id DESC LIMIT 1").fetchone()
    return None if row is None else row[0]


def _retagged_from(con: sqlite3.Connection) -> str | None:
    """The CSV a store followed before its last re-tag (ReviewStore.repropose), if any."""
    row = con.execute(f"SELECT value FROM meta WHERE key = '{RETAGGED_FROM}'").fetchone()
    return None if row is None else str(row[0])


def _check(con: sqlite3.Connection, path: Path, here: str) -> None:
    recorded = dict(con.execute("SELECT key, value FROM meta").fetchall())
    if recorded.get("fingerprint", here) != here:
        raise OccreidError(
            f"{path}: this review store belongs to another frame set (last seen at "
            f"{recorded.get('source', '?')}); pass that source, or --store PATH for a new store"
        )


def _followed_csv(con: sqlite3.Connection) -> str | None:
    """The annotation CSV the store's last proposals came from (a re-tag's calibration file
    is not one: the store keeps following the CSV it was opened with)."""
    rows = con.execute("SELECT csv FROM proposal_sets ORDER BY id DESC").fetchall()
    return next((str(r[0]) for r in rows if not RETAG_SET.search(str(r[0]))), None)


def _new_set(con: sqlite3.Connection, proposals: Proposals) -> int:
    cur = con.execute(
        "INSERT INTO proposal_sets (sha256, csv, at) VALUES (?, ?, ?)",
        (proposals.sha256, str(proposals.csv.resolve()), time.time()),
    )
    return int(cur.lastrowid or 0)


def _confidences(frames: pd.DataFrame) -> list[float | None]:
    """The confidences as SQLite takes them: float, or None where there is none."""
    confidence = frames["confidence"].astype("float64").to_numpy()
    values = confidence.astype(object)
    values[np.isnan(confidence)] = None
    return list(values.tolist())


def _create(con: sqlite3.Connection, root: Path, here: str, proposals: Proposals) -> Opened:
    """Fill a new store with the proposals."""
    frames = proposals.frames
    con.executemany(
        "INSERT INTO meta VALUES (?, ?)",
        [
            ("schema", str(SCHEMA_VERSION)),
            ("fingerprint", here),
            ("source", str(root)),
            ("created", str(time.time())),
        ],
    )
    set_id = _new_set(con, proposals)
    occlusion = frames["occlusion"].astype(int).tolist()
    persons = frames["persons"].astype(int).tolist()
    con.executemany(
        "INSERT INTO frames VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
        zip(
            frames["path"].tolist(),
            frames["tracklet"].tolist(),
            frames["frame"].astype(int).tolist(),
            occlusion,
            persons,
            _confidences(frames),
            occlusion,
            persons,
            frames["row"].astype(int).tolist(),
            [set_id] * len(frames),
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
    _keep_check(con, set_id, proposals)
    imported = _import_reviewed(con, proposals, frames["reviewed"].to_numpy(bool))
    return Opened(state="created", imported=imported)


def _import_reviewed(con: sqlite3.Connection, proposals: Proposals, take: np.ndarray) -> int:
    """Record the CSV's reviewed rows ``take`` (not decided in the store) as one decision;
    tracklets whose every frame is now reviewed in the CSV are accepted."""
    frames = proposals.frames
    if not take.any():
        return 0
    who = (f"csv:{proposals.csv.name}", None)
    change = _record(con, who, "", IMPORT)
    paths = frames.loc[take, "path"].tolist()
    con.executemany("UPDATE frames SET decision = ? WHERE path = ?", ((change, p) for p in paths))
    every = frames.groupby("tracklet", sort=True)["reviewed"].all()
    done = every.index[every.to_numpy()].tolist()
    now = time.time()
    for key in done:
        if con.execute(
            "UPDATE tracklets SET accepted = 1, reviewer = ?, at = ?, version = version + 1 "
            "WHERE key = ? AND accepted = 0",
            (who[0], now, key),
        ).rowcount:
            con.execute(
                "INSERT INTO change_rows VALUES (?, ?, 'accepted', 0, 1, NULL)", (change, key)
            )
    return len(paths)


def _reload(con: sqlite3.Connection, proposals: Proposals, listed: Path | None) -> Opened:
    """Give a changed CSV's proposals to the frames nobody decided; list the decided frames
    that now disagree with the new tags in ``listed`` (None: a read-only store's copy)."""
    frames = proposals.frames
    followed = _followed_csv(con)
    set_id = _new_set(con, proposals)
    _keep_check(con, set_id, proposals)
    con.execute(
        "CREATE TEMP TABLE incoming (path TEXT PRIMARY KEY, row INTEGER, occlusion INTEGER, "
        "persons INTEGER, confidence REAL, reviewed INTEGER)"
    )
    con.executemany(
        "INSERT INTO incoming VALUES (?, ?, ?, ?, ?, ?)",
        zip(
            frames["path"].tolist(),
            frames["row"].astype(int).tolist(),
            frames["occlusion"].astype(int).tolist(),
            frames["persons"].astype(int).tolist(),
            _confidences(frames),
            frames["reviewed"].astype(int).tolist(),
            strict=True,
        ),
    )
    differs = (
        "(f.proposed_occlusion != i.occlusion OR f.proposed_persons != i.persons "
        "OR f.confidence IS NOT i.confidence)"
    )
    con.execute(
        "CREATE TEMP TABLE moved AS SELECT f.path, f.tracklet, f.proposal_set, "
        "f.proposed_occlusion, f.proposed_persons, f.confidence, "
        f"{_DECIDED} AS decided FROM frames f JOIN incoming i ON i.path = f.path "
        f"JOIN tracklets t ON t.key = f.tracklet WHERE {differs}"
    )
    changed, kept = con.execute("SELECT COUNT(*), COALESCE(SUM(decided), 0) FROM moved").fetchone()
    con.execute(
        "INSERT INTO superseded SELECT proposal_set, path, proposed_occlusion, "
        "proposed_persons, confidence FROM moved"
    )
    con.execute(
        "UPDATE tracklets SET version = version + 1 "
        "WHERE key IN (SELECT DISTINCT tracklet FROM moved)"
    )
    follows = (
        "frames.decision IS NULL AND NOT EXISTS (SELECT 1 FROM tracklets t "
        "WHERE t.key = frames.tracklet AND t.accepted = 1)"
    )
    take = np.zeros(len(frames), dtype=bool)
    if frames["reviewed"].any():
        open_paths = con.execute(
            f"SELECT i.path FROM incoming i JOIN frames ON frames.path = i.path "
            f"WHERE i.reviewed = 1 AND {follows}"
        ).fetchall()
        take = frames["path"].isin([r[0] for r in open_paths]).to_numpy()
    con.execute(
        "UPDATE frames SET proposed_occlusion = i.occlusion, proposed_persons = i.persons, "
        "confidence = i.confidence, row = i.row, proposal_set = ?, "
        f"occlusion = CASE WHEN {follows} THEN i.occlusion ELSE frames.occlusion END, "
        f"persons = CASE WHEN {follows} THEN i.persons ELSE frames.persons END "
        "FROM incoming i WHERE i.path = frames.path",
        (set_id,),
    )
    _import_reviewed(con, proposals, take)
    disagree = pd.read_sql_query(
        "SELECT f.path, f.tracklet, f.occlusion, f.persons, f.proposed_occlusion, "
        "f.proposed_persons, COALESCE(c.reviewer, t.reviewer) AS reviewer "
        "FROM frames f JOIN tracklets t ON t.key = f.tracklet "
        "LEFT JOIN changes c ON c.id = f.decision "
        f"WHERE {_DECIDED} AND (f.occlusion != f.proposed_occlusion "
        "OR f.persons != f.proposed_persons) ORDER BY f.row",
        con,
    )
    con.execute(
        "UPDATE proposal_sets SET changed = ?, disagree = ? WHERE id = ?",
        (changed, len(disagree), set_id),
    )
    con.execute("DROP TABLE incoming")
    con.execute("DROP TABLE moved")
    if listed is not None:
        write_text(listed, disagree.to_csv(index=False))
    other = followed if followed not in (None, str(proposals.csv.resolve())) else None
    occluded = is_occluded(disagree["occlusion"].to_numpy(), disagree["persons"].to_numpy())
    proposed = is_occluded(
        disagree["proposed_occlusion"].to_numpy(), disagree["proposed_persons"].to_numpy()
    )
    return Opened(
        state="reloaded", changed=changed, kept=kept, disagree=len(disagree), listed=listed,
        disagree_occluded=int((occluded != proposed).sum()), other_csv=other,
    )  # fmt: skip


def _upgrade(con: sqlite3.Connection, path: Path) -> int:
    """Bring a new or older store to this schema; refuse other databases and newer stores.
    Returns the schema it was at: the steps that need the source (camids) follow in ``open``."""
    version = con.execute("PRAGMA user_version").fetchone()[0]
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if tables and "frames" not in tables:
        raise OccreidError(f"{path}: a database but not a review store; pass --store PATH")
    if version > SCHEMA_VERSION:
        raise OccreidError(
            f"{path}: made by a newer occreid (store schema {version}); upgrade occreid"
        )
    if tables and version < 2:
        _migrate(con)
    for statement in SCHEMA.split(";"):
        if statement.strip():
            con.execute(statement)
    if tables and version < SCHEMA_VERSION:
        con.execute("UPDATE meta SET value = ? WHERE key = 'schema'", (str(SCHEMA_VERSION),))
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    return int(version)


def _refresh_camids(con: sqlite3.Connection, frames: pd.DataFrame) -> None:
    """Schema 2 -> 3: every tracklet's camid as the source numbers it now (``frames``: the
    source's frames with tracklet and camid); decisions, versions and history are untouched."""
    camids = frames.groupby("tracklet", sort=True)["camid"].first()
    con.executemany(
        "UPDATE tracklets SET camid = ? WHERE key = ?",
        zip(camids.astype(int).tolist(), camids.index.tolist(), strict=True),
    )


def _migrate(con: sqlite3.Connection) -> None:
    """Schema 1 (no versions, pages, proposal sets or fingerprint) -> 2, keeping every
    decision; the next open gives the CSV's proposals to the frames nobody decided."""
    con.execute("ALTER TABLE frames ADD COLUMN row INTEGER NOT NULL DEFAULT 0")
    con.execute("UPDATE frames SET row = rowid")
    con.execute("ALTER TABLE frames ADD COLUMN proposal_set INTEGER NOT NULL DEFAULT 1")
    con.execute("ALTER TABLE frames ADD COLUMN decision INTEGER")
    con.execute("ALTER TABLE tracklets ADD COLUMN version INTEGER NOT NULL DEFAULT 0")
    con.execute("ALTER TABLE changes ADD COLUMN page TEXT")
    con.execute("ALTER TABLE changes ADD COLUMN proposal_set INTEGER")
    con.execute("UPDATE changes SET proposal_set = 1")
    con.execute("ALTER TABLE change_rows ADD COLUMN old_decision INTEGER")
    con.execute("CREATE INDEX migrating ON change_rows (target)")  # for the next statement
    con.execute(
        "UPDATE frames SET decision = (SELECT MAX(r.change) FROM change_rows r "
        "JOIN changes c ON c.id = r.change WHERE r.target = frames.path AND c.undone = 0 "
        "AND c.action LIKE 'set %') WHERE occlusion != proposed_occlusion "
        "OR persons != proposed_persons"
    )
    con.execute("DROP INDEX migrating")
    meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
    con.execute(
        "CREATE TABLE proposal_sets (id INTEGER PRIMARY KEY, sha256 TEXT, csv TEXT NOT NULL, "
        "at REAL NOT NULL, changed INTEGER NOT NULL DEFAULT 0, "
        "disagree INTEGER NOT NULL DEFAULT 0)"
    )
    con.execute(
        "INSERT INTO proposal_sets (id, sha256, csv, at) VALUES (1, NULL, ?, ?)",
        (meta.get("csv", ""), float(meta.get("created", "0"))),
    )
    paths = pd.Series([r[0] for r in con.execute("SELECT path FROM frames")])
    con.executemany(
        "INSERT OR REPLACE INTO meta VALUES (?, ?)",
        [("schema", str(SCHEMA_VERSION)), ("fingerprint", fingerprint(paths))],
    )
