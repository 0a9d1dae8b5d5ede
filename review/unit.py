"""What one reviewed item is, by the kind of root: a tracklet of a DukeMTMC-VideoReID source (or
of the source behind a built dataset), an image of an image ReID folder. It decides the words
of the page and the CLI's lines, whether train items can be excluded (build-dataset's
``--exclude``: an image folder is never built, train reads it as it is, so it has no exclusion
list) and how the stored camera ids are numbered on the page (as the file names number them:
``c1`` is camera 1)."""

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
    camera_shift: int  # the file names' camera number = the stored camid + this

    def shown_camera(self, camid: int) -> int:
        """The camera number the page shows (and its filter takes) for a stored camid."""
        return camid + self.camera_shift

    def stored_camera(self, shown: int) -> int:
        return shown - self.camera_shift


TRACKLET = Unit("tracklet", "tracklets", exclusions=True, camera_shift=0)  # source_index: C<n>
IMAGE = Unit("image", "images", exclusions=False, camera_shift=1)  # image_folder: c<n> - 1
UNITS = {RootKind.SOURCE: TRACKLET, RootKind.DATASET: TRACKLET, RootKind.IMAGE_FOLDER: IMAGE}


def unit_of(root: Path) -> Unit:
    """The unit of the root `occreid review` was given."""
    return UNITS[root_kind(root)]


def unit_of_labels(meta: dict[str, Any]) -> Unit:
    """The unit of the source a label cache was made from (its meta.json); tracklets where that
    source is no longer there to look at."""
    source = Path(meta.get("source", ""))
    return unit_of(source) if source.is_dir() else TRACKLET
