"""The reviewed annotation CSV and the train exclusions, each written atomically.

The CSV is DESIGN's format (path, occlusion, persons; confidence where the input had it) plus
``reviewed`` (1 for the frames of accepted tracklets), in the store's frame order; build-dataset
reads it as it is. The exclusions go beside it, ``OUT.exclude.txt``, in build-dataset's
``--exclude`` format (``train/<pid>/<tracklet>`` per line).
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from occreid.review.store import ReviewStore


def exclude_path(out: Path) -> Path:
    return out.with_suffix(".exclude.txt")


def _atomic_write(path: Path, text: str) -> None:
    """Write to a temporary file beside ``path`` and rename it: a reader never sees half."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with tmp.open("w", newline="") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def export(store: ReviewStore, out: Path) -> dict[str, int | str]:
    """Write OUT (CSV) and OUT.exclude.txt from the store; returns what was written."""
    frames = store.frames()
    table = pd.DataFrame(
        {
            "path": frames["path"],
            "occlusion": frames["occlusion"],
            "persons": frames["persons"],
        }
    )
    if frames["confidence"].notna().any():
        table["confidence"] = frames["confidence"].round(3)
    table["reviewed"] = frames["accepted"].astype(int)
    out.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write(out, table.to_csv(index=False))
    excluded = sorted(frames.loc[frames["exclude"].astype(bool), "tracklet"].unique())
    lines = ["# train tracklets that share an obstacle with the test set (occreid review)"]
    _atomic_write(exclude_path(out), "\n".join([*lines, *excluded]) + "\n")
    return {
        "csv": str(out),
        "exclude": str(exclude_path(out)),
        "frames": len(table),
        "reviewed_frames": int(table["reviewed"].sum()),
        "excluded_tracklets": len(excluded),
    }
