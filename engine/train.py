"""`occreid train`: the paper's training protocol (6.1), read top to bottom.

``train`` sets up (process group, data, model, Adam + step decay, logs), then runs
``train_one_epoch`` for each epoch, checkpoints every ``run.checkpoint_every`` epochs and at the
end, and evaluates every ``run.eval_every`` epochs. The schedule depends only on (seed, epoch):
the P x K draw and every augmentation come from seeds the sampler hands out, so ``--resume`` from
a checkpoint continues the same run bit for bit (tested on CPU).

RUN/ holds config.yaml (resolved), log.csv, tb/ and curves.png (every loss term),
checkpoints/last.pt (for --resume), model.pt (the final weights + config, for `occreid evaluate`)
and train.json.
"""

from __future__ import annotations

import csv
import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from occreid.common.distributed import Dist, barrier, quiet
from occreid.common.errors import OccreidError
from occreid.common.runtime import Runtime
from occreid.engine.checkpoint import (
    last_checkpoint,
    load_checkpoint,
    load_weights,
    save_checkpoint,
)
from occreid.engine.config import OptimConfig, TrainConfig, config_from_dict
from occreid.engine.data import (
    LabelArrays,
    SplitData,
    check_mode,
    load_split,
    split_labels,
    to_input,
    train_loader,
)
from occreid.engine.evaluate import evaluate
from occreid.engine.locator import LocatorError, mean_target
from occreid.engine.options import TrainOptions
from occreid.model.losses import WEIGHTS, rfc_losses
from occreid.model.partition import AdaptivePartitionUnit
from occreid.model.rfcnet import RFCNet, build_model

LOSS_TERMS = ("ce", "triplet", "keypoint", "foreground", "appearance", "position", "total")


@dataclass
class RunState:
    """Where the run stands: epochs finished and optimizer steps taken."""

    epoch: int = 0
    step: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)


class RunLog:
    """log.csv (one row per ``run.log_every`` iterations) and TensorBoard scalars, rank 0 only."""

    def __init__(self, out: Path, resume_step: int, enabled: bool) -> None:
        self.enabled = enabled
        if not enabled:
            return
        from torch.utils.tensorboard import SummaryWriter

        self.path = out / "log.csv"
        self.columns = ["epoch", "iteration", "step", "lr", *LOSS_TERMS, "clips_per_s"]
        rows = []
        if resume_step and self.path.is_file():  # drop what a killed run logged past its checkpoint
            with self.path.open() as fh:
                rows = [r for r in csv.DictReader(fh) if int(r["step"]) <= resume_step]
        with self.path.open("w", newline="") as fh:
            writer = csv.DictWriter(fh, self.columns)
            writer.writeheader()
            writer.writerows(rows)
        self.tb = SummaryWriter(str(out / "tb"), purge_step=resume_step or None)

    def row(self, values: dict[str, Any]) -> None:
        if not self.enabled:
            return
        with self.path.open("a", newline="") as fh:
            csv.DictWriter(fh, self.columns).writerow({c: values.get(c, "") for c in self.columns})
        for key in (*LOSS_TERMS, "lr", "clips_per_s"):
            if key in values:
                self.tb.add_scalar(f"train/{key}", values[key], values["step"])

    def scalars(self, prefix: str, values: dict[str, float], step: int) -> None:
        if self.enabled:
            for key, value in values.items():
                self.tb.add_scalar(f"{prefix}/{key}", value, step)

    def close(self) -> None:
        if self.enabled:
            self.tb.close()


def train_step(
    model: nn.Module,
    batch: dict[str, Any],
    opt: torch.optim.Optimizer,
    cfg: TrainConfig,
    rt: Runtime,
    locator: LocatorError | None = None,
) -> dict[str, torch.Tensor]:
    """One optimizer step on a loader batch: forward under the runtime's autocast (bf16 on GPU;
    no gradient scaler, bf16 keeps float32's range), eq. 13, backward, Adam. Returns the terms;
    ``locator`` adds the batch's key-point errors (before the step)."""
    device = rt.device
    x = to_input(batch["frames"], device, rt.channels_last)
    keypoints, masks = batch.get("keypoints"), batch.get("masks")
    with rt.autocast():
        out = model(x)
    if locator is not None and keypoints is not None:
        locator.update(out.aux, keypoints.flatten(0, 1))
    losses = rfc_losses(
        out,
        batch["pid"].to(device, non_blocking=True),
        cfg.loss,
        None if keypoints is None else keypoints.to(device, non_blocking=True),
        None if masks is None else masks.to(device, non_blocking=True).float(),
    )
    opt.zero_grad(set_to_none=True)
    losses["total"].backward()
    opt.step()
    return losses


