"""Frames/s of `occreid pseudolabel` end to end (decode + inference + write) per backend pair,
with the share of time in each part, the processes and the CPU cores they kept busy; and what
that means for the 927,268 DukeMTMC frames.

mediapipe + keypoints is also run as it was before tracking and labelling processes (every
frame alone, one process), with tracking in one process, and with every miss retried with the
margin (before RETRY_MISSES), back to back with the default, so each lever is measured on the
same load; ``--repeats`` runs every variant that many times in
turn and reports the median and every run (with the machine's 1-minute load average at its
start: the cores may be shared).

Targets: oracle >= 2,000 frames/s on a 2-core CPU; mediapipe >= 80 frames/s on 2 cores (issue
20); mmpose + mmseg on one H100 >= 520 frames/s.

    python benchmarks/pseudolabel_speed.py --slow-ids 24 --repeats 3 \
        --json benchmarks/results/pseudolabel_speed.json
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import warnings
from pathlib import Path
from typing import Any

from _results import write_json

from occreid.pseudolabel.runner import RunOptions, run

DUKE_FRAMES = 927_268
# mediapipe + keypoints before each lever: (name, run options)
MEDIAPIPE_BEFORE = [
    ("mediapipe+keypoints, every frame alone, 1 process", {"tracking": False, "processes": 1}),
    ("mediapipe+keypoints, tracking, 1 process", {"processes": 1}),
    ("mediapipe+keypoints, every miss retried", {"pose_options": {"retry_misses": None}}),
]


def variants(pairs: list[tuple[str, str]]) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(name, pose, parsing, run options) of every run: each pair at its defaults, and
    mediapipe + keypoints before each lever."""
    out = [(f"{pose}+{parsing}", pose, parsing, {}) for pose, parsing in pairs]
    if ("mediapipe", "keypoints") in pairs:
        out += [(name, "mediapipe", "keypoints", o) for name, o in MEDIAPIPE_BEFORE]
    return out


def warm_up(pose: str, parsing: str) -> float:
    """Seconds a fresh interpreter takes to import the labelling modules (and build mediapipe's
    graphs), run (and not timed) before each measured run: this machine's host reclaims idle
    page cache, so without it a run's wall time counts reading the libraries from disk in every
    process it starts (3 s instead of 0.7 for the runner's imports), which varied the
    two-process rate by a third from run to run. On the real dataset that start-up is a few
    seconds of hours."""
    import subprocess
    import sys
    import time

    code = "from occreid.pseudolabel.runner import run\n"
    if "mediapipe" in (pose, parsing):  # its graphs read the models inside the wheel
        code += "from occreid.pseudolabel.backends import make_pose\nmake_pose('mediapipe')\n"
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    return round(time.perf_counter() - start, 2)


def summary(runs: list[dict[str, Any]], device: str) -> dict[str, Any]:
    """The median run's numbers, and every run's frames/s and load."""
    fps = [r["frames_per_s"] for r in runs]
    median = sorted(runs, key=lambda r: r["frames_per_s"])[len(runs) // 2]
    per_cpu_s = [round(r["frames"] / r["cpu_s"], 1) for r in runs]
    return {
        "device": device,
        "frames": median["frames"],
        "frames_per_s": round(statistics.median(fps), 1),
        "time_share": median["time_share_rank0"],
        "processes": median["processes"],
        "cpu_cores_busy": median["cpu_per_wall"],
        # contention-free: frames per CPU second, and that times the processes (the rate on as
        # many free cores, where each process keeps one core busy)
        "frames_per_cpu_s": statistics.median(per_cpu_s),
        "frames_per_s_on_free_cores": round(statistics.median(per_cpu_s) * median["processes"], 1),
        "duke_hours_at_this_rate": round(DUKE_FRAMES / statistics.median(fps) / 3600, 2),
        "frames_per_s_runs": fps,
        "frames_per_cpu_s_runs": per_cpu_s,
        "load_1min_at_start": [r["load"] for r in runs],
        "warm_up_s": [r["warm_up_s"] for r in runs],
    }


def main() -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from _toy import available_pairs, toy
    from _toy import parser as toy_parser

    parser = toy_parser(__doc__, "pseudolabel_speed")
    parser.add_argument("--ids", type=int, default=60, help="Toy identities for the oracle run.")
    parser.add_argument(
        "--slow-ids", type=int, default=6, help="Toy identities for model backends."
    )
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=1, help="Runs of every variant, in turn.")
    parser.add_argument(
        "--oracle-only", action="store_true", help="Skip the model backends (the suite's --quick)."
    )
    parser.add_argument(
        "--pairs",
        nargs="*",
        help="Only these pairs (e.g. mediapipe+keypoints); their entries replace those in --json.",
    )
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    import torch  # here, not at the top: spawned labelling processes re-import this module

    device = "cuda" if torch.cuda.is_available() else "cpu"
    runs: dict[str, list[dict[str, Any]]] = {}
    print(f"{'backends':<52}{'procs':>6}{'frames':>8}{'frames/s':>10}{'load':>6}  time shares")
    pairs = [("oracle", "oracle")] if args.oracle_only else available_pairs()
    if args.pairs:
        pairs = [p for p in pairs if "+".join(p) in args.pairs]
    for _ in range(args.repeats):
        for name, pose, parsing, options in variants(pairs):
            source = toy(args.work, args.ids if pose == "oracle" else args.slow_ids)
            out = args.work / f"labels-{pose}-{parsing}"
            shutil.rmtree(out, ignore_errors=True)
            warm = warm_up(pose, parsing)
            load = round(os.getloadavg()[0], 2)
            opts = RunOptions(
                root=source,
                out=out,
                pose=pose,
                parsing=parsing,
                device=device,
                batch_size=args.batch_size,
                **options,
            )
            report = {**run(opts), "load": load, "warm_up_s": warm}
            runs.setdefault(name, []).append(report)
            shares = ", ".join(f"{k} {v:.0%}" for k, v in report["time_share_rank0"].items())
            print(
                f"{name:<52}{report['processes']:>6}{report['frames']:>8}"
                f"{report['frames_per_s']:>10,.1f}{load:>6}  {shares}",
                flush=True,
            )
    results = {
        name: summary(r, device if name.startswith("mmpose") else "cpu") for name, r in runs.items()
    }
    for name, r in results.items():
        print(f"{name}: median {r['frames_per_s']} frames/s, runs {r['frames_per_s_runs']}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    if args.pairs and args.json.is_file():  # the other pairs' entries stay as measured
        results = {**json.loads(args.json.read_text()), **results}
    write_json(args.json, results)


if __name__ == "__main__":
    main()
