"""Does APU's key-point locator learn? Its key-point error beside the mean-target error on the toy.

The toy dataset (``occreid synth``, oracle labels: every target is the ground truth) trains the
demo's RFCnet (``configs/demo_rfcnet.yaml``, ResNet-18 from scratch) for ``--epochs``; training
logs the locator's error on every batch beside the error of always predicting the mean training
target (engine/locator.py), and `occreid evaluate --labels` measures both on the query and
gallery frames. A ratio (locator / mean target) well under 1 means the locator reads the frame.
Both are taken through the locator's grid (rows and columns of its block's map), per block.

``--seeds``: one run per seed (the toy and the training), in turn, and the mean and standard
deviation over them. ``grid_bound_test``: the best argmax locator on each block's grid.

``--probe-steps``: a fresh locator per block trained on the trained backbone's frozen features of
the train frames (Lk alone, Adam, no augmentation), measured on the test frames: whether the
features hold the key points, apart from how far the jointly trained locator got in its steps.
``--probe-of WORK/seedN`` probes a run kept by ``--work`` at each ``--probe-lr`` (with
``--probe-batch``, ``--probe-decay``, ``--probe-weight``), e.g. at the joint run's budget.

    python benchmarks/locator_toy.py --epochs 15 --seeds 0 1 2 --json results/locator_toy.json
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from _results import write_json
from _toy import toy_dataset
from torch import nn

from occreid.engine.checkpoint import model_from_checkpoint
from occreid.engine.config import load_config
from occreid.engine.data import load_split, read_frames, to_input
from occreid.engine.evaluate import evaluate_checkpoint
from occreid.engine.locator import LocatorError, gridded, locator_targets, mean_target
from occreid.engine.options import EvalOptions, TrainOptions
from occreid.engine.train import train
from occreid.model.losses import keypoint_loss
from occreid.model.partition import AdaptivePartitionUnit
from occreid.model.rfc_block import BlockAux
from occreid.occdata.synth import SynthConfig
from occreid.pseudolabel.cache import LabelCache


@torch.no_grad()
def block_inputs(
    checkpoint: Path, dataset: Path, labels: Path, splits: tuple[str, ...], cap: int
) -> tuple[list[torch.Tensor], np.ndarray]:
    """(each APU's input maps (N, C, h, w), targets (N, 4)) for up to ``cap`` frames of the
    splits, evenly spaced, with a target."""
    model, cfg = model_from_checkpoint(checkpoint)
    frames, paths, root = [], [], None
    for split in splits:
        data = load_split(dataset, split)
        root = data.root
        paths += data.frames["path"].tolist()
    targets = locator_targets(LabelCache(labels), paths)
    keep = np.flatnonzero(~np.isnan(targets[:, 0]))
    keep = keep[np.linspace(0, len(keep) - 1, min(cap, len(keep))).round().astype(int)]
    assert root is not None
    frames = read_frames(root, [paths[i] for i in keep], cfg.model.size)
    seen: dict[str, list[torch.Tensor]] = {}
    hooks = [
        block.partition.register_forward_hook(
            lambda _m, args, _o, key=key: seen.setdefault(key, []).append(args[0])
        )
        for key, block in model.blocks.items()
        if isinstance(getattr(block, "partition", None), AdaptivePartitionUnit)
    ]
    for start in range(0, len(frames), 256):
        model(to_input(torch.from_numpy(frames[start : start + 256])[:, None], torch.device("cpu")))
    for hook in hooks:
        hook.remove()
    return [torch.cat(v) for v in seen.values()], targets[keep]


@dataclass
class ProbeSetting:
    """How the fresh locators train: Adam steps, its rate and weight decay, batch, Lk's weight."""

    steps: int
    lr: float = 1e-3
    batch: int = 128
    decay: float = 0.0
    weight: float = 1.0


def probe(
    checkpoint: Path, dataset: Path, labels: Path, settings: list[ProbeSetting], cap: int = 2000
) -> list[dict[str, Any]]:
    """Per setting: fresh locators trained on frozen train features, measured on the train and
    the test frames."""
    train_maps, train_t = block_inputs(checkpoint, dataset, labels, ("train",), cap)
    test_maps, test_t = block_inputs(checkpoint, dataset, labels, ("query", "gallery"), cap)
    mean = mean_target(train_t)
    out = []
    for setting in settings:
        torch.manual_seed(0)
        results: dict[str, Any] = {**asdict(setting), "frames": [len(train_t), len(test_t)]}
        units = [fit_locator(maps, torch.from_numpy(train_t), setting) for maps in train_maps]
        for name, maps_list, t in (("train", train_maps, train_t), ("test", test_maps, test_t)):
            error = LocatorError(mean)
            with torch.no_grad():
                aux = [
                    BlockAux(u(m), None, None, None) for u, m in zip(units, maps_list, strict=True)
                ]
            error.update(aux, torch.from_numpy(t))
            results[name] = error.result()
        out.append(results)
    return out


def fit_locator(maps: torch.Tensor, targets: torch.Tensor, setting: ProbeSetting) -> nn.Module:
    """A fresh APU locator trained on the maps (N, C, h, w) alone, in eval mode."""
    unit = AdaptivePartitionUnit(maps.shape[1], maps.shape[2], maps.shape[3])
    opt = torch.optim.Adam(unit.parameters(), lr=setting.lr, weight_decay=setting.decay)
    gen = torch.Generator().manual_seed(0)
    for _ in range(setting.steps):
        batch = torch.randint(len(maps), (setting.batch,), generator=gen)
        loss = setting.weight * keypoint_loss(unit(maps[batch]).keypoint_logits, targets[batch])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return unit.eval()


def grid_bound(checkpoint: Path, dataset: Path, labels: Path) -> list[dict[str, Any]]:
    """Per APU block: what the best argmax locator reaches on the test frames (its error is that
    of the target taken through the block's grid), beside the mean target's, and their ratio."""
    model, _ = model_from_checkpoint(checkpoint)
    paths = [p for s in ("query", "gallery") for p in load_split(dataset, s).frames["path"]]
    t = torch.from_numpy(locator_targets(LabelCache(labels), paths))
    t = t[~torch.isnan(t).any(dim=1)]
    mean = t.new_tensor(mean_target(locator_targets(LabelCache(labels), train_paths(dataset))))
    out = []
    for m in model.modules():
        if isinstance(m, AdaptivePartitionUnit):
            best = (gridded(t, m.h, m.w) - t).abs().mean().item()
            base = (gridded(mean.expand_as(t), m.h, m.w) - t).abs().mean().item()
            ratio = round(best / base, 4)
            out.append({"grid": [m.h, m.w], "perfect": best, "mean_target": base, "ratio": ratio})
    return out


def train_paths(dataset: Path) -> list[str]:
    """The train split's frame paths."""
    return load_split(dataset, "train").frames["path"].tolist()


def run(
    work: Path, ids: int, seed: int, epochs: int, sets: list[str], probe_steps: int
) -> dict[str, Any]:
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
    bound = grid_bound(out / "model.pt", dataset, labels)
    settings = [ProbeSetting(probe_steps)]
    extra = {"probe": probe(out / "model.pt", dataset, labels, settings)[0]} if probe_steps else {}
    return {
        **extra,
        "ids": ids,
        "seed": seed,
        "epochs": epochs,
        "overrides": overrides,
        "input_size": cfg.model.input_size,
        "train_seconds": round(seconds, 1),
        "mAP": metrics["mAP"],
        "rank1": metrics["rank1"],
        "locator": metrics["locator"],
        "grid_bound_test": bound,
        "train_curve": curve,
    }


def report(result: dict[str, Any]) -> None:
    """Print one run: the training curve, the locator's and the probe's ratios."""
    print(f"seed {result['seed']}: mAP {result['mAP']:.4f}  rank-1 {result['rank1']:.4f}")
    for row in result["train_curve"]:
        print(
            f"epoch {row['epoch']:>3}  train {row['error']:.4f}  mean target "
            f"{row['mean_target_error']:.4f}"
        )
    for name in ("train", "test"):
        r = result["locator"][name]
        print(
            f"{name:>5}: locator {r['error']:.4f}  mean target {r['mean_target_error']:.4f}  "
            f"ratio {r['ratio']:.3f}  per block {r['per_block']}  "
            f"distinct {r['distinct_predictions']}"
        )
    for b in result.get("grid_bound_test", []):
        print(f"a perfect locator on the {b['grid']} grid: ratio {b['ratio']:.3f} (test)")
    for name in ("train", "test"):
        if r := result.get("probe", {}).get(name):
            print(
                f"probe {name:>5}: locator {r['error']:.4f}  mean target "
                f"{r['mean_target_error']:.4f}  ratio {r['ratio']:.3f}  per block {r['per_block']}"
            )


def block_ratios(r: dict[str, Any]) -> list[float]:
    """Per block: the locator's error / the mean target's."""
    return [e / m for e, m in zip(r["per_block"], r["per_block_mean_target"], strict=True)]


def over_seeds(runs: list[dict[str, Any]]) -> dict[str, tuple[float, float]]:
    """(mean, sample standard deviation) over the runs of mAP, rank-1, and per split the ratio
    overall, per block and the distinct predictions per block."""
    rows: dict[str, list[float]] = {
        "mAP": [r["mAP"] for r in runs],
        "rank1": [r["rank1"] for r in runs],
    }
    for split in ("train", "test"):
        loc = [r["locator"][split] for r in runs]
        rows[f"{split}.ratio"] = [r["ratio"] for r in loc]
        for b in range(len(loc[0]["per_block"])):
            rows[f"{split}.ratio.block{b}"] = [block_ratios(r)[b] for r in loc]
            rows[f"{split}.distinct.block{b}"] = [r["distinct_predictions"][b] for r in loc]
    for b in range(len(runs[0]["grid_bound_test"])):
        rows[f"test.perfect_locator_ratio.block{b}"] = [
            r["grid_bound_test"][b]["ratio"] for r in runs
        ]
    return {
        k: (round(float(np.mean(v)), 4), round(float(np.std(v, ddof=1)), 4))
        for k, v in rows.items()
    }


def probe_only(args: argparse.Namespace) -> None:
    """Probe a kept run (``--work`` of an earlier call) at each ``--probe-lr``."""
    (toy,) = args.probe_of.glob("toy-*")
    settings = [
        ProbeSetting(args.probe_steps, lr, args.probe_batch, args.probe_decay, args.probe_weight)
        for lr in args.probe_lr
    ]
    results = probe(args.probe_of / "run/model.pt", toy / "dataset", toy / "labels", settings)
    for r in results:
        for name in ("train", "test"):
            ratios = [round(b, 3) for b in block_ratios(r[name])]
            print(
                f"probe lr {r['lr']:g} {name:>5}: ratio {r[name]['ratio']:.3f}  per block "
                f"{ratios}  distinct {r[name]['distinct_predictions']}"
            )
    if args.json:
        write_json(args.json, {"run": str(args.probe_of), "probes": results})


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ids", type=int, default=60)
    p.add_argument("--seeds", type=int, nargs="+", default=[0], help="one run each, in turn")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--set", dest="sets", action="append", default=[], help="config overrides")
    p.add_argument("--probe-steps", type=int, default=1000, help="0: no frozen-feature probe")
    p.add_argument("--work", type=Path, help="keep the toy data and run here")
    p.add_argument("--probe-of", type=Path, help="probe the run of a --work/seedN folder only")
    p.add_argument("--probe-lr", type=float, nargs="+", default=[1e-3], help="one probe each")
    p.add_argument("--probe-batch", type=int, default=128)
    p.add_argument("--probe-decay", type=float, default=0.0, help="Adam's weight decay")
    p.add_argument("--probe-weight", type=float, default=1.0, help="Lk's weight")
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    warnings.filterwarnings("ignore", message="backbone trains from scratch")
    if args.probe_of:
        probe_only(args)
        return
    runs = []
    for seed in args.seeds:
        with tempfile.TemporaryDirectory() as tmp:
            work = args.work / f"seed{seed}" if args.work else Path(tmp)
            runs.append(run(work, args.ids, seed, args.epochs, args.sets, args.probe_steps))
        report(runs[-1])
    result = runs[0] if len(runs) == 1 else {"runs": runs, "over_seeds": over_seeds(runs)}
    if len(runs) > 1:
        for key, (mean, spread) in result["over_seeds"].items():
            print(f"{key:>32}: {mean:.4f} ± {spread:.4f}")
    if args.json:
        write_json(args.json, result)


if __name__ == "__main__":
    main()
