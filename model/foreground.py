"""Foreground-guided region features (paper 3.2).

A 1x1 conv + BN + sigmoid gives the foreground probability map ``I`` (supervised by the person
mask through Lf, eq. 15). Region features follow eq. 2: the feature map averaged over each region
with weights ``M_i * I`` normalised to sum 1, so occluders (low ``I``) contribute little: the
paper's form, not the authors' code's (README, "Where we depart from the paper or the authors'
code").
"""

from __future__ import annotations

import torch
from torch import nn


class ForegroundMap(nn.Module):
    """(N, C, H, W) -> foreground probability (N, 1, H, W)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, 1, 1, bias=False)
        self.bn = nn.BatchNorm2d(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.bn(self.conv(x)))


def region_features(
    x: torch.Tensor, masks: torch.Tensor, foreground: torch.Tensor | None, eps: float = 1e-6
) -> torch.Tensor:
    """Eq. 2: x (N, D, H, W), masks (N, R, H, W), foreground (N, 1, H, W) or None -> (N, R, D).

    Without a foreground map every pixel of a region weighs the same (plain region mean). An
    empty region, or one whose foreground is all zero, gets a zero feature, never NaN.
    """
    weights = masks if foreground is None else masks * foreground
    total = weights.sum(dim=(2, 3), keepdim=True)
    weights = weights / total.clamp_min(eps)
    return torch.einsum("nrhw,ndhw->nrd", weights, x)
