"""The export pair: the exclusions are written first and name the CSV they belong to, so a kill
between the two renames leaves a pair that says so; leftovers of a killed export go at the next
export."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from occreid.common.errors import OccreidError
from occreid.occdata.resplit import check_exclude_pair
from occreid.review import export as export_module
from occreid.review.app import ReviewContext
from occreid.review.export import exclude_path, export, pair_matches


def _exclude_one(page: Any) -> str:
    """Exclude a train tracklet and relabel one of its frames: a new CSV and a new list."""
    items = page.get("/api/queue", params={"split": "train"}).json()["items"]
    page.write("/api/tracklet", key=items[0]["key"], field="exclude", value=1)
    page.write("/api/frames", key=items[0]["key"], first=0, last=0, field="persons", value=3)
    return str(items[0]["key"])


def test_a_kill_between_the_two_renames_leaves_a_pair_that_says_so(
    session: ReviewContext, page: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "reviewed.csv"
    export(session.store, out)
    assert pair_matches(out)
    old_csv = out.read_bytes()
    key = _exclude_one(page)

    def killed(path: Path, data: bytes) -> None:
        raise KeyboardInterrupt  # the CSV's rename never happens

    monkeypatch.setattr(export_module, "write_bytes", killed)
    with pytest.raises(KeyboardInterrupt):
        export(session.store, out)
    assert key in exclude_path(out).read_text() and out.read_bytes() == old_csv
    assert not pair_matches(out)  # the new exclusions are not this CSV's
    from occreid.occdata.build import BuildOptions, build_dataset

    half = BuildOptions(
        source=session.source, out=tmp_path / "ds", annotations=out, exclude=exclude_path(out)
    )
    with pytest.raises(OccreidError, match="another version of"):
        build_dataset(half)  # build-dataset does not take the pair
    monkeypatch.undo()
    export(session.store, out)
    assert pair_matches(out) and key in exclude_path(out).read_text()
    other = tmp_path / "other.csv"  # the exclusions beside another CSV: said, not refused
    other.write_bytes(out.read_bytes())
    with pytest.warns(UserWarning, match=r"exported beside reviewed\.csv, used here with other"):
        check_exclude_pair(exclude_path(out), other)


def test_leftovers_of_a_killed_export_go_at_the_next_export(
    session: ReviewContext, tmp_path: Path
) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    out = tmp_path / "export" / "reviewed.csv"
    out.parent.mkdir()
    for name in (out.name, exclude_path(out).name):
        (out.parent / f".{name}.tmp-{int(dead.stdout)}").write_text("half")
    export(session.store, out)
    assert sorted(os.listdir(out.parent)) == sorted([out.name, exclude_path(out).name])
