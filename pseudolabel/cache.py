"""The label cache: keypoints, APU targets and person masks for every frame, in fixed shards.

Layout::

    LABELS/meta.json           format, mask size, backends (names, versions, settings), shard plan
    LABELS/plan.parquet        frame -> shard (path, tracklet, shard): the fixed sorted grouping
    LABELS/shards/00000/       one shard: a fixed sorted group of whole tracklets
        index.parquet          path, ok (False where the frame could not be decoded), height, width
        keypoints.npy          (N, 17, 3) float16: x, y, score in image pixels (COCO-17 order)
        apu.npy                (N, 4) float16: a1..a4 as fractions (apu_targets.py)
        mask.npy               (N, H * W / 8) uint8: person mask at MASK_SIZE, np.packbits
        persons.npy            (N,) int8: persons seen by the backend (1 where it cannot tell)
    LABELS/report.json         counts, unreadable frames, timings (written when the run ends)
    LABELS/occlusion.csv       automatic occlusion tags (tag-occlusion; DESIGN's CSV format)

A shard is written under ``shards/.NNNNN.tmp-<pid>/`` and renamed when complete, so a reader never
sees half a shard and a resumed run skips exactly the finished ones. Arrays are memory-mapped:
one frame loads in O(1), a tracklet or a split as slices.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from occreid.common.atomic import atomic_path, remove_leftovers
from occreid.common.errors import OccreidError

FORMAT_VERSION = 1
MASK_SIZE: tuple[int, int] = (64, 32)  # (H, W): 256 bytes per frame packed, ~240 MB for Duke
ARRAYS = ("keypoints", "apu", "mask", "persons")


@dataclass
class ShardData:
    """The labels of one shard, in the order of its frames."""

    index: pd.DataFrame  # path, ok, height, width
    keypoints: np.ndarray  # (N, 17, 3)
    apu: np.ndarray  # (N, 4)
    mask: np.ndarray  # (N, H * W / 8) packed
    persons: np.ndarray  # (N,)

    @staticmethod
    def concat(parts: list[ShardData]) -> ShardData:
        """The labels of consecutive parts of a shard, as one."""
        return ShardData(
            pd.concat([p.index for p in parts], ignore_index=True),
            *(np.concatenate([getattr(p, a) for p in parts]) for a in ARRAYS),
        )


def shard_name(i: int) -> str:
    return f"{i:05d}"


def pack_masks(masks: np.ndarray) -> np.ndarray:
    """(N, H, W) bool at MASK_SIZE -> (N, H * W / 8) uint8."""
    return np.packbits(masks.reshape(len(masks), -1).astype(bool), axis=1)


def unpack_masks(packed: np.ndarray, size: tuple[int, int] = MASK_SIZE) -> np.ndarray:
    """(N, H * W / 8) uint8 -> (N, H, W) bool."""
    return np.unpackbits(packed, axis=1)[:, : size[0] * size[1]].reshape(-1, *size).astype(bool)


def plan_shards(frames: pd.DataFrame, shard_frames: int) -> pd.DataFrame:
    """Group whole tracklets, in sorted order, into shards of about ``shard_frames`` frames.

    ``frames`` has path and tracklet; the plan is a function of them alone, so every rank and
    every resumed run computes the same one.
    """
    frames = frames.sort_values(["tracklet", "path"], kind="stable")
    sizes = frames.groupby("tracklet", sort=True).size()
    shard_of, current, filled = {}, 0, 0
    for key, n in sizes.items():
        if filled and filled + n > shard_frames:
            current, filled = current + 1, 0
        shard_of[key] = current
        filled += n
    plan = frames[["path", "tracklet"]].reset_index(drop=True)
    plan["shard"] = plan["tracklet"].map(shard_of).astype(np.int32)
    return plan


def write_shard(root: Path, shard: int, data: ShardData) -> None:
    """Write one shard atomically (common.atomic: temporary folder, fsync, rename)."""
    (root / "shards").mkdir(parents=True, exist_ok=True)
    with atomic_path(root / "shards" / shard_name(shard)) as tmp:
        tmp.mkdir()
        data.index.to_parquet(tmp / "index.parquet", index=False)
        np.save(tmp / "keypoints.npy", data.keypoints.astype(np.float16))
        np.save(tmp / "apu.npy", data.apu.astype(np.float16))
        np.save(tmp / "mask.npy", data.mask.astype(np.uint8))
        np.save(tmp / "persons.npy", data.persons.astype(np.int8))


def finished_shards(root: Path) -> set[int]:
    """Shards whose folder exists (renamed only when complete)."""
    folder = root / "shards"
    if not folder.is_dir():
        return set()
    return {int(p.name) for p in folder.iterdir() if p.is_dir() and p.name.isdigit()}


def clean_partial(root: Path) -> None:
    """Remove temporary shard folders left by a killed run."""
    remove_leftovers(root / "shards")


class LabelCache:
    """Read access to a finished cache: one frame, a tracklet or many paths as arrays."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        meta_path = self.root / "meta.json"
        if not meta_path.is_file():
            raise OccreidError(
                f"{self.root}: not a label cache (no meta.json); "
                "make one with occreid pseudolabel ROOT --out LABELS"
            )
        self.meta: dict[str, Any] = json.loads(meta_path.read_text())
        if self.meta.get("format") != FORMAT_VERSION:
            raise OccreidError(
                f"{self.root}: label cache format {self.meta.get('format')} is not {FORMAT_VERSION}"
            )
        if not self.meta.get("complete"):
            raise OccreidError(
                f"{self.root}: the labelling run did not finish; rerun it with --resume"
            )
        self.mask_size: tuple[int, int] = tuple(self.meta["mask_size"])  # type: ignore[assignment]
        self._arrays: dict[int, dict[str, np.ndarray]] = {}

    @cached_property
    def index(self) -> pd.DataFrame:
        """Every frame: path, tracklet, ok, height, width, shard, row (in its shard)."""
        parts = []
        for shard in range(self.meta["shards"]):
            part = pd.read_parquet(self.root / "shards" / shard_name(shard) / "index.parquet")
            part["shard"] = np.int32(shard)
            part["row"] = np.arange(len(part), dtype=np.int64)
            parts.append(part)
        index = pd.concat(parts, ignore_index=True)
        plan = pd.read_parquet(self.root / "plan.parquet")
        tracklets = pd.Series(plan["tracklet"].to_numpy(), index=plan["path"].to_numpy())
        index.insert(1, "tracklet", tracklets.loc[index["path"].to_numpy()].to_numpy())
        return index

    @cached_property
    def _position(self) -> pd.Index:
        return pd.Index(self.index["path"])

    def _shard(self, shard: int) -> dict[str, np.ndarray]:
        if shard not in self._arrays:
            folder = self.root / "shards" / shard_name(shard)
            self._arrays[shard] = {a: np.load(folder / f"{a}.npy", mmap_mode="r") for a in ARRAYS}
        return self._arrays[shard]

    def _locate(self, paths: list[str]) -> np.ndarray:
        pos = self._position.get_indexer(paths)
        if (pos < 0).any():
            missing = paths[int(np.flatnonzero(pos < 0)[0])]
            raise OccreidError(
                f"{self.root}: no labels for {missing}; label its source with occreid pseudolabel"
            )
        return pos

    def frame(self, path: str) -> dict[str, Any]:
        """One frame's labels: keypoints (17, 3), apu (4,), mask (H, W) bool, persons, ok, size
        (height, width of the frame)."""
        row = self.index.iloc[int(self._locate([path])[0])]
        arrays = self._shard(int(row["shard"]))
        r = int(row["row"])
        return {
            "keypoints": np.asarray(arrays["keypoints"][r], dtype=np.float32),
            "apu": np.asarray(arrays["apu"][r], dtype=np.float32),
            "mask": unpack_masks(np.asarray(arrays["mask"][r : r + 1]), self.mask_size)[0],
            "persons": int(arrays["persons"][r]),
            "ok": bool(row["ok"]),
            "size": (int(row["height"]), int(row["width"])),
        }

    def gather(self, paths: list[str]) -> dict[str, np.ndarray]:
        """Labels of many frames as arrays in the order of ``paths`` (masks stay packed)."""
        pos = self._locate(paths)
        rows = self.index.iloc[pos]
        out: dict[str, list[np.ndarray]] = {a: [] for a in ARRAYS}
        order = np.argsort(rows["shard"].to_numpy(), kind="stable")
        shards = rows["shard"].to_numpy()[order]
        local = rows["row"].to_numpy()[order]
        for shard in np.unique(shards):
            sel = local[shards == shard]
            arrays = self._shard(int(shard))
            for a in ARRAYS:
                out[a].append(np.asarray(arrays[a][sel]))
        back = np.argsort(order, kind="stable")
        result = {a: np.concatenate(v)[back] for a, v in out.items()}
        result["ok"] = rows["ok"].to_numpy()
        return result

    def tracklet(self, key: str) -> dict[str, np.ndarray]:
        """All frames of one source tracklet, in frame order."""
        paths = self.index.loc[self.index["tracklet"] == key, "path"].tolist()
        if not paths:
            raise OccreidError(f"{self.root}: no tracklet {key!r} in the cache")
        return self.gather(paths)
