"""`occreid calibrate`: fit the occlusion tags to reviewers' decisions, and say how good they are.

The fit (``fit_calibration``) learns, from the reviewed frames, the map from a frame's evidence
(tagging.FEATURES: the hidden share, the key-point estimates, the raw score of each body level,
the lowest seen point, the mask, the tracklet's mean share; all oriented so that more means more
hidden) to the reviewed label:

- P(occluded): an L2-regularised logistic regression (scikit-learn, C = C on standardised
  features) kept monotone: a feature whose weight comes out negative is dropped and the rest
  refitted, so more hidden evidence never lowers P(occluded). Raw level scores among the features
  let it re-scale a backend whose scores sit on another scale than its declaration says.
- the label of an occluded frame: isotonic regression of the reviewed label on the model's score.
- the prior of frames without evidence, per reason: the share of reviewed such frames that are
  occluded, with one pseudo-count each way (Laplace), and their median label.
- the confidence: an isotonic map from a tag's certainty max(p, 1 - p) to the agreement with the
  reviewers at that certainty, measured out of fold (the starting calibration's tags where it is
  kept: they were not fitted on these frames); each level of the map is the one-sided 90 % Wilson
  lower bound of its agreement, counting the reviewed *tracklets* at that level, not the frames
  (a tracklet's frames are right or wrong together: 50 frames of 2 tracklets are two pieces of
  evidence), so that a confidence of 0.8 is earned by at least 0.8 agreement over enough
  tracklets and a few reviewed tracklets cannot promise certainty.

The model is fitted only where the reviewed frames with evidence hold both occluded and clear
frames in at least MIN_CLASS_TRACKLETS tracklets each; otherwise the frames with evidence keep
the starting mapping and only the prior and the confidence are fitted. Where the fitted model is
worse in cross-validation, the same is tried (the starting mapping with the fitted prior, checked
the same way) before everything falls back: the prior is learned from other frames (those
without evidence) than the mapping, so a rejected mapping is no reason to keep a prior of 0.5.

Validation is tracklet-grouped cross-validation (GroupKFold, FOLDS folds; frames of one tracklet
are never split between fitting and checking): each reviewed frame is tagged by a calibration
fitted without its tracklet, and its occluded yes / no compared with the reviewer's. Where the
whole reviewed set fits a model, every fold fits one (from one tracklet of each class on), so
the check measures the fitted mapping the result will use: with MIN_CLASS_TRACKLETS per fold, a
fold that held out one of three occluded tracklets put the starting mapping in its place, and a
model was used that no fold had checked (benchmarks/review_loop.py). The fit is
used only where it is not worse than the calibration it starts from on agreement and on
balanced accuracy, with at least MIN_TRACKLETS reviewed tracklets; otherwise the defaults' tags
stay and ``CalibrationFit.reason`` says why. Intervals (``agreement_interval``) are
percentile bootstraps over tracklets (frames of a tracklet are not independent), at least the
Wilson interval over their number.

For the review app and the dataset report: ``fit_calibration`` (evidence + reviewed labels ->
fitted calibration and its report), ``tagging.tag_table`` (evidence + calibration -> label,
confidence, unknown), ``CalibrationFit.accuracy`` (estimated accuracy of unreviewed tags) and
``CalibrationFit.check`` (the reviewed frames' tags under the calibration used, out of fold where
it was fitted on them, with its confidence: after a re-tag they, not the tags the reviewers were
shown, stand for the new tags in the review header's and the report's estimates).
``keeps_earlier``: whether `occreid calibrate` (or a re-tag in the review, review/retag.py) leaves
a calibration fitted earlier in place (judged on the reviews it was not fitted on: those not in
its check, calibration_check.fitted_before), with the numbers it was judged by, whichever stays.
Both start from the backends' shipped default, and their lines call it that (``starting``): the
tags a reviewer was shown may have come from a calibration fitted earlier.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from occreid.common.errors import OccreidError
from occreid.occdata.annotations import check_annotations, is_occluded, read_csv_text
from occreid.occdata.label_quality import wilson_interval
from occreid.pseudolabel.calibration import NO_EVIDENCE, PRIOR_LABEL, Calibration, OccludedModel
from occreid.pseudolabel.tagging import FEATURES, features, tag_confidence, tag_table

C = 1.0  # inverse L2 strength of the logistic regression (scikit-learn's default)
FOLDS = 5  # tracklet-grouped cross-validation folds (fewer where fewer tracklets)
MIN_TRACKLETS = 5  # fewer reviewed tracklets than this: keep the calibration it starts from
MIN_CLASS_TRACKLETS = 3  # reviewed tracklets with evidence needed of each class to fit a model
DRAWS = 2000  # bootstrap draws over tracklets for an interval
# what a fit may change (with_model: the mapping of frames with evidence too), in the order tried
# ({start}: what the fit starts from, ``starting``)
CANDIDATES = (
    (True, "uses the fitted calibration: worse than the {start} on neither measure"),
    (
        False,
        "kept the {start}'s mapping of the frames with evidence (the fitted one was worse in "
        "cross-validation); uses the prior of the frames without evidence fitted on the "
        "reviewed ones: worse than the {start} on neither measure",
    ),
)
NO_MODEL = (  # the reason said where the first candidate could fit no mapping
    "uses the fitted prior of the frames without evidence (and the reviewers' confidence); "
    "the frames with evidence keep the {start}'s mapping: too few reviewed {units} with "
    "evidence of each class (occluded and not: {need} each) to fit one"
)
CONFIDENCE_Z = 1.2816  # normal quantile of the one-sided 90 % lower bound of a confidence level
NOT_ENOUGH = "not enough reviewed {units} to estimate"  # said in place of a NaN estimate


def starting(base: Calibration) -> str:
    """What a fit starting from ``base`` calls it: "shipped default" where it is one (as
    `occreid calibrate` and the review's re-tags start), not a calibration fitted earlier that
    the tags may have come from."""
    return "starting calibration" if base.fitted else "shipped default"


def one(units: str) -> str:
    """The singular of ``units`` (tracklets, images)."""
    return units.removesuffix("s")


def counted(n: int, units: str, adjective: str = "") -> str:
    """``n`` of ``units`` (a plural: tracklets, images) in words: "1 reviewed tracklet",
    "3 reviewed tracklets"."""
    return " ".join(w for w in (f"{n:,}", adjective, one(units) if n == 1 else units) if w)


@dataclass(frozen=True)
class Interval:
    """An estimate with its 95 % interval."""

    estimate: float
    low: float
    high: float

    def said(self, units: str = "tracklets") -> str:
        """As the report's lines give it; ``units``: what was reviewed (tracklets, images)."""
        if np.isnan(self.estimate):
            return NOT_ENOUGH.format(units=units)
        return f"{self.estimate:.3f} (95 % CI {self.low:.3f}-{self.high:.3f})"


NAN = Interval(float("nan"), float("nan"), float("nan"))  # an estimate nothing could make


def _balanced(value: float) -> str:
    """A balanced accuracy as the report's lines give it (never NaN)."""
    return "" if np.isnan(value) else f" (balanced {value:.3f})"


def agreement_interval(agree: np.ndarray, groups: np.ndarray, seed: int = 0) -> Interval:
    """Mean of ``agree`` (per frame, bool) with a percentile bootstrap over ``groups``, widened
    to at least the Wilson interval over the number of groups (the independent units: one
    tracklet that agrees on 19 of 21 frames is no certainty), as the review header does."""
    agree = np.asarray(agree, dtype=np.float64)
    if not len(agree):
        return Interval(float("nan"), float("nan"), float("nan"))
    codes, group_ids = np.unique(np.asarray(groups), return_inverse=True)
    hits = np.bincount(group_ids, weights=agree, minlength=len(codes))
    sizes = np.bincount(group_ids, minlength=len(codes)).astype(np.float64)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(codes), size=(DRAWS, len(codes)))
    means = hits[picks].sum(axis=1) / sizes[picks].sum(axis=1)
    low, high = np.quantile(means, [0.025, 0.975])
    estimate = float(agree.mean())
    wilson_low, wilson_high = wilson_interval(estimate, len(codes))
    return Interval(estimate, min(float(low), wilson_low), max(float(high), wilson_high))


