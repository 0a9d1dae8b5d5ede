"""What one reviewed item is, by the kind of root: a tracklet of a DukeMTMC-VideoReID source (or
of the source behind a built dataset), an image of an image ReID folder. It decides the words
of the page and the CLI's lines, whether train items can be excluded (build-dataset's
``--exclude``: an image folder is never built, train reads it as it is, so it has no exclusion
list). Cameras need nothing here: both kinds store the file names' camera number (``C1``,
``c1``: camera 1), and the page shows and filters by it as stored."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from occreid.occdata.roots import RootKind, root_kind


@dataclass(frozen=True)
class Unit:
    one: str  # "tracklet" / "image"
    many: str
    exclusions: bool  # train items can be marked as sharing an obstacle with the test set


TRACKLET = Unit("tracklet", "tracklets", exclusions=True)
IMAGE = Unit("image", "images", exclusions=False)
UNITS = {RootKind.SOURCE: TRACKLET, RootKind.DATASET: TRACKLET, RootKind.IMAGE_FOLDER: IMAGE}


def unit_of(root: Path) -> Unit:
    """The unit of the root `occreid review` was given."""
    return UNITS[root_kind(root)]


def unit_of_labels(meta: dict[str, Any]) -> Unit:
    """The unit of the source a label cache was made from (its meta.json); tracklets where that
    source is no longer there to look at."""
    source = Path(meta.get("source", ""))
    return unit_of(source) if source.is_dir() else TRACKLET
