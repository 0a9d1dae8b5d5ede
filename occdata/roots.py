"""What a root folder is, answered once for every command that takes one.

A root is a DukeMTMC-VideoReID source (``train|query|gallery/<pid>/<tracklet>/``), a dataset built
by `occreid build-dataset` (``manifests/``; its frames stay under the source recorded in the
manifests, or where ``--source`` says they moved), or an image ReID folder in the Market-1501
layout (``bounding_box_train/``, ``query/``, ``bounding_box_test/``; each image its own tracklet).
Training reads the splits of a built dataset or an image folder; pseudo-labelling and review read
any. ``resolve_root`` is the one check: it says what kind it took a root for, which folder is
missing, and the fix that fits that kind (an image folder needs no build step).
"""

from __future__ import annotations

import warnings
from enum import Enum
from pathlib import Path

import pandas as pd

from occreid.common.errors import OccreidError
from occreid.occdata.image_folder import (
    SPLIT_FOLDERS,
    holds_images,
    image_splits_present,
    index_image_split,
)
from occreid.occdata.manifest import read_manifest
from occreid.occdata.source_index import index_source

SPLITS = ("train", "query", "gallery")


class RootKind(Enum):
    SOURCE = "DukeMTMC-VideoReID source"
    DATASET = "built dataset"
    IMAGE_FOLDER = "image ReID folder"

    @property
    def named(self) -> str:
        """The kind with its article: 'a built dataset', 'an image ReID folder'."""
        return ("an " if self.value[0] in "aeiou" else "a ") + self.value


LAYOUT = {
    RootKind.SOURCE: "train/ query/ gallery/ holding <pid>/<tracklet>/ frames",
    RootKind.DATASET: "manifests/ from occreid build-dataset",
    RootKind.IMAGE_FOLDER: "Market-1501 layout: bounding_box_train/ query/ bounding_box_test/",
}
# Why a kind does not fit a command, and what to do instead (by the kind the root was taken for).
WRONG_KIND = {
    RootKind.SOURCE: "build a dataset from it first: "
    "`occreid build-dataset {root} --out DATASET --annotations CSV`",
    RootKind.DATASET: "it is built already; pass the DukeMTMC-VideoReID source it was built from",
    RootKind.IMAGE_FOLDER: "an image folder needs no build step: give it to train and evaluate "
    "as --dataset, to pseudolabel and review as it is",
}
ALL_KINDS = tuple(RootKind)


def root_kind(root: Path) -> RootKind:
    """Image folder (a bounding_box_* folder, or a query/ holding images itself), built dataset
    (manifests/), else a source (whose check explains what is missing)."""
    if any((root / f).is_dir() for f in SPLIT_FOLDERS.values() if f != "query"):
        return RootKind.IMAGE_FOLDER
    if (root / "manifests").is_dir():
        return RootKind.DATASET
    if not (root / "train").is_dir() and holds_images(root / "query"):
        return RootKind.IMAGE_FOLDER
    return RootKind.SOURCE


def _expected(kind: RootKind) -> list[str]:
    """The parts of a complete root of ``kind``, relative to it."""
    if kind is RootKind.IMAGE_FOLDER:
        return [f"{f}/" for f in SPLIT_FOLDERS.values()]
    if kind is RootKind.DATASET:
        return [f"manifests/{s}.parquet" for s in SPLITS]
    return [f"{s}/" for s in SPLITS]


def resolve_root(
    root: Path, command: str, accepts: tuple[RootKind, ...] = ALL_KINDS, partial: bool = False
) -> RootKind:
    """The kind of ``root``, checked for ``command``: a kind it does not take, or a missing part,
    is a one-line error that names the kind it was taken for, the missing part and the fix.
    ``partial``: some of the splits are enough (labelling a part of a tree)."""
    kind = root_kind(root)
    expected = _expected(kind)
    missing = [p for p in expected if not (root / p).exists()]
    if len(missing) == len(expected) and kind is RootKind.SOURCE:
        raise OccreidError(
            f"{root}: none of train/ query/ gallery/ ({kind.named}), manifests/ (a dataset "
            "built by occreid build-dataset) or bounding_box_train/ query/ bounding_box_test/ "
            "(an image ReID folder); pass one of these"
        )
    taken = f"{root}: taken for {kind.named} ({LAYOUT[kind]})"
    if kind not in accepts:
        takes = " or ".join(k.named for k in accepts)
        fix = WRONG_KIND[kind].format(root=root)
        raise OccreidError(f"{taken}; {command} takes {takes}: {fix}")
    if not missing or (partial and len(missing) < len(expected)):
        return kind
    verb, it = ("is", "it") if len(missing) == 1 else ("are", "them")
    if kind is RootKind.IMAGE_FOLDER:
        fix = f"add {it} with the images (an image folder needs no build step)"
    elif kind is RootKind.DATASET:
        fix = "the build did not finish: build it again (occreid build-dataset ... --overwrite)"
    else:
        fix = f"add {it} (a DukeMTMC-VideoReID source holds all three)"
    raise OccreidError(f"{taken}, but {' '.join(missing)} {verb} missing; {fix}")


def split_frames(root: Path, split: str, source: Path | None = None) -> tuple[Path, pd.DataFrame]:
    """(where the frames are, the split's frame table) of a built dataset or an image folder.

    ``source`` replaces the frames' root a built dataset recorded (the frames moved)."""
    kind = resolve_root(root, "train / evaluate", (RootKind.DATASET, RootKind.IMAGE_FOLDER))
    if kind is RootKind.IMAGE_FOLDER:
        return root, index_image_split(root, split)
    frames = read_manifest(root / "manifests" / f"{split}.parquet")
    frames_root = source or Path(frames.attrs["occreid"]["source"])
    if not frames_root.is_dir():
        raise OccreidError(
            f"{frames_root}: the frames' root is missing; pass --source with its new place"
        )
    return frames_root, frames


FRAME_COLUMNS = ["path", "tracklet", "split", "pid", "camid"]


def frames_to_label(root: Path, command: str = "pseudolabel") -> tuple[Path, pd.DataFrame]:
    """(source root, every frame: path, tracklet, split, pid, camid) of any root, each tracklet's
    frames together and in frame order: a source's frames (of the split folders it has), a built
    dataset's (the frames of its manifests, under the source recorded in them, with their source
    tracklet and split), or an image folder's (of the split folders it has; each image its own
    tracklet, so pseudolabel, tag-occlusion and review treat an image as a one-frame item)."""
    kind = resolve_root(root, command, partial=True)
    if kind is RootKind.IMAGE_FOLDER:
        present = image_splits_present(root)
        absent = [f"{SPLIT_FOLDERS[s]}/" for s in SPLIT_FOLDERS if s not in present]
        if absent:
            warnings.warn(
                f"{root}: taken for an image ReID folder without {', '.join(absent)}; {command} "
                f"reads the images it has, and train / evaluate will need the others too",
                stacklevel=2,
            )
        splits = [index_image_split(root, s).assign(split=s) for s in present]
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
