"""Pictures of a trained model (`occreid evaluate --visualize`):

- ``ranked_lists``: a query tracklet and its top gallery tracklets, green border = same
  identity, red = another (paper Fig. 16); gallery items the protocol ignores are skipped.
- ``partition_maps``: APU's six regions and the foreground map over frames (Fig. 8), with the
  cached key-point targets where labels are given.
- ``assignment_maps``: SRFC's region -> cluster assignment matrix per frame (Fig. 10).

And ``loss_curves``: the loss terms of one or more runs (their log.csv) against the step.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.patches import Rectangle

from occreid.engine.data import SplitData, read_frames, to_input
from occreid.engine.metrics import Embedded
from occreid.model.rfcnet import RFCNet

REGION_COLOURS = [matplotlib.colormaps["tab10"](i)[:3] for i in range(6)]


def middle_row(split: SplitData, index: int) -> int:
    """The frame-table row of the middle frame of tracklet ``index``."""
    t = split.tracklets.iloc[index]
    return int(t["start"] + t["length"] // 2)


def middle_frame(split: SplitData, index: int, size: tuple[int, int]) -> np.ndarray:
    """The middle frame of tracklet ``index`` as (H, W, 3) uint8."""
    path = split.frames["path"].iloc[middle_row(split, index)]
    return read_frames(split.root, [path], size)[0]


def ranked_lists(
    query: SplitData,
    gallery: SplitData,
    q: Embedded,
    g: Embedded,
    queries: list[int],
    out: Path,
    size: tuple[int, int],
    top: int = 10,
) -> Path:
    """One row per query: the query, then its ``top`` nearest valid gallery tracklets."""
    sims = (q.features[queries] @ g.features.t()).numpy()
    fig, axes = plt.subplots(
        len(queries), top + 1, figsize=(1.1 * (top + 1), 2.4 * len(queries)), squeeze=False
    )
    for r, qi in enumerate(queries):
        valid = ~((g.pids == q.pids[qi]) & (g.camids == q.camids[qi]))
        order = [int(i) for i in np.argsort(-sims[r], kind="stable") if valid[i]][:top]
        axes[r, 0].imshow(middle_frame(query, qi, size))
        axes[r, 0].set_title(f"query\nid {q.pids[qi]}", fontsize=7)
        for c, gi in enumerate(order, start=1):
            ax = axes[r, c]
            ax.imshow(middle_frame(gallery, gi, size))
            colour = "tab:green" if g.pids[gi] == q.pids[qi] else "tab:red"
            h, w = size
            ax.add_patch(Rectangle((0, 0), w - 1, h - 1, fill=False, lw=4, edgecolor=colour))
            ax.set_title(f"{c}: id {g.pids[gi]}\n{sims[r, gi]:.2f}", fontsize=7)
        for ax in axes[r]:
            ax.axis("off")
    fig.suptitle("Ranked lists (green: same identity, red: another)", fontsize=9)
    return _save(fig, out)


@torch.no_grad()
def _block_outputs(model: RFCNet, frames: np.ndarray) -> list:
    """Run frames (N, H, W, 3) as one-frame clips; the first RFC block's aux."""
    model.eval()
    x = to_input(torch.from_numpy(frames)[:, None], torch.device("cpu"))
    out = model(x)
    return out.aux


def locator_caption(locator: dict[str, Any] | None) -> str | None:
    """'key-point error train 0.041 / mean target 0.083 (0.49x); test ...' from metrics.json's
    ``locator`` (engine/locator.py), or None where it has none."""
    if not locator:
        return None
    parts = [
        f"{name} {r['error']:.3f} vs mean target {r['mean_target_error']:.3f} ({r['ratio']:.2f}x)"
        for name in ("train", "test")
        if (r := locator.get(name))
    ]
    return "key-point locator error: " + "; ".join(parts) if parts else None


