"""The reviewed annotation CSV and the train exclusions, a consistent pair.

The CSV is DESIGN's format (path, occlusion, persons; confidence where the input had it, with
its precision) plus ``reviewed`` (1 for the frames of accepted tracklets and those reviewed in
the input CSV), ``auto_occlusion, auto_persons`` (on reviewed frames: the proposal the reviewer
was shown), where the store kept a check (a re-tag's, or a CSV's: review/store.py)
``check_occlusion, check_persons, check_confidence`` on the reviewed frames in it (their tag
under the calibration of the current tags, out of fold where fitted on the reviews: what stands
for the current tags; blank elsewhere) and,
where a second reviewer accepted a blind review (review/overlap.py), ``occlusion_2, persons_2``
on those frames; in the input CSV's row order; build-dataset reads it as it is (its
label-quality section: occdata/label_quality.py). The exclusions go
beside it, ``OUT.exclude.txt``, in build-dataset's ``--exclude`` format
(``train/<pid>/<tracklet>`` per line). An image folder gets the CSV only: it is never built,
train reads it as it is, so an exclusion list would mean nothing (review/unit.py).

Both are written with common.atomic; the exclusions first, their first line naming the CSV
they belong to by its SHA-256 (``pair_matches``; build-dataset refuses a pair that is not
one), so a kill between the two renames cannot go unnoticed. Leftovers of a killed export go at
the next export.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from occreid.common.atomic import remove_leftovers, write_bytes, write_text
from occreid.common.errors import OccreidError
from occreid.occdata.label_quality import SPLITS, Frames, between_reviewers
from occreid.occdata.resplit import EXCLUDE_FOR, check_exclude_pair
from occreid.review.store import ReviewStore
from occreid.review.unit import TRACKLET, Unit


def exclude_path(out: Path) -> Path:
    return out.with_suffix(".exclude.txt")


def pair_matches(out: Path) -> bool:
    """Whether OUT.exclude.txt was written with OUT as it is now (resplit.check_exclude_pair,
    which build-dataset runs)."""
    try:
        check_exclude_pair(exclude_path(out), out)
    except OccreidError:
        return False
    return True


def reviewer_agreement(table: pd.DataFrame) -> dict[str, Any]:
    """The agreement between the first and a blind second reviewer on the exported frames that
    both labelled (label_quality.between_reviewers, as build-dataset's report computes it)."""
    splits = {s: table.iloc[:0].assign(tracklet=[]) for s in SPLITS}
    splits["train"] = table.assign(tracklet=table["path"].str.rsplit("/", n=1).str[0])
    frames = Frames.of(splits)
    return {"reviewers": between_reviewers(frames, np.ones(len(table), dtype=bool))}


def csv_bytes(table: pd.DataFrame) -> bytes:
    """The CSV's bytes, written by Arrow's CSV writer (pandas' to_csv takes seconds at
    DukeMTMC-VideoReID's size: benchmarks/review_speed.py); strings quoted, blanks empty."""
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    sink = pa.BufferOutputStream()
    options = pa_csv.WriteOptions(quoting_style="needed")
    pa_csv.write_csv(pa.Table.from_pandas(table, preserve_index=False), sink, options)
    return sink.getvalue().to_pybytes()


def export(store: ReviewStore, out: Path, unit: Unit = TRACKLET) -> dict[str, Any]:
    """Write OUT (CSV) and, where ``unit`` has exclusions, OUT.exclude.txt from the store;
    returns what was written."""
    frames, excluded = store.reviewed_frames()
    table = frames[["path", "occlusion", "persons"]].copy()
    if frames["confidence"].notna().any():
        table["confidence"] = frames["confidence"]
    table["reviewed"] = frames["reviewed"].astype(int)
    reviewed = table["reviewed"] == 1
    for column in ("auto_occlusion", "auto_persons"):  # the proposal each reviewer was shown
        table[column] = frames[column].where(reviewed).astype("Int64")
    checked = frames.get("check_occlusion", pd.Series(np.nan, frames.index)).notna() & reviewed
    if checked.any():  # the reference tags of the frames a re-tag checked
        for column in ("check_occlusion", "check_persons"):
            table[column] = frames[column].where(checked).astype("Int64")
        table["check_confidence"] = frames["check_confidence"].where(checked)
    second = frames.get("occlusion_2", pd.Series(np.nan, frames.index)).notna() & reviewed
    if second.any():  # a second reviewer's blind labels
        for column in ("occlusion_2", "persons_2"):
            table[column] = frames[column].where(second).astype("Int64")
    remove_leftovers(out.parent, {out.name, exclude_path(out).name})
    data = csv_bytes(table)
    if unit.exclusions:
        lines = [
            EXCLUDE_FOR.format(name=out.name, digest=hashlib.sha256(data).hexdigest()),
            "# train tracklets that share an obstacle with the test set (occreid review)",
        ]
        write_text(exclude_path(out), "\n".join([*lines, *excluded]) + "\n")
    write_bytes(out, data)
    return {
        **reviewer_agreement(table[second]),
        "csv": str(out),
        "exclude": str(exclude_path(out)) if unit.exclusions else None,
        "frames": len(table),
        "reviewed_frames": int(table["reviewed"].sum()),
        "excluded_tracklets": len(excluded),
    }


def export_lines(done: dict[str, Any], unit: Unit) -> list[str]:
    """What `occreid review --export` prints about ``done`` (export's answer), in ``unit``s."""
    items = "frames" if unit.exclusions else unit.many  # an image folder's frames are images
    wrote = (
        f"wrote {done['csv']} ({done['frames']:,} {items}, {done['reviewed_frames']:,} reviewed)"
    )
    if done["exclude"] is not None:
        excluded = f"{done['excluded_tracklets']} train {unit.many}"
        wrote += f" and {done['exclude']} ({excluded})"
    lines = [wrote]
    both = done["reviewers"]
    if both["frames"]:
        kappa = "-" if both["kappa"] is None else f"{both['kappa']:.3f}"
        lines.append(
            f"two reviewers on {both['frames']:,} {items}: occluded yes / no kappa {kappa}, "
            f"label MAE {both['label_mae']:.2f}"
        )
    return lines
