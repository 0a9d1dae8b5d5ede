"""The RFC block (paper 3, Fig. 2): partition -> foreground-guided region features -> SRFC / TRFC
-> reverse projection with BN and a residual (eq. 12).

Input and output are frame feature maps (B*T, C, H, W); ``frames`` = T tells TRFC how to unfold the
batch into clips. A plain 1x1 conv first reduces C to D = C / reduction before region pooling, as
in the authors' code (it is what keeps the block at the paper's parameter count), and SRFC works
at D. TRFC works at the full width C, on the region-constant map after the projection back to C
(s-t), or on the full-width foreground-guided region features of the input (t-s, s+t): the
paper's counts imply a C x C gate (README, "Where we depart from the paper or the authors' code").
The projection back to C ends in a BN whose weight and bias start at zero, so a fresh block is the
identity (the authors' code too).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from occreid.model.config import ModelConfig
from occreid.model.foreground import ForegroundMap, region_features
from occreid.model.partition import AdaptivePartitionUnit, FixedPartition, Partition
from occreid.model.srfc import SRFC, Assignment, SRFCOutput
from occreid.model.trfc import TRFC, project


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
        self.trfc = TRFC(channels) if cfg.temporal else None
        self.arrangement = cfg.arrangement
        expand_bn = nn.BatchNorm2d(channels)
        nn.init.zeros_(expand_bn.weight)
        nn.init.zeros_(expand_bn.bias)
        self.expand = nn.Sequential(nn.Conv2d(dim, channels, 1, bias=False), expand_bn)

    def _spatial(
        self, f: torch.Tensor, positions: torch.Tensor
    ) -> tuple[torch.Tensor, SRFCOutput | None]:
        if self.srfc is None:
            return f, None
        out = self.srfc(f, positions)
        return out.completed, out

    def complete(
        self, x: torch.Tensor, part: Partition, fg: torch.Tensor | None, frames: int
    ) -> tuple[torch.Tensor, SRFCOutput | None, torch.Tensor]:
        """SRFC and / or TRFC as arranged; returns (completed map (N, C, H, W) before the BN,
        SRFC output, SRFC input). SRFC works at D, TRFC at C on the map of its region features."""
        masks = part.masks
        if self.trfc is None or self.srfc is None or self.arrangement == "s-t":
            f = region_features(self.reduce(x), masks, fg)
            e, out = self._spatial(f, part.positions)
            back = self.expand[0](project(masks, e))
            return (self.trfc(back, masks, frames) if self.trfc else back), out, f
        temporal = self.trfc(project(masks, region_features(x, masks, fg)), masks, frames)
        if self.arrangement == "t-s":
            o = region_features(self.reduce(temporal), masks, None)
            e, out = self._spatial(o, part.positions)
            return self.expand[0](project(masks, e)), out, o
        f = region_features(self.reduce(x), masks, fg)  # s+t: both see the input, maps averaged
        e, out = self._spatial(f, part.positions)
        return (self.expand[0](project(masks, e)) + temporal) / 2, out, f

    def forward(self, x: torch.Tensor, frames: int = 1) -> tuple[torch.Tensor, BlockAux]:
        fg = self.foreground(x) if self.foreground is not None else None
        if self.kind == "foreground":
            assert fg is not None
            return x * fg, BlockAux(None, fg, None, None)
        part: Partition = self.partition(x)
        back, srfc_out, srfc_in = self.complete(x, part, fg, frames)
        return x + self.expand[1](back), BlockAux(part, fg, srfc_in, srfc_out)