def balanced_accuracy(truth: np.ndarray, tagged: np.ndarray) -> float:
    """Mean of the recalls of occluded and unoccluded frames (NaN-free: a missing class is
    left out)."""
    truth, tagged = np.asarray(truth, bool), np.asarray(tagged, bool)
    recalls = [float((tagged[truth == c] == c).mean()) for c in (True, False) if (truth == c).any()]
    return float(np.mean(recalls)) if recalls else float("nan")


def occluded(labels: pd.DataFrame) -> np.ndarray:
    """Occluded yes / no of annotation rows: occlusion >= 1 or more than one person."""
    return is_occluded(labels["occlusion"].to_numpy(), labels["persons"].to_numpy())


def read_reviewed(path: Path) -> pd.DataFrame:
    """The reviewed rows (path, occlusion, persons) of an annotation CSV: those with reviewed = 1
    where the column exists (`occreid review --export`), else the hand-made rows (no
    confidence: a tagger's own rows would only confirm it).
    Values are checked as build-dataset checks them (a bad row is a one-line error)."""
    table = read_csv_text(path)
    missing = {"path", "occlusion"} - set(table.columns)
    if missing:
        raise OccreidError(
            f"{path}: no column {sorted(missing)[0]!r}; export it with `occreid review --export`"
        )
    if "persons" not in table:
        table = table.assign(persons=pd.Series("1", index=table.index, dtype="string"))
    table = check_annotations(table, path)
    if "reviewed" in table:
        table = table[table["reviewed"]]
    elif "confidence" in table:  # a tagger's rows are not reviews: only hand-made ones count
        if table["confidence"].notna().all():
            raise OccreidError(
                f"{path}: automatic tags (every row has a confidence, none is reviewed), not "
                "reviewed labels; review them with `occreid review` and pass its --export"
            )
        table = table[table["confidence"].isna()]
    return table[["path", "occlusion", "persons"]].reset_index(drop=True)


