"""Per-image occlusion statistics of an image ReID folder (`occreid stats ROOT --annotations CSV`).

An image folder has no tracklets and needs no build step, so Table 1 (tracklets by their share of
occluded frames) has no meaning; per split the report gives the images, identities, the share of
occluded images (DESIGN's rule: occlusion >= 1 or persons > 1), the share with more than one
person, and Table 2 (occluded images by occlusion label). The CSV is the one `occreid pseudolabel`
writes to LABELS/occlusion.csv, `tag-occlusion`'s, or a reviewed export.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from occreid.occdata.annotations import Missing, attach_annotations, read_annotations
from occreid.occdata.image_folder import image_splits_present
from occreid.occdata.report import Table, pct
from occreid.occdata.roots import RootKind, frames_to_label
from occreid.occdata.stats import TABLE2_BINS, table2


def image_folder_stats(root: Path, csv: Path, missing: Missing = Missing.ERROR) -> dict[str, Any]:
    """{"splits": {split: {images, ids, occluded, persons_over_1, table2}}, "table2_bins": ...}
    for the splits ``root`` has; the CSV's paths are relative to ``root``."""
    _, frames = frames_to_label(root, "stats")
    frames = attach_annotations(frames, read_annotations(csv), csv, missing)
    splits = {}
    for split in image_splits_present(root):
        part = frames[frames["split"] == split]
        splits[split] = {
            "images": len(part),
            "ids": int(part["pid"].nunique()),
            "occluded": float(part["occluded"].mean()),
            "persons_over_1": float((part["persons"] > 1).mean()),
            "table2": table2(part),
        }
    return {"kind": RootKind.IMAGE_FOLDER.value, "table2_bins": TABLE2_BINS, "splits": splits}


def image_stats_markdown(stats: dict[str, Any], root: Path, csv: Path) -> str:
    """The per-image report as Markdown: counts and shares, then Table 2 per split."""
    rows = [
        [s, f"{v['images']:,}", f"{v['ids']:,}", pct(v["occluded"]), pct(v["persons_over_1"])]
        for s, v in stats["splits"].items()
    ]
    counts = Table("Images", ["split", "images", "ids", "occluded", "more than one person"], rows)
    shares = Table(
        "Table 2 — occluded images by occlusion fraction (%)",
        ["split", *stats["table2_bins"]],
        [[s, *map(pct, v["table2"])] for s, v in stats["splits"].items()],
    )
    head = f"# {root}: per-image occlusion statistics\n\nAnnotations: `{csv}`"
    return "\n\n".join([head, counts.markdown(), shares.markdown()]) + "\n"
