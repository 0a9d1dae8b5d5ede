"""Training throughput: RFCnet vs the baseline (same run), the loader alone, and the 150-epoch
projection for Occluded-DukeMTMC-VideoReID.

1. loader: frames/s of the real training loader (OpenCV decode + resize + joint augmentation +
   labels) over a toy dataset whose frames are written at Duke's size, with ``--workers``.
2. step: clips/s of a full training step (forward, eq. 13 losses, backward, Adam) on in-memory
   batches, for the baseline and RFCnet from the same config, set up as train does (bf16 on
   CUDA, channels_last); the RFC overhead is the step-time ratio.
3. fed: the same RFCnet steps fed by the real loader; busy = step time on memory / step time
   when fed (1.0: the loader never starves the device). GPU utilisation from NVML when present.
4. projection: iterations of one epoch of the real train split (292,343 frames in 1,702
   tracklets, cut into 32-frame chunks, P x K = 8 x 4), x150 epochs, x the fed step time.

    python benchmarks/train_speed.py --device cuda --iters 300   # the issue's GPU run
    python benchmarks/train_speed.py --device cpu --iters 4 --size 128 64 --arch resnet18
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import torch
from _results import write_json

from occreid.common.runtime import DEFAULT_DEVICE, DEVICE_HELP, Runtime
from occreid.engine.config import load_config
from occreid.engine.data import load_split, split_labels, train_loader
from occreid.engine.train import build_training, train_step
from occreid.occdata.synth import SynthConfig
from occreid.pseudolabel.cache import LabelCache

DUKE_TRAIN = {"frames": 292_343, "tracklets": 1_702}  # paper Table 3 (Occluded-Duke-Video train)


def fake_batch(cfg: Any, device: torch.device) -> dict[str, torch.Tensor]:
    """An in-memory batch of the config's shape (frames, pids, labels)."""
    b, t = cfg.data.ids_per_batch * cfg.data.instances, cfg.data.clip_len
    h, w = cfg.model.input_size
    return {
        "frames": torch.randint(0, 255, (b, t, h, w, 3), dtype=torch.uint8, device=device),
        "pid": torch.arange(cfg.data.ids_per_batch, device=device).repeat_interleave(
            cfg.data.instances
        ),
        "keypoints": torch.rand(b, t, 4, device=device),
        "masks": (torch.rand(b, t, 64, 32, device=device) > 0.5).float(),
    }


def step_fn(cfg: Any, model: torch.nn.Module, opt: torch.optim.Optimizer, rt: Runtime):
    """The training step of `occreid train`, on one in-memory batch."""

    def step(batch: dict[str, torch.Tensor]) -> None:
        train_step(model, batch, opt, cfg, rt)

    return step


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def time_steps(step, batches, iters: int, warmup: int, device: torch.device) -> float:
    """Seconds per step after ``warmup`` steps; ``batches`` is an iterator of batches."""
    for _ in range(warmup):
        step(next(batches))
    sync(device)
    t = time.perf_counter()
    for _ in range(iters):
        step(next(batches))
    sync(device)
    return (time.perf_counter() - t) / iters


def gpu_utilisation() -> float | None:
    try:
        return float(torch.cuda.utilization())
    except Exception:  # no NVML here
        return None


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default="rfcnet_video.yaml")
    p.add_argument("--device", default=DEFAULT_DEVICE, help=DEVICE_HELP)
    p.add_argument("--iters", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--workers", type=int, default=4)
    p.add_argument("--arch", help="Override the backbone (e.g. resnet18 for a quick CPU run).")
    p.add_argument("--size", type=int, nargs=2, help="Override input H W.")
    p.add_argument("--frame-height", type=int, default=256, help="Toy frames' height on disk.")
    p.add_argument("--compile", action="store_true")
    p.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "occreid-trainbench")
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    warnings.filterwarnings("ignore", message="backbone trains from scratch")
    sets = ["model.pretrained=none", f"data.workers={args.workers}", f"run.compile={args.compile}"]
    if args.arch:
        sets.append(f"model.arch={args.arch}")
    if args.size:
        sets.append(f"model.input_size=[{args.size[0]},{args.size[1]}]")
    cfg = load_config(args.config, sets)
    base_cfg = load_config(args.config, [*sets, "model.rfc_stages=[]", "model.temporal=false"])
    rt = Runtime.create(args.device, bf16=cfg.run.bf16, channels_last=cfg.run.channels_last)
    device = rt.device
    torch.backends.cudnn.benchmark = True
    size = cfg.model.size
    result: dict[str, Any] = {
        "device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
        "config": args.config,
        "arch": cfg.model.arch,
        "input": list(size),
        "batch_clips": cfg.data.ids_per_batch * cfg.data.instances,
        "clip_len": cfg.data.clip_len,
        "workers": args.workers,
    }

    from _toy import toy_dataset

    toy = SynthConfig(ids=40, seed=0, height=args.frame_height, width=args.frame_height // 2)
    ds, labels = toy_dataset(args.work / f"toy-{args.frame_height}", toy)
    split = load_split(ds, "train")
    loader, sampler, classes = train_loader(split, cfg, split_labels(LabelCache(labels), split), rt)

    def endless():
        epoch = 0
        while True:
            sampler.set_epoch(epoch)
            yield from loader
            epoch += 1

    feed = endless()
    frames, t = 0, time.perf_counter()
    for _ in range(max(args.iters, 10)):
        frames += next(feed)["frames"].shape[0] * cfg.data.clip_len
    result["loader_frames_per_s"] = round(frames / (time.perf_counter() - t), 1)

    for name, c in (("baseline", base_cfg), ("rfcnet", cfg)):
        model, opt, _ = build_training(c, classes, rt)
        if c.run.compile:
            model = torch.compile(model)
        step = step_fn(c, model, opt, rt)
        batch = fake_batch(c, device)
        s = time_steps(step, iter(lambda b=batch: b, None), args.iters, args.warmup, device)
        result[f"{name}_step_s"] = round(s, 4)
        result[f"{name}_clips_per_s"] = round(result["batch_clips"] / s, 1)
        if name == "rfcnet":
            fed = time_steps(step, feed, args.iters, args.warmup, device)
            result["rfcnet_fed_step_s"] = round(fed, 4)
            result["busy_fraction"] = round(min(1.0, s / fed), 3)
            result["gpu_utilisation_pct"] = gpu_utilisation() if device.type == "cuda" else None
        del model, opt
    result["rfc_overhead"] = round(result["rfcnet_step_s"] / result["baseline_step_s"] - 1, 4)
    units = DUKE_TRAIN["frames"] / cfg.data.chunk if cfg.data.chunk else DUKE_TRAIN["tracklets"]
    iters_epoch = int(units // result["batch_clips"])
    result["duke_iters_per_epoch"] = iters_epoch
    result["projected_minutes"] = round(
        iters_epoch * cfg.optim.epochs * result["rfcnet_fed_step_s"] / 60, 1
    )
    for key, value in result.items():
        print(f"{key:>24}: {value}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        write_json(args.json, result)


if __name__ == "__main__":
    main()
