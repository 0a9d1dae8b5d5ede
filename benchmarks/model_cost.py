"""Parameters, GFLOPs and training-step time of RFCnet variants beside the paper's Tables 8-9.

Counts backbone + RFC blocks (head excluded, as in the paper's 23.5M). FLOPs come from
torch.utils.flop_counter, which counts a multiply-add as 2; the paper's "GFLOPs" are
multiply-adds (ResNet-50 at 256x128 with last stride 1: 4.06), so the table prints GMACs.
Step time: forward + backward of a batch, each variant in the same run, relative to the baseline.
The video rows (Table 9) are what fixes TRFC's width: S-T-RFC, RFC (stage 3) and RFCnet each fit
a C x C gate over the map at each block (README, "Where we depart from the paper or the authors'
code"); only the TRFC-only row does not (its count is that of a block with a narrow or no gate).

    python benchmarks/model_cost.py --json benchmarks/results/model_cost.json [--device cuda]
"""

from __future__ import annotations

import argparse
import time
import warnings
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import torch
from _results import write_json
from torch.utils.flop_counter import FlopCounterMode

from occreid.model import LossConfig, ModelConfig, build_model, rfc_losses

VARIANTS: dict[str, dict[str, Any]] = {
    "baseline": {"rfc_stages": []},
    "srfc_stage2": {"rfc_stages": [2], "temporal": False},
    "rfcnet_image": {"temporal": False},
    "trfc_stage2": {"rfc_stages": [2], "spatial": "off"},
    "s_t_rfc_stage2": {"rfc_stages": [2]},
    "rfc_stage3": {"rfc_stages": [3]},
    "rfcnet": {},
}
# Tables 8 (image) and 9 (video, four-frame clip): params (M), GFLOPs (multiply-adds)
PAPER = {
    "baseline": {"params_m": 23.5, "gflops_image": 4.06, "gflops_clip4": 16.24},
    "srfc_stage2": {"params_m": 23.9, "gflops_image": 4.20, "gflops_clip4": 16.81},
    "rfcnet_image": {"params_m": 25.6, "gflops_image": 4.34},
    "trfc_stage2": {"params_m": 23.8, "gflops_clip4": 16.80},
    "s_t_rfc_stage2": {"params_m": 24.2, "gflops_clip4": 17.35},
    "rfc_stage3": {"params_m": 26.2, "gflops_clip4": 17.36},
    "rfcnet": {"params_m": 26.9, "gflops_clip4": 18.47},
}


def count(model: torch.nn.Module, frames: int, device: str) -> float:
    """GMACs of one clip of ``frames`` 256x128 frames."""
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model(torch.randn(1, frames, 3, 256, 128, device=device))
    return counter.get_total_flops() / 2e9


def step_time(model: torch.nn.Module, batch: int, frames: int, device: str, iters: int) -> float:
    """Seconds per forward + backward + optimizer step (bf16 autocast on CUDA)."""
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    clips = torch.randn(batch, frames, 3, 256, 128, device=device)
    pids = torch.arange(batch, device=device) // 4
    kps = torch.tensor([0.23, 0.5, 0.7, 0.5], device=device).expand(batch, frames, 4)
    masks = torch.ones(batch, frames, 64, 32, device=device)
    autocast = torch.autocast("cuda", torch.bfloat16) if device == "cuda" else nullcontext()
    times = []
    for i in range(iters + 1):
        if device == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        with autocast:
            loss = rfc_losses(model(clips), pids, LossConfig(), kps, masks)["total"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if device == "cuda":
            torch.cuda.synchronize()
        if i:  # the first step warms up
            times.append(time.perf_counter() - t)
    return sorted(times)[len(times) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument(
        "--batch", type=int, default=None, help="Clips per step (default 8 CPU, 32 GPU)."
    )
    parser.add_argument("--frames", type=int, default=4)
    parser.add_argument("--iters", type=int, default=3, help="timed steps (0: counts only)")
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/model_cost.json"))
    args = parser.parse_args()
    batch = args.batch or (32 if args.device == "cuda" else 8)
    warnings.simplefilter("ignore")
    results: dict[str, Any] = {}
    for name, overrides in VARIANTS.items():
        cfg = ModelConfig(**{"pretrained": "none", **overrides})
        model = build_model(cfg, num_classes=702).to(args.device)
        model.eval()
        params = sum(
            p.numel() for n, p in model.named_parameters() if n.startswith(("backbone.", "blocks."))
        )
        results[name] = {
            "params": params,
            "gflops_image": round(count(model, 1, args.device), 3),
            "gflops_clip4": round(count(model, 4, args.device), 3),
            "step_s": (
                round(step_time(model, batch, args.frames, args.device, args.iters), 4)
                if args.iters
                else None
            ),
        }
    base = results["baseline"]
    for r in results.values():
        r["params_overhead"] = round(r["params"] / base["params"] - 1, 4)
        r["flops_overhead_image"] = round(r["gflops_image"] / base["gflops_image"] - 1, 4)
        r["step_overhead"] = round(r["step_s"] / base["step_s"] - 1, 4) if args.iters else None
    header = (
        f"{'variant':<16}{'params M':>10}{'paper':>7}{'GMAC img':>10}{'paper':>7}"
        f"{'GMAC clip4':>12}{'paper':>7}{'step s':>9}{'vs base':>9}"
    )
    print(f"device {args.device}, step = {batch} clips x {args.frames} frames, 256x128")
    print(header)
    for name, r in results.items():
        p = PAPER[name]
        print(
            f"{name:<16}{r['params'] / 1e6:>10.2f}{p.get('params_m', float('nan')):>7.1f}"
            f"{r['gflops_image']:>10.2f}{p.get('gflops_image', float('nan')):>7.2f}"
            f"{r['gflops_clip4']:>12.2f}{p.get('gflops_clip4', float('nan')):>7.2f}"
            + (f"{r['step_s']:>9.3f}{r['step_overhead']:>+9.1%}" if args.iters else "")
        )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    write_json(
        args.json,
        {"device": args.device, "batch": batch, "frames": args.frames, "paper": PAPER, **results},
    )


if __name__ == "__main__":
    main()