def train_one_epoch(
    model: nn.Module,
    loader: Any,
    opt: torch.optim.Optimizer,
    cfg: TrainConfig,
    rt: Runtime,
    state: RunState,
    log: RunLog,
    locator: LocatorError | None = None,
) -> dict[str, float]:
    """One pass over the epoch's P x K batches; returns the epoch's mean of each loss term
    (``locator`` sums the key-point errors of every batch)."""
    model.train()
    iters = len(loader.batch_sampler)
    if cfg.data.iters_per_epoch:
        iters = min(iters, cfg.data.iters_per_epoch)
    sums: dict[str, float] = {}
    window: dict[str, float] = {}
    seen, done, t0 = 0, 0, time.perf_counter()
    bar = tqdm(
        total=iters,
        desc=f"epoch {state.epoch + 1}/{cfg.optim.epochs}",
        unit="it",
        **quiet(rt.dist),
        leave=False,
    )
    for i, batch in enumerate(loader):
        if i >= iters:
            break
        losses = train_step(model, batch, opt, cfg, rt, locator)
        state.step += 1
        done += 1
        seen += len(batch["pid"])
        values = {k: float(v.detach()) for k, v in losses.items()}
        for k, v in values.items():
            sums[k] = sums.get(k, 0.0) + v
            window[k] = window.get(k, 0.0) + v
        if (i + 1) % cfg.run.log_every == 0 or i + 1 == iters:
            n = (i % cfg.run.log_every) + 1
            speed = seen * rt.dist.world / (time.perf_counter() - t0)
            row = {k: v / n for k, v in window.items()}
            log.row(
                {
                    **row,
                    "epoch": state.epoch + 1,
                    "iteration": i + 1,
                    "step": state.step,
                    "lr": opt.param_groups[0]["lr"],
                    "clips_per_s": round(speed, 2),
                }
            )
            bar.set_postfix(loss=f"{row['total']:.3f}", clips_s=f"{speed:.1f}")
            window = {}
        bar.update()
    bar.close()
    return {k: v / max(done, 1) for k, v in sums.items()}


def _prepare_out(opts: TrainOptions, cfg: TrainConfig, dist: Dist) -> None:
    """Refuse to overwrite a run; on --resume the saved config must match the one given."""
    if opts.resume:
        saved = opts.out / "config.yaml"
        if not (last_checkpoint(opts.out)).is_file():
            raise OccreidError(f"{opts.out}: nothing to resume (no checkpoints/last.pt)")
        if saved.is_file():
            before = config_from_dict(yaml.safe_load(saved.read_text())).to_dict()
            changed = _diff(before, cfg.to_dict())
            if changed:
                raise OccreidError(
                    f"{opts.out}: --resume with a different config ({changed[0]}); "
                    "resume with the run's own config.yaml"
                )
        return
    if opts.out.exists() and any(opts.out.iterdir()):
        if not opts.overwrite:
            raise OccreidError(f"{opts.out}: exists; pass --overwrite to replace it or --resume")
        barrier(dist)
        if dist.main:
            shutil.rmtree(opts.out)
    barrier(dist)
    if dist.main:
        opts.out.mkdir(parents=True, exist_ok=True)
        (opts.out / "config.yaml").write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False))


def _diff(a: dict[str, Any], b: dict[str, Any], prefix: str = "") -> list[str]:
    """Keys whose values differ between two nested dicts, as 'a.b: x -> y'."""
    out = []
    for key in sorted(set(a) | set(b)):
        x, y = a.get(key), b.get(key)
        if isinstance(x, dict) and isinstance(y, dict):
            out += _diff(x, y, f"{prefix}{key}.")
        elif x != y:
            out.append(f"{prefix}{key}: {x!r} -> {y!r}")
    return out


def _labels(opts: TrainOptions, cfg: TrainConfig, split: SplitData) -> LabelArrays | None:
    """The training split's cached labels; without --labels the Lk and Lf terms are dropped."""
    needs = cfg.model.rfc_stages and (cfg.loss.keypoint or cfg.loss.foreground)
    if opts.labels is None:
        if needs:
            raise OccreidError(
                "this config trains Lk / Lf from cached labels: pass `--labels LABELS` (a cache "
                "made by occreid pseudolabel), or `--set loss.keypoint=0 --set loss.foreground=0`"
            )
        return None
    from occreid.pseudolabel.cache import LabelCache

    return split_labels(LabelCache(opts.labels), split)


