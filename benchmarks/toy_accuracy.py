"""Baseline vs SRFC vs RFCnet on the toy occluded benchmark: same budget, several seeds.

The toy dataset is the demo's (``occreid synth``, 60 identities; every query tracklet is
occluded by construction), labelled by the oracle backend so that the comparison is about the
model, not the labels. Each model trains from the demo config (ResNet-18 at 96 x 48 from
scratch) with ``--epochs`` and each seed; the table gives mean and spread of mAP and rank-1.

    python benchmarks/toy_accuracy.py --epochs 30 --seeds 0 1 2 \
        --json benchmarks/results/toy_accuracy.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from occreid.engine.config import load_config
from occreid.engine.evaluate import evaluate_checkpoint
from occreid.engine.train import TrainOptions, train
from occreid.occdata.synth import SynthConfig

MODELS = {
    "baseline": ["model.rfc_stages=[]", "model.temporal=false"],
    "srfc": ["model.rfc_stages=[2]", "model.temporal=false"],
    "rfcnet": [],
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    p.add_argument("--ids", type=int, default=60)
    p.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "occreid-toyacc")
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    warnings.filterwarnings("ignore", message="backbone trains from scratch")
    from _toy import toy_dataset

    dataset, labels = toy_dataset(args.work, SynthConfig(ids=args.ids, seed=0))
    step = max(1, round(args.epochs * 0.75))
    runs: dict[str, list[dict[str, float]]] = {m: [] for m in args.models}
    for seed in args.seeds:
        for name in args.models:
            sets = [*MODELS[name], f"run.seed={seed}", f"optim.epochs={args.epochs}"]
            cfg = load_config("demo_rfcnet.yaml", [*sets, f"optim.step={step}"])
            out = args.work / "runs" / f"{name}-{seed}"
            t = time.perf_counter()
            train(cfg, TrainOptions(dataset, out, labels=labels, overwrite=True))
            m = evaluate_checkpoint(out / "model.pt", dataset, out / "eval")
            runs[name].append(
                {"seed": seed, "mAP": m["mAP"], "rank1": m["rank1"], "s": time.perf_counter() - t}
            )
            print(f"{name} seed {seed}: mAP {m['mAP']:.1%} rank-1 {m['rank1']:.1%}", flush=True)
    summary = {}
    print(f"\n{'model':>10} {'mAP mean':>9} {'± std':>6} {'rank-1':>7} {'± std':>6}")
    for name, rows in runs.items():
        maps = np.array([r["mAP"] for r in rows])
        r1 = np.array([r["rank1"] for r in rows])
        summary[name] = {
            "mAP_mean": float(maps.mean()),
            "mAP_std": float(maps.std()),
            "rank1_mean": float(r1.mean()),
            "rank1_std": float(r1.std()),
            "runs": rows,
        }
        print(f"{name:>10} {maps.mean():9.1%} {maps.std():6.1%} {r1.mean():7.1%} {r1.std():6.1%}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        base = load_config("demo_rfcnet.yaml")
        meta = {"epochs": args.epochs, "seeds": args.seeds, "ids": args.ids, "labels": "oracle"}
        meta |= {"arch": base.model.arch, "input_size": list(base.model.input_size)}
        meta |= {"last_stride": base.model.last_stride, "lr": base.optim.lr, "step": step}
        args.json.write_text(json.dumps({**meta, "models": summary}, indent=2) + "\n")


if __name__ == "__main__":
    main()
