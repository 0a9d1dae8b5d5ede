"""What each command takes a root for, and what it says when a part is missing (issue 19)."""

import shutil
import warnings
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest

from occreid.common.errors import OccreidError
from occreid.occdata.annotations import Missing
from occreid.occdata.build import BuildOptions, build_dataset
from occreid.occdata.image_folder import index_image_split
from occreid.occdata.image_stats import image_folder_stats
from occreid.occdata.roots import RootKind, frames_to_label, resolve_root, root_kind, split_frames


def _one_line(err: pytest.ExceptionInfo) -> str:
    message = str(err.value)
    assert "\n" not in message
    return message


def test_an_image_folder_without_query_says_so_and_asks_for_no_build(image_folder_factory) -> None:
    root = image_folder_factory(("bounding_box_train", "bounding_box_test"))
    assert root_kind(root) is RootKind.IMAGE_FOLDER
    with pytest.raises(OccreidError) as err:
        split_frames(root, "train")
    message = _one_line(err)
    assert "image ReID folder" in message and "query/ is missing" in message
    assert "no build step" in message and "build-dataset" not in message


def test_build_dataset_on_an_image_folder_says_it_needs_no_build(
    image_folder_factory, tmp_path: Path
) -> None:
    root = image_folder_factory()
    csv = tmp_path / "a.csv"
    csv.write_text("path,occlusion,persons\n")
    with pytest.raises(OccreidError) as err:
        build_dataset(BuildOptions(source=root, out=tmp_path / "out", annotations=csv))
    message = _one_line(err)
    assert "taken for an image ReID folder" in message and "needs no build step" in message
    assert "train/ query/ gallery/" not in message.split(":")[-1]


def test_pseudolabel_lists_a_partial_image_folder_as_images(image_folder_factory) -> None:
    root = image_folder_factory(("bounding_box_train",))
    source, frames = frames_to_label(root)
    assert source == root and len(frames) == 6
    assert (frames["tracklet"] == frames["path"]).all() and set(frames["split"]) == {"train"}


def test_a_source_for_training_names_the_build_step(toy_source: Path) -> None:
    with pytest.raises(OccreidError) as err:
        split_frames(toy_source, "train")
    message = _one_line(err)
    assert "taken for a DukeMTMC-VideoReID source" in message
    assert f"`occreid build-dataset {toy_source} --out DATASET --annotations CSV`" in message


def test_a_source_missing_a_split_names_it(tmp_path: Path) -> None:
    (tmp_path / "src" / "train").mkdir(parents=True)
    (tmp_path / "src" / "query").mkdir()
    with pytest.raises(OccreidError) as err:
        resolve_root(tmp_path / "src", "build-dataset", (RootKind.SOURCE,))
    assert "DukeMTMC-VideoReID source" in _one_line(err) and "gallery/ is missing" in str(err.value)


def test_an_empty_folder_names_all_three_layouts(tmp_path: Path) -> None:
    with pytest.raises(OccreidError) as err:
        resolve_root(tmp_path, "pseudolabel", partial=True)
    message = _one_line(err)
    assert "manifests/" in message and "bounding_box_train/" in message and "train/" in message


def test_images_in_per_identity_subfolders_are_named_as_not_read(
    image_folder_factory, tmp_path: Path
) -> None:
    root = image_folder_factory()
    nested = root / "bounding_box_train" / "0007"
    nested.mkdir()
    cv2.imwrite(str(nested / "0007_c1s1_000001_00.jpg"), np.zeros((16, 8, 3), np.uint8))
    with pytest.raises(OccreidError) as err:
        index_image_split(root, "train")
    assert "subfolders (0007/, ...) are not read" in _one_line(err)


