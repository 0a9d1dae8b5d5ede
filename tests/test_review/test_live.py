"""A store a review server is running on: another process (an export, a second server) never
gives it another CSV's proposals under the server, a second server with its CSV works beside
it, and an export reads one moment of the store (two servers' re-tags: test_retag.py)."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from click.testing import CliRunner

from occreid.cli.main import main
from occreid.common.errors import OccreidError
from occreid.review.options import ReviewOptions
from occreid.review.session import open_session, open_store
from occreid.review.store import store_path

TOKEN = "live-server-token-0123456789"


@contextmanager
def live_server(
    source: Path, csv: Path, *more: str
) -> Iterator[tuple[httpx.Client, subprocess.Popen[str]]]:
    """`occreid review` serving in its own process, as a reviewer starts it; (a client that
    talks to it as its page does, the process). Stopped (killed) at exit."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    cmd = [sys.executable, "-m", "occreid.cli", "review", str(source), "--annotations", str(csv)]
    cmd += ["--reviewer", "ann", "--port", str(port), "--token", TOKEN, *more]
    env = {**os.environ, "TQDM_DISABLE": "1"}
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    try:
        assert proc.stdout is not None
        said = [proc.stdout.readline()]
        while said[-1] and "reviewing" not in said[-1]:  # the URL line: it listens
            said.append(proc.stdout.readline())
        assert "reviewing" in said[-1], "".join(said)
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, headers={"X-Occreid-Token": TOKEN}) as client:
            yield client, proc
    finally:
        proc.kill()
        proc.wait(30)


def _other_tags(csv: Path, out: Path, rows: slice = slice(None)) -> Path:
    """``csv`` with other occlusion tags in ``rows`` (a tagger's other run), written to ``out``."""
    table = pd.read_csv(csv)
    table.loc[table.index[rows], "occlusion"] = (table["occlusion"].iloc[rows] + 3) % 11
    table.to_csv(out, index=False)
    return out


