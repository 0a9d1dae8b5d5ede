"""What a root folder is, answered once for every command that takes one.

A root is a DukeMTMC-VideoReID source (``train|query|gallery/<pid>/<tracklet>/``), a dataset built
by `occreid build-dataset` (``manifests/``; its frames stay under the source recorded in the
manifests, or where ``--source`` says they moved), or an image ReID folder in the Market-1501
layout (``bounding_box_train/``, ``query/``, ``bounding_box_test/``; each image its own tracklet).
Training reads the splits of a built dataset or an image folder; pseudo-labelling reads any.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import pandas as pd

from occreid.common.errors import OccreidError
from occreid.occdata.image_folder import SPLIT_FOLDERS, index_image_split, is_image_folder
from occreid.occdata.manifest import read_manifest
from occreid.occdata.source_index import index_source

SPLITS = ("train", "query", "gallery")


class RootKind(Enum):
    SOURCE = "DukeMTMC-VideoReID source"
    DATASET = "built dataset"
    IMAGE_FOLDER = "image ReID folder"


def root_kind(root: Path) -> RootKind:
    """Image folder, built dataset, else a source (whose index explains what is missing)."""
    if is_image_folder(root):
        return RootKind.IMAGE_FOLDER
    if (root / "manifests").is_dir():
        return RootKind.DATASET
    return RootKind.SOURCE


def split_frames(root: Path, split: str, source: Path | None = None) -> tuple[Path, pd.DataFrame]:
    """(where the frames are, the split's frame table) of a built dataset or an image folder.

    ``source`` replaces the frames' root a built dataset recorded (the frames moved)."""
    kind = root_kind(root)
    if kind is RootKind.IMAGE_FOLDER:
        return root, index_image_split(root, split)
    if kind is RootKind.SOURCE:
        raise OccreidError(
            f"{root}: neither a built dataset (manifests/) nor an image ReID folder "
            "(bounding_box_train/, query/, bounding_box_test/); "
            "build one with `occreid build-dataset`"
        )
    frames = read_manifest(root / "manifests" / f"{split}.parquet")
    frames_root = source or Path(frames.attrs["occreid"]["source"])
    if not frames_root.is_dir():
        raise OccreidError(
            f"{frames_root}: the frames' root is missing; pass --source with its new place"
        )
    return frames_root, frames


FRAME_COLUMNS = ["path", "tracklet", "split", "pid", "camid"]


def frames_to_label(root: Path) -> tuple[Path, pd.DataFrame]:
    """(source root, every frame: path, tracklet, split, pid, camid) of any root, each tracklet's
    frames together and in frame order: a source's frames (of the split folders it has), a built
    dataset's (the frames of its manifests, under the source recorded in them, with their source
    tracklet and split), or an image folder's (each image its own tracklet)."""
    kind = root_kind(root)
    if kind is RootKind.IMAGE_FOLDER:
        splits = [index_image_split(root, s).assign(split=s) for s in SPLIT_FOLDERS]
        return root, pd.concat(splits, ignore_index=True)[FRAME_COLUMNS]
    if kind is RootKind.DATASET:
        parts = [read_manifest(root / "manifests" / f"{s}.parquet") for s in SPLITS]
        source = Path(parts[0].attrs["occreid"]["source"])
        if not source.is_dir():
            raise OccreidError(f"{source}: the source of {root} is missing (moved?)")
        own = ["path", "src_tracklet", "src_split", "pid", "camid", "findex"]
        renamed = {"src_tracklet": "tracklet", "src_split": "split"}
        frames = pd.concat(parts)[own].rename(columns=renamed)
        frames = frames.drop_duplicates("path").sort_values(["tracklet", "findex"], kind="stable")
        frames = frames.reset_index(drop=True)[FRAME_COLUMNS]
        return source, frames.astype({"path": str, "tracklet": str, "split": str})
    frames = index_source(root, all_splits=False).frames[FRAME_COLUMNS]
    return root, frames.astype({"path": str, "tracklet": str, "split": str})
