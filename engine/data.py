"""Training and test data: split tables from manifests (or an image folder), clips decoded with
OpenCV in DataLoader workers, labels from the label cache.

Batches carry frames as uint8 (B, T, H, W, 3): a quarter of the bytes of float through pinned
memory; ``to_input`` turns them into normalised (B, T, 3, H, W) on the device (channels-last
strides for free). Labels ride along: ``keypoints`` (B, T, 4) APU fractions and ``masks``
(B, T, h, w) at the cache's mask size (the losses resize them to each block's map).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader, Dataset

from occreid.common.cores import usable_cores
from occreid.common.errors import OccreidError
from occreid.common.runtime import Runtime
from occreid.engine.augment import Sample, augment
from occreid.engine.clips import chunk_ranges, eval_clips, train_clip
from occreid.engine.config import DEFAULT_CONFIG, DataConfig, TrainConfig
from occreid.engine.locator import body_targets, frame_heights
from occreid.engine.samplers import PKBatchSampler
from occreid.occdata.roots import RootKind, resolve_root, split_frames
from occreid.pseudolabel.cache import LabelCache, unpack_masks

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


MODE_OF_ROOT = {RootKind.DATASET: "video", RootKind.IMAGE_FOLDER: "image"}
ROOT_OF_MODE = {"video": "a built dataset (occreid build-dataset)", "image": "an image ReID folder"}


def dataset_mode(dataset: Path) -> str:
    """The data.mode a dataset takes: image for an image ReID folder, video for a built one."""
    return MODE_OF_ROOT[resolve_root(dataset, "train / evaluate", tuple(MODE_OF_ROOT))]


def default_config(dataset: Path) -> str:
    """The packaged config a run on ``dataset`` starts from when none is given."""
    return DEFAULT_CONFIG[dataset_mode(dataset)]


def check_mode(cfg: DataConfig, dataset: Path, checkpoint: Path | None = None) -> None:
    """A video config on an image folder, or an image config on a video dataset, is an error;
    its fix is another config (train) or another dataset (evaluate a ``checkpoint``)."""
    mode = dataset_mode(dataset)
    if cfg.mode == mode:
        return
    start = f"{dataset}: takes data.mode = {mode}"
    if checkpoint is not None:
        raise OccreidError(
            f"{start}, and {checkpoint} was trained with data.mode = {cfg.mode}; evaluate it on "
            f"{ROOT_OF_MODE[cfg.mode]}, or train a model on this one"
        )
    raise OccreidError(
        f"{start}, and the config has data.mode = {cfg.mode}; train with a config for {mode} "
        f"(`--config {DEFAULT_CONFIG[mode]}` is the default for it) and drop any --set that "
        f"makes it {cfg.mode}"
    )


@dataclass
class SplitData:
    """One split: frames sorted by (tracklet, frame) under ``root``, and its tracklets as
    [start, stop) row ranges with pid, camid and the share of occluded frames."""

    root: Path
    frames: pd.DataFrame
    tracklets: pd.DataFrame


def _tracklet_table(frames: pd.DataFrame) -> pd.DataFrame:
    """Row ranges of each tracklet in ``frames`` (sorted by tracklet, so each is contiguous)."""
    keys = frames["tracklet"].to_numpy()
    start = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    stop = np.r_[start[1:], len(keys)]
    occluded = frames["occluded"].to_numpy(float) if "occluded" in frames else np.zeros(len(keys))
    return pd.DataFrame(
        {
            "tracklet": keys[start],
            "pid": frames["pid"].to_numpy()[start],
            "camid": frames["camid"].to_numpy()[start],
            "start": start,
            "stop": stop,
            "length": stop - start,
            "occluded": np.add.reduceat(occluded, start) / (stop - start),
        }
    )


def load_split(dataset: Path, split: str, source: Path | None = None) -> SplitData:
    """A built dataset's split (frames under the source recorded in its manifests, or ``source``)
    or an image folder's (Market-1501 layout), sorted by tracklet and frame."""
    root, frames = split_frames(dataset, split, source)
    frames = frames.sort_values(["tracklet", "frame"], kind="stable").reset_index(drop=True)
    return SplitData(root, frames, _tracklet_table(frames))


