"""What `occreid review` shows: every frame of a DukeMTMC-VideoReID source (or of the source
behind a built dataset) with its tracklet, split, identity and camera, and the proposal of the
annotation CSV, checked by the same rules as build-dataset."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from occreid.common.errors import OccreidError
from occreid.occdata.annotations import Missing, attach_annotations, read_annotations
from occreid.occdata.manifest import read_manifest
from occreid.occdata.roots import SPLITS, RootKind, root_kind
from occreid.occdata.source_index import index_source

COLUMNS = ["path", "tracklet", "split", "pid", "camid", "frame"]


def source_frames(root: Path) -> tuple[Path, pd.DataFrame]:
    """(the frames' root, every frame: path, tracklet, split, pid, camid, frame) of a source
    tree or a built dataset (its frames, under the source recorded in its manifests)."""
    kind = root_kind(root)
    if kind is RootKind.IMAGE_FOLDER:
        raise OccreidError(
            f"{root}: an image ReID folder; review takes a DukeMTMC-VideoReID tree or a dataset "
            "built from one"
        )
    if kind is RootKind.SOURCE:
        frames = index_source(root).frames
        return root, frames[COLUMNS].astype({"path": str, "tracklet": str, "split": str})
    parts = [read_manifest(root / "manifests" / f"{s}.parquet") for s in SPLITS]
    source = Path(parts[0].attrs["occreid"]["source"])
    if not source.is_dir():
        raise OccreidError(f"{source}: the source of {root} is missing (moved?)")
    frames = pd.concat(parts)[["path", "src_tracklet", "src_split", "pid", "camid"]]
    frames = frames.drop_duplicates("path").rename(
        columns={"src_tracklet": "tracklet", "src_split": "split"}
    )
    frames = frames.astype({"path": str, "tracklet": str, "split": str})
    frames = frames.sort_values(["tracklet", "path"], kind="stable").reset_index(drop=True)
    frames["frame"] = frames.groupby("tracklet", sort=False).cumcount()
    return source, frames[COLUMNS]


def proposals(frames: pd.DataFrame, csv: Path, missing: Missing = Missing.ERROR) -> pd.DataFrame:
    """``frames`` with the CSV's occlusion, persons and confidence (NaN where it has none);
    unknown paths, out-of-range values and (unless ``missing``) unannotated frames are errors."""
    table = read_annotations(csv)
    out = attach_annotations(frames, table, csv, missing)
    if "confidence" not in out:
        out["confidence"] = float("nan")
    return out
