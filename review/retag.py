"""Re-tagging the frames nobody decided with a calibration fitted on the decisions so far.

The label cache's evidence (tagging.evidence_table, computed once per server) and the frames of the
accepted tracklets go to calibrate.fit_calibration; where it uses the fit, the fitted calibration is
saved beside the store (STORE.retag-N.calibration.json, N its proposal set's number, chosen as the
set is written, so that each server's re-tag on one store keeps its own; its check beside it as
calibration_check saves one, so that `occreid tag-occlusion --calibration` carries it on) and its
tags become a new proposal set for the undecided frames (ReviewStore.repropose: never a decision,
never the proposals a reviewer was shown), kept with the fit's check (the reviewed frames'
out-of-fold tags: what the header's estimate compares the reviewers with from then on). Where the
fit falls back (too few reviewed tracklets, or not better in cross-validation), nothing changes and
the reason is given (calibrate.CalibrationFit.cause: `occreid calibrate`'s reason says what that
command saves, and a re-tag saves nothing); the ``lines`` end with what the re-tag did, as the
message says it.

A fit equal to the calibration the current proposals came from (no decision since) re-tags nothing.
Where the current proposals came from a fitted calibration themselves (an earlier re-tag's
STORE.retag-N.calibration.json, or the CSV's ``<CSV>.calibration.json`` where it is fitted, for the
cache's backends), that one is judged first, as `occreid calibrate` judges LABELS/calibration.json:
on the reviews it was not fitted on (its check's paths, calibration_check.fitted_before), by
calibrate.keeps_earlier; where it is worse than the new fit on neither agreement nor balanced
accuracy, it stays, nothing is re-tagged and the numbers say why; where it is replaced, the
message and ``lines`` end with the same numbers. The fit starts from the backends' shipped
default (as `occreid calibrate`'s does), and its lines name it so: the agreement they give
before the fit is the shipped default's, not that of the proposals the reviewers were shown.

The header estimates the accuracy of the undecided frames' tags (per confidence bin,
review/quality.py), so a re-tag claims no second estimate: its message and ``lines`` give the
fit's number as what it is, the occluded yes / no agreement cross-validated on the reviewed
frames (CalibrationFit.lines without its estimate line, which `occreid calibrate` prints). Run
from the page (a key and a button) or after every N newly accepted tracklets
(``--calibrate-every``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from occreid.pseudolabel.cache import LabelCache
from occreid.review.store import RETAG_SET, ReviewStore
from occreid.review.unit import TRACKLET, Unit

if TYPE_CHECKING:
    from occreid.pseudolabel.calibrate import CalibrationFit

NO_LABELS = "re-tagging needs the label cache the tags were made from: start with --labels LABELS"
BUSY = "a re-tag is already running"
# where the fit falls back (calibrate.fit_calibration): a re-tag saves nothing, so the proposals
# shown stay (not "the starting calibration's tags", which they need not be)
KEPT = "nothing re-tagged, the proposals stay: {cause}; review more and re-tag again"


def proposed_by(store: ReviewStore) -> Path | None:
    """The calibration file the store's current proposals came from: the latest proposal set's
    own file where it is a re-tag's, else the one saved beside its CSV
    (calibration.tags_calibration); None where that file is no longer the one they came from
    (the re-tag's calibration or the CSV changed since)."""
    from occreid.occdata.annotations import file_sha256
    from occreid.pseudolabel.calibration import tags_calibration

    sets = store.proposal_sets()
    if sets.empty:
        return None
    latest = sets.iloc[-1]
    source = Path(str(latest["csv"]))
    if not source.is_file() or file_sha256(source) != latest["sha256"]:
        return None
    return source if RETAG_SET.search(source.name) else tags_calibration(source)


def same_fit(path: Path | None, fit: CalibrationFit) -> str | None:
    """Why nothing is re-tagged where ``fit``'s calibration is the one the current proposals
    came from (``path``: proposed_by), as a re-tag with no decision since fits it; else None (a
    new proposal set would change nothing and add files)."""
    if path is None or not path.is_file() or path.read_text() != fit.calibration.to_json():
        return None
    return (
        f"nothing re-tagged: the fit is the same as {path.name}, which the proposals came from "
        "(no decision since changed it)"
    )


def judge_earlier(
    path: Path | None, table: pd.DataFrame, reviewed: pd.DataFrame, fit: CalibrationFit
) -> tuple[bool, str] | None:
    """(whether it stays, what the re-tag says of it) for the fitted calibration the store's
    current proposals came from (``path``: proposed_by), judged against ``fit``'s as `occreid
    calibrate` judges one (calibrate.keeps_earlier on the evidence ``table`` and the
    ``reviewed`` frames, with both numbers whichever stays); None where there is none or nothing
    judges it (``fit``'s replaces it). One fitted for other backends than ``fit``'s made its
    tags from another cache's evidence: it cannot be judged on this one's, and is replaced."""
    from occreid.pseudolabel.calibrate import keeps_earlier
    from occreid.pseudolabel.calibration_check import fitted_before

    earlier = None if path is None else fitted_before(path)
    if path is None or earlier is None:
        return None
    backends = (fit.calibration.pose, fit.calibration.parsing)
    if (earlier[0].pose, earlier[0].parsing) != backends:
        return None
    judged = keeps_earlier(table, reviewed, fit, *earlier)
    if judged is None:
        return None
    if judged.stays:
        return True, f"nothing re-tagged: {path.name}, fitted earlier, stays: {judged.why}"
    return False, f"{path.name}, fitted earlier, is replaced: {judged.why}"


def _outcome(
    store: ReviewStore, table: pd.DataFrame, reviewed: pd.DataFrame, fit: CalibrationFit
) -> tuple[str | None, str | None]:
    """(why nothing is re-tagged, or None; what is said of the earlier fit that ``fit``'s
    replaces, where one was judged, or None)."""
    if not fit.used_fit:
        return KEPT.format(cause=fit.cause), None
    path = proposed_by(store)  # once: it hashes the CSV the proposals came from
    same = same_fit(path, fit)
    judged = None if same is not None else judge_earlier(path, table, reviewed, fit)
    if judged is None:
        return same, None
    stays, said = judged
    return (said, None) if stays else (None, said)


@dataclass
class Retagger:
    """Re-tags one store from one label cache; ``every``: after every N newly accepted
    tracklets (None: only when asked); ``unit``: what its messages count (tracklets, images)."""

    labels: LabelCache
    unit: Unit = TRACKLET
    every: int | None = None
    last: dict[str, Any] | None = None  # what the last re-tag did (the header shows it)
    accepted_at_last: int = 0
    _evidence: pd.DataFrame | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def due(self, accepted: int) -> bool:
        """Whether ``accepted`` tracklets are ``every`` more than at the last re-tag."""
        return self.every is not None and accepted - self.accepted_at_last >= self.every

    def run(self, store: ReviewStore, accepted: int) -> dict[str, Any]:
        """Fit on the accepted tracklets and re-tag the undecided frames (module docstring)."""
        if not self._lock.acquire(blocking=False):
            return {"retagged": 0, "used_fit": False, "message": BUSY}
        try:
            self.accepted_at_last = accepted
            self.last = self._run(store)
            return self.last
        finally:
            self._lock.release()

    def _run(self, store: ReviewStore) -> dict[str, Any]:
        from occreid.pseudolabel.calibrate import counted, fit_calibration
        from occreid.pseudolabel.calibration import backend_names, default_calibration
        from occreid.pseudolabel.calibration_check import save_check
        from occreid.pseudolabel.tagging import evidence_table, tag_table

        base = default_calibration(*backend_names(self.labels.meta))
        if self._evidence is None:
            self._evidence = evidence_table(self.labels, base)
        reviewed = store.frames(reviewed_only=True)[["path", "occlusion", "persons"]]
        fit = fit_calibration(self._evidence, reviewed, base, self.unit.many)
        lines = fit.lines(estimate=False)  # the header gives the unreviewed tags' estimate
        why, replaced = _outcome(store, self._evidence, reviewed, fit)
        if why is not None:  # the last line, `occreid calibrate`'s outcome, is this one's
            return {"retagged": 0, "used_fit": False, "message": why, "lines": [*lines[:-1], why]}
        saved: list[Path] = []

        def save(n: int) -> Path:  # N: the proposal set's number (ReviewStore.repropose)
            saved.append(store.path.with_name(f"{store.path.name}.retag-{n}.calibration.json"))
            fit.calibration.save(saved[-1])
            save_check(saved[-1], fit.check)  # travels with it, as LABELS/calibration.json's
            return saved[-1]

        tags = tag_table(self._evidence, fit.calibration)
        opened = store.repropose(tags, save, fit.check)
        fitted_on = counted(fit.tracklets, self.unit.many, "reviewed")
        message = (
            f"re-tagged with a calibration fitted on {fitted_on}, saved as {saved[-1].name}: "
            f"{opened.changed:,} undecided frames have new proposals, no decision changed; its "
            "occluded yes / no agreement cross-validated on the reviewed frames: "
            f"{fit.after.said(self.unit.many)}"
        )
        said = [] if replaced is None else [replaced]  # the earlier fit it replaces, judged
        return {
            "retagged": opened.changed,
            "used_fit": True,
            "message": "; ".join([message, *said]),
            "lines": [*lines, *said],
        }