def partition_maps(
    model: RFCNet,
    frames: np.ndarray,
    out: Path,
    targets: np.ndarray | None = None,
    caption: str | None = None,
) -> Path | None:
    """Frames with APU regions (colour bands) and the foreground map (heat) of the first block;
    ``targets`` (N, 4) are the cached APU fractions, drawn as dashed lines; ``caption`` (the
    locator's error beside the mean-target error) goes under the title."""
    aux = _block_outputs(model, frames)
    if not aux or aux[0].partition is None:
        return None
    masks = aux[0].partition.masks.float()
    fg = aux[0].foreground
    n, (h, w) = len(frames), frames.shape[1:3]
    up = torch.nn.functional.interpolate(masks, size=(h, w), mode="nearest").numpy()
    fig, axes = plt.subplots(2, n, figsize=(1.3 * n, 5.2), squeeze=False)
    for i in range(n):
        overlay = frames[i].astype(float) / 255
        for r in range(up.shape[1]):
            colour = np.array(REGION_COLOURS[r % len(REGION_COLOURS)])
            overlay = np.where(up[i, r][..., None] > 0, 0.55 * overlay + 0.45 * colour, overlay)
        axes[0, i].imshow(overlay)
        if targets is not None and not np.isnan(targets[i]).any():  # NaN: no pose found
            for y in targets[i, :3]:
                axes[0, i].axhline(y * h, color="white", ls="--", lw=0.8)
            axes[0, i].axvline(targets[i, 3] * w, color="white", ls="--", lw=0.8)
        axes[1, i].imshow(frames[i])
        if fg is not None:
            heat = torch.nn.functional.interpolate(fg.float(), size=(h, w), mode="bilinear")
            axes[1, i].imshow(heat[i, 0].numpy(), cmap="jet", alpha=0.5, vmin=0, vmax=1)
    for ax in axes.ravel():
        ax.axis("off")
    axes[0, 0].set_title("APU regions", fontsize=8, loc="left")
    axes[1, 0].set_title("foreground", fontsize=8, loc="left")
    if caption:
        fig.suptitle(caption, fontsize=7)
    return _save(fig, out)


def assignment_maps(model: RFCNet, frames: np.ndarray, out: Path) -> Path | None:
    """The SRFC assignment matrix (regions x clusters) of the first block, one panel per frame."""
    aux = _block_outputs(model, frames)
    if not aux or aux[0].srfc is None:
        return None
    s = aux[0].srfc.assignment.float().numpy()
    n = len(frames)
    fig, axes = plt.subplots(2, n, figsize=(1.3 * n, 4.6), squeeze=False)
    for i in range(n):
        axes[0, i].imshow(frames[i])
        axes[0, i].axis("off")
        axes[1, i].imshow(s[i], cmap="viridis", vmin=0, vmax=1, aspect="auto")
        axes[1, i].set_xticks(range(s.shape[2]))
        axes[1, i].set_yticks(range(s.shape[1]))
        axes[1, i].tick_params(labelsize=6)
    axes[1, 0].set_ylabel("region", fontsize=7)
    axes[1, 0].set_xlabel("cluster", fontsize=7)
    fig.suptitle("SRFC assignment: region -> cluster", fontsize=9)
    return _save(fig, out)


def loss_curves(runs: dict[str, Path], out: Path, terms: tuple[str, ...]) -> Path:
    """One panel per loss term, one line per run, from each run's log.csv (empty terms skipped)."""
    logs = {name: list(csv.DictReader((run / "log.csv").open())) for name, run in runs.items()}
    shown = [t for t in terms if any(rows and rows[0].get(t) for rows in logs.values())]
    fig, axes = plt.subplots(1, len(shown), figsize=(3.6 * len(shown), 3), squeeze=False)
    for name, rows in logs.items():
        steps = [int(r["step"]) for r in rows]
        for ax, term in zip(axes[0], shown, strict=True):
            if rows and rows[0].get(term):
                ax.plot(steps, [float(r[term]) for r in rows], label=name)
            ax.set_title(term, fontsize=9)
            ax.set_xlabel("step", fontsize=8)
    if len(runs) > 1:
        axes[0, 0].legend(fontsize=8)
    return _save(fig, out)


def _save(fig: plt.Figure, out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
