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

from occreid.common.distributed import all_reduce_sum, quiet
from occreid.common.runtime import Runtime
from occreid.engine.config import TrainConfig
from occreid.engine.data import SplitData, TestClips, loader, to_input
from occreid.engine.locator import LocatorError, locator_targets, mean_target
from occreid.engine.metrics import Embedded, rank_metrics
from occreid.engine.options import EvalOptions


@dataclass
class LocatorCheck:
    """Key-point targets (N, 4) of a split's frames (NaN: none) and the error sums they feed."""

    targets: np.ndarray
    error: LocatorError


@torch.no_grad()
def embed_split(
    model: nn.Module,
    split: SplitData,
    cfg: TrainConfig,
    rt: Runtime,
    desc: str = "embedding",
    locator: LocatorCheck | None = None,
) -> Embedded:
    """Average the clip embeddings of each tracklet of ``split`` (this rank's clips, summed over
    ranks); with ``locator``, add the key-point locator's errors on the same frames."""
    model.eval()
    clips = TestClips(split, cfg.data.test_clip_len, cfg.model.size)
    mine = Subset(clips, range(rt.dist.rank, len(clips), rt.dist.world))
    batches = loader(mine, cfg.data.workers, rt.cuda, batch_size=cfg.data.test_batch)
    n = len(split.tracklets)
    sums: torch.Tensor | None = None
    counts = torch.zeros(n, device=rt.device)
    for batch in tqdm(batches, desc=desc, unit="batch", **quiet(rt.dist), leave=False):
        x = to_input(batch["frames"], rt.device)
        with rt.autocast():
            out = model(x)
            emb = out.embedding.float()
            if cfg.data.test_flip:
                emb = emb + model(x.flip(-1)).embedding.float()
        if sums is None:
            sums = torch.zeros(n, emb.shape[1], device=rt.device)
        if locator is not None:
            rows = batch["rows"].flatten().numpy()
            targets = np.where(rows[:, None] >= 0, locator.targets[rows], np.nan)
            locator.error.update(out.aux, torch.from_numpy(targets))
        index = batch["tracklet"].to(rt.device)
        sums.index_add_(0, index, emb)
        counts.index_add_(0, index, torch.ones_like(index, dtype=counts.dtype))
    if sums is None:  # more ranks than clips: this rank saw none
        sums = torch.zeros(n, model_dim(model), device=rt.device)
    all_reduce_sum(sums, rt.dist)
    all_reduce_sum(counts, rt.dist)
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
    cfg: TrainConfig,
    rt: Runtime,
    locator: tuple[LocatorCheck, LocatorCheck] | None = None,
) -> tuple[dict[str, Any], Embedded, Embedded]:
    """Embed both splits and score the ranking; returns (metrics, query, gallery). With
    ``locator`` (``locator_checks``), metrics["locator_test"] holds the key-point locator's
    error beside the mean-target error over the query and gallery frames (engine/locator.py)."""
    q = embed_split(model, query, cfg, rt, "query", locator and locator[0])
    g = embed_split(model, gallery, cfg, rt, "gallery", locator and locator[1])
    metrics = retrieval_metrics(q, g)
    if locator is not None:
        locator[0].error.reduce(rt.dist, rt.device)
        metrics["locator_test"] = locator[0].error.result()
    return metrics, q, g


def locator_checks(
    labels: Path, query: SplitData, gallery: SplitData, mean: list[float]
) -> tuple[LocatorCheck, LocatorCheck]:
    """The cached key-point targets of the query's and the gallery's frames, feeding one error
    sum (``mean``: the mean training target, the yardstick's constant prediction)."""
    from occreid.pseudolabel.cache import LabelCache

    cache, error = LabelCache(labels), LocatorError(mean)
    return (
        LocatorCheck(locator_targets(cache, query.frames["path"].tolist()), error),
        LocatorCheck(locator_targets(cache, gallery.frames["path"].tolist()), error),
    )


def pick_queries(query: SplitData, count: int, seed: int = 0) -> list[int]:
    """``count`` query tracklets spread over the split (a seeded draw), for the pictures."""
    rng = np.random.default_rng(seed)
    count = min(count, len(query.tracklets))
    return sorted(rng.choice(len(query.tracklets), size=count, replace=False).tolist())


