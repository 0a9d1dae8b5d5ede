"""What `occreid review` shows: every frame of a DukeMTMC-VideoReID source (or of the source
behind a built dataset) with its tracklet, split, identity and camera, and the proposal of the
annotation CSV, checked by the same rules as build-dataset."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from occreid.common.errors import OccreidError
from occreid.occdata.annotations import Missing, attach_annotations, read_annotations
from occreid.occdata.roots import RootKind, frames_to_label, root_kind


def source_frames(root: Path) -> tuple[Path, pd.DataFrame]:
    """(the frames' root, every frame: path, tracklet, split, pid, camid, frame) of a source
    tree or a built dataset (roots.frames_to_label), numbered in frame order per tracklet."""
    if root_kind(root) is RootKind.IMAGE_FOLDER:
        raise OccreidError(
            f"{root}: an image ReID folder; review takes a DukeMTMC-VideoReID tree or a dataset "
            "built from one"
        )
    source, frames = frames_to_label(root)
    frames = frames.sort_values("tracklet", kind="stable").reset_index(drop=True)
    frames["frame"] = frames.groupby("tracklet", sort=False).cumcount()
    return source, frames


def proposals(frames: pd.DataFrame, csv: Path, missing: Missing = Missing.ERROR) -> pd.DataFrame:
    """``frames`` with the CSV's occlusion, persons and confidence (NaN where it has none);
    unknown paths, out-of-range values and (unless ``missing``) unannotated frames are errors."""
    table = read_annotations(csv)
    out = attach_annotations(frames, table, csv, missing)
    if "confidence" not in out:
        out["confidence"] = float("nan")
    return out
