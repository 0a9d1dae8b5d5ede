"""How good a built dataset's occlusion labels are: the label-quality section of the report.

The paper's labels were made by people; ours are automatic tags that people correct in
`occreid review`. The reviewed annotation CSV says, per frame, whether a person decided it
(``reviewed``), how sure the tagger was (``confidence``), what the tagger had proposed
(``auto_occlusion``, ``auto_persons``), after a re-tag the reviewed frame's tag in its check
(``check_occlusion``, ``check_persons``, ``check_confidence``: the tag the current calibration
gives it, out of fold where fitted on the reviews) and, on frames shown blind to a second
reviewer, that reviewer's label (``occlusion_2``, ``persons_2``).

The *reference* tag of a reviewed frame is what the reviewers are compared with to say how good
the unreviewed tags are: its check where it has one, else the tag it was shown. After a re-tag
the unreviewed frames carry the re-tag's tags; how often the tags shown before it were wrong
says nothing about those. From these, per split:

- the share of frames reviewed, and the frames with no evidence at all ("unknown": not reviewed,
  confidence 0);
- the tags as shown against the reviewers (``auto_vs_reviewers``) and the reference tags against
  them (``current_vs_reviewers``), each overall and per confidence bin (occluded yes / no
  agreement and label MAE: a reliability table);
- the agreement between two reviewers (Cohen's kappa on occluded yes / no, label MAE);
- the estimated occluded yes / no accuracy of the unreviewed frames: the reviewed frames'
  reference accuracy per reference confidence bin, weighted by the unreviewed frames' bins, with
  a 95 % interval from a bootstrap over reviewed tracklets (frames of one tracklet are not
  independent), never narrower than the Wilson score interval over those tracklets (a bootstrap
  of a few tracklets that all agree has nothing to vary: eight agreeing tracklets do not make
  100 % certain);
- how Tables 1-2 would move if the unreviewed tags were wrong at that rate: every unreviewed frame
  is redrawn from what reviewers did to reference tags like it (its confidence bin and whether it
  was tagged occluded; an occluded label from the human labels given to the same tag), the
  tables recomputed per draw, and the 2.5-97.5 % range of each bin reported.

Reviewed frames are pooled over the splits for the rates: a reviewer's corrections in train say
as much about the tagger as those in the gallery.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from occreid.occdata.annotations import is_occluded
from occreid.occdata.stats import TABLE1_BINS, TABLE2_BIN_OF_LABEL, TABLE2_BINS, table1_bin

CONFIDENCE_EDGES: tuple[float, ...] = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
SPLITS: tuple[str, ...] = ("train", "query", "gallery")
TEST_SPLITS: tuple[str, ...] = ("query", "gallery")
Z_95 = 1.959964  # two-sided 95 % normal quantile


@dataclass(frozen=True, kw_only=True)
class QualityOptions:
    """How many bootstrap draws and from which seed (the section is reproducible)."""

    draws: int = 200
    seed: int = 0


def confidence_bin(confidence: np.ndarray) -> np.ndarray:
    """Bin index of each confidence in CONFIDENCE_EDGES (the last bin closed); -1 where blank."""
    conf = np.asarray(confidence, dtype=np.float64)
    bins = np.clip(np.searchsorted(CONFIDENCE_EDGES, conf, side="right") - 1, 0, 4)
    return np.where(np.isnan(conf), -1, bins)


def _bin_names() -> list[str]:
    edges = CONFIDENCE_EDGES
    return [f"{a:.1f}-{b:.1f}" for a, b in itertools.pairwise(edges)]


def _column(split: pd.DataFrame, name: str, blank: float) -> np.ndarray:
    if name not in split.columns:
        return np.full(len(split), blank, dtype=np.float64)
    return split[name].to_numpy(dtype=np.float64, na_value=blank)


@dataclass(frozen=True)
class Tags:
    """Automatic tags of every frame: occlusion (-1 where none), persons, confidence (NaN
    where none)."""

    occlusion: np.ndarray
    persons: np.ndarray
    confidence: np.ndarray

    @cached_property
    def occluded(self) -> np.ndarray:
        return is_occluded(self.occlusion, np.maximum(self.persons, 1))

    @cached_property
    def known(self) -> np.ndarray:
        return self.occlusion >= 0


@dataclass(frozen=True)  # cached_property needs a __dict__: no slots
class Frames:
    """The columns the section needs, as arrays over all frames of all splits (in split order)."""

    split: np.ndarray  # index into SPLITS
    tracklet: np.ndarray  # tracklet code, unique over splits
    occlusion: np.ndarray
    persons: np.ndarray
    reviewed: np.ndarray
    confidence: np.ndarray
    auto_occlusion: np.ndarray  # -1 where unknown
    auto_persons: np.ndarray
    second_occlusion: np.ndarray  # -1 where no second reviewer
    second_persons: np.ndarray
    check_occlusion: np.ndarray  # -1 where the frame is in no check
    check_persons: np.ndarray
    check_confidence: np.ndarray

    @classmethod
    def of(cls, splits: dict[str, pd.DataFrame]) -> Frames:
        tables = [splits[s] for s in SPLITS]
        keys = np.concatenate(
            [
                s + "/" + t["tracklet"].astype(str).to_numpy()
                for s, t in zip(SPLITS, tables, strict=True)
            ]
        )
        cat = np.concatenate
        return cls(
            split=cat([np.full(len(t), i) for i, t in enumerate(tables)]),
            tracklet=pd.factorize(keys)[0],
            occlusion=cat([t["occlusion"].to_numpy(np.int64) for t in tables]),
            persons=cat([t["persons"].to_numpy(np.int64) for t in tables]),
            reviewed=cat([_column(t, "reviewed", 0) > 0 for t in tables]),
            confidence=cat([_column(t, "confidence", np.nan) for t in tables]),
            auto_occlusion=cat([_column(t, "auto_occlusion", -1) for t in tables]).astype(int),
            auto_persons=cat([_column(t, "auto_persons", -1) for t in tables]).astype(int),
            second_occlusion=cat([_column(t, "occlusion_2", -1) for t in tables]).astype(int),
            second_persons=cat([_column(t, "persons_2", -1) for t in tables]).astype(int),
            check_occlusion=cat([_column(t, "check_occlusion", -1) for t in tables]).astype(int),
            check_persons=cat([_column(t, "check_persons", -1) for t in tables]).astype(int),
            check_confidence=cat([_column(t, "check_confidence", np.nan) for t in tables]),
        )

    @cached_property
    def occluded(self) -> np.ndarray:
        return is_occluded(self.occlusion, self.persons)

    @cached_property
    def unreviewed(self) -> np.ndarray:
        """Automatic tags nobody has decided (a blank confidence marks a hand-made label)."""
        return ~self.reviewed & ~np.isnan(self.confidence)

    @cached_property
    def shown(self) -> Tags:
        """The tags as shown: on reviewed frames the proposal the reviewer saw."""
        return Tags(self.auto_occlusion, self.auto_persons, self.confidence)

    @cached_property
    def reference(self) -> Tags:
        """The reference tags (module docstring): the check where a frame has one, else the
        tag as shown."""
        has = self.check_occlusion >= 0
        return Tags(
            np.where(has, self.check_occlusion, self.auto_occlusion),
            np.where(has, self.check_persons, self.auto_persons),
            np.where(has, self.check_confidence, self.confidence),
        )

    @cached_property
    def compared(self) -> np.ndarray:
        """Reviewed frames whose reference tag is known: the evidence for every rate."""
        return self.reviewed & self.reference.known


def _agreement(a_occ: np.ndarray, b_occ: np.ndarray, a_lab: np.ndarray, b_lab: np.ndarray) -> dict:
    n = len(a_occ)
    if n == 0:
        return {"frames": 0, "occluded_agreement": None, "label_mae": None}
    return {
        "frames": int(n),
        "occluded_agreement": float(np.mean(a_occ == b_occ)),
        "label_mae": float(np.mean(np.abs(a_lab - b_lab))),
    }


def tags_vs_reviewers(f: Frames, rows: np.ndarray, tags: Tags) -> dict[str, Any]:
    """The automatic ``tags`` (f.shown or f.reference) against the reviewers' labels on
    ``rows``, overall and by the tags' confidence."""
    sel = rows & f.reviewed & tags.known
    human, auto = f.occluded[sel], tags.occluded[sel]
    auto_label, human_label = tags.occlusion[sel], f.occlusion[sel]
    overall = _agreement(auto, human, auto_label, human_label)
    bins = confidence_bin(tags.confidence[sel])
    overall["by_confidence"] = [
        {"confidence": name, **_agreement(auto[m], human[m], auto_label[m], human_label[m])}
        for b, name in enumerate(_bin_names())
        for m in [bins == b]
    ]
    return overall


