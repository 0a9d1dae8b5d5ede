"""Frames/s of `occreid pseudolabel` end to end (decode + inference + write) per backend pair,
with the share of time in each part; and what that means for the 927,268 DukeMTMC frames.

Targets: oracle >= 2,000 frames/s on a 2-core CPU; mmpose + mmseg on one H100 >= 520 frames/s.

    python benchmarks/pseudolabel_speed.py --json benchmarks/results/pseudolabel_speed.json
"""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import torch

from occreid.pseudolabel.runner import RunOptions, run

DUKE_FRAMES = 927_268


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
    parser.add_argument(
        "--oracle-only", action="store_true", help="Skip the model backends (the suite's --quick)."
    )
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    device = "cuda" if torch.cuda.is_available() else "cpu"
    results = {}
    print(f"{'backends':<20}{'device':>8}{'frames':>8}{'frames/s':>10}  time shares")
    pairs = [("oracle", "oracle")] if args.oracle_only else available_pairs()
    for pose, parsing in pairs:
        source = toy(args.work, args.ids if pose == "oracle" else args.slow_ids)
        out = args.work / f"labels-{pose}-{parsing}"
        shutil.rmtree(out, ignore_errors=True)
        report = run(
            RunOptions(
                root=source,
                out=out,
                pose=pose,
                parsing=parsing,
                device=device,
                batch_size=args.batch_size,
            )
        )
        fps = report["frames_per_s"]
        name = f"{pose}+{parsing}"
        results[name] = {
            "device": device if pose == "mmpose" else "cpu",
            "frames": report["frames"],
            "frames_per_s": fps,
            "time_share": report["time_share_rank0"],
            "duke_hours_at_this_rate": round(DUKE_FRAMES / fps / 3600, 2),
        }
        shares = ", ".join(f"{k} {v:.0%}" for k, v in report["time_share_rank0"].items())
        print(f"{name:<20}{results[name]['device']:>8}{report['frames']:>8}{fps:>10,.0f}  {shares}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
