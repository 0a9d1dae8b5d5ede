from pathlib import Path

import numpy as np
import pytest

from occreid.common.errors import OccreidError
from occreid.occdata.resplit import QueryPolicy, read_exclude_file, resplit, valid_runs

POLICY = QueryPolicy(min_frames=3, max_frames=6)


def test_valid_runs_one_third_is_not_enough() -> None:
    # Exactly 1/3 occluded is not "more than 1/3": a 3-frame run needs 2 occluded frames.
    occ = np.array([1, 0, 0, 1, 1, 0, 0, 0, 0])
    runs = valid_runs(occ, QueryPolicy(min_frames=3, max_frames=3))
    assert runs[3].tolist() == [2, 3]  # [0,1,1] and [1,1,0]
    # 6-frame runs: only [1,0,0,1,1,0] (3/6); the next one, [0,0,1,1,0,0], is exactly 1/3.
    assert valid_runs(occ, QueryPolicy(min_frames=6, max_frames=6))[6].tolist() == [0]
    # 4-frame runs need 2 occluded frames: starts 0-3; [1,0,0,0] at 4 has one.
    assert valid_runs(occ, QueryPolicy(min_frames=4, max_frames=4))[4].tolist() == [0, 1, 2, 3]
    assert valid_runs(np.zeros(9, dtype=int), QueryPolicy(min_frames=3, max_frames=9)) == {}


def test_short_tracklet_offers_only_itself() -> None:
    assert {
        k: v.tolist()
        for k, v in valid_runs(np.array([1, 0]), QueryPolicy(min_frames=3, max_frames=6)).items()
    } == {2: [0]}
    assert (
        valid_runs(np.array([0, 1, 0]), QueryPolicy(min_frames=4, max_frames=6)) == {}
    )  # 1/3 of 3 frames


def test_query_rules(annotated_frames) -> None:
    frames = annotated_frames(
        [
            ("train", 1, "0001", 1, "0000"),
            # pid 2: occluded query tracklet in cam 1, gallery in cam 2 -> gets a query
            ("query", 2, "0001", 1, "00011110000"),
            ("gallery", 2, "0002", 2, "0000000"),
            # pid 3: occluded, but the gallery holds it only in the same camera -> no query
            ("query", 3, "0001", 4, "1111111"),
            ("gallery", 3, "0002", 4, "0000"),
            # pid 4: other-camera gallery, but nothing occluded -> no query
            ("query", 4, "0001", 1, "0000000"),
            ("gallery", 4, "0002", 3, "0000000"),
            # pid 5: only a gallery tracklet is a candidate (two persons count as occluded)
            ("query", 5, "0001", 1, "000000"),
            ("gallery", 5, "0002", 2, "ppp0000000"),
            ("gallery", 5, "0003", 1, "0000"),
        ]
    )
    split = resplit(frames, [], seed=0, policy=POLICY)
    assert split.no_query == {
        3: "no gallery tracklet in another camera",
        4: "no run with more than 1/3 occluded frames",
    }
    q = split.query
    assert sorted(q["pid"].unique().tolist()) == [2, 5]
    assert q.groupby("pid")["tracklet"].nunique().eq(1).all()  # exactly one tracklet per identity
    for key, rows in q.groupby("tracklet"):
        src = frames[frames["tracklet"] == rows["src_tracklet"].iloc[0]]
        start = int(key.split("[")[1].split(":")[0])
        assert rows["frame"].tolist() == list(range(len(rows)))
        assert (
            rows["path"].tolist() == src["path"].tolist()[start : start + len(rows)]
        )  # contiguous
        assert 3 * rows["occluded"].sum() > len(rows)
        assert POLICY.min_frames <= len(rows) <= POLICY.max_frames
    assert q.loc[q["pid"] == 5, "src_tracklet"].iloc[0] == "gallery/0005/0002"
    assert (q["split"] == "query").all()
    assert set(q["src_split"]) == {"query", "gallery"}


def test_gallery_whole_and_train_exclusion(annotated_frames) -> None:
    frames = annotated_frames(
        [
            ("train", 1, "0001", 1, "000"),
            ("train", 1, "0002", 2, "111"),
            ("train", 6, "0001", 1, "00"),
            ("query", 2, "0001", 1, "1111"),
            ("gallery", 2, "0002", 2, "0000"),
            ("gallery", 7, "0001", 3, "00000"),
        ]
    )
    split = resplit(frames, ["train/0001/0002"], seed=0, policy=POLICY)
    assert sorted(split.train["tracklet"].unique()) == ["train/0001/0001", "train/0006/0001"]
    assert (
        split.gallery["path"].tolist() == frames.loc[frames["split"] == "gallery", "path"].tolist()
    )
    with pytest.raises(OccreidError, match=r"not in the source train split, e.g. train/0001/0009"):
        resplit(frames, ["train/0001/0009"], seed=0, policy=POLICY)


def test_seed_decides_the_draw(annotated_frames) -> None:
    frames = annotated_frames(
        [
            ("query", 2, "0001", 1, "1" * 30),
            ("gallery", 2, "0002", 2, "1" * 30),
        ]
    )
    draws = {
        resplit(frames, [], seed=s, policy=POLICY).query["tracklet"].iloc[0] for s in range(12)
    }
    again = {
        resplit(frames, [], seed=s, policy=POLICY).query["tracklet"].iloc[0] for s in range(12)
    }
    assert draws == again
    assert len(draws) > 3  # tracklet, length and start vary with the seed


def test_exclude_file(tmp_path: Path) -> None:
    f = tmp_path / "ex.txt"
    f.write_text("# removed\n\ntrain/0001/0002  # same wall as the test set\n/train/0003/0001/\n")
    assert read_exclude_file(f) == ["train/0001/0002", "train/0003/0001"]
    f.write_text("gallery/0001/0002\n")
    with pytest.raises(OccreidError, match=r"ex.txt:1"):
        read_exclude_file(f)


def test_policy_bounds() -> None:
    with pytest.raises(OccreidError, match=r"min-query-frames"):
        QueryPolicy(min_frames=10, max_frames=5)
