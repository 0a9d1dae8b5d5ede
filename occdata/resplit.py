"""The re-split that turns DukeMTMC-VideoReID into Occluded-DukeMTMC-VideoReID (paper 5.1).

- train = source train minus the tracklets of an exclusion list (the paper removes 494 whose
  obstacles also appear in the test set);
- gallery = source gallery, whole;
- query = one tracklet per identity that has a candidate: a contiguous run of one source query or
  gallery tracklet in which more than 1/3 of the frames are occluded, and only where the gallery
  holds the same identity in another camera (otherwise the query could never be matched).

Length policy: a run is ``min_frames`` to ``max_frames`` long (a tracklet shorter than
``min_frames`` offers only itself, whole). For an identity, the tracklet is drawn uniformly among
its candidates, then the run length uniformly among the lengths that have a valid run, then the
start uniformly among the valid starts. The defaults (8 to 128 frames) aim at the paper's Table 3
(39,526 query frames over 661 tracklets); a build's own counts are in its stats report (the real
data's: benchmarks/index_speed.py).
Everything draws from one ``numpy`` generator seeded by ``seed`` in sorted order, so the same
inputs and seed give the same split.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from occreid.common.errors import OccreidError
from occreid.occdata.annotations import file_sha256


@dataclass(frozen=True, kw_only=True)
class QueryPolicy:
    """How query sub-tracklets are cut (see the module docstring)."""

    min_frames: int = 8
    max_frames: int = 128

    def __post_init__(self) -> None:
        if not 1 <= self.min_frames <= self.max_frames:
            raise OccreidError(
                f"query length bounds {self.min_frames}..{self.max_frames} are invalid; "
                "need 1 <= --min-query-frames <= --max-query-frames"
            )


@dataclass
class Resplit:
    """The three manifests and, per test identity, why it got no query (if it got none)."""

    train: pd.DataFrame
    query: pd.DataFrame
    gallery: pd.DataFrame
    no_query: dict[int, str]


EXCLUDE_FOR = "# for {name} sha256={digest}"  # an exclusion list's first line: its CSV


def check_exclude_pair(exclude: Path, annotations: Path) -> None:
    """An exclusion list whose first line names the annotation CSV (``occreid review
    --export`` writes both) must be of that CSV as it is now: an export killed between its two
    writes leaves a pair that does not belong together. One exported beside another CSV may be
    meant (a review's exclusions with other tags), so that is a one-line warning."""
    first = exclude.read_text().partition("\n")[0]
    match = re.fullmatch(r"# for (.+) sha256=([0-9a-f]{64})", first)
    if match is None:
        return
    if match[1] != annotations.name:
        warnings.warn(
            f"{exclude}: exported beside {match[1]}, used here with {annotations.name}; "
            "check that the exclusions are the ones you mean",
            stacklevel=2,
        )
        return
    if file_sha256(annotations) != match[2]:
        raise OccreidError(
            f"{exclude}: written with another version of {annotations} (an export stopped "
            "half-way?); run `occreid review --export` again"
        )


def read_exclude_file(path: str | Path) -> list[str]:
    """Keys ``train/<pid>/<tracklet>``, one per line; blank lines and ``#`` comments skipped."""
    path = Path(path)
    if not path.is_file():
        raise OccreidError(f"{path}: exclusion file not found")
    keys = []
    for lineno, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.split("#", 1)[0].strip().strip("/")
        if not line:
            continue
        parts = line.split("/")
        if len(parts) != 3 or parts[0] != "train":
            raise OccreidError(
                f"{path}:{lineno}: {raw.strip()!r} is not train/<pid>/<tracklet>; "
                "only training tracklets can be excluded"
            )
        keys.append(line)
    return keys


def valid_runs(
    occluded: np.ndarray, policy: QueryPolicy, first_only: bool = False
) -> dict[int, np.ndarray]:
    """Run length -> start indices of runs whose occluded share is above 1/3.

    Integer arithmetic (3 * count > length) keeps the 1/3 threshold exact. ``first_only`` stops
    at the first length that has a valid run (enough to know whether a tracklet is a candidate).
    """
    n = len(occluded)
    total = int(occluded.sum())
    if n < policy.min_frames:
        return {n: np.zeros(1, dtype=np.int64)} if 3 * total > n else {}
    runs: dict[int, np.ndarray] = {}
    if total == 0:
        return runs
    csum = np.concatenate([[0], np.cumsum(occluded, dtype=np.int64)])
    for length in range(policy.min_frames, min(n, policy.max_frames) + 1):
        counts = csum[length:] - csum[:-length]
        starts = np.flatnonzero(3 * counts > length)
        if starts.size:
            runs[length] = starts
            if first_only:
                break
    return runs


def _tracklet_slices(frames: pd.DataFrame) -> dict[str, slice]:
    """Row slice of each tracklet in a frame table sorted by tracklet then frame."""
    keys = frames["tracklet"].to_numpy()
    change = np.flatnonzero(keys[1:] != keys[:-1]) + 1
    starts = np.concatenate([[0], change])
    stops = np.concatenate([change, [len(keys)]])
    return {keys[a]: slice(int(a), int(b)) for a, b in zip(starts, stops, strict=True)}


def _choose_query(
    test: pd.DataFrame,
    gallery_cams: dict[int, set[int]],
    policy: QueryPolicy,
    rng: np.random.Generator,
) -> tuple[list[pd.DataFrame], dict[int, str]]:
    """Pick one run per identity among its candidate tracklets (paper 5.1 steps 2-3)."""
    slices = _tracklet_slices(test)
    occluded = test["occluded"].to_numpy()
    pids = test["pid"].to_numpy()
    cams = test["camid"].to_numpy()
    by_pid: dict[int, list[str]] = {}
    for key, sl in slices.items():
        by_pid.setdefault(int(pids[sl.start]), []).append(key)
    chosen: list[pd.DataFrame] = []
    no_query: dict[int, str] = {}
    for pid in sorted(by_pid):
        other_cam = [
            k for k in by_pid[pid] if gallery_cams.get(pid, set()) - {int(cams[slices[k].start])}
        ]
        if not other_cam:
            no_query[pid] = "no gallery tracklet in another camera"
            continue
        candidates = [
            k for k in other_cam if valid_runs(occluded[slices[k]], policy, first_only=True)
        ]
        if not candidates:
            no_query[pid] = "no run with more than 1/3 occluded frames"
            continue
        key = candidates[int(rng.integers(len(candidates)))]
        runs = valid_runs(occluded[slices[key]], policy)
        lengths = sorted(runs)
        length = lengths[int(rng.integers(len(lengths)))]
        start = int(runs[length][int(rng.integers(len(runs[length])))])
        sl = slices[key]
        rows = test.iloc[sl.start + start : sl.start + start + length].copy()
        rows["src_tracklet"] = key
        rows["tracklet"] = f"{key}[{start}:{start + length}]"
        rows["frame"] = np.arange(length, dtype=np.int32)
        chosen.append(rows)
    return chosen, no_query


def resplit(
    frames: pd.DataFrame, exclude: list[str], seed: int, policy: QueryPolicy | None = None
) -> Resplit:
    """Re-split an annotated frame index (source_index + annotations) into train/query/gallery."""
    policy = policy or QueryPolicy()
    frames = frames.sort_values(["tracklet", "frame"], kind="stable").reset_index(drop=True)
    frames["src_split"] = frames["split"].astype(str)
    frames["src_tracklet"] = frames["tracklet"]
    is_train = (frames["split"] == "train").to_numpy()
    train_keys = set(frames.loc[is_train, "tracklet"].unique())
    unknown = [k for k in exclude if k not in train_keys]
    if unknown:
        raise OccreidError(
            f"exclusion list names {len(unknown)} tracklet(s) not in the source train split, "
            f"e.g. {unknown[0]}; check the pid/tracklet folder names"
        )
    train = frames[is_train & ~frames["tracklet"].isin(set(exclude)).to_numpy()]
    gallery = frames[(frames["split"] == "gallery").to_numpy()]
    test = frames[~is_train].reset_index(drop=True)
    gallery_cams = gallery.groupby("pid")["camid"].agg(lambda c: set(c.tolist())).to_dict()
    chosen, no_query = _choose_query(test, gallery_cams, policy, np.random.default_rng(seed))
    query = pd.concat(chosen, ignore_index=True) if chosen else test.iloc[:0].copy()
    splits = {}
    for name, table in (("train", train), ("query", query), ("gallery", gallery)):
        table = table.copy()
        table["split"] = pd.Categorical(
            [name] * len(table), categories=["train", "query", "gallery"]
        )
        splits[name] = table.reset_index(drop=True)
    return Resplit(splits["train"], splits["query"], splits["gallery"], no_query)
