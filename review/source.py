"""What `occreid review` shows: every frame of a DukeMTMC-VideoReID source (or of the source
behind a built dataset, or of an image ReID folder, each image its own item) with its tracklet,
split, identity and camera, and the proposal of the annotation CSV, checked by the same rules as
build-dataset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from occreid.occdata.annotations import Missing, attach_annotations, file_sha256, read_annotations
from occreid.occdata.roots import frames_to_label
from occreid.review.store import Proposals

NO_CHECK = "none kept, so the reviews are compared with the tags they were shown"


def source_frames(root: Path) -> tuple[Path, pd.DataFrame]:
    """(the frames' root, every frame: path, tracklet, split, pid, camid, frame) of a source
    tree, a built dataset or an image folder (roots.frames_to_label), numbered in frame order
    per tracklet."""
    source, frames = frames_to_label(root, "review")
    frames = frames.sort_values("tracklet", kind="stable").reset_index(drop=True)
    frames["frame"] = frames.groupby("tracklet", sort=False).cumcount()
    return source, frames


def proposals(frames: pd.DataFrame, csv: Path, missing: Missing = Missing.ERROR) -> Proposals:
    """``frames`` with the CSV's occlusion, persons, confidence (float64 as written; NaN where
    it has none), reviewed and row (the CSV's order; frames it lacks after it, in frame order),
    and the check of the calibration saved beside it (pseudolabel/calibration_check.py), if any:
    its rows of these frames (calibration_check.own_rows); unknown paths, out-of-range values
    and (unless ``missing``) unannotated frames are errors."""
    from occreid.pseudolabel.calibration import tags_calibration
    from occreid.pseudolabel.calibration_check import load_check, own_rows

    table = read_annotations(csv)
    out = attach_annotations(frames, table, csv, missing)
    confidence = np.full(len(frames), np.nan)
    if "confidence" in table:
        confidence[pd.Index(frames["path"]).get_indexer(table["path"])] = table["confidence"]
    out["confidence"] = confidence
    if "reviewed" not in out:
        out["reviewed"] = False
    row = pd.Index(table["path"]).get_indexer(frames["path"])
    absent = row < 0
    row[absent] = len(table) + np.arange(int(absent.sum()))
    out["row"] = row
    cal = tags_calibration(csv)
    check = own_rows(load_check(cal), set(frames["path"]), cal, "this source", NO_CHECK)
    return Proposals(csv=csv, sha256=file_sha256(csv), frames=out, check=check)
