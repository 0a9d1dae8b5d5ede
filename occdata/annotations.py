"""Occlusion annotations: the CSV between tagging (by hand, synth or automatic) and the build.

Columns: ``path`` (relative to the source root, ``/``-separated), ``occlusion`` (0-10: 0 = none,
k = (k-1)*10 % to k*10 % of the body hidden; paper 5.2 and footnote 3) and ``persons`` (>= 1).
A frame is occluded when ``occlusion >= 1`` or ``persons > 1`` (paper 5.1, step 1).
Optional columns, kept into the manifests where the CSV has them: ``confidence`` (0-1, how sure
an automatic tagger is; empty = hand-made) and ``reviewed`` (0 / 1: a person confirmed or
corrected the row in `occreid review`; empty = 0); from a review export also ``auto_occlusion``
and ``auto_persons`` (the automatic tag the reviewer was shown), after a re-tag or a calibrated
CSV ``check_occlusion``, ``check_persons`` and ``check_confidence`` (on reviewed frames: the tag
that calibration gives the frame, out of fold where fitted on the reviews, and its confidence;
empty = none) and, on frames a second reviewer labelled blind, ``occlusion_2`` and ``persons_2``
(empty = none). occdata/label_quality.py turns these into the report's label-quality section.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum
from pathlib import Path

import numpy as np
import pandas as pd

from occreid.common.errors import OccreidError

COLUMNS: tuple[str, ...] = ("path", "occlusion", "persons")
MAX_LABEL = 10
OPTIONAL: dict[str, float] = {  # and their blanks
    "confidence": float("nan"),
    "reviewed": False,
    "auto_occlusion": -1,
    "auto_persons": -1,
    "occlusion_2": -1,
    "persons_2": -1,
    "check_occlusion": -1,
    "check_persons": -1,
    "check_confidence": float("nan"),
}
# The integer optional columns: allowed range (low, high or None), as for occlusion / persons.
_OPTIONAL_LABELS: dict[str, tuple[int, int | None]] = {
    "auto_occlusion": (0, MAX_LABEL),
    "auto_persons": (1, None),
    "occlusion_2": (0, MAX_LABEL),
    "persons_2": (1, None),
    "check_occlusion": (0, MAX_LABEL),
    "check_persons": (1, None),
}


class Missing(StrEnum):
    """What a frame without an annotation row becomes."""

    ERROR = "error"
    UNOCCLUDED = "unoccluded"  # occlusion 0, persons 1, annotated False


def is_occluded(occlusion: np.ndarray, persons: np.ndarray) -> np.ndarray:
    """The paper's rule: occluded by an obstacle, or more than one person in the frame."""
    return (np.asarray(occlusion) >= 1) | (np.asarray(persons) > 1)


def file_sha256(path: Path) -> str:
    """The content hash of an annotation CSV: which tags a review store holds, which CSV an
    exclusion list was exported with."""
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def read_annotations(csv_path: str | Path) -> pd.DataFrame:
    """Read and check an annotation CSV: columns, integer values in range, no duplicate paths."""
    csv_path = Path(csv_path)
    return check_annotations(read_csv_text(csv_path), csv_path)


def read_csv_text(csv_path: Path) -> pd.DataFrame:
    """An annotation CSV as text columns (checked by ``check_annotations``)."""
    if not csv_path.is_file():
        raise OccreidError(f"{csv_path}: annotation CSV not found")
    with csv_path.open("rb") as f:
        if b"\0" in f.read(4096):  # the parser's message would quote the bytes
            raise OccreidError(
                f"{csv_path}: a binary file, not a CSV (a .parquet manifest?); pass the "
                "annotation CSV (tag-occlusion's, synth's or review --export's)"
            )
    try:
        return pd.read_csv(csv_path, dtype="string", engine="pyarrow")
    except (ValueError, pd.errors.ParserError) as err:
        raise OccreidError(f"{csv_path}: not a readable CSV ({err})") from err


def check_annotations(table: pd.DataFrame, csv_path: Path, first_line: int = 2) -> pd.DataFrame:
    """The text ``table`` of ``csv_path`` checked and converted: columns, integer values in
    range, optional columns, no duplicate paths (each error names the row, as its line in the
    file: ``first_line`` is the first row's, after the header, and the fix)."""
    absent = [c for c in COLUMNS if c not in table.columns]
    if absent:
        raise OccreidError(
            f"{csv_path}: missing column(s) {', '.join(absent)}; "
            "the header must be path,occlusion,persons"
        )
    table = table[[*COLUMNS, *(c for c in OPTIONAL if c in table.columns)]]
    table["path"] = table["path"].str.replace("\\", "/", regex=False).str.removeprefix("./")
    for col, low, high in (("occlusion", 0, MAX_LABEL), ("persons", 1, None)):
        table[col] = _integers(table[col], low, high, (csv_path, first_line), blank=None)
    for col, (low, high) in _OPTIONAL_LABELS.items():
        if col in table.columns:
            table[col] = _integers(table[col], low, high, (csv_path, first_line), blank=-1)
    _read_optional(table, (csv_path, first_line))
    dup = table["path"].duplicated()
    if dup.any():
        row = int(np.flatnonzero(dup.to_numpy())[0])
        raise OccreidError(
            f"{csv_path}:{row + first_line}: {table['path'].iloc[row]} is annotated twice "
            f"({int(dup.sum())} duplicate rows); keep one row per frame"
        )
    return table