def _logistic(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=C, max_iter=1000).fit(x, y)
    return model.coef_[0], float(model.intercept_[0])


def fit_model(x: pd.DataFrame, y: np.ndarray, label: np.ndarray) -> OccludedModel:
    """The monotone logistic model of P(occluded) on the columns of ``x`` (frames with evidence)
    and the isotonic label map; one class only: a constant P (Laplace)."""
    from sklearn.isotonic import IsotonicRegression

    mean, scale = x.mean().to_numpy(), x.std(ddof=0).to_numpy()
    names = [c for c, s in zip(x.columns, scale, strict=True) if s > 1e-6]
    if len(np.unique(y)) < 2 or not names:
        p = (y.sum() + 1) / (len(y) + 2)
        return OccludedModel(
            features=(), mean=(), scale=(), coef=(), intercept=float(np.log(p / (1 - p))),
            label_knots=(),
        )  # fmt: skip
    while True:
        cols = [x.columns.get_loc(c) for c in names]
        z = (x[names].to_numpy() - mean[cols]) / scale[cols]
        coef, intercept = _logistic(z, y)
        if (coef >= 0).all() or len(names) == 1:
            break
        names.pop(int(np.argmin(coef)))
    coef = np.maximum(coef, 0.0)
    model = OccludedModel(
        features=tuple(names),
        mean=tuple(float(v) for v in mean[cols]),
        scale=tuple(float(v) for v in scale[cols]),
        coef=tuple(float(v) for v in coef),
        intercept=intercept,
        label_knots=(),
    )
    hidden = label > 0
    if not hidden.any():
        return model
    if len(np.unique(label[hidden])) == 1:  # one label: that label
        knots: tuple[tuple[float, float], ...] = ((0.0, float(label[hidden][0])),)
    else:
        score = model.score(x[names].to_numpy())
        iso = IsotonicRegression(y_min=1, y_max=10, out_of_bounds="clip")
        iso.fit(score[hidden], label[hidden])
        knots = tuple(zip(iso.X_thresholds_.tolist(), iso.y_thresholds_.tolist(), strict=True))
    return OccludedModel(**{**model.__dict__, "label_knots": knots})


