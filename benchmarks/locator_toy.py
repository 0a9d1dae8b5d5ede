"""Does APU's key-point locator learn? Its key-point error beside the mean-target error on the toy.

The toy dataset (``occreid synth``, oracle labels: every target is the ground truth) trains the
demo's RFCnet (``configs/demo_rfcnet.yaml``, ResNet-18 from scratch) for ``--epochs``; training
logs the locator's error on every batch beside the error of always predicting the mean training
target (engine/locator.py), and `occreid evaluate --labels` measures both on the query and
gallery frames. A ratio (locator / mean target) well under 1 means the locator reads the frame.
Both are taken through the locator's grid (rows and columns of its block's map), per block.

    python benchmarks/locator_toy.py --epochs 10 --json benchmarks/results/locator_toy.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from _toy import toy_dataset

from occreid.engine.config import load_config
from occreid.engine.evaluate import evaluate_checkpoint
from occreid.engine.options import EvalOptions, TrainOptions
from occreid.engine.train import train
from occreid.occdata.synth import SynthConfig


def run(work: Path, ids: int, seed: int, epochs: int, sets: list[str]) -> dict[str, Any]:
    """Train the demo RFCnet on the toy and evaluate its locator; the numbers of both."""
    dataset, labels = toy_dataset(work / f"toy-{ids}-{seed}", SynthConfig(ids=ids, seed=seed))
    step = max(1, round(epochs * 0.75))
    overrides = [f"optim.epochs={epochs}", f"optim.step={step}", f"run.seed={seed}", *sets]
    cfg = load_config("demo_rfcnet", overrides)
    out = work / "run"
    t0 = time.perf_counter()
    summary = train(cfg, TrainOptions(dataset=dataset, labels=labels, out=out, overwrite=True))
    seconds = time.perf_counter() - t0
    metrics = evaluate_checkpoint(
        EvalOptions(checkpoint=out / "model.pt", dataset=dataset, labels=labels, out=out / "eval")
    )
    curve = [
        {"epoch": r["epoch"], **{k: r["locator_train"][k] for k in ("error", "mean_target_error")}}
        for r in summary["history"]
    ]
    return {
        "ids": ids,
        "seed": seed,
        "epochs": epochs,
        "overrides": overrides,
        "input_size": cfg.model.input_size,
        "train_seconds": round(seconds, 1),
        "mAP": metrics["mAP"],
        "locator": metrics["locator"],
        "train_curve": curve,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ids", type=int, default=60)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--set", dest="sets", action="append", default=[], help="config overrides")
    p.add_argument("--work", type=Path, help="keep the toy data and run here")
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    warnings.filterwarnings("ignore", message="backbone trains from scratch")
    with tempfile.TemporaryDirectory() as tmp:
        result = run(args.work or Path(tmp), args.ids, args.seed, args.epochs, args.sets)
    for row in result["train_curve"]:
        print(
            f"epoch {row['epoch']:>3}  train {row['error']:.4f}  mean target "
            f"{row['mean_target_error']:.4f}"
        )
    for name in ("train", "test"):
        r = result["locator"][name]
        print(
            f"{name:>5}: locator {r['error']:.4f}  mean target {r['mean_target_error']:.4f}  "
            f"ratio {r['ratio']:.3f}  per block {r['per_block']}"
        )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
