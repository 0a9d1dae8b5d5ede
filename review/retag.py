"""Re-tagging the frames nobody decided with a calibration fitted on the decisions so far.

The label cache's evidence (tagging.evidence_table, computed once per server) and the frames of
the accepted tracklets go to calibrate.fit_calibration; where it uses the fit, the fitted
calibration is saved beside the store (STORE.retag-N.calibration.json, N its proposal set's
number, chosen as the set is written, so that each server's re-tag on one store keeps its own;
its check beside it as calibration_check saves one, so that `occreid tag-occlusion
--calibration` carries it on) and
its tags become a new proposal set for the undecided frames (ReviewStore.repropose: never a
decision, never the proposals a reviewer was shown), kept with the fit's check (the reviewed
frames' out-of-fold tags: what the header's estimate compares the reviewers with from then on).
Where the fit falls back (too few reviewed tracklets, or not better in cross-validation),
nothing changes and the reason is given. Run from the page (a key and a button) or after every
N newly accepted tracklets (``--calibrate-every``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from occreid.pseudolabel.cache import LabelCache
from occreid.review.store import ReviewStore
from occreid.review.unit import TRACKLET, Unit

NO_LABELS = "re-tagging needs the label cache the tags were made from: start with --labels LABELS"
BUSY = "a re-tag is already running"


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
        if not fit.used_fit:
            message = f"nothing re-tagged: {fit.reason}"
            return {"retagged": 0, "used_fit": False, "message": message, "lines": fit.lines()}
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
            f"re-tagged with a calibration fitted on {fitted_on} "
            f"(saved as {saved[-1].name}): {opened.changed:,} undecided frames have new "
            "proposals; no decision changed"
        )
        return {
            "retagged": opened.changed,
            "used_fit": True,
            "message": message,
            "lines": fit.lines(),
        }