def _integers(
    column: pd.Series, low: int, high: int | None, where: tuple[Path, int], blank: int | None
) -> pd.Series:
    """An integer column in low..high as int16; empty cells become ``blank`` (None: an error).
    ``where``: the file and the line of the column's first row, for the error."""
    values = pd.to_numeric(column, errors="coerce")
    empty = column.isna() | (column.str.strip() == "")
    bad = values.isna() | (values != values.round()) | (values < low)
    if high is not None:
        bad |= values > high
    if blank is not None:
        bad &= ~empty
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        allowed = f"{low}-{high}" if high is not None else f">= {low}"
        fix = "fix the value" if blank is None else "fix the value or leave it empty"
        raise OccreidError(
            f"{where[0]}:{row + where[1]}: {column.name} = {column.iloc[row]} is not an integer in "
            f"{allowed} ({int(bad.sum())} such rows); {fix}"
        )
    if blank is not None:
        values = values.where(~empty, blank)
    return values.astype(np.int16)


def _read_optional(table: pd.DataFrame, where: tuple[Path, int]) -> None:
    """Check and convert the optional columns in place: confidence and check_confidence a
    number in 0-1 or empty, reviewed 0 / 1 / true / false or empty. ``where``: the file and
    the line of its first row, for the error."""
    checks = {
        "confidence": lambda v: pd.to_numeric(v, errors="coerce"),
        "check_confidence": lambda v: pd.to_numeric(v, errors="coerce"),
        "reviewed": lambda v: v.str.lower().map({"0": 0.0, "1": 1.0, "false": 0.0, "true": 1.0}),
    }
    for col, convert in checks.items():
        if col not in table.columns:
            continue
        values = convert(table[col]).astype("float64")
        blank = table[col].isna() | (table[col].str.strip() == "")
        bad = ~blank & (values.isna() | (values < 0) | (values > 1))
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            allowed = "0 or 1" if col == "reviewed" else "a number in 0-1"
            raise OccreidError(
                f"{where[0]}:{row + where[1]}: {col} = {table[col].iloc[row]} is not {allowed} "
                f"({int(bad.sum())} such rows); fix the value or leave it empty"
            )
        blank_value = OPTIONAL[col]
        if col == "reviewed":
            table[col] = values.fillna(0).astype(bool)
        else:
            table[col] = values.where(~blank, blank_value)  # float64: the digits as written


def attach_annotations(
    frames: pd.DataFrame, table: pd.DataFrame, csv_path: str | Path, missing: Missing
) -> pd.DataFrame:
    """Add ``occlusion``, ``persons``, ``occluded`` and ``annotated`` to the frame index.

    Every CSV row must name an indexed frame; a frame without a row is an error unless
    ``missing`` is ``UNOCCLUDED``.
    """
    pos = pd.Index(frames["path"]).get_indexer(table["path"])
    unknown = pos < 0
    if unknown.any():
        first = table["path"][unknown].iloc[0]
        raise OccreidError(
            f"{csv_path}: {int(unknown.sum())} row(s) name frames that are not in the source, "
            f"e.g. {first}; paths are relative to the source root"
        )
    occlusion = np.zeros(len(frames), dtype=np.int16)
    persons = np.ones(len(frames), dtype=np.int16)
    annotated = np.zeros(len(frames), dtype=bool)
    occlusion[pos] = table["occlusion"].to_numpy()
    persons[pos] = table["persons"].to_numpy()
    annotated[pos] = True
    n_missing = int((~annotated).sum())
    if n_missing and missing is Missing.ERROR:
        first = frames["path"].iloc[int(np.flatnonzero(~annotated)[0])]
        raise OccreidError(
            f"{csv_path}: {n_missing} frame(s) have no annotation, e.g. {first}; annotate them "
            "or pass --missing-as-unoccluded to treat them as occlusion 0, persons 1"
        )
    out = frames.copy()
    out["occlusion"] = occlusion
    out["persons"] = persons
    out["occluded"] = is_occluded(occlusion, persons)
    out["annotated"] = annotated
    for col, blank in OPTIONAL.items():
        if col in table.columns:
            values = np.full(len(frames), blank, dtype=table[col].dtype)
            values[pos] = table[col].to_numpy()
            out[col] = values
    return out