def test_per_image_statistics_of_an_image_folder(image_folder_factory, tmp_path: Path) -> None:
    root = image_folder_factory()
    _, frames = frames_to_label(root)
    labels = np.where(frames["path"].str.contains("_c1"), 5, 0)
    persons = np.where(frames["path"].str.startswith("query/0001"), 2, 1)
    csv = tmp_path / "occlusion.csv"
    pd.DataFrame({"path": frames["path"], "occlusion": labels, "persons": persons}).to_csv(
        csv, index=False
    )
    stats = image_folder_stats(root, csv)["splits"]
    assert stats["train"] == {
        "images": 6,
        "ids": 3,
        "unknown": 0,
        "occluded": 0.5,
        "persons_over_1": 0.0,
        "table2": [0, 0, 0, 0, 1.0, 0, 0, 0],
    }
    assert stats["query"]["occluded"] == pytest.approx(4 / 6)
    assert stats["query"]["persons_over_1"] == pytest.approx(2 / 6)
    # a tagger's unknown images (confidence 0, the prior's label 5) are counted apart
    tagged = pd.read_csv(csv).assign(confidence=0.7)
    c1 = tagged["path"].str.contains("_c1")
    tagged.loc[c1, "confidence"] = 0.0
    tagged.to_csv(csv, index=False)
    unknown = image_folder_stats(root, csv)["splits"]
    assert unknown["train"]["unknown"] == int(
        c1[tagged["path"].str.startswith("bounding_box_train")].sum()
    )
    assert unknown["train"]["occluded"] == 0.0  # every occluded train image was unknown
    assert unknown["train"]["table2"] == [0.0] * 8
    with pytest.raises(OccreidError, match="no annotation"):
        image_folder_stats(root, _first_rows(csv, tmp_path / "short.csv"))
    short = image_folder_stats(root, tmp_path / "short.csv", Missing.UNOCCLUDED)
    assert short["splits"]["gallery"]["occluded"] == 0.0


def _first_rows(csv: Path, out: Path) -> Path:
    pd.read_csv(csv).head(3).to_csv(out, index=False)
    return out


def test_review_offers_each_image_of_an_image_folder_as_its_own_item(
    image_folder_factory, tmp_path: Path
) -> None:
    from occreid.review.options import ReviewOptions
    from occreid.review.session import open_session

    root = image_folder_factory()
    _, frames = frames_to_label(root)
    csv = tmp_path / "occlusion.csv"
    pd.DataFrame({"path": frames["path"], "occlusion": 0, "persons": 1}).to_csv(csv, index=False)
    ctx, _ = open_session(ReviewOptions(source=root, annotations=csv), "ann")
    tracklets = ctx.store.tracklets()
    assert len(tracklets) == len(frames) == 18


def test_labelling_a_partial_image_folder_says_which_folders_it_lacks(image_folder_factory):
    root = image_folder_factory(["bounding_box_train"])
    with pytest.warns(UserWarning, match=r"without query/, bounding_box_test/") as caught:
        _, frames = frames_to_label(root, "pseudolabel")
    assert set(frames["split"]) == {"train"} and "train / evaluate" in str(caught[0].message)
    for folder in ("query", "bounding_box_test"):
        (root / folder).mkdir()
        shutil.copy(next((root / "bounding_box_train").iterdir()), root / folder)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a whole folder: nothing to say
        frames_to_label(root, "pseudolabel")


def test_an_image_folder_stores_the_file_names_camera_number(image_folder_factory) -> None:
    root = image_folder_factory()
    image = np.full((16, 8, 3), 128, np.uint8)
    for name in ("0002_c3s1_000551_01.jpg", "0004_c8_f0046182.jpg", "0005_c12s2_000100_02.jpg"):
        cv2.imwrite(str(root / "query" / name), image)
    for split in ("train", "query", "gallery"):  # what train and evaluate read
        frames = split_frames(root, split)[1]
        assert frames["camid"].tolist() == _named_cameras(frames["path"])
    _, every = frames_to_label(root)  # what pseudolabel, tag-occlusion and review read
    assert every["camid"].tolist() == _named_cameras(every["path"])
    assert {1, 2, 3, 8, 12} == set(every["camid"])


def _named_cameras(paths: pd.Series) -> list[int]:
    """The camera number each file name carries (``_c<n>``)."""
    return [int(c) for c in paths.str.extract(r"_c(\d+)")[0]]