def _review(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(main, ["review", *map(str, args)])
    return r.exit_code, r.output


def _shown(client: httpx.Client, key: str) -> list[int]:
    return [
        f["occlusion"]
        for f in client.get("/api/tracklet", params={"key": key}).json()["frame_rows"]
    ]


@pytest.mark.parametrize("which", ["another CSV", "this CSV changed"])
def test_a_csv_with_other_tags_never_reaches_a_store_a_server_runs_on(
    review_source: Path, tags: Path, tmp_path: Path, which: str
) -> None:
    store = store_path(tags)
    with live_server(review_source, tags) as (client, server):
        items = client.get("/api/queue").json()["items"]
        decided, open_key = items[0]["key"], items[1]["key"]
        version = client.get("/api/tracklet", params={"key": decided}).json()["version"]
        body = {"key": decided, "first": 0, "last": 0, "field": "occlusion", "value": 7}
        assert client.post(
            "/api/frames", json={**body, "version": version, "page": "page-ann1"}
        ).is_success
        shown = _shown(client, open_key)
        version = client.get("/api/tracklet", params={"key": open_key}).json()["version"]
        if which == "another CSV":  # B.csv given this store
            other = _other_tags(tags, tmp_path / "B.csv")
            given = ["--annotations", other, "--store", store]
        else:  # the tagger ran again into the CSV the server was started with
            other = _other_tags(tags, tags)
            given = ["--annotations", tags]
        code, said = _review(review_source, *given, "--export", tmp_path / "out.csv")
        assert code != 0 and said.startswith("Error: ") and said.count("\n") == 1, said
        assert f"{store}: a review server is running on this store" in said
        # an export from a store of its own (--store) would hold none of the reviews
        assert "stop the server and export again" in said and "--store" not in said
        assert not (tmp_path / "out.csv").exists()
        assert _shown(client, open_key) == shown  # the server's reviewers keep their proposals
        accept = {"key": open_key, "field": "accepted", "value": 1, "page": "page-ann1"}
        assert client.post("/api/tracklet", json={**accept, "version": version}).is_success
        with sqlite3.connect(store) as con:
            assert [r[0] for r in con.execute("SELECT csv FROM proposal_sets")] == [
                str(tags.resolve())
            ]
        con.close()
        server.kill()  # a server killed, not stopped, lets go of the store too
        server.wait(30)
    code, said = _review(review_source, *given, "--export", tmp_path / "out.csv")
    assert code == 0 and "frames have new proposals" in said, said
    out = pd.read_csv(tmp_path / "out.csv").set_index("path")
    decided_path = next(p for p in out.index if p.rsplit("/", 1)[0] == decided)
    assert out.loc[decided_path, "occlusion"] == 7 and out["reviewed"].sum() > 0


def test_a_second_server_on_the_store_works_beside_the_first_with_its_csv_only(
    review_source: Path, tags: Path, tmp_path: Path, open_page: type
) -> None:
    store = store_path(tags)
    with live_server(review_source, tags) as (client, _):
        opts = ReviewOptions(source=review_source, annotations=tags)
        bob, opened = open_session(opts, "bob")  # another reviewer, the same CSV
        assert opened.state == "unchanged" and bob.store.path == store
        key = client.get("/api/queue").json()["items"][0]["key"]
        assert open_page(bob).write("/api/tracklet", key=key, field="accepted", value=1).is_success
        seen = client.get("/api/tracklet", params={"key": key}).json()
        assert seen["accepted"] == 1 and seen["reviewer"] == "bob"  # one store, two servers
        other = _other_tags(tags, tmp_path / "B.csv", slice(0, 3))
        again = ReviewOptions(source=review_source, annotations=other, store=store)
        with pytest.raises(OccreidError, match="a review server is running on this store") as no:
            open_session(again, "bob")  # what `occreid review` does before it listens
        assert "stop the server and run this again, or pass --store PATH" in str(no.value)
        assert len(bob.store.proposal_sets()) == 1


def test_an_export_of_a_store_it_cannot_write_reads_one_moment_of_it(
    toy_source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store cannot be written by the exporter (read-only media, another user's server:
    the export works on a private copy) while a server writes: a write and a checkpoint of the
    log while the copy is made lose none of the decisions made before the export began."""
    import shutil

    from occreid.review import store as store_module
    from occreid.review.export import export

    csv = shutil.copy(toy_source / "annotations.csv", tmp_path / "tags.csv")
    opts = ReviewOptions(source=toy_source, annotations=Path(csv))
    store = open_session(opts, "ann")[0].store
    keys = store.tracklets()["key"].tolist()
    first, middle, last = keys[0], keys[len(keys) // 2], keys[-1]  # on pages of their own
    server = sqlite3.connect(store.path, isolation_level=None)  # a server's, open meanwhile
    server.execute("PRAGMA wal_autocheckpoint = 0")  # the decisions stay in the log for now
    server.execute("SELECT COUNT(*) FROM meta").fetchall()

    def decide(key: str, value: int) -> None:
        who = ("ann", "page-ann1")
        store.set_frames(key, (0, 0), "occlusion", value, who, store.version(key))

    decide(first, 7)
    copy, copied = shutil.copyfile, []

    def meanwhile(*args: Any, **kwargs: Any) -> Any:
        copied.append(copy(*args, **kwargs))
        if len(copied) == 1:  # the server writes, folds its log in, and writes again
            decide(middle, 8)
            server.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            decide(last, 9)
        return copied[-1]

    monkeypatch.setattr(shutil, "copyfile", meanwhile)
    monkeypatch.setattr(store_module, "_writable", lambda path: False)
    _, held, _ = open_store(opts)
    assert held.read_only and held.path != store.path
    out = pd.read_csv(export(held, tmp_path / "out.csv")["csv"])
    tracklet = out["path"].str.rsplit("/", n=1).str[0]
    assert out.groupby(tracklet)["occlusion"].first()[first] == 7  # frame 0: the decision
    server.close()
