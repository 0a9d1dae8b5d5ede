"""`occreid pseudolabel`: label every frame with a pose and a parsing backend into the cache.

Frames are grouped into fixed shards of whole tracklets (cache.plan_shards); each shard is decoded
with a thread pool (the next batch decodes while the backends run on this one), labelled in
batches, and written atomically. A resumed run skips finished shards, so a killed run ends with
exactly the labels an uninterrupted one gives. Under torchrun, rank r takes shards r, r + world,
...; rank 0 writes the plan first and the report and occlusion tags last. Where the pose model
runs on one core (mediapipe), the shards go to one labelling process per core, each with its own
models (``processes``); a shard's labels do not depend on which process labels it.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import resource
import shutil
import threading
import time
import warnings
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pandas as pd
from tqdm import tqdm

from occreid.common.cores import usable_cores
from occreid.common.distributed import barrier, init_distributed
from occreid.common.errors import OccreidError
from occreid.common.runtime import DEFAULT_DEVICE
from occreid.occdata.roots import frames_to_label
from occreid.pseudolabel.apu_targets import apu_targets
from occreid.pseudolabel.backends import (
    backend_options,
    check_options,
    make_parsing,
    make_pose,
)
from occreid.pseudolabel.backends.base import FrameBatch, ParsingBackend, PoseBackend
from occreid.pseudolabel.backends.mediapipe_backend import TRACKING
from occreid.pseudolabel.cache import (
    FORMAT_VERSION,
    MASK_SIZE,
    ShardData,
    clean_partial,
    finished_shards,
    pack_masks,
    plan_shards,
    write_shard,
)
from occreid.pseudolabel.letterbox import MARGIN


@dataclass
class Timings:
    """Seconds spent in each part of the pipeline (this rank, this run)."""

    decode_wait: float = 0.0
    pose: float = 0.0
    parsing: float = 0.0
    targets: float = 0.0
    write: float = 0.0

    def add(self, other: Timings) -> None:
        for key, value in vars(other).items():
            setattr(self, key, getattr(self, key) + value)

    def shares(self) -> dict[str, float]:
        total = sum(vars(self).values()) or 1.0
        return {k: round(v / total, 3) for k, v in vars(self).items()}


@dataclass(kw_only=True)
class RunOptions:
    """What `occreid pseudolabel` takes (see its --help; the CLI's defaults are these).

    pose_options / parsing_options: the backend's own constructor options (config, checkpoint,
    person_classes, ...); ``root``, ``device``, ``margin`` (letterbox.py's input policy) and
    ``tracking`` (a tracklet's frames read as a video, backends/mediapipe_backend.py) are passed
    to the backends that declare them.
    """

    root: Path
    out: Path
    pose: str = "oracle"
    parsing: str = "oracle"
    pose_options: dict[str, Any] = field(default_factory=dict)
    parsing_options: dict[str, Any] = field(default_factory=dict)
    device: str = DEFAULT_DEVICE
    margin: float = MARGIN
    tracking: bool = TRACKING
    batch_size: int = 64
    workers: int = 4
    # None: default_processes; more than one spawns processes, so a script that calls run()
    # needs the `if __name__ == "__main__":` guard (Python's multiprocessing)
    processes: int | None = None
    shard_frames: int = 4096
    resume: bool = False
    overwrite: bool = False
    threshold: float | None = None  # APU "found" score; None: the pose backend's seen score


def _read(path: Path) -> np.ndarray | None:
    return cv2.imread(str(path), cv2.IMREAD_COLOR)


def _batches(
    source: Path, paths: list[str], size: int, pool: ThreadPoolExecutor
) -> Iterator[tuple[list[str], list[np.ndarray | None]]]:
    """Decoded batches; the next batch decodes in the pool while the caller works on this one."""
    chunks = [paths[i : i + size] for i in range(0, len(paths), size)]

    def decode(chunk: list[str]) -> list[np.ndarray | None]:
        return [_read(source / p) for p in chunk]

    pending = [pool.submit(decode, c) for c in chunks[:2]]
    for i, chunk in enumerate(chunks):
        images = pending[i].result()
        if i + 2 < len(chunks):
            pending.append(pool.submit(decode, chunks[i + 2]))
        yield chunk, images


def alone_as_none(tracklets: list[str]) -> list[str | None]:
    """The tracklet of each frame of a shard (whole tracklets), None for a one-frame tracklet."""
    counts = pd.Series(tracklets).value_counts()
    return [t if counts[t] > 1 else None for t in tracklets]


def label_shard(
    source: Path,
    frames: pd.DataFrame,
    pose: PoseBackend,
    parsing: ParsingBackend,
    opts: RunOptions,
    pool: ThreadPoolExecutor,
    bar: tqdm,
    timings: Timings,
) -> ShardData:
    """Decode and label one shard's frames (``frames``: path and tracklet, in the plan's order);
    unreadable frames get empty labels and ok = False."""
    paths: list[str] = frames["path"].tolist()
    tracklets = alone_as_none(frames["tracklet"].tolist())
    n = len(paths)
    kp = np.zeros((n, 17, 3), dtype=np.float32)
    masks = np.zeros((n, *MASK_SIZE), dtype=bool)
    persons = np.ones(n, dtype=np.int8)
    sizes = np.zeros((n, 2), dtype=np.int32)
    ok = np.zeros(n, dtype=bool)
    start = 0
    batches = _batches(source, paths, opts.batch_size, pool)
    while True:
        t = time.perf_counter()
        chunk, images = next(batches, (None, None))
        timings.decode_wait += time.perf_counter() - t
        if chunk is None or images is None:
            break
        good = [i for i, im in enumerate(images) if im is not None]
        rows = np.array(good, dtype=np.int64) + start
        if good:
            batch = FrameBatch(
                [chunk[i] for i in good],
                [images[i] for i in good],  # type: ignore[misc]
                tracklets=[tracklets[start + i] for i in good],
            )
            t = time.perf_counter()
            kp[rows] = pose.predict(batch)
            timings.pose += time.perf_counter() - t
            batch.keypoints, batch.seen_score = kp[rows], pose.seen_score
            t = time.perf_counter()
            m, p = parsing.predict(batch, MASK_SIZE)
            timings.parsing += time.perf_counter() - t
            masks[rows] = m
            if p is not None:
                persons[rows] = p
            sizes[rows] = [images[i].shape[:2] for i in good]  # type: ignore[union-attr]
            ok[rows] = True
        start += len(chunk)
        bar.update(len(chunk))
    t = time.perf_counter()
    threshold = pose.seen_score if opts.threshold is None else opts.threshold  # calibration.py
    apu = apu_targets(kp, np.maximum(sizes[:, 0], 1), np.maximum(sizes[:, 1], 1), threshold)
    index = pd.DataFrame({"path": paths, "ok": ok, "height": sizes[:, 0], "width": sizes[:, 1]})
    data = ShardData(index, kp, apu, pack_masks(masks), persons)
    timings.targets += time.perf_counter() - t
    return data


def default_processes(pose: PoseBackend, world: int) -> int:
    """Labelling processes on this machine: one per usable core where the pose model runs on one
    core (PoseBackend.one_core), else one; one per rank under torchrun (its ranks are the
    processes)."""
    return usable_cores() if pose.one_core and world == 1 else 1


@dataclass(frozen=True)
class Job:
    """What every labelling process needs to build its backends and label shards."""

    source: Path
    opts: RunOptions
    pose_options: dict[str, Any]
    parsing_options: dict[str, Any]


def label_and_write(
    job: Job,
    shard: int,
    frames: pd.DataFrame,
    models: tuple[PoseBackend, ParsingBackend],
    pool: ThreadPoolExecutor,
    bar: tqdm,
    timings: Timings,
) -> None:
    """Label one shard and write it."""
    data = label_shard(job.source, frames, *models, job.opts, pool, bar, timings)
    t = time.perf_counter()
    write_shard(job.opts.out, shard, data)
    timings.write += time.perf_counter() - t


_PROCESS: dict[str, Any] = {}  # a labelling process's job, backends and decoding threads


def _end_with(parent: int) -> None:
    """Exit as soon as the main process is gone (killed), so no orphan goes on labelling."""
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(1)


def _start_process(job: Job, parent: int) -> None:
    """A labelling process: it ends with its main process ``parent``; its backends are built by
    its first task (an error there goes back to the main process as the run's error)."""
    threading.Thread(target=_end_with, args=(parent,), daemon=True).start()
    warnings.simplefilter("ignore")  # the main process has said it once
    cv2.setNumThreads(1)  # a process per core: OpenCV's own threads would only compete
    _PROCESS["job"] = job


def _models() -> tuple[PoseBackend, ParsingBackend]:
    """This labelling process's own backends (a model graph per process), built once."""
    if "models" not in _PROCESS:
        job = _PROCESS["job"]
        _PROCESS["models"] = (
            make_pose(job.opts.pose, **job.pose_options),
            make_parsing(job.opts.parsing, **job.parsing_options),
        )
        _PROCESS["pool"] = ThreadPoolExecutor(job.opts.workers)
    return _PROCESS["models"]  # type: ignore[no-any-return]


Part = tuple[int, int, pd.DataFrame]  # shard, part of the shard, its frames (whole tracklets)


def _label_part(part: Part) -> tuple[int, int, ShardData, Timings]:
    """In a labelling process: the labels of one part of a shard, and its timings."""
    shard, k, frames = part
    (pose, parsing), job, timings = _models(), _PROCESS["job"], Timings()
    with tqdm(disable=True) as bar:
        data = label_shard(
            job.source, frames, pose, parsing, job.opts, _PROCESS["pool"], bar, timings
        )
    return shard, k, data, timings


def split_shards(tasks: list[tuple[int, pd.DataFrame]], processes: int) -> list[Part]:
    """The shards in parts of whole tracklets that shrink as the work runs out (guided
    self-scheduling): each part is about 1 / (2 x processes) of the frames still to give out,
    so the first parts are large (few hand-offs) and the last are single tracklets, and the
    processes end together instead of one finishing a big part alone. A part never spans two
    shards; its number rises in the order of its frames, so a shard's parts concatenate back
    in order."""
    left = sum(len(frames) for _, frames in tasks)
    parts: list[Part] = []
    for shard, frames in tasks:
        frames = frames.sort_values(["tracklet", "path"], kind="stable")
        ends = np.cumsum(frames.groupby("tracklet", sort=True).size().to_numpy())
        start = 0
        for end in ends:
            if end - start >= -(-left // (2 * processes)) or end == ends[-1]:
                parts.append((shard, len(parts), frames.iloc[start:end]))
                left -= end - start
                start = end
    return parts


def label_in_processes(job: Job, parts: list[Part], processes: int, bar: tqdm) -> Timings:
    """Parts of shards over ``processes`` fresh (spawned) processes, the next part to the first
    free one; each shard written here once all its parts are back. The summed timings. A process
    that dies (or cannot start) is an error of the run, never a wait."""
    timings = Timings()
    waiting: dict[int, dict[int, ShardData]] = {shard: {} for shard, _, _ in parts}
    count = {shard: 0 for shard, _, _ in parts}
    for shard, _, _ in parts:
        count[shard] += 1
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(processes, context, _start_process, (job, os.getpid())) as workers:
        futures = [workers.submit(_label_part, part) for part in parts]
        try:
            for future in as_completed(futures):
                shard, k, data, t = future.result()
                timings.add(t)
                bar.update(len(data.index))
                waiting[shard][k] = data
                if len(waiting[shard]) == count[shard]:
                    t0 = time.perf_counter()
                    done = waiting.pop(shard)
                    parts_in_order = [done[i] for i in sorted(done)]
                    write_shard(job.opts.out, shard, ShardData.concat(parts_in_order))
                    timings.write += time.perf_counter() - t0
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    return timings


def _cpu_seconds() -> float:
    """CPU time of this process and of its finished children (labelling processes)."""
    own, children = (
        resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _check_out(opts: RunOptions, source: Path) -> None:
    """Every rank, before any model is built: an existing cache needs --resume or --overwrite,
    and the cache never goes inside the source."""
    if opts.out.resolve().is_relative_to(source.resolve()):
        raise OccreidError(
            f"{opts.out}: lies inside the source {source}; choose a folder outside it"
        )
    if opts.out.exists() and not (opts.resume or opts.overwrite):
        raise OccreidError(
            f"{opts.out}: already exists; pass --resume to continue it or --overwrite"
        )


def _backend_options(kind: str, name: str, own: dict[str, Any], shared: dict[str, Any]) -> Any:
    """The backend's own options plus the shared ones (root, device) its constructor declares;
    checked before any backend is built."""
    declared = backend_options(kind, name)
    options = {k: v for k, v in shared.items() if k in declared} | own
    check_options(kind, name, options)
    return options


def _prepare(opts: RunOptions, plan: pd.DataFrame, meta: dict[str, Any]) -> None:
    """Rank 0: create the cache folder or check that a resumed one has the same plan."""
    out = opts.out
    if out.exists() and opts.overwrite and not opts.resume:
        shutil.rmtree(out)
    if (out / "plan.parquet").is_file():
        old = pd.read_parquet(out / "plan.parquet")
        old_meta = json.loads((out / "meta.json").read_text())
        if not old.equals(plan) or old_meta["backends"] != meta["backends"]:
            raise OccreidError(
                f"{out}: was started on other frames or with other backends; "
                "use a new --out or --overwrite"
            )
        clean_partial(out)
        return
    (out / "shards").mkdir(parents=True, exist_ok=True)
    plan.to_parquet(out / "plan.parquet", index=False)
    (out / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")


def not_the_body(parsing: ParsingBackend) -> str:
    """The one-line warning for a parsing backend whose mask is not the target's visible body."""
    return (
        f"the {parsing.name} parsing backend's mask is not the target's visible body "
        f"({parsing.mask_source}): the tags ignore it, and the foreground loss Lf would learn to "
        "keep occluders; --parsing keypoints stores the body the key points support instead"
    )


def run(opts: RunOptions) -> dict[str, Any]:
    """Label every frame of ``opts.root`` into ``opts.out``; returns the report (rank 0)."""
    info = init_distributed()
    rank, world = info.rank, info.world
    source, frames = frames_to_label(opts.root)
    _check_out(opts, source)
    barrier(info)  # every rank has checked before rank 0 creates the folder
    shared = {
        "root": source,
        "device": opts.device,
        "margin": opts.margin,
        "tracking": opts.tracking,
    }
    pose_options = _backend_options("pose", opts.pose, opts.pose_options, shared)
    parsing_options = _backend_options("parsing", opts.parsing, opts.parsing_options, shared)
    plan = plan_shards(frames, opts.shard_frames)
    pose = make_pose(opts.pose, **pose_options)
    parsing = make_parsing(opts.parsing, **parsing_options)
    n_shards = int(plan["shard"].max()) + 1
    meta = {
        "format": FORMAT_VERSION,
        "complete": False,
        "source": str(source.resolve()),
        "mask_size": list(MASK_SIZE),
        "shards": n_shards,
        "frames": len(plan),
        "threshold": pose.seen_score if opts.threshold is None else opts.threshold,
        # for training: a mask that is not the target's visible body must not teach Lf
        "mask_is_visible_body": parsing.mask_is_visible_body,
        "backends": {"pose": pose.describe(), "parsing": parsing.describe()},
    }
    if rank == 0:
        _prepare(opts, plan, meta)
        if not parsing.mask_is_visible_body:
            warnings.warn(not_the_body(parsing), stacklevel=2)
    barrier(info)
    done = finished_shards(opts.out)
    mine = [s for s in range(n_shards) if s % world == rank and s not in done]
    groups = {shard: frames for shard, frames in plan.groupby("shard")}
    tasks = [(s, groups[s]) for s in mine]
    todo_frames = sum(len(frames) for _, frames in tasks)
    processes = opts.processes or default_processes(pose, world)
    parts = split_shards(tasks, processes) if processes > 1 else []
    processes = max(1, min(processes, len(parts)))
    job = Job(source, opts, pose_options, parsing_options)
    timings = Timings()
    t0, cpu0 = time.perf_counter(), _cpu_seconds()
    with tqdm(
        total=todo_frames,
        desc=f"labelling (rank {rank})" if world > 1 else "labelling",
        unit="frame",
        smoothing=0.05,
    ) as bar:
        if processes > 1:
            timings = label_in_processes(job, parts, processes, bar)
        else:
            with ThreadPoolExecutor(opts.workers) as pool:
                for shard, frames in tasks:
                    label_and_write(job, shard, frames, (pose, parsing), pool, bar, timings)
    elapsed = time.perf_counter() - t0
    cpu_s = _cpu_seconds() - cpu0
    cpu = {
        "processes": processes,
        "cpu_s": round(cpu_s, 2),
        "cpu_per_wall": round(cpu_s / elapsed, 2),
    }
    barrier(info)
    if rank != 0:
        return {}
    return finish(opts.out, meta, todo_frames, elapsed, timings, cpu)


def finish(
    out: Path,
    meta: dict[str, Any],
    labelled: int,
    elapsed: float,
    timings: Timings,
    cpu: dict[str, Any],
) -> dict[str, Any]:
    """Mark the cache complete, write report.json and the automatic occlusion tags. ``cpu``:
    the labelling processes (rank 0), their CPU seconds and the cores they kept busy on
    average."""
    from occreid.pseudolabel.cache import LabelCache
    from occreid.pseudolabel.calibration import FILE_NAME, calibration_for, tags_calibration
    from occreid.pseudolabel.calibration_check import copy_check
    from occreid.pseudolabel.tagging import tag_occlusion

    missing = set(range(meta["shards"])) - finished_shards(out)
    if missing:
        raise OccreidError(f"{out}: shards {sorted(missing)[:5]} are missing; rerun with --resume")
    (out / "meta.json").write_text(json.dumps({**meta, "complete": True}, indent=2) + "\n")
    cache = LabelCache(out)
    bad = cache.index.loc[~cache.index["ok"], "path"].tolist()
    report = {
        "frames": len(cache.index),
        "labelled_this_run": labelled,
        "seconds_this_run": round(elapsed, 2),
        "frames_per_s": round(labelled / elapsed, 1) if elapsed > 0 else None,
        "time_share_rank0": timings.shares(),
        **cpu,
        "unreadable": len(bad),
        "unreadable_frames": bad,
    }
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    cal = calibration_for(out, cache.meta)
    tag_occlusion(cache, cal).to_csv(out / "occlusion.csv", index=False)
    cal.save(tags_calibration(out / "occlusion.csv"))
    copy_check(out / FILE_NAME, tags_calibration(out / "occlusion.csv"), set(cache.index["path"]))
    return report
