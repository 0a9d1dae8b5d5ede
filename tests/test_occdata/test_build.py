import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from occreid.common.errors import OccreidError
from occreid.occdata.annotations import Missing
from occreid.occdata.build import BuildOptions, build_dataset
from occreid.occdata.manifest import COLUMNS, read_manifest
from occreid.occdata.resplit import QueryPolicy

SPLITS = ("train", "query", "gallery")


@pytest.fixture(scope="session")
def built(toy_source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("built") / "dataset"
    build_dataset(
        BuildOptions(source=toy_source, out=out, annotations=toy_source / "annotations.csv", seed=7)
    )
    return out


def test_outputs_and_schema(built: Path) -> None:
    for split in SPLITS:
        m = read_manifest(built / "manifests" / f"{split}.parquet")
        assert list(m.columns) == list(COLUMNS)
        meta = m.attrs["occreid"]
        assert meta["seed"] == 7 and meta["split"] == split and "pyarrow" in meta["versions"]
    stats = json.loads((built / "reports" / "stats.json").read_text())
    assert set(stats) == {"table1", "table2", "table3"}
    assert set(stats["table1"]) == {"bins", "query", "gallery"}
    assert set(stats["table3"]) == set(SPLITS)
    assert sum(stats["table1"]["query"]) == pytest.approx(1.0)
    assert stats["table1"]["query"][0] == 0  # every query tracklet is occluded
    for name in ("stats.md", "stats.html", "table1.png", "table2.png", "build.json"):
        assert (built / "reports" / name).stat().st_size > 0
    html = (built / "reports" / "stats.html").read_text()
    assert "data:image/png;base64," in html and 'src="http' not in html  # self-contained


def test_query_protocol_on_toy_data(built: Path) -> None:
    q = read_manifest(built / "manifests" / "query.parquet")
    g = read_manifest(built / "manifests" / "gallery.parquet")
    assert q.groupby("pid")["tracklet"].nunique().eq(1).all()
    per = q.groupby("tracklet").agg(
        pid=("pid", "first"), cam=("camid", "first"), occ=("occluded", "sum"), n=("path", "size")
    )
    assert (3 * per["occ"] > per["n"]).all()
    g_cams = g.groupby("pid")["camid"].agg(set)
    assert all(set(g_cams[r.pid]) - {r.cam} for r in per.itertuples())
    info = json.loads((built / "reports" / "build.json").read_text())
    test_ids = set(g["pid"]) | set(q["pid"])
    assert set(q["pid"]) | {int(k) for k in info["no_query"]} <= test_ids


def test_byte_identical_rebuild_and_seed(toy_source: Path, built: Path, tmp_path: Path) -> None:
    ann = toy_source / "annotations.csv"
    build_dataset(BuildOptions(source=toy_source, out=tmp_path / "again", annotations=ann, seed=7))
    for split in SPLITS:
        a = (built / "manifests" / f"{split}.parquet").read_bytes()
        b = (tmp_path / "again" / "manifests" / f"{split}.parquet").read_bytes()
        assert a == b
    build_dataset(BuildOptions(source=toy_source, out=tmp_path / "other", annotations=ann, seed=8))
    q7 = read_manifest(built / "manifests" / "query.parquet")["tracklet"].unique()
    q8 = read_manifest(tmp_path / "other" / "manifests" / "query.parquet")["tracklet"].unique()
    assert set(q7) != set(q8)


def test_error_leaves_nothing(toy_source: Path, tmp_path: Path) -> None:
    ann = pd.read_csv(toy_source / "annotations.csv")
    ann.loc[len(ann)] = ["train/0999/0001/0999_C1_F0001_X1.jpg", 0, 1]
    bad = tmp_path / "bad.csv"
    ann.to_csv(bad, index=False)
    out = tmp_path / "out"
    with pytest.raises(OccreidError, match=r"not in the source"):
        build_dataset(BuildOptions(source=toy_source, out=out, annotations=bad))
    assert not out.exists() and not (tmp_path / "out.incomplete").exists()


def test_refuses_existing_output_and_output_in_source(toy_source: Path, tmp_path: Path) -> None:
    ann = toy_source / "annotations.csv"
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(OccreidError, match=r"already exists; pass --overwrite"):
        build_dataset(BuildOptions(source=toy_source, out=out, annotations=ann))
    assert (out / "keep.txt").read_text() == "mine"
    build_dataset(BuildOptions(source=toy_source, out=out, annotations=ann, overwrite=True))
    assert not (out / "keep.txt").exists() and (out / "manifests" / "train.parquet").exists()
    with pytest.raises(OccreidError, match=r"inside the source"):
        build_dataset(BuildOptions(source=toy_source, out=toy_source / "derived", annotations=ann))
    assert not (toy_source / "derived").exists()


def test_unreadable_frames_listed_not_dropped(toy_source: Path, tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(toy_source, src)
    paths = pd.read_csv(src / "annotations.csv")["path"]
    victim = paths[paths.str.startswith("train/")].iloc[5]
    (src / victim).write_bytes(b"not a jpeg")
    out = tmp_path / "out"
    build_dataset(
        BuildOptions(source=src, out=out, annotations=src / "annotations.csv", check_images=True)
    )
    info = json.loads((out / "reports" / "build.json").read_text())
    assert info["unreadable_frames"] == [victim]
    assert victim in set(read_manifest(out / "manifests" / "train.parquet")["path"])


def test_exclude_and_missing_annotations(toy_source: Path, tmp_path: Path) -> None:
    ann = pd.read_csv(toy_source / "annotations.csv")
    train_keys = sorted({"/".join(p.split("/")[:3]) for p in ann["path"] if p.startswith("train/")})
    ex = tmp_path / "ex.txt"
    ex.write_text(f"# two tracklets\n{train_keys[0]}\n{train_keys[1]}\n")
    partial = tmp_path / "partial.csv"
    ann[~ann["path"].str.startswith("train/")].to_csv(partial, index=False)
    with pytest.raises(OccreidError, match=r"have no annotation"):
        build_dataset(BuildOptions(source=toy_source, out=tmp_path / "o1", annotations=partial))
    build_dataset(
        BuildOptions(
            source=toy_source,
            out=tmp_path / "o2",
            annotations=partial,
            exclude=ex,
            missing=Missing.UNOCCLUDED,
            policy=QueryPolicy(min_frames=4, max_frames=10),
        )
    )
    train = read_manifest(tmp_path / "o2" / "manifests" / "train.parquet")
    assert train["tracklet"].nunique() == len(train_keys) - 2
    assert not train["annotated"].any() and not train["occluded"].any()
    q = read_manifest(tmp_path / "o2" / "manifests" / "query.parquet")
    assert q.groupby("tracklet").size().between(1, 10).all()


def test_confidence_and_reviewed_columns_are_kept_into_the_manifests(
    toy_source: Path, tmp_path: Path
) -> None:
    ann = pd.read_csv(toy_source / "annotations.csv")
    ann["confidence"] = [(i % 10) / 10 if i % 7 else None for i in range(len(ann))]  # None: empty
    ann["reviewed"] = [int(i % 3 == 0) for i in range(len(ann))]
    csv = tmp_path / "reviewed.csv"
    ann.to_csv(csv, index=False)
    out = tmp_path / "ds"
    build_dataset(BuildOptions(source=toy_source, out=out, annotations=csv, seed=7))
    expected = ann.set_index("path")
    for split in SPLITS:
        m = read_manifest(out / "manifests" / f"{split}.parquet").set_index("path")
        assert list(m.columns)[-2:] == ["confidence", "reviewed"]
        rows = expected.loc[m.index]
        blank = rows["confidence"].isna()
        assert m["confidence"][blank.to_numpy()].isna().all()
        assert (
            m["confidence"][~blank.to_numpy()] == rows["confidence"][~blank].astype("float32")
        ).all()
        assert (m["reviewed"] == rows["reviewed"].astype(bool)).all()


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [("confidence", "1.5", "is not a number in 0-1"), ("reviewed", "yes", "is not 0 or 1")],
)
def test_bad_optional_values_are_one_line_errors(
    toy_source: Path, tmp_path: Path, column: str, value: str, message: str
) -> None:
    ann = pd.read_csv(toy_source / "annotations.csv")
    ann[column] = ""
    ann.loc[5, column] = value
    csv = tmp_path / "bad.csv"
    ann.to_csv(csv, index=False)
    with pytest.raises(OccreidError, match=f":7: {column} = {value} {message}"):
        build_dataset(BuildOptions(source=toy_source, out=tmp_path / "ds", annotations=csv))
    assert not (tmp_path / "ds").exists()
