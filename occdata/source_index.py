"""Index of a DukeMTMC-VideoReID root: one row per frame, parsed from folder and file names.

Layout: ``<split>/<pid>/<tracklet>/<pid>_C<cam>_F<index>_X<video frame>.jpg`` where F is the
1-based index of the frame inside its tracklet (the sort key), X the frame number in the camera
video (variable width) and ``D`` in place of ``X`` marks a distractor frame. The old release
writes the same name without underscores (``0001C6F0099X30823.jpg``). The walk uses
``os.scandir`` and never stats a file, so the real tree (927,268 frames) indexes in seconds.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from occreid.common.errors import OccreidError

SPLITS: tuple[str, ...] = ("train", "query", "gallery")
FRAME_NAME = re.compile(
    r"^(?P<pid>\d+)_?C(?P<cam>\d+)_?F(?P<findex>\d+)_?(?P<kind>[XD])(?P<vframe>\d+)\.jpe?g$",
    re.IGNORECASE,
)
_IGNORED_DIRS = {"__MACOSX"}


@dataclass(frozen=True)
class FrameName:
    """The fields of one frame's file name."""

    pid: int
    camid: int
    findex: int
    video_frame: int
    distractor: bool


def parse_frame_name(name: str) -> FrameName | None:
    """Parse ``0001_C6_F0099_X30823.jpg`` (or the underscore-free form); None if no match."""
    m = FRAME_NAME.match(name)
    if m is None:
        return None
    return FrameName(
        pid=int(m["pid"]),
        camid=int(m["cam"]),
        findex=int(m["findex"]),
        video_frame=int(m["vframe"]),
        distractor=m["kind"].upper() == "D",
    )


@dataclass
class SourceIndex:
    """Every frame of a source root (``frames``) and the files that were skipped, by name."""

    root: Path
    frames: pd.DataFrame
    skipped: Counter[str] = field(default_factory=Counter)

    def tracklets(self) -> pd.DataFrame:
        """One row per tracklet: split, pid, camid, tracklet key and frame count."""
        grouped = self.frames.groupby("tracklet", sort=True)
        return grouped.agg(
            split=("split", "first"),
            pid=("pid", "first"),
            camid=("camid", "first"),
            frames=("path", "size"),
        ).reset_index()


def _is_ignored(name: str) -> bool:
    return name.startswith(".") or name in _IGNORED_DIRS


def _subdirs(path: Path, skipped: Counter[str]) -> list[os.DirEntry[str]]:
    """Sub-folders of ``path`` sorted by name; anything else is counted in ``skipped``."""
    dirs = []
    with os.scandir(path) as it:
        for entry in it:
            if entry.is_dir() and not _is_ignored(entry.name):
                dirs.append(entry)
            else:
                skipped[entry.name] += 1
    return sorted(dirs, key=lambda e: e.name)


def _numeric_folder(entry: os.DirEntry[str], what: str) -> int:
    if not entry.name.isdigit():
        raise OccreidError(
            f"{entry.path}: a {what} folder must be named by a number; "
            "move it out of the source root"
        )
    return int(entry.name)


