"""The test protocol (paper 6.1, authors' TCLNet code): every query and gallery tracklet is cut
into clips of ``data.test_clip_len`` frames (the last loop-padded), the clips' BNNeck embeddings
are averaged per tracklet, L2-normalised, and compared by cosine distance; single-query mAP and
CMC follow ``metrics.rank_metrics`` (same identity and camera ignored, matchless queries skipped).

Under torchrun each rank embeds every world-th clip and the per-tracklet sums are all-reduced.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Subset
from tqdm import tqdm

from occreid.engine.config import DataConfig
from occreid.engine.data import SplitData, TestClips, loader, to_input
from occreid.engine.distributed import Dist, all_reduce_sum, quiet
from occreid.engine.metrics import rank_metrics


@dataclass
class Embedded:
    """One split's tracklet features (N, D), L2-normalised, with pids and camids."""

    features: torch.Tensor
    pids: np.ndarray
    camids: np.ndarray


def autocast(device: torch.device, bf16: bool) -> torch.autocast:
    """bf16 autocast on CUDA when asked; a disabled context elsewhere."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16 and device.type == "cuda")


@torch.no_grad()
def embed_split(
    model: nn.Module,
    split: SplitData,
    cfg: DataConfig,
    size: tuple[int, int],
    device: torch.device,
    bf16: bool = True,
    dist: Dist | None = None,
    desc: str = "embedding",
) -> Embedded:
    """Average the clip embeddings of each tracklet of ``split``."""
    dist = dist or Dist()
    model.eval()
    clips = TestClips(split, cfg.test_clip_len, size)
    mine = Subset(clips, range(dist.rank, len(clips), dist.world))
    batches = loader(mine, cfg.workers, device.type == "cuda", batch_size=cfg.test_batch)
    n = len(split.tracklets)
    sums: torch.Tensor | None = None
    counts = torch.zeros(n, device=device)
    for batch in tqdm(batches, desc=desc, unit="batch", **quiet(dist), leave=False):
        x = to_input(batch["frames"], device)
        with autocast(device, bf16):
            emb = model(x).embedding.float()
            if cfg.test_flip:
                emb = emb + model(x.flip(-1)).embedding.float()
        if sums is None:
            sums = torch.zeros(n, emb.shape[1], device=device)
        index = batch["tracklet"].to(device)
        sums.index_add_(0, index, emb)
        counts.index_add_(0, index, torch.ones_like(index, dtype=counts.dtype))
    if sums is None:  # more ranks than clips: this rank saw none
        sums = torch.zeros(n, model_dim(model), device=device)
    all_reduce_sum(sums, dist)
    all_reduce_sum(counts, dist)
    features = F.normalize(sums / counts.clamp_min(1)[:, None], dim=1)
    tracklets = split.tracklets
    pids, camids = tracklets["pid"].to_numpy(copy=True), tracklets["camid"].to_numpy(copy=True)
    return Embedded(features.cpu(), pids, camids)


def model_dim(model: nn.Module) -> int:
    inner = getattr(model, "module", model)
    return int(inner.feature_dim)  # type: ignore[arg-type]


def retrieval_metrics(query: Embedded, gallery: Embedded, max_rank: int = 50) -> dict[str, Any]:
    """mAP, rank-1/5/10 and the CMC curve for cosine distances between query and gallery."""
    dist = 1 - query.features @ gallery.features.t()
    result = rank_metrics(
        dist, query.pids, gallery.pids, query.camids, gallery.camids, max_rank=max_rank
    )
    cmc = result.cmc.tolist()
    return {
        "mAP": float(result.mAP),
        "rank1": cmc[0],
        "rank5": cmc[min(4, len(cmc) - 1)],
        "rank10": cmc[min(9, len(cmc) - 1)],
        "cmc": cmc,
        "queries": result.num_valid,
        "queries_skipped": result.num_skipped,
        "gallery": len(gallery.pids),
    }


def evaluate(
    model: nn.Module,
    query: SplitData,
    gallery: SplitData,
    cfg: DataConfig,
    size: tuple[int, int],
    device: torch.device,
    bf16: bool = True,
    dist: Dist | None = None,
) -> tuple[dict[str, Any], Embedded, Embedded]:
    """Embed both splits and score the ranking; returns (metrics, query, gallery)."""
    q = embed_split(model, query, cfg, size, device, bf16, dist, "query")
    g = embed_split(model, gallery, cfg, size, device, bf16, dist, "gallery")
    return retrieval_metrics(q, g), q, g


def pick_queries(query: SplitData, count: int, seed: int = 0) -> list[int]:
    """``count`` query tracklets spread over the split (a seeded draw), for the pictures."""
    rng = np.random.default_rng(seed)
    count = min(count, len(query.tracklets))
    return sorted(rng.choice(len(query.tracklets), size=count, replace=False).tolist())


def evaluate_checkpoint(
    checkpoint: Path,
    dataset: Path,
    out: Path,
    labels: Path | None = None,
    source: Path | None = None,
    visualize: bool = False,
    queries: int = 6,
    device_name: str = "auto",
) -> dict[str, Any]:
    """`occreid evaluate`: metrics.json (and pictures) for a checkpoint on a dataset's query and
    gallery; the test settings (clip length, flip) come from the checkpoint's config."""
    from occreid.engine.checkpoint import model_from_checkpoint
    from occreid.engine.data import load_split
    from occreid.engine.distributed import init_distributed
    from occreid.engine.train import pick_device, place_model

    model, cfg = model_from_checkpoint(checkpoint)
    dist = init_distributed(use_cuda=device_name != "cpu" and torch.cuda.is_available())
    device = pick_device(device_name, dist)
    size = (cfg.model.input_size[0], cfg.model.input_size[1])
    query = load_split(dataset, "query", source)
    gallery = load_split(dataset, "gallery", source)
    model = place_model(model, device, cfg.run.channels_last)
    metrics, q, g = evaluate(model, query, gallery, cfg.data, size, device, cfg.run.bf16, dist)
    metrics = {"checkpoint": str(checkpoint), "dataset": str(dataset), **metrics}
    if not dist.main:
        return metrics
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    if visualize:
        metrics["pictures"] = [
            str(p) for p in _pictures(model.cpu(), query, gallery, q, g, out, size, labels, queries)
        ]
    return metrics


def _pictures(
    model: nn.Module,
    query: SplitData,
    gallery: SplitData,
    q: Embedded,
    g: Embedded,
    out: Path,
    size: tuple[int, int],
    labels: Path | None,
    count: int,
) -> list[Path]:
    """Fig. 16 ranked lists, Fig. 8 partition + foreground, Fig. 10 assignment matrices."""
    from occreid.engine.visualize import (
        assignment_maps,
        middle_frame,
        middle_row,
        partition_maps,
        ranked_lists,
    )

    chosen = pick_queries(query, count)
    made = [ranked_lists(query, gallery, q, g, chosen, out / "ranked_lists.png", size)]
    frames = np.stack([middle_frame(query, i, size) for i in chosen])
    targets = None
    if labels is not None:
        from occreid.pseudolabel.cache import LabelCache

        rows = [middle_row(query, i) for i in chosen]
        paths = query.frames["path"].iloc[rows].tolist()
        targets = LabelCache(labels).gather(paths)["apu"].astype(np.float32)
    for picture in (
        partition_maps(model, frames, out / "partition.png", targets),
        assignment_maps(model, frames, out / "assignment.png"),
    ):
        if picture is not None:
            made.append(picture)
    return made
