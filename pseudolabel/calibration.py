"""The calibration of one pose / parsing backend pair: every number the occlusion tags depend on.

One object, saved as JSON beside the tags (``LABELS/calibration.json`` from `occreid calibrate`,
``<CSV>.calibration.json`` beside every CSV that `occreid tag-occlusion` writes,
``tags_calibration``; a fitted one with its check beside it: calibration_check.py), with where
each number came from (``sources``):

- ``score_scale`` (hidden score, seen score) and ``seen_score``: how the pose backend's scores
  read as "seen" (evidence.py); ``seen_score`` is also the threshold of the APU targets
  (apu_targets.py, passed by the runner): one rule for "this point was seen" for the tags and the
  locator's targets. Declared by the pose backend (backends/base.py).
- ``mask_is_visible_body`` and ``mask_weight``: whether the parsing backend's mask is the target's
  visible body and how far the tags trust it. Declared by the parsing backend.
- ``min_share``: the hidden share above which a frame is occluded (tagging.py).
- ``prior_occluded`` and ``prior_label``: P(occluded) and the label of a frame with no evidence,
  per reason (NO_EVIDENCE: no pose found or not decodable; a skeleton that is not a body), at
  confidence 0. Not its tracklet neighbours' tags: a frame loses its pose mostly where it is more
  hidden than its neighbours, so their tags would say "clear" where it is not.
- ``model``: None for the shipped defaults; after `occreid calibrate`, a logistic model of
  P(occluded) on monotone evidence features and an isotonic map from its score to the label,
  fitted on reviewed labels (calibrate.py).
- ``confidence_knots``: after `occreid calibrate`, the isotonic map from a tag's certainty
  max(p, 1 - p) to the agreement with the reviewers measured out of fold at that certainty (a
  one-sided 90 % lower bound over the reviewed tracklets, calibrate.py), so that a confidence
  means what it says; none in the shipped defaults: there the certainty is
  scaled into 0.5 .. the pose backend's ``confidence_cap`` (under 0.8 unless its scores are
  exact: a confidence of 0.8 or more is earned by measurement, the oracle's or reviewers').

The shipped default of a pair (``default_calibration``) is built from the two backends'
declarations; nothing in it was fitted on real crops.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from occreid.common.atomic import write_text
from occreid.common.errors import OccreidError

FORMAT = 1
MIN_SHARE = 0.08
NO_EVIDENCE = ("no_pose", "not_a_body")  # why a frame has no evidence
PRIOR_OCCLUDED = 0.5
PRIOR_LABEL = 5
FILE_NAME = "calibration.json"  # LABELS/calibration.json, written by `occreid calibrate`
SOURCES = {
    "min_share": (
        "mask noise of the exact oracle mask on the toy data (clear frames reach a share of "
        "0.02 +- 0.01); for key points alone any value under the smallest level weight (0.1375, "
        "the head) gives the same tags"
    ),
    "prior": (
        "no evidence, no information: P(occluded) 0.5 and the middle label 5, at confidence 0, "
        "never counted as occluded in a summary; `occreid calibrate` fits both on reviewed frames"
    ),
}


@dataclass(frozen=True, kw_only=True)
class OccludedModel:
    """P(occluded) = sigmoid(intercept + sum coef * (x - mean) / scale) over ``features`` (all
    oriented so that more means more hidden, every coef >= 0); the label of an occluded frame is
    the isotonic map ``label_knots`` (score, label) of the linear score, clipped to 1-10."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    label_knots: tuple[tuple[float, float], ...]

    def score(self, x: np.ndarray) -> np.ndarray:
        """(N, F) features in ``features`` order -> (N,) linear score (the logit)."""
        z = (x - np.asarray(self.mean)) / np.asarray(self.scale)
        return np.asarray(z @ np.asarray(self.coef) + self.intercept, dtype=np.float64)

    def label(self, score: np.ndarray) -> np.ndarray | None:
        """The label (1-10) of occluded frames from their score; None without knots."""
        if not self.label_knots:
            return None
        xs, ys = np.asarray(self.label_knots).T
        return np.clip(np.rint(np.interp(score, xs, ys)), 1, 10).astype(np.int16)


