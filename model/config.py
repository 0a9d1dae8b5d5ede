"""The `model:` section of a config: every paper ablation is a field here, read by one builder."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, TypeVar

from occreid.occdata.errors import OccreidError

T = TypeVar("T")
APU_REGIONS = 6  # head, upper body, two upper legs, two lower legs (eq. 1)


def strict_dataclass(cls: type[T], values: dict[str, Any], section: str) -> T:
    """``cls(**values)``, but an unknown key is a one-line error naming it and the known ones."""
    known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(values) - known)
    if unknown:
        raise OccreidError(
            f"{section} config: unknown key {unknown[0]!r}; known keys: {', '.join(sorted(known))}"
        )
    return cls(**values)


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
    clusters: K of SRFC. reduction: channel reduction before region pooling (C -> C / r).
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

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ModelConfig:
        """Build from a plain dict; an unknown key or a bad choice is a one-line error."""
        cfg = strict_dataclass(cls, values, "model")
        cfg.validate()
        return cfg

    def validate(self) -> None:
        choices = {
            "block": ("rfc", "foreground"),
            "partition": ("apu", "fixed"),
            "spatial": ("appearance+position", "appearance", "position", "keypoint", "off"),
            "arrangement": ("s-t", "t-s", "s+t"),
        }
        for key, allowed in choices.items():
            if getattr(self, key) not in allowed:
                raise OccreidError(
                    f"model config: {key} = {getattr(self, key)!r}; choose one of {allowed}"
                )
        if any(s not in (1, 2, 3, 4) for s in self.rfc_stages):
            raise OccreidError(f"model config: rfc_stages {self.rfc_stages} must be within 1-4")
        if self.partition == "apu" and self.regions != APU_REGIONS:
            raise OccreidError(
                f"model config: regions = {self.regions} needs partition = fixed "
                f"(APU always makes {APU_REGIONS} regions from its 4 key points)"
            )
        if self.spatial == "keypoint" and self.partition != "apu":
            raise OccreidError("model config: spatial = keypoint needs partition = apu")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