def confidence_knots(tags: pd.DataFrame, truth: np.ndarray) -> tuple[tuple[float, float], ...]:
    """The isotonic map certainty -> agreement on the frames with evidence of ``tags`` (each
    tagged without having been fitted on itself) against ``truth``."""
    from sklearn.isotonic import IsotonicRegression

    known = ~tags["unknown"].to_numpy()
    if known.sum() < 2:
        return ()
    p = tags["p_occluded"].to_numpy()[known]
    certainty = np.maximum(p, 1 - p)
    agree = (occluded(tags) == truth)[known].astype(np.float64)
    tracklets = tags["tracklet"].to_numpy()[known]
    iso = IsotonicRegression(y_min=0.5, y_max=1.0, out_of_bounds="clip").fit(certainty, agree)
    level = iso.predict(certainty)
    xs = np.asarray(iso.X_thresholds_)
    ys = np.asarray(iso.y_thresholds_, dtype=np.float64)
    for value in np.unique(ys):  # each isotonic block: its agreement over its tracklets, at least
        n = float(len(np.unique(tracklets[level == value])))
        ys[ys == value] = max(0.5, wilson_interval(value, n, CONFIDENCE_Z)[0])
    return tuple(zip(xs.tolist(), np.maximum.accumulate(ys).tolist(), strict=True))


def _usable(cal: Calibration) -> list[str]:
    """The features a fit may use: the mask only where the calibration trusts it."""
    trusted = cal.mask_is_visible_body and cal.mask_weight > 0
    return [f for f in FEATURES if trusted or f != "mask_hidden"]


def fit_on(
    table: pd.DataFrame,
    reviewed: pd.DataFrame,
    base: Calibration,
    feats: pd.DataFrame,
    with_model: bool = True,
    units: str = "tracklets",
    min_class: int = MIN_CLASS_TRACKLETS,
) -> Calibration:
    """``base`` with a model (unless not ``with_model``: base's mapping kept) and a prior fitted on
    ``reviewed`` (rows of ``table``'s frames); ``feats`` = tagging.features(table, base), made
    once by the caller for every fold; ``units``: what a tracklet is called in the sources. The
    model needs reviewed tracklets with evidence of each class, ``min_class`` of each (a
    cross-validation fold needs one: cross_validated)."""
    rows = table.reset_index(drop=True).merge(
        reviewed.rename(columns={"occlusion": "label", "persons": "label_persons"}), on="path"
    )
    index = table.reset_index(drop=True).set_index("path").index.get_indexer(rows["path"])
    x = feats.iloc[index].reset_index(drop=True)
    known = x["share"].notna().to_numpy()
    y = is_occluded(rows["label"].to_numpy(), rows["label_persons"].to_numpy())
    labels = rows["label"].to_numpy()
    tracklets_of = rows.loc[known, "tracklet"]
    per_class = [tracklets_of[y[known] == c].nunique() for c in (True, False)]
    model = (
        fit_model(x.loc[known, _usable(base)], y[known], labels[known])
        if with_model and min(per_class) >= max(1, min_class)
        else base.model
    )
    reasons = np.where(rows["pose_found"].to_numpy(), NO_EVIDENCE[1], NO_EVIDENCE[0])
    prior, prior_label = {}, {}
    for reason in NO_EVIDENCE:
        these = ~known & (reasons == reason)
        prior[reason] = float((y[these].sum() + 1) / (these.sum() + 2))
        hidden_labels = labels[these & (labels > 0)]
        prior_label[reason] = int(np.median(hidden_labels)) if len(hidden_labels) else PRIOR_LABEL
    tracklets = rows["tracklet"].nunique()
    sources = {
        "prior": (
            f"fitted on {int((~known).sum())} reviewed frames without evidence, per reason "
            "(Laplace: one pseudo-count each way; the median reviewed label)"
        )
    }
    if model is not base.model:
        sources["model"] = (
            f"fitted on {int(known.sum())} reviewed frames with evidence of {tracklets} "
            f"{units} (calibrate.py: monotone logistic, C={C}, isotonic label)"
        )
    return base.with_fit(
        model=model, prior_occluded=prior, prior_label=prior_label, sources=sources
    )


