import shutil
from pathlib import Path

import pytest

from occreid.common.errors import OccreidError
from occreid.occdata.source_index import index_source, parse_frame_name


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("0001_C6_F0099_X30823.jpg", (1, 6, 99, 30823, False)),
        ("7140_C2_F0044_X200413.jpg", (7140, 2, 44, 200413, False)),
        ("0001C6F0099X30823.jpg", (1, 6, 99, 30823, False)),  # old release, no underscores
        ("0005_C1_F0003_D17.jpg", (5, 1, 3, 17, True)),  # distractor frame
    ],
)
def test_parse_frame_name(name: str, expected: tuple) -> None:
    f = parse_frame_name(name)
    assert f is not None
    assert (f.pid, f.camid, f.findex, f.video_frame, f.distractor) == expected


@pytest.mark.parametrize("name", ["0001_C6_F0099.jpg", "abc_C1_F0001_X1.jpg", "0001_C6_F9_Y1.jpg"])
def test_parse_frame_name_rejects(name: str) -> None:
    assert parse_frame_name(name) is None


def test_frames_sorted_by_f_not_by_video_frame(tree_factory) -> None:
    # X runs backwards: sorting by name or X would reverse the tracklet.
    root = tree_factory(
        [("train", 1, "0001", 2, 12)],
        names=lambda pid, cam, i: f"{pid:04d}_C{cam}_F{i:04d}_X{999 - i}.jpg",
    )
    frames = index_source(root).frames
    assert frames["findex"].tolist() == list(range(1, 13))
    assert frames["frame"].tolist() == list(range(12))
    assert frames["video_frame"].tolist() == [999 - i for i in range(1, 13)]


def test_tracklet_keys_unique_across_splits(tree_factory) -> None:
    root = tree_factory([("query", 3, "0001", 1, 2), ("gallery", 3, "0001", 2, 3)])
    index = index_source(root)
    assert sorted(index.frames["tracklet"].unique()) == ["gallery/0003/0001", "query/0003/0001"]
    t = index.tracklets().set_index("tracklet")
    assert t.loc["gallery/0003/0001", "frames"] == 3 and t.loc["gallery/0003/0001", "camid"] == 2


def test_unknown_files_skipped_and_counted(tree_factory) -> None:
    root = tree_factory([("train", 1, "0001", 1, 3)])
    (root / "train" / "0001" / "0001" / "Thumbs.db").touch()
    (root / "train" / "0001" / "0001" / ".DS_Store").touch()
    (root / "train" / ".DS_Store").touch()
    index = index_source(root)
    assert len(index.frames) == 3
    assert index.skipped == {"Thumbs.db": 1, ".DS_Store": 2}


def test_unparsable_jpg_names_the_file(tree_factory) -> None:
    root = tree_factory([("train", 1, "0001", 1, 2)])
    bad = root / "train" / "0001" / "0001" / "holiday.jpg"
    bad.touch()
    with pytest.raises(OccreidError, match=r"holiday.jpg"):
        index_source(root)


def test_pid_folder_mismatch_names_the_file(tree_factory) -> None:
    root = tree_factory([("train", 1, "0001", 1, 2)])
    (root / "train" / "0001" / "0001" / "0002_C1_F0009_X5.jpg").touch()
    with pytest.raises(OccreidError, match=r"0002_C1_F0009_X5.jpg.*disagrees"):
        index_source(root)


def test_duplicate_f_and_mixed_cameras(tree_factory) -> None:
    root = tree_factory([("train", 1, "0001", 1, 2)])
    (root / "train" / "0001" / "0001" / "0001C1F0002X77.jpg").touch()
    with pytest.raises(OccreidError, match=r"appears twice"):
        index_source(root)


def test_mixed_cameras_rejected(tree_factory) -> None:
    root = tree_factory([("train", 1, "0001", 1, 2)])
    (root / "train" / "0001" / "0001" / "0001_C4_F0003_X7.jpg").touch()
    with pytest.raises(OccreidError, match=r"mixes cameras"):
        index_source(root)


def test_missing_root_and_split(tmp_path: Path, tree_factory) -> None:
    with pytest.raises(OccreidError, match=r"not found"):
        index_source(tmp_path / "nowhere")
    root = tree_factory([("train", 1, "0001", 1, 2)])
    (root / "query").rmdir()
    with pytest.raises(OccreidError, match=r"missing split folder.*query"):
        index_source(root)
    partial = index_source(root, all_splits=False)  # pseudo-labelling takes the splits there are
    assert set(partial.frames["split"]) == {"train"} and len(partial.frames) == 2
    for split in ("train", "gallery"):
        shutil.rmtree(root / split)
    with pytest.raises(OccreidError, match=r"missing split folder"):
        index_source(root, all_splits=False)


def test_non_numeric_pid_folder(tree_factory) -> None:
    root = tree_factory([("train", 1, "0001", 1, 2)])
    (root / "train" / "misc").mkdir()
    with pytest.raises(OccreidError, match=r"misc"):
        index_source(root)


def test_toy_dataset_indexes_completely(toy_source: Path) -> None:
    index = index_source(toy_source)
    n_csv = sum(1 for _ in (toy_source / "annotations.csv").open()) - 1
    assert len(index.frames) == n_csv
    assert not index.skipped
