from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from occreid.common.errors import OccreidError
from occreid.occdata.annotations import (
    Missing,
    attach_annotations,
    is_occluded,
    read_annotations,
)
from occreid.occdata.source_index import index_source


@pytest.fixture
def frames(tree_factory):
    return index_source(tree_factory([("train", 1, "0001", 1, 3)])).frames


def _paths(frames) -> list[str]:
    return frames["path"].tolist()


def test_occluded_rule() -> None:
    occ = is_occluded(np.array([0, 1, 0, 10, 0]), np.array([1, 1, 2, 1, 3]))
    assert occ.tolist() == [False, True, True, True, True]


def test_attach(tmp_path: Path, frames, csv_writer) -> None:
    p = _paths(frames)
    csv = csv_writer(
        tmp_path / "a.csv", [(p[0], 0, 1), (p[1], 4, 1), (p[2].replace("/", "\\"), 0, 2)]
    )
    out = attach_annotations(frames, read_annotations(csv), csv, Missing.ERROR)
    assert out["occlusion"].tolist() == [0, 4, 0]
    assert out["persons"].tolist() == [1, 1, 2]
    assert out["occluded"].tolist() == [False, True, True]
    assert out["annotated"].all()


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ((0, 11, 1), "occlusion = 11"),
        ((0, -1, 1), "occlusion = -1"),
        ((0, 2, 0), "persons = 0"),
        ((0, "2.5", 1), "occlusion = 2.5"),
    ],
)
def test_out_of_range_values(tmp_path: Path, frames, csv_writer, row, message) -> None:
    p = _paths(frames)
    csv = csv_writer(tmp_path / "a.csv", [(p[1], 0, 1), (p[row[0]], row[1], row[2])])
    with pytest.raises(OccreidError, match=f"a.csv:3: {message}"):
        read_annotations(csv)


def test_duplicate_rows(tmp_path: Path, frames, csv_writer) -> None:
    p = _paths(frames)
    csv = csv_writer(tmp_path / "a.csv", [(p[0], 0, 1), (p[1], 0, 1), (p[0], 3, 1)])
    with pytest.raises(OccreidError, match=r"a.csv:4: .* annotated twice"):
        read_annotations(csv)


def test_unknown_path(tmp_path: Path, frames, csv_writer) -> None:
    p = _paths(frames)
    csv = csv_writer(tmp_path / "a.csv", [*((x, 0, 1) for x in p), ("train/0009/0001/x.jpg", 0, 1)])
    with pytest.raises(OccreidError, match=r"not in the source, e.g. train/0009/0001/x.jpg"):
        attach_annotations(frames, read_annotations(csv), csv, Missing.ERROR)


def test_missing_frames_error_or_unoccluded(tmp_path: Path, frames, csv_writer) -> None:
    p = _paths(frames)
    csv = csv_writer(tmp_path / "a.csv", [(p[1], 5, 1)])
    with pytest.raises(
        OccreidError, match=r"2 frame\(s\) have no annotation.*--missing-as-unoccluded"
    ):
        attach_annotations(frames, read_annotations(csv), csv, Missing.ERROR)
    out = attach_annotations(frames, read_annotations(csv), csv, Missing.UNOCCLUDED)
    assert out["occlusion"].tolist() == [0, 5, 0]
    assert out["annotated"].tolist() == [False, True, False]
    assert out["occluded"].tolist() == [False, True, False]


def test_missing_column(tmp_path: Path) -> None:
    csv = tmp_path / "a.csv"
    csv.write_text("path,occlusion\nx.jpg,1\n")
    with pytest.raises(OccreidError, match=r"missing column\(s\) persons"):
        read_annotations(csv)


def test_a_binary_file_given_as_the_csv_is_named_as_such(tmp_path: Path) -> None:
    parquet = tmp_path / "train.parquet"
    pd.DataFrame({"path": ["a.jpg"], "occlusion": [1], "persons": [1]}).to_parquet(parquet)
    with pytest.raises(OccreidError, match=r"a binary file, not a CSV") as err:
        read_annotations(parquet)
    assert "\\x" not in repr(str(err.value)), "the file's bytes are quoted"
