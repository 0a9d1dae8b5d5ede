"""Per-image occlusion statistics of an image ReID folder (`occreid stats ROOT --annotations CSV`).

An image folder has no tracklets and needs no build step, so Table 1 (tracklets by their share of
occluded frames) has no meaning; per split the report gives the images, identities, the images
without evidence (unknown: confidence 0), and over the others the share of occluded images
(DESIGN's rule: occlusion >= 1 or persons > 1), the share with more than one person, and Table 2
(occluded images by occlusion label). The CSV is the one `occreid pseudolabel` writes to
LABELS/occlusion.csv, `tag-occlusion`'s, or a reviewed export.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from occreid.occdata.annotations import Missing, attach_annotations, read_annotations
from occreid.occdata.image_folder import image_splits_present
from occreid.occdata.report import Table, pct
from occreid.occdata.roots import RootKind, frames_to_label
from occreid.occdata.stats import TABLE2_BINS, table2


def image_folder_stats(root: Path, csv: Path, missing: Missing = Missing.ERROR) -> dict[str, Any]:
    """{"splits": {split: {images, ids, unknown, occluded, persons_over_1, table2}},
    "table2_bins": ...} for the splits ``root`` has; the CSV's paths are relative to ``root``.

    ``unknown``: images whose tag had no evidence (confidence 0: no pose, a skeleton that is not
    a body, an unreadable file); they carry only the calibration's prior label, so the shares
    and Table 2 are over the other images (the tag summary's rule)."""
    _, frames = frames_to_label(root, "stats")
    table = read_annotations(csv)
    frames = attach_annotations(frames, table, csv, missing)
    unknown = np.zeros(len(frames), dtype=bool)
    if "confidence" in table:
        pos = pd.Index(frames["path"]).get_indexer(table["path"])
        unknown[pos] = table["confidence"].to_numpy() == 0
    splits = {}
    for split in image_splits_present(root):
        inside = (frames["split"] == split).to_numpy()
        part = frames[inside & ~unknown]
        splits[split] = {
            "images": int(inside.sum()),
            "ids": int(frames.loc[inside, "pid"].nunique()),
            "unknown": int((inside & unknown).sum()),
            "occluded": float(part["occluded"].mean()) if len(part) else None,
            "persons_over_1": float((part["persons"] > 1).mean()) if len(part) else None,
            "table2": table2(part),
        }
    return {"kind": RootKind.IMAGE_FOLDER.value, "table2_bins": TABLE2_BINS, "splits": splits}


def image_stats_markdown(stats: dict[str, Any], root: Path, csv: Path) -> str:
    """The per-image report as Markdown: counts and shares, then Table 2 per split."""
    rows = [
        [
            s,
            f"{v['images']:,}",
            f"{v['ids']:,}",
            f"{v['unknown']:,}",
            _share(v["occluded"]),
            _share(v["persons_over_1"]),
        ]
        for s, v in stats["splits"].items()
    ]
    counts = Table(
        "Images (shares over the images with evidence)",
        ["split", "images", "ids", "unknown (no evidence)", "occluded", "more than one person"],
        rows,
    )
    shares = Table(
        "Table 2 — occluded images by occlusion fraction (%)",
        ["split", *stats["table2_bins"]],
        [[s, *map(pct, v["table2"])] for s, v in stats["splits"].items()],
    )
    head = f"# {root}: per-image occlusion statistics\n\nAnnotations: `{csv}`"
    return "\n\n".join([head, counts.markdown(), shares.markdown()]) + "\n"


def _share(x: float | None) -> str:
    return "–" if x is None else pct(x)