def not_worse(
    before: Interval, after: Interval, before_balanced: float, after_balanced: float
) -> bool:
    """The fit is used where its cross-validated agreement and balanced accuracy are both at
    least the starting calibration's (equal tags with a fitted prior and confidence are kept)."""
    return after.estimate >= before.estimate and after_balanced >= before_balanced


@dataclass(frozen=True)
class CalibrationFit:
    """A fit and how it was checked (on the reviewed frames, tracklet-grouped)."""

    calibration: Calibration
    used_fit: bool
    reason: str
    tracklets: int
    frames: int
    before: Interval  # agreement of the starting calibration's tags
    after: Interval  # cross-validated agreement of the fitted tags
    before_balanced: float
    after_balanced: float
    units: str = "tracklets"  # what the reviewed items are (tracklets; images of an image folder)
    # the check (``checked_tags``): the reviewed frames' tags under the calibration used, out of
    # fold where it was fitted on them; None where nothing was fitted (too few reviewed)
    check: pd.DataFrame | None = field(default=None, compare=False, repr=False)
    # where it falls back, why, without `occreid calibrate`'s advice that ``reason`` adds (a
    # re-tag in the review, which saves nothing, gives its own: review/retag.py)
    cause: str = ""
    start: str = "starting calibration"  # what ``before`` is of (``starting``)

    @property
    def reviewed(self) -> str:
        """How much was reviewed, in frames and the reviewed items (a tracklet's frames, or an
        image folder's images, which are one frame each)."""
        if self.units == "tracklets":
            return f"reviewed: {self.frames:,} frames of {counted(self.tracklets, 'tracklets')}"
        return f"reviewed: {self.frames:,} {self.units}"

    @property
    def accuracy(self) -> Interval:
        """Estimated occluded yes / no accuracy of the unreviewed frames' tags."""
        return self.after if self.used_fit else self.before

    def lines(self, estimate: bool = True) -> list[str]:
        """The report's lines; the last, unless not ``estimate``, the estimated accuracy of the
        unreviewed frames' tags (left out where another estimate of them is shown, as in the
        review's header: the number is the agreement on the reviewed frames given before)."""
        measured = [
            self.reviewed,
            f"occluded yes / no agreement, {self.start}: "
            f"{self.before.said(self.units)}{_balanced(self.before_balanced)}",
            f"occluded yes / no agreement, fitted (cross-validated by {one(self.units)}): "
            f"{self.after.said(self.units)}{_balanced(self.after_balanced)}",
            self.reason,
        ]
        if not estimate:
            return measured
        return [
            *measured,
            "estimated occluded yes / no accuracy of the unreviewed frames' tags: "
            f"{self.accuracy.said(self.units)}",
        ]


def checked_tags(tags: pd.DataFrame, cal: Calibration) -> pd.DataFrame:
    """The check of calibration ``cal``: the reviewed frames' ``tags`` (tag_table rows, each
    made by a calibration not fitted on its tracklet) as path, occlusion, persons and a
    confidence on ``cal``'s scale (tagging.tag_confidence of their own certainty): what the
    reviewed frames say about the tags ``cal`` gives the frames nobody reviewed (the review
    header's and the dataset report's reference, review/store.py)."""
    known = ~tags["unknown"].to_numpy()
    confidence = tag_confidence(tags["p_occluded"].to_numpy(), known, cal)
    out = tags[["path", "occlusion", "persons"]].assign(confidence=confidence)
    return out.reset_index(drop=True)