def evaluate_checkpoint(opts: EvalOptions) -> dict[str, Any]:
    """`occreid evaluate`: metrics.json (and pictures) for a checkpoint on a dataset's query and
    gallery; the test settings (clip length, flip) come from the checkpoint's config."""
    from occreid.engine.checkpoint import load_checkpoint, model_from_state
    from occreid.engine.data import check_mode, load_split

    state = load_checkpoint(opts.checkpoint)
    model, cfg = model_from_state(state, opts.checkpoint)
    check_mode(cfg.data, opts.dataset, opts.checkpoint)
    rt = Runtime.create(opts.device, bf16=cfg.run.bf16, channels_last=cfg.run.channels_last)
    query = load_split(opts.dataset, "query", opts.source)
    gallery = load_split(opts.dataset, "gallery", opts.source)
    model = rt.place(model)
    checks, trained = _locator_inputs(opts, state.get("locator"), query, gallery)
    metrics, q, g = evaluate(model, query, gallery, cfg, rt, checks)
    if trained is not None:
        test = metrics.pop("locator_test")
        mean_of = trained["mean_of"]
        metrics["locator"] = {"train": trained.get("train", {}), "test": test, "mean_of": mean_of}
    metrics = {"checkpoint": str(opts.checkpoint), "dataset": str(opts.dataset), **metrics}
    if not rt.dist.main:
        return metrics
    opts.out.mkdir(parents=True, exist_ok=True)
    (opts.out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    if opts.visualize:
        pictures = _pictures(
            model.cpu(), query, gallery, q, g, opts, cfg.model.size, metrics.get("locator")
        )
        metrics["pictures"] = [str(p) for p in pictures]
    return metrics


def _locator_inputs(
    opts: EvalOptions, saved: dict[str, Any] | None, query: SplitData, gallery: SplitData
) -> tuple[tuple[LocatorCheck, LocatorCheck] | None, dict[str, Any] | None]:
    """(the test frames' key-point targets, what the checkpoint knows of its locator
    (``saved``): the mean training target and its train error); both None without --labels. A
    checkpoint without a mean (trained without labels) is measured against the mean of the test
    targets, and says so in ``mean_of``."""
    if opts.labels is None:
        return None, None
    trained = dict(saved or {})
    trained["mean_of"] = "train targets" if "mean_target" in trained else "test targets"
    checks = locator_checks(opts.labels, query, gallery, trained.get("mean_target", [0.5] * 4))
    if "mean_target" not in trained:
        trained["mean_target"] = mean_target(np.concatenate([c.targets for c in checks]))
        checks[0].error.mean = trained["mean_target"]
    return checks, trained


def _pictures(
    model: nn.Module,
    query: SplitData,
    gallery: SplitData,
    q: Embedded,
    g: Embedded,
    opts: EvalOptions,
    size: tuple[int, int],
    locator: dict[str, Any] | None = None,
) -> list[Path]:
    """Fig. 16 ranked lists, Fig. 8 partition + foreground, Fig. 10 assignment matrices."""
    from occreid.engine.visualize import (
        assignment_maps,
        locator_caption,
        middle_frame,
        middle_row,
        partition_maps,
        ranked_lists,
    )

    out, labels = opts.out, opts.labels
    chosen = pick_queries(query, opts.queries)
    made = [ranked_lists(query, gallery, q, g, chosen, out / "ranked_lists.png", size)]
    frames = np.stack([middle_frame(query, i, size) for i in chosen])
    targets = None
    if labels is not None:
        from occreid.pseudolabel.cache import LabelCache

        rows = [middle_row(query, i) for i in chosen]
        paths = query.frames["path"].iloc[rows].tolist()
        targets = locator_targets(LabelCache(labels), paths)
    for picture in (
        partition_maps(model, frames, out / "partition.png", targets, locator_caption(locator)),
        assignment_maps(model, frames, out / "assignment.png"),
    ):
        if picture is not None:
            made.append(picture)
    return made
