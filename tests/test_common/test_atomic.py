"""common.atomic: a write is all or nothing, and what a killed write leaves is removed at the
next start (the review export, label-cache shards and checkpoints use it)."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from occreid.common.atomic import atomic_path, remove_leftovers, temporary_name, write_text


def _dead_pid() -> int:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout)


def test_a_failed_write_keeps_the_old_file_and_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    write_text(target, "old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["a.txt"]
    write_text(target, "new")
    assert target.read_text() == "new" and os.listdir(tmp_path) == ["a.txt"]


def test_leftovers_of_dead_writers_go_and_live_ones_stay(tmp_path: Path) -> None:
    dead = tmp_path / f".a.csv.tmp-{_dead_pid()}"
    dead.write_text("half")
    folder = tmp_path / f".00003.tmp-{_dead_pid()}"
    folder.mkdir()
    (folder / "x.npy").write_bytes(b"1")
    live = temporary_name(tmp_path / "b.csv")  # this process: still writing
    live.write_text("busy")
    other = tmp_path / f".c.csv.tmp-{_dead_pid()}"
    other.write_text("not asked for")
    removed = remove_leftovers(tmp_path, {"a.csv", "00003"})
    assert sorted(p.name for p in removed) == sorted([dead.name, folder.name])
    assert live.exists() and other.exists() and not dead.exists() and not folder.exists()


def test_label_cache_shards_are_written_atomically_and_leftovers_cleaned(tmp_path: Path) -> None:
    from occreid.pseudolabel.cache import ShardData, clean_partial, finished_shards, write_shard

    n = 3
    data = ShardData(
        index=pd.DataFrame({"path": ["a", "b", "c"], "ok": True, "height": 8, "width": 4}),
        keypoints=np.zeros((n, 17, 3)),
        apu=np.zeros((n, 4)),
        mask=np.zeros((n, 256), np.uint8),
        persons=np.ones(n),
    )
    stale = tmp_path / "shards" / f".00001.tmp-{_dead_pid()}"
    stale.mkdir(parents=True)
    clean_partial(tmp_path)
    assert not stale.exists()
    write_shard(tmp_path, 0, data)
    assert finished_shards(tmp_path) == {0}
    assert sorted(os.listdir(tmp_path / "shards")) == ["00000"]


def test_a_failed_checkpoint_write_keeps_the_last_one(tmp_path: Path) -> None:
    from occreid.engine.checkpoint import save_checkpoint

    path = tmp_path / "last.pt"
    save_checkpoint(path, {"epoch": 1})
    before = path.read_bytes()
    with pytest.raises((pickle.PicklingError, AttributeError)):  # by Python version
        save_checkpoint(path, {"epoch": 2, "bad": lambda: 0})  # cannot be pickled
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["last.pt"]
