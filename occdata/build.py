"""`occreid build-dataset`: source index + annotations -> re-split manifests + statistics report.

Output layout (DESIGN.md)::

    DEST/manifests/{train,query,gallery}.parquet
    DEST/reports/stats.json   Tables 1-3 (exact schema of DESIGN.md)
    DEST/reports/build.json   everything else a reviewer needs: skipped files, identities
                              without a query and why, unreadable frames, query lengths
    DEST/reports/label_quality.json   how good the labels are (occdata/label_quality.py), where
                              the annotation CSV came from a tagger (a confidence or reviewed
                              column); also a section of stats.md / stats.html
    DEST/reports/stats.{md,html}, table1.png, table2.png
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm import tqdm

from occreid.occdata.annotations import Missing, attach_annotations, read_annotations
from occreid.occdata.label_quality import QualityOptions, label_quality
from occreid.occdata.manifest import write_manifest
from occreid.occdata.report import write_report
from occreid.occdata.resplit import (
    QueryPolicy,
    Resplit,
    check_exclude_pair,
    read_exclude_file,
    resplit,
)
from occreid.occdata.roots import RootKind, resolve_root
from occreid.occdata.source_index import SourceIndex, index_source
from occreid.occdata.staging import check_output, staged_output
from occreid.occdata.stats import compute_stats

SPLIT_NAMES = ("train", "query", "gallery")


@dataclass(frozen=True, kw_only=True)
class BuildOptions:
    """Everything `build-dataset` takes; see the CLI's --help for each."""

    source: Path
    out: Path
    annotations: Path
    exclude: Path | None = None
    seed: int = 0
    policy: QueryPolicy = field(default_factory=QueryPolicy)
    missing: Missing = Missing.ERROR
    check_images: bool = False
    overwrite: bool = False


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def find_unreadable(root: Path, paths: pd.Series, workers: int = 8) -> list[str]:
    """Frames that OpenCV cannot decode (empty, truncated or not an image), in input order."""
    import cv2

    def bad(rel: str) -> bool:
        return cv2.imread(str(root / rel), cv2.IMREAD_REDUCED_COLOR_2) is None

    with ThreadPoolExecutor(workers) as pool:
        flags = list(
            tqdm(
                pool.map(bad, paths, chunksize=256),
                total=len(paths),
                desc="decoding frames",
                unit="frame",
            )
        )
    return [p for p, f in zip(paths, flags, strict=True) if f]


def _build_info(
    opts: BuildOptions, index: SourceIndex, split: Resplit, unreadable: list[str] | None
) -> dict[str, Any]:
    """build.json: what a reviewer needs beyond Tables 1-3."""
    q_len = split.query.groupby("tracklet").size()
    test_ids = set(index.frames.loc[index.frames["split"] != "train", "pid"].tolist())
    notes = [
        f"{len(index.frames):,} source frames in {index.frames['tracklet'].nunique():,} tracklets",
        f"skipped {sum(index.skipped.values())} non-frame file(s): "
        + (", ".join(f"{k} x{v}" for k, v in sorted(index.skipped.items())) or "none"),
        f"{len(split.no_query)} of {len(test_ids)} test identities have no query "
        "(see build.json for each and why)",
        f"query tracklets: {len(q_len)}, length {int(q_len.min()) if len(q_len) else 0}-"
        f"{int(q_len.max()) if len(q_len) else 0}, mean {q_len.mean() if len(q_len) else 0:.1f} "
        f"frames (policy {opts.policy.min_frames}-{opts.policy.max_frames})",
        "unreadable frames: "
        + (
            "not checked (pass --check-images)"
            if unreadable is None
            else f"{len(unreadable)} (listed in build.json)"
        ),
    ]
    return {
        "source": str(opts.source.resolve()),
        "annotations": str(opts.annotations.resolve()),
        "seed": opts.seed,
        "skipped_files": dict(sorted(index.skipped.items())),
        "no_query": {str(k): v for k, v in sorted(split.no_query.items())},
        "unreadable_frames": unreadable,
        "query_lengths": {k: int(v) for k, v in q_len.items()},
        "notes": notes,
    }


def build_dataset(opts: BuildOptions) -> dict[str, Any]:
    """Index, annotate, re-split, write manifests and the report; returns stats.json content."""
    check_output(opts.out, opts.overwrite, opts.source)
    resolve_root(opts.source, "build-dataset", (RootKind.SOURCE,))
    index = index_source(opts.source)
    table = read_annotations(opts.annotations)
    frames = attach_annotations(index.frames, table, opts.annotations, opts.missing)
    if opts.exclude:
        check_exclude_pair(opts.exclude, opts.annotations)
    exclude = read_exclude_file(opts.exclude) if opts.exclude else []
    split = resplit(frames, exclude, opts.seed, opts.policy)
    unreadable = find_unreadable(opts.source, frames["path"]) if opts.check_images else None
    info = _build_info(opts, index, split, unreadable)
    n_missing = int((~frames["annotated"]).sum())
    if n_missing:
        info["notes"].append(
            f"{n_missing:,} frame(s) had no annotation and count as unoccluded "
            "(--missing-as-unoccluded)"
        )
    splits = {"train": split.train, "query": split.query, "gallery": split.gallery}
    stats = compute_stats(splits)
    automatic = {"confidence", "reviewed"} & set(table.columns)
    quality = label_quality(splits, QualityOptions(seed=opts.seed)) if automatic else None
    metadata = {
        "seed": opts.seed,
        "source": info["source"],
        "annotations_sha256": _sha256(opts.annotations),
        "excluded_tracklets": len(exclude),
        "query_policy": {
            "min_frames": opts.policy.min_frames,
            "max_frames": opts.policy.max_frames,
        },
        "missing": str(opts.missing),
    }
    with staged_output(opts.out, opts.overwrite, opts.source) as stage:
        (stage / "manifests").mkdir()
        (stage / "reports").mkdir()
        for name in SPLIT_NAMES:
            write_manifest(
                splits[name], stage / "manifests" / f"{name}.parquet", {**metadata, "split": name}
            )
        (stage / "reports" / "stats.json").write_text(json.dumps(stats, indent=2) + "\n")
        (stage / "reports" / "build.json").write_text(json.dumps(info, indent=2) + "\n")
        if quality is not None:
            (stage / "reports" / "label_quality.json").write_text(
                json.dumps(quality, indent=2) + "\n"
            )
        write_report(stats, info, stage / "reports", quality)
    return stats
