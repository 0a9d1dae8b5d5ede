"""Index + build-dataset at the real size of DukeMTMC-VideoReID (927,268 frames, 5,534 tracklets).

Makes a tree of empty JPEG-named files with the real split sizes (train 702 ids / 2,196 tracklets /
369,656 frames; query 702 / 702 / 111,848; gallery 1,110 / 2,636 / 445,764; tracklets 1 to 9,324
frames), an annotation CSV with occluded stretches per tracklet, then times the source index and
the whole `build-dataset`. Target: the whole build in under 60 s on a 2-core machine.

    python benchmarks/index_speed.py --json benchmarks/results/index_speed.json
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _results import write_json

from occreid.occdata.build import BuildOptions, build_dataset
from occreid.occdata.source_index import index_source

# split -> (identities, tracklets, frames); gallery identities beyond the query's are distractors
REAL = {
    "train": (702, 2196, 369_656),
    "query": (702, 702, 111_848),
    "gallery": (1110, 2636, 445_764),
}


def tracklet_lengths(n: int, total: int, rng: np.random.Generator) -> np.ndarray:
    """n lengths in [1, 9324] summing to total, long-tailed like the real data (mean ~168)."""
    raw = rng.lognormal(mean=4.7, sigma=0.8, size=n)
    lengths = np.clip(np.round(raw / raw.sum() * total), 1, 9324).astype(np.int64)
    lengths[-1] = 0
    lengths[-1] = total - lengths.sum()
    order = np.argsort(lengths)
    while lengths[-1] < 1:  # repair by taking from the longest
        lengths[order[-1]] -= 1
        lengths[-1] += 1
    return lengths


def make_tree(root: Path, rng: np.random.Generator) -> list[tuple[str, int, int]]:
    """Write the tree; returns (path, occlusion, persons) rows for the annotation CSV."""
    rows: list[tuple[str, int, int]] = []
    test_ids = np.arange(1, 703) + 1000
    for split, (_, n_trk, n_frames) in REAL.items():
        if split == "train":
            ids = np.arange(1, 703)
        elif split == "query":
            ids = test_ids
        else:
            ids = np.concatenate([test_ids, np.arange(1, 409) + 5000])
        owners = np.concatenate([ids, rng.choice(ids, n_trk - len(ids))])
        for t, (pid, length) in enumerate(
            zip(owners, tracklet_lengths(n_trk, n_frames, rng), strict=True)
        ):
            cam = int(rng.integers(1, 9))
            folder = root / split / f"{pid:04d}" / f"{t:04d}"
            folder.mkdir(parents=True, exist_ok=True)
            occluded = np.zeros(length, dtype=bool)
            if rng.random() < 0.6:
                a = int(rng.integers(0, length))
                occluded[a : a + int(rng.integers(1, length + 1))] = True
            labels = np.where(occluded, rng.integers(1, 11, length), 0)
            prefix = f"{split}/{pid:04d}/{t:04d}/"
            for i in range(length):
                name = f"{pid:04d}_C{cam}_F{i + 1:04d}_X{100000 + i}.jpg"
                os.close(os.open(folder / name, os.O_CREAT | os.O_WRONLY))
                rows.append((prefix + name, int(labels[i]), 1))
    return rows


def drop_page_cache() -> bool:
    """Ask the kernel to drop clean caches (root only) so the index reads a cold tree."""
    try:
        os.sync()
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    except OSError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/occreid-index-bench"))
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/index_speed.json"))
    parser.add_argument("--keep", action="store_true", help="Keep the tree for another run.")
    args = parser.parse_args()
    src, csv = args.work / "DukeMTMC-VideoReID", args.work / "annotations.csv"
    if not csv.is_file():
        t = time.perf_counter()
        rows = make_tree(src, np.random.default_rng(0))
        pd.DataFrame(rows, columns=["path", "occlusion", "persons"]).to_csv(csv, index=False)
        print(f"made {len(rows):,} files in {time.perf_counter() - t:.1f} s")
    cold = drop_page_cache()
    t = time.perf_counter()
    index = index_source(src)
    t_index = time.perf_counter() - t
    n = len(index.frames)
    out = args.work / "built"
    t = time.perf_counter()
    stats = build_dataset(BuildOptions(source=src, out=out, annotations=csv, overwrite=True))
    t_build = time.perf_counter() - t
    result = {
        "frames": n,
        "tracklets": int(index.frames["tracklet"].nunique()),
        "index_s": round(t_index, 2),
        "index_frames_per_s": round(n / t_index),
        "build_s": round(t_build, 2),
        "build_frames_per_s": round(n / t_build),
        "query": stats["table3"]["query"],
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "index_page_cache": "dropped before indexing" if cold else "warm",
    }
    print(f"{'stage':<16}{'seconds':>10}{'frames/s':>14}")
    print(f"{'index':<16}{t_index:>10.2f}{n / t_index:>14,.0f}")
    print(f"{'build-dataset':<16}{t_build:>10.2f}{n / t_build:>14,.0f}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    write_json(args.json, result)
    if not args.keep:
        shutil.rmtree(args.work)


if __name__ == "__main__":
    main()