def train(cfg: TrainConfig, opts: TrainOptions) -> dict[str, Any]:
    """Train a model from ``cfg`` on ``opts.dataset``; returns the summary written to train.json.

    A run that fails or is interrupted before its first checkpoint leaves no RUN folder behind,
    so the same command can simply be run again."""
    check_mode(cfg.data, opts.dataset)
    rt = Runtime.create(cfg.run.device, bf16=cfg.run.bf16, channels_last=cfg.run.channels_last)
    _prepare_out(opts, cfg, rt.dist)
    try:
        return _run(cfg, opts, rt)
    except BaseException:
        last = last_checkpoint(opts.out)
        if rt.dist.main and not opts.resume and not last.is_file():
            shutil.rmtree(opts.out, ignore_errors=True)  # nothing to resume: leave nothing
        raise


def _run(cfg: TrainConfig, opts: TrainOptions, rt: Runtime) -> dict[str, Any]:
    """Data, model and the epoch loop of ``train``, in a prepared RUN folder."""
    dist = rt.dist
    train_split = load_split(opts.dataset, "train", opts.source)
    labels = _labels(opts, cfg, train_split)
    data, sampler, num_classes = train_loader(train_split, cfg, labels, rt)
    model, opt, sched = build_training(cfg, num_classes, rt)
    state = RunState()
    last = last_checkpoint(opts.out)
    if opts.resume:
        ckpt = load_checkpoint(last)
        load_weights(model, ckpt, last)
        opt.load_state_dict(ckpt["optimizer"])
        sched.load_state_dict(ckpt["scheduler"])
        state = RunState(ckpt["epoch"], ckpt["step"], ckpt.get("history", []))
    net: nn.Module = model
    if dist.world > 1:
        ids = [rt.device.index] if rt.cuda else None
        # a term left out (no labels, or weight 0) leaves the modules only it trains unused
        unused = labels is None or not all(getattr(cfg.loss, w) for w in WEIGHTS)
        net = DistributedDataParallel(model, device_ids=ids, find_unused_parameters=unused)
    if cfg.run.compile:
        net = torch.compile(net)  # type: ignore[assignment]
    query = gallery = None
    if cfg.run.eval_every:
        query = load_split(opts.dataset, "query", opts.source)
        gallery = load_split(opts.dataset, "gallery", opts.source)
    log = RunLog(opts.out, state.step if opts.resume else 0, dist.main)
    mean = mean_target(labels.apu) if labels is not None else None
    t0 = time.perf_counter()
    for epoch in range(state.epoch, cfg.optim.epochs):
        state.epoch = epoch
        sampler.set_epoch(epoch)
        locator = LocatorError(mean) if mean is not None else None
        means = train_one_epoch(net, data, opt, cfg, rt, state, log, locator)
        sched.step()
        state.epoch = epoch + 1
        record: dict[str, Any] = {"epoch": epoch + 1, "step": state.step, **means}
        if locator is not None:
            record |= _locator_record(locator, rt, log, state.step)
        if cfg.run.eval_every and (
            state.epoch % cfg.run.eval_every == 0 or state.epoch == cfg.optim.epochs
        ):
            assert query is not None and gallery is not None
            metrics, _, _ = evaluate(model, query, gallery, cfg, rt)
            record.update(mAP=metrics["mAP"], rank1=metrics["rank1"])
            log.scalars("eval", {"mAP": metrics["mAP"], "rank1": metrics["rank1"]}, state.step)
        state.history.append(record)
        if dist.main and (
            state.epoch % cfg.run.checkpoint_every == 0 or state.epoch == cfg.optim.epochs
        ):
            resumable: dict[str, Any] = {"optimizer": opt.state_dict()}
            resumable |= {"scheduler": sched.state_dict()}
            resumable |= {"epoch": state.epoch, "step": state.step, "history": state.history}
            trained = _trained_locator(labels, state)
            save_checkpoint(last, {**_weights(cfg, model, num_classes, trained), **resumable})
        if dist.main:
            tqdm.write(_epoch_line(record, cfg.optim.epochs))
    log.close()
    seconds = time.perf_counter() - t0
    trained = _trained_locator(labels, state)
    summary = _finish(opts.out, cfg, model, num_classes, state, seconds, dist, trained)
    barrier(dist)
    return summary