def between_reviewers(f: Frames, rows: np.ndarray) -> dict[str, Any]:
    """Two reviewers on the same frames: Cohen's kappa on occluded yes / no, label MAE."""
    from sklearn.metrics import cohen_kappa_score

    sel = rows & f.reviewed & (f.second_occlusion >= 0)
    first = f.occluded[sel]
    second = is_occluded(f.second_occlusion[sel], np.maximum(f.second_persons[sel], 1))
    out = _agreement(first, second, f.occlusion[sel], f.second_occlusion[sel])
    both_same = len(first) == 0 or len(np.unique(np.concatenate([first, second]))) < 2
    out["kappa"] = None if both_same else float(cohen_kappa_score(first, second))
    return out


N_BINS = len(CONFIDENCE_EDGES)  # the confidence bins and, at index 0, "no confidence"


@dataclass(frozen=True)
class Reviewed:
    """What the reviewers did to the reference tags (Frames.reference), counted per reviewed
    tracklet (rows), so that a bootstrap over tracklets is a weighted sum of rows.

    ``cells``: frames and flips of occluded yes / no per cell = 2 * (confidence bin + 1) + tagged
    occluded; ``labels[t, a, h]``: frames tagged ``a`` that a person labelled occluded with ``h``
    (``a = 0`` collects every tag a person turned from clear to occluded).
    """

    total: np.ndarray  # (T, 2 * N_BINS)
    flips: np.ndarray  # (T, 2 * N_BINS)
    labels: np.ndarray  # (T, 11, 11)

    @classmethod
    def of(cls, f: Frames) -> Reviewed:
        sel, tags = f.compared, f.reference
        tracklet = pd.factorize(f.tracklet[sel])[0]
        n = int(tracklet.max()) + 1 if len(tracklet) else 0
        auto_occ, human_occ = tags.occluded[sel], f.occluded[sel]
        cell = 2 * (confidence_bin(tags.confidence[sel]) + 1) + auto_occ
        size = 2 * N_BINS
        total = np.zeros((n, size))
        flips = np.zeros((n, size))
        np.add.at(total, (tracklet, cell), 1)
        np.add.at(flips, (tracklet, cell), auto_occ != human_occ)
        labels = np.zeros((n, 11, 11))
        source = np.where(auto_occ, tags.occlusion[sel], 0)
        np.add.at(labels, (tracklet, source, f.occlusion[sel]), human_occ)
        return cls(total, flips, labels)

    def rates(self, w: np.ndarray) -> np.ndarray:
        """Chance that a tag is wrong on occluded yes / no, per cell, for tracklet weights ``w``;
        a cell nobody reviewed takes the rate of all tags with its occluded yes / no."""
        total, flips = w @ self.total, w @ self.flips
        by_tag = [flips[k::2].sum() / max(total[k::2].sum(), 1e-12) for k in (0, 1)]
        fallback = np.array(by_tag * N_BINS)
        return np.where(total > 0, flips / np.maximum(total, 1e-12), fallback)

    def accuracy(self, w: np.ndarray, share: np.ndarray) -> float:
        """Occluded yes / no accuracy expected on frames whose confidence bins have ``share``
        (index 0: no confidence, which takes the overall accuracy)."""
        total = (w @ self.total).reshape(N_BINS, 2).sum(1)
        right = total - (w @ self.flips).reshape(N_BINS, 2).sum(1)
        overall = right.sum() / max(total.sum(), 1e-12)
        acc = np.where(total > 0, right / np.maximum(total, 1e-12), overall)
        acc[0] = overall
        return float((share * acc).sum())


