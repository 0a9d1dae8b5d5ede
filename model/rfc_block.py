"""The RFC block (paper 3, Fig. 2): partition -> foreground-guided region features -> SRFC / TRFC
-> reverse projection with BN and a residual (eq. 12).

Input and output are frame feature maps (B*T, C, H, W); ``frames`` = T tells TRFC how to unfold the
batch into clips. A plain 1x1 conv first reduces C to D = C / reduction before region pooling, as
in the authors' code (it is what keeps the block at the paper's parameter count). The projection
back to C ends in a BN whose weight and bias start at zero, so a fresh block is the identity (the
authors' code too).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from occreid.model.config import ModelConfig
from occreid.model.foreground import ForegroundMap, region_features
from occreid.model.partition import AdaptivePartitionUnit, FixedPartition, Partition
from occreid.model.srfc import SRFC, Assignment, SRFCOutput
from occreid.model.trfc import TRFC


@dataclass
class BlockAux:
    """What a block hands to the losses (Lk, Lf, La, Lp) and to the visualisations."""

    partition: Partition | None
    foreground: torch.Tensor | None
    region_features: torch.Tensor | None
    srfc: SRFCOutput | None


class RFCBlock(nn.Module):
    """One RFC block for a stage with ``channels`` channels and an (height, width) map."""

    def __init__(self, channels: int, height: int, width: int, cfg: ModelConfig) -> None:
        super().__init__()
        self.kind = cfg.block
        self.foreground = (
            ForegroundMap(channels) if cfg.foreground or cfg.block == "foreground" else None
        )
        if self.kind == "foreground":
            return
        dim = channels // cfg.reduction
        self.partition: nn.Module = (
            AdaptivePartitionUnit(channels, height, width)
            if cfg.partition == "apu"
            else FixedPartition(cfg.regions, height)
        )
        regions = self.partition.num_regions
        self.reduce = nn.Conv2d(channels, dim, 1, bias=False)
        self.srfc = (
            SRFC(dim, cfg.clusters, Assignment(cfg.spatial), regions)
            if cfg.spatial != "off"
            else None
        )
        self.trfc = TRFC(dim) if cfg.temporal else None
        self.arrangement = cfg.arrangement
        expand_bn = nn.BatchNorm2d(channels)
        nn.init.zeros_(expand_bn.weight)
        nn.init.zeros_(expand_bn.bias)
        self.expand = nn.Sequential(nn.Conv2d(dim, channels, 1, bias=False), expand_bn)

    def _temporal(self, f: torch.Tensor, frames: int) -> torch.Tensor:
        assert self.trfc is not None
        n, r, d = f.shape
        return self.trfc(f.view(n // frames, frames, r, d)).reshape(n, r, d)

    def complete(
        self, f: torch.Tensor, positions: torch.Tensor, frames: int
    ) -> tuple[torch.Tensor, SRFCOutput | None, torch.Tensor]:
        """SRFC and / or TRFC as arranged; returns (e, SRFC output, SRFC input)."""
        if self.srfc is None:
            return (self._temporal(f, frames) if self.trfc else f), None, f
        if self.trfc is None:
            out = self.srfc(f, positions)
            return out.completed, out, f
        if self.arrangement == "s-t":
            out = self.srfc(f, positions)
            return self._temporal(out.completed, frames), out, f
        if self.arrangement == "t-s":
            o = self._temporal(f, frames)
            out = self.srfc(o, positions)
            return out.completed, out, o
        out = self.srfc(f, positions)  # s+t: both see f, outputs averaged
        return (out.completed + self._temporal(f, frames)) / 2, out, f

    def forward(self, x: torch.Tensor, frames: int = 1) -> tuple[torch.Tensor, BlockAux]:
        fg = self.foreground(x) if self.foreground is not None else None
        if self.kind == "foreground":
            assert fg is not None
            return x * fg, BlockAux(None, fg, None, None)
        part: Partition = self.partition(x)
        f = region_features(self.reduce(x), part.masks, fg)
        e, srfc_out, srfc_in = self.complete(f, part.positions, frames)
        back = torch.einsum("nrhw,nrd->ndhw", part.masks, e)  # eq. 12: M^T e
        return x + self.expand(back), BlockAux(part, fg, srfc_in, srfc_out)
