"""Image ReID folders (Market-1501, DukeMTMC-reID, Occluded-DukeMTMC) as split tables.

Layout: ``bounding_box_train/`` (train), ``query/``, ``bounding_box_test/`` (gallery), files named
``<pid>_c<cam>...jpg`` (Market ``0002_c1s1_000451_03.jpg``, Duke ``0001_c2_f0046182.jpg``).
The camid is the file name's camera number as it stands (``c3`` is camid 3), as a
DukeMTMC-VideoReID source stores ``C3``: one numbering for the page, the filters and the tables.
pid -1 marks junk detections (Market's gallery): left out, as in every benchmark protocol; pid 0
(distractors) stays. Each image is a tracklet of one frame, so the video code paths serve it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from occreid.common.errors import OccreidError

SPLIT_FOLDERS = {"train": "bounding_box_train", "query": "query", "gallery": "bounding_box_test"}
NAME = re.compile(r"^(-?\d+)_c(\d+)")
SUFFIXES = (".jpg", ".jpeg", ".png")


def _is_image(path: Path) -> bool:
    return path.suffix.lower() in SUFFIXES and path.is_file()


def holds_images(folder: Path) -> bool:
    """Whether ``folder`` holds image files itself (not only in subfolders)."""
    return folder.is_dir() and any(_is_image(p) for p in folder.iterdir())


def image_splits_present(root: Path) -> list[str]:
    """The splits whose folder ``root`` has, in train, query, gallery order."""
    return [split for split, folder in SPLIT_FOLDERS.items() if (root / folder).is_dir()]


def _check_no_subfolders(folder: Path) -> None:
    """Images in per-identity subfolders are not read: say so rather than skip them."""
    nested = sorted(d.name for d in folder.iterdir() if d.is_dir() and holds_images(d))
    if nested:
        raise OccreidError(
            f"{folder}: images in subfolders ({nested[0]}/, ...) are not read; an image ReID "
            "folder holds its images directly: move them up into "
            f"{folder.name}/"
        )


def index_image_split(root: Path, split: str) -> pd.DataFrame:
    """One split's images: path (relative to root), pid, camid (c<n>), tracklet, frame."""
    folder = root / SPLIT_FOLDERS[split]
    _check_no_subfolders(folder)
    rows = []
    for path in sorted(p for p in folder.iterdir() if _is_image(p)):
        match = NAME.match(path.name)
        if match is None:
            raise OccreidError(
                f"{path}: file name does not parse as <pid>_c<camera>...; "
                "is this a Market-1501 / DukeMTMC-reID folder?"
            )
        pid, cam = int(match[1]), int(match[2])
        if pid == -1:
            continue
        rel = f"{SPLIT_FOLDERS[split]}/{path.name}"
        rows.append((rel, pid, cam, rel, 0))
    if not rows:
        raise OccreidError(f"{folder}: no images")
    return pd.DataFrame(rows, columns=["path", "pid", "camid", "tracklet", "frame"])