@dataclass(frozen=True, kw_only=True)
class Calibration:
    """Every number the occlusion tags of one backend pair depend on (module docstring)."""

    pose: str
    parsing: str
    score_scale: tuple[float, float]
    seen_score: float
    mask_is_visible_body: bool
    mask_weight: float
    min_share: float = MIN_SHARE
    prior_occluded: dict[str, float] = field(
        default_factory=lambda: dict.fromkeys(NO_EVIDENCE, PRIOR_OCCLUDED)
    )
    prior_label: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(NO_EVIDENCE, PRIOR_LABEL)
    )
    model: OccludedModel | None = None
    confidence_knots: tuple[tuple[float, float], ...] = ()
    confidence_cap: float = 1.0
    sources: dict[str, str] = field(default_factory=dict)

    def confidence(self, certainty: np.ndarray) -> np.ndarray:
        """max(p, 1 - p) -> the agreement reviewers found at that certainty (the isotonic map
        ``confidence_knots``); without knots the certainty scaled from 0.5-1 into
        0.5-``confidence_cap`` (order kept, for the review queue)."""
        if not self.confidence_knots:
            return 0.5 + (certainty - 0.5) * (self.confidence_cap - 0.5) / 0.5
        xs, ys = np.asarray(self.confidence_knots).T
        return np.asarray(np.interp(certainty, xs, ys), dtype=np.float64)

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, **asdict(self)}, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, where: str = "calibration") -> Calibration:
        """Read a calibration written by ``to_json``; a clear error names the file otherwise."""
        try:
            data: dict[str, Any] = json.loads(text)
            if data.pop("format", None) != FORMAT:
                raise ValueError(f"format is not {FORMAT}")
            model = data.pop("model")
            if model is not None:
                model = OccludedModel(
                    features=tuple(model["features"]),
                    mean=tuple(model["mean"]),
                    scale=tuple(model["scale"]),
                    coef=tuple(model["coef"]),
                    intercept=float(model["intercept"]),
                    label_knots=tuple((float(x), float(y)) for x, y in model["label_knots"]),
                )
            data["score_scale"] = tuple(data["score_scale"])
            data["confidence_knots"] = tuple(
                (float(x), float(y)) for x, y in data["confidence_knots"]
            )
            return cls(**data, model=model)
        except (ValueError, TypeError, KeyError) as err:
            raise OccreidError(
                f"{where}: not an occreid calibration ({err}); rerun `occreid calibrate` or "
                "delete it to use the defaults"
            ) from None

    def save(self, path: Path) -> None:
        """Write atomically (common.atomic: a temporary name, fsync, then renamed)."""
        write_text(path, self.to_json())

    @property
    def fitted(self) -> bool:
        """Whether reviews changed it: it differs from the shipped default of its pair."""
        return self.to_json() != default_calibration(self.pose, self.parsing).to_json()

    def with_fit(self, **changes: Any) -> Calibration:
        """A copy with fitted numbers and their sources merged in."""
        sources = {**self.sources, **changes.pop("sources", {})}
        return replace(self, **changes, sources=sources)


def tags_calibration(csv: Path) -> Path:
    """Where the calibration of a tags CSV is saved beside it: ``<CSV>.calibration.json``."""
    return csv.with_name(csv.name.removesuffix(".csv") + ".calibration.json")


def load_calibration(path: Path) -> Calibration:
    return Calibration.from_json(Path(path).read_text(), str(path))


def default_calibration(pose: str, parsing: str) -> Calibration:
    """The shipped default of a backend pair, from the backends' declarations (an unknown
    backend gets the base classes': a step at 0.5, its mask not trusted)."""
    from occreid.pseudolabel.backends import BACKENDS, backend_class
    from occreid.pseudolabel.backends.base import ParsingBackend, PoseBackend

    pose_cls = backend_class("pose", pose) if pose in BACKENDS["pose"] else PoseBackend
    parse_cls = (
        backend_class("parsing", parsing) if parsing in BACKENDS["parsing"] else ParsingBackend
    )
    return Calibration(
        pose=pose,
        parsing=parsing,
        score_scale=tuple(pose_cls.score_scale),
        seen_score=float(pose_cls.seen_score),
        mask_is_visible_body=bool(parse_cls.mask_is_visible_body),
        mask_weight=float(parse_cls.mask_weight),
        confidence_cap=float(pose_cls.confidence_cap),
        sources={
            "score_scale": f"{pose} pose backend: {pose_cls.score_source}",
            "seen_score": f"{pose} pose backend: {pose_cls.score_source}",
            "mask": f"{parsing} parsing backend: {parse_cls.mask_source}",
            **SOURCES,
            "model": "none: the shipped default (`occreid calibrate` fits one on reviewed labels)",
        },
    )


def backend_names(meta: dict[str, Any]) -> tuple[str, str]:
    """(pose, parsing) names of the backends that made a cache, from its meta.json."""
    backends = meta.get("backends")
    if not isinstance(backends, dict):
        return "unknown", "unknown"
    return tuple(  # type: ignore[return-value]
        str(backends.get(kind, {}).get("name", "unknown")) for kind in ("pose", "parsing")
    )


def calibration_for(labels: Path, meta: dict[str, Any]) -> Calibration:
    """``LABELS/calibration.json`` where `occreid calibrate` wrote one for these backends, else
    the shipped default of the cache's backends."""
    pose, parsing = backend_names(meta)
    path = Path(labels) / FILE_NAME
    if path.is_file():
        fitted = load_calibration(path)
        if (fitted.pose, fitted.parsing) != (pose, parsing):
            raise OccreidError(
                f"{path}: fitted for {fitted.pose}+{fitted.parsing}, but the cache was made with "
                f"{pose}+{parsing}; rerun `occreid calibrate` or delete it"
            )
        return fitted
    return default_calibration(pose, parsing)
