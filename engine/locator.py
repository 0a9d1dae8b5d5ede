"""Whether APU's key-points locator learns: its key-point error beside the mean-target error.

The locator (paper 3.1) predicts a1..a3 over the rows and a4 over the columns of its block's map,
trained by Lk (eq. 14). Its error here is the mean over the four key points of |predicted -
target|, as fractions of the image height (a1-a3) and width (a4); the prediction is the argmax
cell mapped back to a fraction, (index + 1) / size, the inverse of ``losses.keypoint_targets``.
The yardstick is the *mean-target error*: the error of always predicting the mean training target
(taken through the same grid), which a locator that ignores the image reaches. A ratio under 1
means the locator reads the frame; at 1 or above it has learned nothing measurable.

Targets: the cache's APU fractions, left out (NaN, as Lk leaves them out) where no pose was found
or where the skeleton is not a body (``pseudolabel.skeleton.is_body``: points bunched in a small
part of the box, levels out of order, impossible proportions): such a pose teaches nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from occreid.common.distributed import Dist, all_reduce_sum
from occreid.model.losses import keypoint_targets
from occreid.model.rfc_block import BlockAux
from occreid.pseudolabel.cache import LabelCache
from occreid.pseudolabel.skeleton import is_body


def body_targets(
    apu: np.ndarray, keypoints: np.ndarray, heights: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """((N, 4) float32 targets with NaN rows where the skeleton is not a body, (N,) bool frames
    whose target was dropped for that reason). ``apu`` (N, 4) from the cache (NaN: no pose)."""
    apu = apu.astype(np.float32)
    not_body = ~np.isnan(apu).any(axis=1) & ~is_body(keypoints, heights)
    apu[not_body] = np.nan
    return apu, not_body


def frame_heights(cache: LabelCache, paths: list[str]) -> np.ndarray:
    """(N,) each frame's height in pixels, as the cache recorded it (the box of its key points)."""
    return cache.index["height"].to_numpy()[pd.Index(cache.index["path"]).get_indexer(paths)]


def locator_targets(cache: LabelCache, paths: list[str]) -> np.ndarray:
    """(N, 4) float32 APU targets of ``paths`` as Lk takes them (NaN rows: none)."""
    got = cache.gather(paths)
    return body_targets(got["apu"], got["keypoints"], frame_heights(cache, paths))[0]


def mean_target(apu: np.ndarray) -> list[float]:
    """The mean training target (4,) over the frames that have one (0.5 where none has)."""
    valid = apu[~np.isnan(apu).any(axis=1)]
    return valid.mean(axis=0).tolist() if len(valid) else [0.5] * 4


def predicted_fractions(logits: list[torch.Tensor]) -> torch.Tensor:
    """(N, 4) key points as fractions: argmax cell (index + 1) / size, per key point."""
    return torch.stack([(p.argmax(dim=1) + 1).float() / p.shape[1] for p in logits], dim=1)


def gridded(fractions: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Fractions (N, 4) taken through the locator's grid (what it could predict at best)."""
    sizes = fractions.new_tensor([height, height, height, width])
    return (keypoint_targets(fractions, height, width).float() + 1) / sizes


@dataclass
class LocatorError:
    """Sums of the locator's and the mean target's absolute errors over the frames seen, per
    block (in the order of the model's RFC blocks with an APU), and which key-point tuples it
    predicted (a collapsed locator predicts one or a few whatever the frame). The sums stay on
    the model's device until ``result``: ``update`` runs on every training step and waits for
    nothing there."""

    mean: list[float]
    error: list[torch.Tensor] = field(default_factory=list)  # per block: [error, baseline, count]
    seen: list[torch.Tensor] = field(default_factory=list)  # per block: bool per key-point tuple

    @torch.no_grad()
    def update(self, aux: list[BlockAux], targets: torch.Tensor) -> None:
        """Add a batch: ``aux`` of a forward pass, ``targets`` (N, 4) fractions (NaN: none)."""
        logits = [a.partition.keypoint_logits for a in aux if a.partition is not None]
        for b, block in enumerate(lg for lg in logits if lg is not None):
            device = block[0].device
            sizes = [p.shape[1] for p in block]
            if b == len(self.error):
                self.error.append(torch.zeros(3, device=device))
                self.seen.append(torch.zeros(int(np.prod(sizes)), dtype=torch.bool, device=device))
            t = targets.to(device).float()
            valid = ~torch.isnan(t)
            mean = gridded(t.new_tensor(self.mean)[None].expand_as(t), sizes[0], sizes[3])
            code = torch.zeros(len(t), dtype=torch.long, device=device)
            for p, size in zip(block, sizes, strict=True):
                code = code * size + p.argmax(dim=1)
            self.seen[b][code] = True
            gap = (predicted_fractions(block) - t).abs()
            self.error[b] += torch.stack(
                [gap[valid].sum(), (mean - t).abs()[valid].sum(), valid.sum().float()]
            )

    def reduce(self, dist: Dist, device: torch.device) -> None:
        """Sum over the ranks (torchrun), so every rank reports the whole split."""
        if dist.world > 1 and self.error:
            sums = torch.stack(self.error).to(device)
            all_reduce_sum(sums, dist)
            self.error = list(sums.unbind())

    def result(self) -> dict[str, float | int | list[float]]:
        """{error, mean_target_error, ratio, targets, per_block (and its mean target),
        distinct_predictions}: means over key points and blocks (empty where the model has no
        APU or no frame had a target); distinct predictions are this rank's."""
        sums = torch.stack(self.error).cpu().double().numpy() if self.error else np.zeros((0, 3))
        error_sum, baseline_sum, count = sums.T
        if not count.sum():
            return {}
        per = (error_sum / np.maximum(count, 1)).tolist()
        base = (baseline_sum / np.maximum(count, 1)).tolist()
        error, baseline = float(np.mean(per)), float(np.mean(base))
        return {
            "error": round(error, 5),
            "mean_target_error": round(baseline, 5),
            "ratio": round(error / baseline, 4) if baseline else float("nan"),
            "targets": int(count[0] // 4),
            "per_block": [round(e, 5) for e in per],
            "per_block_mean_target": [round(e, 5) for e in base],
            "distinct_predictions": [int(seen.sum()) for seen in self.seen],
        }