@dataclass
class LabelArrays:
    """Cached labels of a split's frames, in its frame order (masks packed; APU targets NaN where
    there is none)."""

    apu: np.ndarray
    mask: np.ndarray
    mask_size: tuple[int, int]
    not_a_body: int = 0  # frames whose pose target was dropped: the skeleton is not a body


def split_labels(cache: LabelCache, split: SplitData) -> LabelArrays:
    """Gather the cache's labels for every frame of ``split`` (an error names a missing frame);
    APU targets as Lk takes them: none where the skeleton is not a body (engine/locator.py)."""
    paths = split.frames["path"].tolist()
    got = cache.gather(paths)
    apu, not_body = body_targets(got["apu"], got["keypoints"], frame_heights(cache, paths))
    return LabelArrays(apu, got["mask"], cache.mask_size, int(not_body.sum()))


def read_frames(root: Path, paths: list[str], size: tuple[int, int]) -> np.ndarray:
    """Decode and resize frames to (T, H, W, 3) uint8 RGB; an unreadable file is an error."""
    height, width = size
    out = np.empty((len(paths), height, width, 3), dtype=np.uint8)
    for i, rel in enumerate(paths):
        image = cv2.imread(str(root / rel), cv2.IMREAD_COLOR)
        if image is None:
            raise OccreidError(
                f"{root / rel}: cannot decode this frame; in a built dataset list such frames "
                "with build-dataset's --check-images and exclude their tracklets, in an image "
                "folder replace or remove the file"
            )
        image = cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR)
        cv2.cvtColor(image, cv2.COLOR_BGR2RGB, dst=out[i])
    return out


def training_units(split: SplitData, cfg: DataConfig) -> pd.DataFrame:
    """Sampling units: tracklet chunks (video) or frames (image), with class labels 0..C-1."""
    rows = []
    for t in split.tracklets.itertuples():
        if cfg.mode == "image":
            ranges = [(i, i + 1) for i in range(t.length)]
        else:
            ranges = chunk_ranges(t.length, cfg.chunk)
        rows += [(t.pid, t.camid, t.start + a, t.start + b) for a, b in ranges]
    units = pd.DataFrame(rows, columns=["pid", "camid", "start", "stop"])
    units["label"] = np.unique(units["pid"], return_inverse=True)[1]
    return units


class TrainClips(Dataset):
    """Item (unit, seed) -> a clip of ``clip_len`` frames from that unit, augmented with labels."""

    def __init__(
        self,
        split: SplitData,
        units: pd.DataFrame,
        cfg: DataConfig,
        size: tuple[int, int],
        labels: LabelArrays | None = None,
    ) -> None:
        self.root, self.cfg, self.size, self.labels = split.root, cfg, size, labels
        self.paths = split.frames["path"].to_numpy(dtype=object)
        self.start = units["start"].to_numpy()
        self.stop = units["stop"].to_numpy()
        self.label = units["label"].to_numpy()

    def __len__(self) -> int:
        return len(self.start)

    def __getitem__(self, item: tuple[int, int]) -> dict[str, Any]:
        unit, seed = item
        rng = np.random.default_rng(seed)
        n = int(self.stop[unit] - self.start[unit])
        rows = self.start[unit] + train_clip(n, self.cfg.clip_len, self.cfg.stride, rng)
        sample = Sample(read_frames(self.root, list(self.paths[rows]), self.size))
        if self.labels is not None:
            sample.apu = self.labels.apu[rows]
            sample.mask = unpack_masks(self.labels.mask[rows], self.labels.mask_size)
            sample.mask = sample.mask.astype(np.uint8)
        cfg = self.cfg
        sample = augment(sample, cfg.flip, cfg.erase, rng, cfg.erase_fill, cfg.erase_clears_mask)
        out: dict[str, Any] = {
            "frames": torch.from_numpy(sample.frames),
            "pid": int(self.label[unit]),
        }
        if sample.apu is not None and sample.mask is not None:
            out["keypoints"] = torch.from_numpy(sample.apu)
            out["masks"] = torch.from_numpy(sample.mask)
        return out