def wilson_interval(share: float, n: float, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval of a proportion ``share`` seen over ``n`` independent trials (each
    bound at normal quantile ``z``: 1.96 for two-sided 95 %); (0, 1) where n is 0."""
    if n <= 0:
        return 0.0, 1.0
    centre = share + z * z / (2 * n)
    margin = z * np.sqrt(share * (1 - share) / n + z * z / (4 * n * n))
    scale = 1 + z * z / n
    return float((centre - margin) / scale), float((centre + margin) / scale)


def _bootstrap(n: int, rng: np.random.Generator) -> np.ndarray:
    """Weights of one bootstrap over ``n`` reviewed tracklets (how often each was drawn)."""
    return np.bincount(rng.integers(0, n, n), minlength=n).astype(np.float64)


def unreviewed_accuracy(
    f: Frames, reviewed: Reviewed, rows: np.ndarray, opts: QualityOptions
) -> dict[str, Any]:
    """Estimated occluded yes / no accuracy of the unreviewed frames of ``rows`` (95 % interval)."""
    todo = rows & f.unreviewed
    counts = np.bincount(confidence_bin(f.confidence[todo]) + 1, minlength=N_BINS)
    return {"frames": int(todo.sum()), **accuracy_interval(reviewed, counts, opts)}


def accuracy_interval(
    reviewed: Reviewed, counts: np.ndarray, opts: QualityOptions
) -> dict[str, Any]:
    """Occluded yes / no accuracy expected on frames counted ``counts`` per confidence bin (index
    0: no confidence) from the ``reviewed`` tracklets, with a 95 % interval: the bootstrap over
    those tracklets, widened to at least the Wilson interval over their number at the estimate
    (the tracklets are the independent units); None where nothing is reviewed or counted."""
    n = len(reviewed.total)
    if n == 0 or counts.sum() == 0:
        return {"estimated_accuracy": None, "interval": None}
    share = counts / counts.sum()
    rng = np.random.default_rng(opts.seed)
    boot = [reviewed.accuracy(_bootstrap(n, rng), share) for _ in range(opts.draws)]
    estimate = reviewed.accuracy(np.ones(n), share)
    low, high = wilson_interval(estimate, n)
    return {
        "estimated_accuracy": estimate,
        "interval": [
            min(float(np.percentile(boot, 2.5)), low),
            max(float(np.percentile(boot, 97.5)), high),
        ],
    }


@dataclass(frozen=True)
class TestSplit:
    """One test split for the redraws: its unreviewed frames counted per group of (tracklet,
    confidence cell, label), and what stays as it is (reviewed and hand-made frames)."""

    tracklet: np.ndarray  # per group: tracklet number in the split
    cell: np.ndarray  # per group: 2 * (confidence bin + 1) + tagged occluded
    label: np.ndarray  # per group: the tag's occlusion label
    count: np.ndarray  # per group: frames
    length: np.ndarray  # per tracklet: frames
    fixed_occluded: np.ndarray  # per tracklet: occluded frames that are not redrawn
    fixed_labels: np.ndarray  # per label 0-10: occluded frames that are not redrawn

    @classmethod
    def of(cls, f: Frames, rows: np.ndarray) -> TestSplit:
        code = pd.factorize(f.tracklet[rows])[0]
        n = int(code.max()) + 1 if len(code) else 0
        todo = f.unreviewed[rows]
        occluded, label = f.occluded[rows], f.occlusion[rows].astype(np.int64)
        cell = 2 * (confidence_bin(f.confidence[rows]) + 1) + occluded
        key = (code * 2 * N_BINS + cell) * 11 + label
        groups, count = np.unique(key[todo], return_counts=True)
        kept = ~todo & occluded
        return cls(
            tracklet=groups // (22 * N_BINS),
            cell=groups // 11 % (2 * N_BINS),
            label=groups % 11,
            count=count,
            length=np.bincount(code, minlength=n),
            fixed_occluded=np.bincount(code[kept], minlength=n),
            fixed_labels=np.bincount(label[kept], minlength=11),
        )

    def redraw(
        self, reviewed: Reviewed, w: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """Tables 1-2 of one draw of the unreviewed frames as if their tags were wrong at the rate
        the reviewed tracklets (weighted by ``w``) show: occluded yes / no flips per (confidence
        bin, tagged occluded); occluded labels from the human labels given to the same tag.
        Frames are independent given the rates, so a group's flips are one binomial draw."""
        tagged = self.cell % 2 == 1
        flips = rng.binomial(self.count, reviewed.rates(w)[self.cell])
        occluded = np.where(tagged, self.count - flips, flips)
        per_tracklet = self.fixed_occluded + np.bincount(
            self.tracklet, weights=occluded, minlength=len(self.length)
        ).astype(np.int64)
        t1 = np.bincount(table1_bin(per_tracklet, self.length), minlength=len(TABLE1_BINS))
        pools = np.tensordot(w, reviewed.labels, axes=1)  # (11 tags, 11 human labels)
        stays = np.bincount(self.label[tagged], weights=occluded[tagged], minlength=11)
        turned = occluded[~tagged].sum()  # clear tags turned occluded: pool 0
        labels = self.fixed_labels.astype(np.int64)
        labels[0] += int(stays[0])  # occluded by a second person, no label to redraw
        for tag, n in ((0, turned), *((a, stays[a]) for a in range(1, 11))):
            if n and pools[tag].sum() > 0:
                labels += rng.multinomial(int(n), pools[tag] / pools[tag].sum())
            else:
                labels[tag] += int(n)
        t2 = np.bincount(TABLE2_BIN_OF_LABEL, weights=labels, minlength=len(TABLE2_BINS))
        return t1 / max(t1.sum(), 1), t2 / max(t2.sum(), 1)


def tables_if_wrong(f: Frames, reviewed: Reviewed, opts: QualityOptions) -> dict[str, Any] | None:
    """2.5-97.5 % range of each bin of Tables 1-2 over redraws of the unreviewed frames."""
    n = len(reviewed.total)
    if n == 0 or not f.unreviewed.any():
        return None
    rng = np.random.default_rng(opts.seed + 1)
    splits = {s: TestSplit.of(f, f.split == SPLITS.index(s)) for s in TEST_SPLITS}
    draws: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {s: [] for s in TEST_SPLITS}
    for _ in range(opts.draws):
        w = _bootstrap(n, rng)
        for s, split in splits.items():
            draws[s].append(split.redraw(reviewed, w, rng))
    out: dict[str, Any] = {"table1": {}, "table2": {}}
    for s, per_draw in draws.items():
        for i, table in enumerate(("table1", "table2")):
            stack = np.stack([d[i] for d in per_draw])
            out[table][s] = {
                "low": np.percentile(stack, 2.5, axis=0).tolist(),
                "high": np.percentile(stack, 97.5, axis=0).tolist(),
            }
    return out


def label_quality(
    splits: dict[str, pd.DataFrame], opts: QualityOptions | None = None
) -> dict[str, Any]:
    """label_quality.json: per split the reviewed share, the unknown frames, the automatic tags
    (as shown, and the reference) against the reviewers, the reviewers against each other and
    the unreviewed frames' estimated accuracy; and the range of Tables 1-2 if the unreviewed tags
    were wrong at that rate."""
    opts = opts or QualityOptions()
    f = Frames.of(splits)
    reviewed = Reviewed.of(f)
    per_split = {}
    for i, s in enumerate(SPLITS):
        rows = f.split == i
        n = int(rows.sum())
        per_split[s] = {
            "frames": n,
            "reviewed": float(f.reviewed[rows].mean()) if n else 0.0,
            "hand_made": float((~f.reviewed & np.isnan(f.confidence))[rows].mean()) if n else 0.0,
            "unknown": int((rows & f.unreviewed & (f.confidence == 0)).sum()),
            "auto_vs_reviewers": tags_vs_reviewers(f, rows, f.shown),
            "current_vs_reviewers": tags_vs_reviewers(f, rows, f.reference),
            # of current_vs_reviewers' frames, those compared by a check (the rest: by the tag
            # shown, as all are in a CSV without check_* columns)
            "checked": int((rows & f.compared & (f.check_occlusion >= 0)).sum()),
            "between_reviewers": between_reviewers(f, rows),
            "unreviewed": unreviewed_accuracy(f, reviewed, rows, opts),
        }
    return {
        "confidence_bins": _bin_names(),
        "reviewed_tracklets_compared": len(reviewed.total),
        "draws": opts.draws,
        "splits": per_split,
        "tables_if_wrong": tables_if_wrong(f, reviewed, opts),
    }