def index_source(root: str | Path, all_splits: bool = True) -> SourceIndex:
    """Index ``root`` (train/query/gallery folders): frames sorted by split, pid, tracklet, F.

    ``all_splits`` False indexes the split folders that are there (pseudo-labelling a part of a
    tree, e.g. a labelled set with only train/); building a dataset needs all three.

    Columns: path (relative, ``/``-separated), split, pid, camid, tracklet (``split/pid/tid``,
    unique across the dataset), findex (F), frame (0-based position in the tracklet),
    video_frame (X or D number), distractor.
    """
    root = Path(root)
    if not root.is_dir():
        raise OccreidError(f"{root}: source root not found; pass the DukeMTMC-VideoReID folder")
    missing = [s for s in SPLITS if not (root / s).is_dir()]
    if missing and (all_splits or len(missing) == len(SPLITS)):
        raise OccreidError(
            f"{root}: missing split folder(s) {', '.join(missing)}; "
            "the root must hold train/, query/ and gallery/"
        )
    skipped: Counter[str] = Counter()
    cols: dict[str, list] = {
        k: []
        for k in (
            "path",
            "split",
            "pid",
            "camid",
            "tracklet",
            "findex",
            "frame",
            "video_frame",
            "distractor",
        )
    }
    present = [s for s in SPLITS if s not in missing]
    folders = [(split, e) for split in present for e in _subdirs(root / split, skipped)]
    for split, pid_entry in tqdm(folders, desc=f"indexing {root}", unit="id"):
        pid = _numeric_folder(pid_entry, "person id")
        for trk_entry in _subdirs(Path(pid_entry.path), skipped):
            key = f"{split}/{pid_entry.name}/{trk_entry.name}"
            _index_tracklet(Path(trk_entry.path), key, pid, split, cols, skipped)
    frames = pd.DataFrame(
        {
            "path": pd.array(cols["path"], dtype="string"),
            "split": pd.Categorical(cols["split"], categories=list(SPLITS)),
            "pid": np.asarray(cols["pid"], dtype=np.int32),
            "camid": np.asarray(cols["camid"], dtype=np.int16),
            "tracklet": pd.array(cols["tracklet"], dtype="string"),
            "findex": np.asarray(cols["findex"], dtype=np.int32),
            "frame": np.asarray(cols["frame"], dtype=np.int32),
            "video_frame": np.asarray(cols["video_frame"], dtype=np.int64),
            "distractor": np.asarray(cols["distractor"], dtype=bool),
        }
    )
    if frames.empty:
        raise OccreidError(f"{root}: no frames found under train/, query/ or gallery/")
    return SourceIndex(root=root, frames=frames, skipped=skipped)


def _index_tracklet(
    folder: Path, key: str, pid: int, split: str, cols: dict[str, list], skipped: Counter[str]
) -> None:
    """Append the frames of one tracklet folder to ``cols``, sorted by F, after checking names."""
    parsed: list[tuple[int, int, int, bool, str]] = []
    with os.scandir(folder) as it:
        for entry in it:
            name = entry.name
            lower = name.lower()
            if not (lower.endswith(".jpg") or lower.endswith(".jpeg")) or name.startswith("."):
                skipped[name] += 1
                continue
            f = parse_frame_name(name)
            if f is None:
                raise OccreidError(
                    f"{folder / name}: file name does not parse as "
                    "<pid>_C<cam>_F<index>_X<frame>.jpg; rename or remove it"
                )
            if f.pid != pid:
                raise OccreidError(
                    f"{folder / name}: person id {f.pid} in the file name disagrees with the "
                    f"folder {pid:04d}; move the file to its person's folder"
                )
            parsed.append((f.findex, f.camid, f.video_frame, f.distractor, name))
    parsed.sort()
    for i in range(1, len(parsed)):
        if parsed[i][0] == parsed[i - 1][0]:
            raise OccreidError(
                f"{folder / parsed[i][4]}: frame index F{parsed[i][0]:04d} appears twice in "
                "this tracklet; remove the duplicate"
            )
    cams = {p[1] for p in parsed}
    if len(cams) > 1:
        raise OccreidError(
            f"{folder}: tracklet mixes cameras {sorted(cams)}; a tracklet comes from one camera"
        )
    prefix = key + "/"
    for position, (findex, cam, vframe, distractor, name) in enumerate(parsed):
        cols["path"].append(prefix + name)
        cols["split"].append(split)
        cols["pid"].append(pid)
        cols["camid"].append(cam)
        cols["tracklet"].append(key)
        cols["findex"].append(findex)
        cols["frame"].append(position)
        cols["video_frame"].append(vframe)
        cols["distractor"].append(distractor)