class TestClips(Dataset):
    """Every tracklet of a split cut into ``test_clip_len`` clips: item -> (clip, tracklet, the
    clip's rows in the split's frame table, -1 where a frame repeats as loop-padding)."""

    def __init__(self, split: SplitData, length: int, size: tuple[int, int]) -> None:
        self.root, self.size = split.root, size
        self.paths = split.frames["path"].to_numpy(dtype=object)
        self.items = [
            (i, t.start + clip)
            for i, t in enumerate(split.tracklets.itertuples())
            for clip in eval_clips(t.length, length)
        ]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> dict[str, Any]:
        tracklet, rows = self.items[i]
        frames = read_frames(self.root, list(self.paths[rows]), self.size)
        fresh = np.arange(len(rows)) < len(np.unique(rows))  # False on the loop-padding
        return {
            "frames": torch.from_numpy(frames),
            "tracklet": tracklet,
            "rows": torch.from_numpy(np.where(fresh, rows, -1)),
        }


def _worker_init(_: int) -> None:
    cv2.setNumThreads(1)


def loader(dataset: Dataset, workers: int, pin: bool, **kwargs: Any) -> DataLoader:  # type: ignore[type-arg]
    """A DataLoader with OpenCV decoding in ``workers`` processes (at most the usable cores, so
    a 2-core machine gets no over-subscription warning), pinned and persistent. The worker count
    does not change what is drawn (every draw is seeded per sample)."""
    workers = min(workers, usable_cores())
    extra: dict[str, Any] = {}
    if workers > 0:
        # OpenCV's thread pool is not fork-safe: once it has run in this process (a resize in
        # tagging, say), a forked worker's first OpenCV call can wait forever. One thread here
        # first leaves no pool to inherit; this process decodes nothing once its loaders exist.
        cv2.setNumThreads(1)
        extra = {"persistent_workers": True, "prefetch_factor": 4, "worker_init_fn": _worker_init}
    return DataLoader(dataset, num_workers=workers, pin_memory=pin, **extra, **kwargs)


def train_loader(
    split: SplitData, cfg: TrainConfig, labels: LabelArrays | None, rt: Runtime
) -> tuple[DataLoader, PKBatchSampler, int]:  # type: ignore[type-arg]
    """(loader, its P x K batch sampler, number of classes) for the training split: this rank's
    share of every batch, frames at the model's input size, pinned on CUDA."""
    units = training_units(split, cfg.data)
    sampler = PKBatchSampler(
        units["label"].to_numpy(),
        cfg.data.ids_per_batch,
        cfg.data.instances,
        cfg.run.seed,
        rt.dist.rank,
        rt.dist.world,
    )
    data = TrainClips(split, units, cfg.data, cfg.model.size, labels)
    return (
        loader(data, cfg.data.workers, rt.cuda, batch_sampler=sampler),
        sampler,
        int(units["label"].max()) + 1,
    )


def to_input(
    frames: torch.Tensor, device: torch.device, channels_last: bool = False
) -> torch.Tensor:
    """uint8 (B, T, H, W, 3) -> normalised float (B, T, 3, H, W) on ``device``."""
    x = frames.to(device, non_blocking=True).permute(0, 1, 4, 2, 3).float().div_(255)
    mean = torch.tensor(MEAN, device=device).view(1, 1, 3, 1, 1)
    std = torch.tensor(STD, device=device).view(1, 1, 3, 1, 1)
    x = (x - mean) / std
    if not channels_last:
        x = x.contiguous()
    return x
