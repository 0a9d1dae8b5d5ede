"""Partition of a frame's feature map into regions: the Adaptive Partition Unit (paper 3.1) and
the fixed horizontal stripes of the no-key-points setting (Fig. 7).

Both return region masks ``M`` of shape (N, R, H, W) with values 0/1 (every pixel in exactly one
region) and the regions' position codes (N, R, 4) = (y centre, x centre, height, width), each a
fraction of the map size (paper 3.3, "Position Information").
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from occreid.model.config import APU_REGIONS


@dataclass
class Partition:
    """Region masks, position codes and, for APU, the key-point logits supervised by Lk."""

    masks: torch.Tensor
    positions: torch.Tensor
    keypoint_logits: list[torch.Tensor] | None = None


def position_codes(masks: torch.Tensor) -> torch.Tensor:
    """(N, R, H, W) binary masks -> (N, R, 4): centre y, centre x, height, width in [0, 1].

    Regions are axis-aligned boxes, so extents come from the rows / columns they touch; an empty
    region gets zeros. Centres, as eq. 6 says (README, "Where we depart from the paper or the
    authors' code").
    """
    _, _, h, w = masks.shape
    rows = masks.amax(dim=3)  # (N, R, H)
    cols = masks.amax(dim=2)  # (N, R, W)
    ys = torch.arange(h, device=masks.device, dtype=masks.dtype)
    xs = torch.arange(w, device=masks.device, dtype=masks.dtype)
    height = rows.sum(-1)
    width = cols.sum(-1)
    cy = (rows * ys).sum(-1) / height.clamp_min(1) + 0.5
    cx = (cols * xs).sum(-1) / width.clamp_min(1) + 0.5
    codes = torch.stack([cy / h, cx / w, height / h, width / w], dim=-1)
    return codes * (height > 0).unsqueeze(-1)


def region_masks(a: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """Eq. 1: key points (N, 4) = (a1, a2, a3 rows; a4 column) -> six masks (N, 6, H, W).

    R1 head h <= a1; R2 upper body a1 < h <= a2; R3 / R4 upper legs a2 < h <= a3 left / right of
    a4 (w <= a4 / w > a4); R5 / R6 lower legs h > a3, left / right.
    """
    hh = torch.arange(h, device=a.device).view(1, h, 1)
    ww = torch.arange(w, device=a.device).view(1, 1, w)
    a1, a2, a3, a4 = (a[:, i].view(-1, 1, 1) for i in range(4))
    left = ww <= a4
    upper_leg = (hh > a2) & (hh <= a3)
    lower_leg = hh > a3
    masks = [
        (hh <= a1).expand(-1, -1, w),
        ((hh > a1) & (hh <= a2)).expand(-1, -1, w),
        upper_leg & left,
        upper_leg & ~left,
        lower_leg & left,
        lower_leg & ~left,
    ]
    return torch.stack(masks, dim=1).float()


def repair_keypoints(a: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """Make argmax key points a valid partition: a1 < a2 < a3 < h - 1 and a4 < w - 1, so that
    every region keeps at least one row and column (the authors' code does the same)."""
    a1 = a[:, 0].clamp(0, h - 4)
    a2 = torch.maximum(a[:, 1], a1 + 1).clamp(max=h - 3)
    a3 = torch.maximum(a[:, 2], a2 + 1).clamp(max=h - 2)
    a4 = a[:, 3].clamp(0, w - 2)
    return torch.stack([a1, a2, a3, a4], dim=1)


class AdaptivePartitionUnit(nn.Module):
    """APU (3.1, Fig. 3b): a key-points locator predicts p1..p3 over rows and p4 over columns.

    1x1 conv reduction (C -> C/32) + BN + ReLU; the column-wise descriptor (mean over the width)
    feeds a linear layer giving the logits of a1, a2, a3 over the H rows; the row-wise descriptor
    (mean over the height) one giving a4 over the W columns. Key points are the argmax (repaired
    to a valid order), so the masks carry no gradient: the locator learns from Lk alone.
    """

    num_regions = APU_REGIONS

    def __init__(self, channels: int, height: int, width: int) -> None:
        super().__init__()
        reduced = max(1, channels // 32)
        self.h, self.w = height, width
        self.reduce = nn.Sequential(
            nn.Conv2d(channels, reduced, 1, bias=False),
            nn.BatchNorm2d(reduced),
            nn.ReLU(inplace=True),
        )
        self.vertical = nn.Linear(reduced * height, 3 * height)
        self.horizontal = nn.Linear(reduced * width, width)

    def forward(self, x: torch.Tensor) -> Partition:
        n, _, h, w = x.shape
        if (h, w) != (self.h, self.w):
            raise ValueError(f"APU built for a {self.h}x{self.w} map, got {h}x{w}")
        y = self.reduce(x)
        rows = self.vertical(y.mean(dim=3).flatten(1)).view(n, 3, h)
        cols = self.horizontal(y.mean(dim=2).flatten(1))
        logits = [rows[:, 0], rows[:, 1], rows[:, 2], cols]
        a = torch.stack([p.argmax(dim=1) for p in logits], dim=1)
        masks = region_masks(repair_keypoints(a, h, w), h, w).to(x.dtype)
        return Partition(masks, position_codes(masks), logits)


class FixedPartition(nn.Module):
    """n horizontal stripes of (near) equal height: the partition without key points (Fig. 7)."""

    def __init__(self, num_regions: int, height: int) -> None:
        super().__init__()
        if not 1 <= num_regions <= height:
            raise ValueError(f"cannot cut {height} rows into {num_regions} stripes")
        self.num_regions = num_regions
        edges = torch.linspace(0, height, num_regions + 1).round().long()
        stripe = torch.zeros(num_regions, height)
        for i in range(num_regions):
            stripe[i, edges[i] : edges[i + 1]] = 1
        self.stripes: torch.Tensor
        self.register_buffer("stripes", stripe, persistent=False)

    def forward(self, x: torch.Tensor) -> Partition:
        n, _, _, w = x.shape
        masks = self.stripes.to(x.dtype)[None, :, :, None].expand(n, -1, -1, w)
        return Partition(masks, position_codes(masks))