def cross_validated(
    table: pd.DataFrame,
    reviewed: pd.DataFrame,
    base: Calibration,
    folds: int,
    with_model: bool = True,
) -> pd.DataFrame:
    """Tags of the reviewed frames, each from a calibration fitted without its tracklet (its
    prior only where not ``with_model``). With a model, each fold fits one where its reviewed
    frames hold both classes, even with fewer than MIN_CLASS_TRACKLETS tracklets of one (the
    caller has checked that the whole reviewed set has enough): the check then measures the
    fitted mapping the result will use, not the starting one in its place."""
    from sklearn.model_selection import GroupKFold

    feats = features(table, base)

    tracklet_of = table.set_index("path")["tracklet"]
    groups = tracklet_of.loc[reviewed["path"]].to_numpy()
    parts = []
    for fit_rows, check_rows in GroupKFold(n_splits=folds).split(reviewed, groups=groups):
        cal = fit_on(table, reviewed.iloc[fit_rows], base, feats, with_model, min_class=1)
        check = reviewed.iloc[check_rows]
        mine = table[table["tracklet"].isin(set(groups[check_rows]))]
        tags = tag_table(mine, cal).set_index("path").loc[check["path"]]
        parts.append(tags.reset_index())
    return pd.concat(parts, ignore_index=True)


def _candidates(
    table: pd.DataFrame, reviewed: pd.DataFrame, base: Calibration, units: str
) -> list[tuple[bool, str, Calibration]]:
    """What fit_calibration tries, in order: (with_model, the reason said where it is used, the
    calibration fitted on every reviewed frame). Where the reviewed frames cannot fit a model
    (fewer than MIN_CLASS_TRACKLETS tracklets of a class), only the fitted prior is tried."""
    feats = features(table, base)
    fits = {m: fit_on(table, reviewed, base, feats, m, units) for m, _ in CANDIDATES}
    start = starting(base)
    if fits[True].model is base.model:
        reason = NO_MODEL.format(units=units, need=MIN_CLASS_TRACKLETS, start=start)
        return [(False, reason, fits[False])]
    return [(m, reason.format(start=start), fits[m]) for m, reason in CANDIDATES]


def fit_calibration(
    table: pd.DataFrame, reviewed: pd.DataFrame, base: Calibration, units: str = "tracklets"
) -> CalibrationFit:
    """Fit ``base`` to the reviewed labels (path, occlusion, persons) of frames of the evidence
    ``table`` (tagging.evidence_table), check it by tracklet-grouped cross-validation, and keep
    ``base`` where the fit is not better (module docstring): first the fitted mapping and prior,
    then the starting mapping with the fitted prior (the prior is learned from other frames,
    those without evidence, so a rejected mapping is no reason to keep a prior of 0.5).
    ``units``: what the output calls a tracklet (an image folder's "images")."""
    reviewed = reviewed[reviewed["path"].isin(set(table["path"]))].reset_index(drop=True)
    tracklets = int(table.set_index("path").loc[reviewed["path"], "tracklet"].nunique())
    truth = reviewed.set_index("path")
    start = tag_table(table, base).set_index("path").loc[reviewed["path"]]
    start_tagged = occluded(start)
    y = occluded(truth.loc[reviewed["path"]])
    groups = start["tracklet"].to_numpy()
    before = agreement_interval(start_tagged == y, groups)
    before_balanced = balanced_accuracy(y, start_tagged)
    name = starting(base)
    if tracklets < max(2, MIN_TRACKLETS):
        cause = f"{counted(tracklets, units, 'reviewed')}, fewer than {MIN_TRACKLETS}"
        reason = f"kept the {name}: {cause}; review more and calibrate again"
        return CalibrationFit(
            base, False, reason, tracklets, len(reviewed), before, NAN, before_balanced, np.nan,
            units, cause=cause, start=name,
        )  # fmt: skip
    confidence_source = {
        "confidence": f"isotonic map of certainty to out-of-fold agreement on {len(reviewed)} "
        f"reviewed frames of {counted(tracklets, units)}"
    }
    first_after: Interval | None = None
    first_balanced = np.nan
    for with_model, reason, fitted in _candidates(table, reviewed, base, units):
        if not (with_model or first_after is None or start["unknown"].any()):
            continue  # the model was rejected and no reviewed frame lacks evidence: no prior
        checked = cross_validated(table, reviewed, base, min(FOLDS, tracklets), with_model)
        checked_y = occluded(truth.loc[checked["path"]])
        checked_tagged = occluded(checked)
        after = agreement_interval(checked_tagged == checked_y, checked["tracklet"].to_numpy())
        after_balanced = balanced_accuracy(checked_y, checked_tagged)
        if first_after is None:
            first_after, first_balanced = after, after_balanced
        if not_worse(before, after, before_balanced, after_balanced):
            fitted = fitted.with_fit(
                confidence_knots=confidence_knots(checked, checked_y), sources=confidence_source
            )
            return CalibrationFit(
                fitted, True, reason, tracklets, len(reviewed),
                before, after, before_balanced, after_balanced, units,
                checked_tags(checked, fitted), start=name,
            )  # fmt: skip
    cause = (
        f"the fitted calibration was worse than the {name} in cross-validation (agreement or "
        "balanced accuracy)"
    )
    reason = (
        f"kept the {name}'s tags: the fitted one was worse in cross-validation (agreement or "
        "balanced accuracy); review more and calibrate again (their confidence is now the "
        "agreement the reviewers found)"
    )
    kept = base.with_fit(
        confidence_knots=confidence_knots(start.reset_index(), y), sources=confidence_source
    )
    return CalibrationFit(
        kept, False, reason, tracklets, len(reviewed), before, first_after or NAN, before_balanced,
        first_balanced, units, checked_tags(start.reset_index(), kept), cause, name,
    )  # fmt: skip


