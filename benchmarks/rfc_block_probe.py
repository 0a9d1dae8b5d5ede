"""Why the RFC blocks stay out of the toy RFCnet: train one RFCnet of ``toy_accuracy.py`` with a
change to how its blocks start or decay, and report what ``toy_analysis.py`` reports for the
blocks (projection BN |w|, mAP with the blocks and with them as the identity).

Variants (one-off probes, not options of ``occreid train``):
  as-is        the config as shipped (projection BN weight and bias start at 0, Adam's L2 on all)
  no-bn-decay  no weight decay on BN weights and biases (is the decay holding the BN at zero?)
  start-on     projection BN weight starts at 1 (do active blocks help at this budget?)

    python benchmarks/rfc_block_probe.py start-on --seed 0 --epochs 30
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import torch
from _results import strict_json, write_json

from occreid.engine import train as training
from occreid.engine.options import TrainOptions
from occreid.model import rfc_block
from occreid.occdata.synth import SynthConfig

VARIANTS = ("as-is", "no-bn-decay", "start-on")


def start_blocks_on() -> None:
    """Every RFC block built from now on starts with its projection BN weight at 1."""
    build = rfc_block.RFCBlock.__init__

    def init(self: rfc_block.RFCBlock, *args: Any, **kwargs: Any) -> None:
        build(self, *args, **kwargs)
        if hasattr(self, "expand"):
            torch.nn.init.ones_(self.expand[1].weight)

    rfc_block.RFCBlock.__init__ = init  # type: ignore[method-assign]


def no_decay_on_vectors() -> None:
    """Adam as train builds it, but without weight decay on 1-d parameters (BN, biases)."""
    adam = torch.optim.Adam

    def grouped(params: Any, lr: float, weight_decay: float) -> torch.optim.Adam:
        params = list(params)
        groups = [
            {"params": [p for p in params if p.ndim > 1], "weight_decay": weight_decay},
            {"params": [p for p in params if p.ndim <= 1], "weight_decay": 0.0},
        ]
        return adam(groups, lr=lr)

    training.torch.optim.Adam = grouped  # type: ignore[assignment,misc]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("variant", choices=VARIANTS)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--draws", type=int, default=5)
    p.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "occreid-toyacc")
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    warnings.filterwarnings("ignore", message="backbone trains from scratch")
    from _toy import query_draws, toy_dataset
    from toy_accuracy import toy_config
    from toy_analysis import blocks_as_identity

    dataset, labels = toy_dataset(args.work, SynthConfig(ids=60, seed=0))
    draws = query_draws(args.work, args.draws)
    if args.variant == "start-on":
        start_blocks_on()
    elif args.variant == "no-bn-decay":
        no_decay_on_vectors()
    out = args.work / "probe" / f"{args.variant}-{args.seed}"
    t = time.perf_counter()
    opts = TrainOptions(dataset=dataset, out=out, labels=labels, overwrite=True)
    training.train(toy_config("rfcnet", args.seed, args.epochs), opts)
    result = {"variant": args.variant, "seed": args.seed, "epochs": args.epochs}
    result |= blocks_as_identity(out / "model.pt", draws)
    result["s"] = round(time.perf_counter() - t, 1)
    print(strict_json(result), end="")
    if args.json:
        write_json(args.json, result)


if __name__ == "__main__":
    main()
