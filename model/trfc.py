"""Temporal Region Feature Completion (paper 3.4, Fig. 6).

For region i of frame t, the other frames' features of the same region are the memory:

    alpha_k = exp(o_t . o_k) / sum_{l != t} exp(o_t . o_l)     eq. 10 (k != t)
    v_t     = sum_{k != t} alpha_k o_k
    g_t     = sigmoid(relu(W) o_t + b)                         eq. 11 (W kept non-negative)
    e_t     = g_t * o_t + (1 - g_t) * v_t

Foreground-weighted features of an occluded region are small, so with W >= 0 its gate is low and
it takes more from the other frames. Any clip length works; a single frame passes through.
"""

from __future__ import annotations

import torch
from torch import nn


class TRFC(nn.Module):
    """Query-memory attention over frames, per region, with a non-negative gate."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.gate = nn.Linear(dim, dim)

    def gate_values(self, o: torch.Tensor) -> torch.Tensor:
        """g = sigmoid(relu(W) o + b) for features o (..., D)."""
        return torch.sigmoid(nn.functional.linear(o, torch.relu(self.gate.weight), self.gate.bias))

    def forward(self, o: torch.Tensor) -> torch.Tensor:
        """o (B, T, R, D) -> e (B, T, R, D)."""
        t = o.shape[1]
        if t == 1:
            return o
        scores = torch.einsum("btrd,bsrd->brts", o, o).float()
        self_mask = torch.eye(t, dtype=torch.bool, device=o.device)
        alpha = torch.softmax(scores.masked_fill(self_mask, float("-inf")), dim=-1).to(o.dtype)
        context = torch.einsum("brts,bsrd->btrd", alpha, o)
        g = self.gate_values(o)
        return g * o + (1 - g) * context