@dataclass(frozen=True)
class Judged:
    """How a calibration fitted earlier fared against a new fit (keeps_earlier)."""

    stays: bool  # whether it stays in place of the new fit's
    why: str  # both agreements on the reviews it was not fitted on, or why it stays without


def keeps_earlier(
    table: pd.DataFrame,
    reviewed: pd.DataFrame,
    fit: CalibrationFit,
    earlier: Calibration,
    fitted_on: set[str] | None,
) -> Judged | None:
    """Whether a calibration fitted earlier, ``earlier``, stays in place of ``fit``'s, and why:
    it is judged on the reviewed frames it was not fitted on (those not in its check,
    ``fitted_on``) against ``fit``'s check of the same frames (out of fold where fitted), and
    stays where it is worse on neither agreement nor balanced accuracy; either way ``why`` gives
    both numbers. Where those frames come from fewer than MIN_TRACKLETS tracklets, or its check
    is lost (None), there is nothing to judge it by: it stays only where nothing was fitted now
    (None: ``fit``'s replaces it unjudged)."""
    reviewed = reviewed[reviewed["path"].isin(set(table["path"]))]
    fresh = reviewed.iloc[:0] if fitted_on is None else reviewed[~reviewed["path"].isin(fitted_on)]
    tracklet_of = table.set_index("path")["tracklet"]
    groups = tracklet_of.loc[fresh["path"]].to_numpy()
    n = len(set(groups))
    if n < MIN_TRACKLETS or fit.check is None:
        return None if fit.used_fit else Judged(True, "nothing was fitted now")
    y = occluded(fresh)
    mine = tag_table(table[table["path"].isin(set(fresh["path"]))], earlier)
    mine_tagged = occluded(mine.set_index("path").loc[fresh["path"]])
    new_tagged = occluded(fit.check.set_index("path").loc[fresh["path"]])
    mine_agree = agreement_interval(mine_tagged == y, groups)
    new_agree = agreement_interval(new_tagged == y, groups)
    mine_balanced = balanced_accuracy(y, mine_tagged)
    new_balanced = balanced_accuracy(y, new_tagged)
    new = "the new fit (cross-validated)" if fit.used_fit else f"the {fit.start}"
    return Judged(
        not_worse(new_agree, mine_agree, new_balanced, mine_balanced),
        f"on the {counted(n, fit.units, 'reviewed')} it was not fitted on it agrees "
        f"{mine_agree.said(fit.units)}{_balanced(mine_balanced)}, {new} "
        f"{new_agree.said(fit.units)}{_balanced(new_balanced)}",
    )
