"""The `model:` section of a config: every paper ablation is a field here, read by one builder."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from occreid.common.config import require

APU_REGIONS = 6  # head, upper body, two upper legs, two lower legs (eq. 1)
ARCHS = ("resnet18", "resnet34", "resnet50")
CHOICES: dict[str, tuple[str, ...]] = {
    "arch": ARCHS,
    "block": ("rfc", "foreground"),
    "partition": ("apu", "fixed"),
    "spatial": ("appearance+position", "appearance", "position", "keypoint", "off"),
    "arrangement": ("s-t", "t-s", "s+t"),
}


@dataclass
class ModelConfig:
    """RFCnet and its ablations (Tables 8-9). Defaults: the paper's video RFCnet.

    arch / pretrained / last_stride: backbone (resnet50 with last stride 1 in the paper;
      pretrained is ``imagenet`` (torch.hub), a checkpoint path, or ``none``).
    input_size: (H, W) of the frames; APU's locator is built for the resulting map sizes.
    rfc_stages: after which ResNet stages (1-4) an RFC block sits; [] is the baseline.
    block: ``rfc``, or ``foreground`` (the "Foreground" row: the map only, x * I).
    partition: ``apu`` (6 regions from key points) or ``fixed`` (``regions`` stripes, Fig. 7).
    foreground: foreground-weighted region features (eq. 2) and Lf; off = plain region means.
    spatial: SRFC assignment: ``appearance+position`` (SRFC), ``appearance`` (SRFC-A),
      ``position`` (SRFC-P), ``keypoint`` (Keypoint-Select) or ``off``.
    temporal: TRFC on / off (images never use it).
    arrangement: ``s-t`` (SRFC then TRFC), ``t-s`` or ``s+t`` (parallel, outputs averaged).
    clusters: K of SRFC. reduction: channel reduction before region pooling and SRFC (C -> C / r;
      the authors' 2, the paper's text 1); TRFC always works at C (README, "Where we depart ...").
    """

    arch: str = "resnet50"
    pretrained: str = "imagenet"
    last_stride: int = 1
    input_size: list[int] = field(default_factory=lambda: [256, 128])
    rfc_stages: list[int] = field(default_factory=lambda: [2, 3])
    block: str = "rfc"
    partition: str = "apu"
    regions: int = 6
    foreground: bool = True
    spatial: str = "appearance+position"
    temporal: bool = True
    arrangement: str = "s-t"
    clusters: int = 3
    reduction: int = 2

    @property
    def size(self) -> tuple[int, int]:
        """(H, W) of the frames the model takes."""
        return self.input_size[0], self.input_size[1]

    def validate(self) -> None:
        """Every field checked (OmegaConf has checked the keys and types): one-line errors."""
        for key, allowed in CHOICES.items():
            value = getattr(self, key)
            require(value in allowed, f"model config: {key} = {value!r}; choose one of {allowed}")
        require(
            len(self.input_size) == 2 and min(self.input_size) >= 16,
            f"model config: input_size {self.input_size} must be [H, W], each at least 16",
        )
        require(self.last_stride in (1, 2), "model config: last_stride is 1 (the paper) or 2")
        require(
            all(s in (1, 2, 3, 4) for s in self.rfc_stages),
            f"model config: rfc_stages {self.rfc_stages} must be within 1-4",
        )
        require(
            self.partition == "fixed" or self.regions == APU_REGIONS,
            f"model config: regions = {self.regions} needs partition = fixed "
            f"(APU always makes {APU_REGIONS} regions from its 4 key points)",
        )
        require(self.regions >= 1, "model config: regions must be at least 1")
        require(
            self.spatial != "keypoint" or self.partition == "apu",
            "model config: spatial = keypoint needs partition = apu",
        )
        require(self.clusters >= 1, "model config: clusters (K of SRFC) must be at least 1")
        require(self.reduction >= 1, "model config: reduction must be at least 1")
        require(bool(self.pretrained), "model config: pretrained is imagenet, a path or none")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
