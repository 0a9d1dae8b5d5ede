"""Spatial Region Feature Completion (paper 3.3, Figs. 4-5).

Region features f (N, R, D) are encoded into K clusters and decoded back, so that an occluded
region borrows from the regions it is assigned with:

    S^A = softmax(W_a f)                       eq. 3   appearance assignment (rows sum to 1)
    S^P = softmax(W_2 relu(W_1 L))             eq. 5   position assignment from L (R, 4)
    S   = (S^A + S^P) / 2
    A   = S / sum_i S_ik                       eq. 8   column-normalised: c_k = sum_i A_ik f_i
    c   <- channel transform(c)
    z_i = sum_k S_ik c_k   (B = S^T)           eq. 9
    o   = f + channel transform(z)

The assignment can also be appearance only (SRFC-A), position only (SRFC-P), or the fixed
head / upper body / lower body grouping of Keypoint-Select (Tables 8-9).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import torch
from torch import nn

EPS = 1e-12


class Assignment(StrEnum):
    """Which assignment matrix SRFC uses."""

    BOTH = "appearance+position"
    APPEARANCE = "appearance"
    POSITION = "position"
    KEYPOINT = "keypoint"  # fixed clusters {R1}, {R2}, {R3..R6}: Keypoint-Select


# Keypoint-Select: head {R1}, upper body {R2}, lower body {R3, R4, R5, R6}.
KEYPOINT_SELECT = torch.tensor(
    [[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 1], [0, 0, 1], [0, 0, 1]], dtype=torch.float32
)


@dataclass
class SRFCOutput:
    """Completed features and the assignment matrices the regularisers La, Lp need."""

    completed: torch.Tensor
    s_appearance: torch.Tensor | None
    s_position: torch.Tensor | None
    assignment: torch.Tensor


def position_similarity(positions: torch.Tensor) -> torch.Tensor:
    """Eq. 6: ps(R_i, R_j) = 1 - 2 sqrt(((y_i - y_j)/H)^2 + ((x_i - x_j)/W)^2), (N, R, R).

    ``positions`` carries centres already divided by H and W. The paper states ps in [-1, 1];
    centres further apart than the map's height (impossible for our partitions) are clamped to -1.
    """
    centre = positions[..., :2]
    dist = torch.cdist(centre, centre)
    return (1.0 - 2.0 * dist).clamp_min(-1.0)


def encode_decode(
    f: torch.Tensor, s: torch.Tensor, transform_c: nn.Module, transform_z: nn.Module
) -> torch.Tensor:
    """Eqs. 8-9 with the two channel transforms: f (N, R, D), S (N, R, K) -> z (N, R, D)."""
    a = s / s.sum(dim=1, keepdim=True).clamp_min(EPS)
    clusters = torch.einsum("nrk,nrd->nkd", a, f)
    clusters = transform_c(clusters.transpose(1, 2)).transpose(1, 2)
    z = torch.einsum("nrk,nkd->nrd", s, clusters)
    return transform_z(z.transpose(1, 2)).transpose(1, 2)


def channel_transform(dim: int) -> nn.Sequential:
    """1x1 conv + BN + ReLU over the D channels of a (N, D, items) tensor."""
    return nn.Sequential(
        nn.Conv1d(dim, dim, 1, bias=False), nn.BatchNorm1d(dim), nn.ReLU(inplace=True)
    )


class SRFC(nn.Module):
    """Region encoder / decoder with K clusters and a residual (o = f + z)."""

    def __init__(
        self,
        dim: int,
        clusters: int = 3,
        assignment: Assignment = Assignment.BOTH,
        num_regions: int = 6,
    ) -> None:
        super().__init__()
        self.assignment = Assignment(assignment)
        if self.assignment is Assignment.KEYPOINT:
            if num_regions != 6 or clusters != 3:
                raise ValueError("Keypoint-Select needs the 6 APU regions and 3 clusters")
            self.fixed: torch.Tensor
            self.register_buffer("fixed", KEYPOINT_SELECT.clone(), persistent=False)
        uses_a = self.assignment in (Assignment.BOTH, Assignment.APPEARANCE)
        uses_p = self.assignment in (Assignment.BOTH, Assignment.POSITION)
        self.appearance = nn.Linear(dim, clusters) if uses_a else None
        self.position = (
            nn.Sequential(nn.Linear(4, dim), nn.ReLU(inplace=True), nn.Linear(dim, clusters))
            if uses_p
            else None
        )
        self.transform_c = channel_transform(dim)
        self.transform_z = channel_transform(dim)

    def assign(
        self, f: torch.Tensor, positions: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """S (N, R, K) and its appearance / position parts (eqs. 3, 5)."""
        if self.assignment is Assignment.KEYPOINT:
            return self.fixed.to(f.dtype).expand(f.shape[0], -1, -1), None, None
        s_a = torch.softmax(self.appearance(f), dim=-1) if self.appearance is not None else None
        s_p = torch.softmax(self.position(positions), dim=-1) if self.position is not None else None
        if s_a is not None and s_p is not None:
            return (s_a + s_p) / 2, s_a, s_p
        s = s_a if s_a is not None else s_p
        assert s is not None
        return s, s_a, s_p

    def forward(self, f: torch.Tensor, positions: torch.Tensor) -> SRFCOutput:
        s, s_a, s_p = self.assign(f, positions)
        z = encode_decode(f, s, self.transform_c, self.transform_z)
        return SRFCOutput(f + z, s_a, s_p, s)
