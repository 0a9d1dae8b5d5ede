"""The check of a calibration (calibrate.CalibrationFit.check), saved beside it.

The check is the reviewed frames' tags under a calibration, out of fold where it was fitted on
them (path, occlusion, persons, confidence): what stands for that calibration's tags when the
reviews judge the tags nobody reviewed (review/store.py, occdata/label_quality.py). It travels
with the calibration: `occreid calibrate` writes ``LABELS/calibration.check.csv`` beside
``LABELS/calibration.json``; `occreid tag-occlusion` (and `occreid pseudolabel`'s tags) copy it
beside the calibration saved with their CSV (``<CSV>.calibration.check.csv`` beside
calibration.tags_calibration's ``<CSV>.calibration.json``; its rows of the frames tagged, with a
warning where some are not: ``own_rows``); `occreid review` keeps it with that CSV's
proposals (its rows of the source's frames, the same way).

Its first line names the calibration file it belongs to by SHA-256: a check left beside another
calibration (one replaced by hand, or by a fit without a check) is not read.

The check's paths are also the frames a fitted calibration was fitted on: ``fitted_before`` gives
both, so that a calibration fitted earlier is judged on the reviews it was not fitted on
(calibrate.keeps_earlier) before a new fit replaces it, by `occreid calibrate` and by the review
server's re-tags alike.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import pandas as pd

from occreid.common.atomic import write_text
from occreid.common.errors import OccreidError
from occreid.occdata.annotations import check_annotations, file_sha256
from occreid.pseudolabel.calibration import Calibration, load_calibration

SUFFIX = ".check.csv"  # calibration.json -> calibration.check.csv
HEADER = "# check of the calibration with SHA-256 {digest}"
COLUMNS = ["path", "occlusion", "persons", "confidence"]
FIRST_ROW = 3  # the file line of the first row: after HEADER and the column names


def check_path(calibration: Path) -> Path:
    """Where the check of the calibration file ``calibration`` lives."""
    return calibration.with_name(calibration.name.removesuffix(".json") + SUFFIX)


def save_check(calibration: Path, check: pd.DataFrame | None) -> None:
    """Write ``check`` beside the calibration file ``calibration`` (already written), naming it;
    None: remove a check left there (the calibration has none)."""
    path = check_path(calibration)
    if check is None:
        path.unlink(missing_ok=True)
        return
    head = HEADER.format(digest=file_sha256(calibration))
    write_text(path, head + "\n" + check[COLUMNS].to_csv(index=False))


def load_check(calibration: Path) -> pd.DataFrame | None:
    """The check beside the calibration file ``calibration`` where it belongs to it (its first
    line names this file's content), else None (with a warning where there is a check of
    another); a check that does not read is one clear error."""
    path = check_path(calibration)
    if not (path.is_file() and calibration.is_file()):
        return None
    text = path.read_text()
    head, _, body = text.partition("\n")
    if head != HEADER.format(digest=file_sha256(calibration)):
        warnings.warn(
            f"{path}: the check of another calibration than {calibration} (one of the two was "
            "edited or replaced since): not read, so the reviews are compared with the tags they "
            "were shown; delete it, or write both again (`occreid calibrate`, `tag-occlusion`)",
            stacklevel=2,
        )
        return None
    try:
        table = pd.read_csv(io.StringIO(body), dtype="string")
    except (ValueError, pd.errors.ParserError) as err:
        raise OccreidError(f"{path}: not a readable check ({err}); delete it") from None
    if "confidence" not in table:
        raise OccreidError(f"{path}: no column 'confidence'; delete it")
    table = check_annotations(table, path, first_line=FIRST_ROW)
    return table[COLUMNS].reset_index(drop=True)


def own_rows(
    check: pd.DataFrame | None, frames: set[str], calibration: Path, whose: str, none: str
) -> pd.DataFrame | None:
    """The rows of ``check`` (the check of the calibration file ``calibration``) that are
    ``frames``, with one warning where some are not, naming ``whose`` frames they should be (a
    check made on another source's reviews says nothing of these tags); None where none is
    (the warning then ends with ``none``)."""
    if check is None:
        return None
    ours = check["path"].isin(frames).to_numpy()
    if ours.all():
        return check
    warnings.warn(
        f"{check_path(calibration)}: {int((~ours).sum()):,} of its {len(check):,} rows are not "
        f"frames of {whose}: {'left out' if ours.any() else none}",
        stacklevel=3,
    )
    return check[ours].reset_index(drop=True) if ours.any() else None


def copy_check(source: Path, calibration: Path, frames: set[str]) -> None:
    """Beside the calibration file ``calibration`` (a copy of the calibration ``source``, or of
    a shipped default where there is no such file, for tags of ``frames``), the check of
    ``source``: its rows of these frames (own_rows), or none."""
    check = own_rows(load_check(source), frames, source, "these labels", "no check copied")
    save_check(calibration, check)


def fitted_before(path: Path) -> tuple[Calibration, set[str] | None] | None:
    """The calibration fitted to reviews that ``path`` holds and the frames it was fitted on
    (its check's; None where the check is lost), or None: no such calibration there."""
    try:
        cal, check = load_calibration(path), load_check(path)
    except (OSError, OccreidError):
        return None
    if not cal.fitted:
        return None
    return cal, None if check is None else set(check["path"])