def build_training(
    cfg: TrainConfig, num_classes: int, rt: Runtime
) -> tuple[RFCNet, torch.optim.Optimizer, torch.optim.lr_scheduler.StepLR]:
    """The seeded model placed by ``rt``, Adam and the step decay of paper 6.1."""
    torch.manual_seed(cfg.run.seed)
    model = rt.place(build_model(cfg.model, num_classes))
    opt = torch.optim.Adam(param_groups(model, cfg.optim), weight_decay=cfg.optim.weight_decay)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=cfg.optim.step, gamma=cfg.optim.gamma)
    return model, opt, sched


def param_groups(model: nn.Module, optim: OptimConfig) -> list[dict[str, Any]]:
    """Adam's groups: everything at ``optim.lr``, and, where the model has an APU and
    ``optim.locator_lr`` is not 1, its key-point locator at that multiple of it (weight decay
    alike; at 1 one group, as the paper and the checkpoints of before). The locator is a head built
    from scratch that Lk alone trains (its masks are detached), and Adam moves a parameter by
    about lr a step whatever Lk's weight: a short schedule leaves it at the prior
    (benchmarks/locator_toy.py)."""
    locator = [
        p for m in model.modules() if isinstance(m, AdaptivePartitionUnit) for p in m.parameters()
    ]
    if optim.locator_lr == 1 or not locator:
        return [{"params": list(model.parameters()), "lr": optim.lr}]
    taken = {id(p) for p in locator}
    rest = [p for p in model.parameters() if id(p) not in taken]
    return [
        {"params": rest, "lr": optim.lr},
        {"params": locator, "lr": optim.lr * optim.locator_lr},
    ]


def _weights(
    cfg: TrainConfig, model: RFCNet, num_classes: int, locator: dict[str, Any] | None = None
) -> dict[str, Any]:
    """What evaluate needs: the config as a plain dict, the class count, the weights, and what
    the locator was trained against (the mean training target, its last train error)."""
    out = {"config": cfg.to_dict(), "num_classes": num_classes, "model": model.state_dict()}
    return out | ({"locator": locator} if locator else {})


def _locator_record(locator: LocatorError, rt: Runtime, log: RunLog, step: int) -> dict[str, Any]:
    """The epoch's key-point error beside the mean-target error (all ranks), logged to tb."""
    locator.reduce(rt.dist, rt.device)
    result = locator.result()
    if not result:
        return {}
    scalars = {
        "train_error": result["error"],
        "train_mean_target_error": result["mean_target_error"],
    }
    log.scalars("locator", scalars, step)  # type: ignore[arg-type]
    return {"locator_train": result}


def _trained_locator(labels: LabelArrays | None, state: RunState) -> dict[str, Any] | None:
    """{mean_target, train: the last epoch's locator error, targets: how many frames had one},
    None when trained without labels."""
    if labels is None:
        return None
    last = state.history[-1].get("locator_train", {}) if state.history else {}
    with_target = int((~np.isnan(labels.apu[:, 0])).sum())
    targets = {"frames": len(labels.apu), "with_target": with_target}
    targets["not_a_body"] = labels.not_a_body
    return {"mean_target": mean_target(labels.apu), "train": last, "targets": targets}


def _epoch_line(record: dict[str, Any], epochs: int) -> str:
    terms = " ".join(f"{k} {record[k]:.3f}" for k in LOSS_TERMS if k in record)
    extra = f" | mAP {record['mAP']:.1%} rank-1 {record['rank1']:.1%}" if "mAP" in record else ""
    if kp := record.get("locator_train"):
        extra += f" | key points {kp['error']:.3f} vs mean target {kp['mean_target_error']:.3f}"
    return f"epoch {record['epoch']}/{epochs}: {terms}{extra}"


def _finish(
    out: Path,
    cfg: TrainConfig,
    model: RFCNet,
    num_classes: int,
    state: RunState,
    seconds: float,
    dist: Dist,
    locator: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write model.pt (weights + config) and train.json on rank 0."""
    summary = {
        "epochs": state.epoch,
        "steps": state.step,
        "seconds_this_session": round(seconds, 1),
        "num_classes": num_classes,
        "processes": dist.world,
        "history": state.history,
    }
    if locator:
        summary["locator"] = locator
    if dist.main:
        save_checkpoint(out / "model.pt", _weights(cfg, model, num_classes, locator))
        (out / "train.json").write_text(json.dumps(summary, indent=2) + "\n")
        from occreid.engine.visualize import loss_curves

        loss_curves({out.name: out}, out / "curves.png", LOSS_TERMS)
    return summary
