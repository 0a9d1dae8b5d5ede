"""Temporal Region Feature Completion (paper 3.4, Fig. 6), at the stage's full width C.

For region i of frame t, the other frames' features of the same region are the memory:

    alpha_k = exp(o_t . o_k) / sum_{l != t} exp(o_t . o_l)     eq. 10 (k != t)
    v_t     = sum_{k != t} alpha_k o_k
    g_t     = sigmoid(relu(W) o_t + b)                         eq. 11 (W: C x C, kept >= 0)
    e_t     = g_t * o_t + (1 - g_t) * v_t

TRFC works on region-constant maps (N, C, H, W): the completed region features projected back
onto their regions (M^T o, eq. 12) at the stage's width. o is each region's mean of the map, the
attention runs per region, and the gate is a 1x1 conv over the map, as TCLNet's temporal module
applies its C x C weight; on a region-constant map that is eq. 11 per region. Both the width and
the per-position gate are what the paper's counts imply (README, "Where we depart from the paper
or the authors' code"; ``benchmarks/model_cost.py``). Foreground-weighted features of an
occluded region are small, so with W >= 0 its gate is low and it takes more from the other
frames. Any clip length works; a single frame passes through.
"""

from __future__ import annotations

import torch
from torch import nn

from occreid.model.foreground import region_features


def project(masks: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
    """Eq. 12's M^T e: region features e (N, R, D) onto their masks (N, R, H, W) -> (N, D, H, W)."""
    return torch.einsum("nrhw,nrd->ndhw", masks, e)


class TRFC(nn.Module):
    """Query-memory attention over frames, per region, with a non-negative C x C gate."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.gate = nn.Conv2d(channels, channels, 1)

    def gate_values(self, maps: torch.Tensor) -> torch.Tensor:
        """Eq. 11's g = sigmoid(relu(W) o + b) at every position of maps (N, C, H, W)."""
        weight = torch.relu(self.gate.weight)
        return torch.sigmoid(nn.functional.conv2d(maps, weight, self.gate.bias))

    @staticmethod
    def context(o: torch.Tensor) -> torch.Tensor:
        """Eq. 10: region features o (B, T, R, C) -> v (B, T, R, C) from the other frames."""
        t = o.shape[1]
        scores = torch.einsum("btrd,bsrd->brts", o, o).float()
        self_mask = torch.eye(t, dtype=torch.bool, device=o.device)
        alpha = torch.softmax(scores.masked_fill(self_mask, float("-inf")), dim=-1).to(o.dtype)
        return torch.einsum("brts,bsrd->btrd", alpha, o)

    def forward(self, maps: torch.Tensor, masks: torch.Tensor, frames: int) -> torch.Tensor:
        """maps (B*T, C, H, W), region masks (B*T, R, H, W), T = ``frames`` -> (B*T, C, H, W)."""
        if frames == 1:
            return maps
        o = region_features(maps, masks, None)
        n, r, c = o.shape
        v = self.context(o.view(n // frames, frames, r, c)).reshape(n, r, c)
        g = self.gate_values(maps)
        return g * maps + (1 - g) * project(masks, v)
