"""The size and randomness of a toy dataset: `occreid synth`'s options (the CLI reads its
defaults here)."""

from __future__ import annotations

from dataclasses import dataclass

from occreid.common.errors import OccreidError


@dataclass(frozen=True, kw_only=True)
class SynthConfig:
    """Size and randomness of the toy dataset (see `occreid synth --help`)."""

    ids: int = 60
    distractors: int = 10
    cameras: int = 8
    min_frames: int = 12
    max_frames: int = 40
    height: int = 128
    width: int = 64
    group_size: int = 3
    occluded_tracklets: float = 0.7
    seed: int = 0

    def __post_init__(self) -> None:
        if self.ids < 4 or self.cameras < 2:
            raise OccreidError("synth needs --ids >= 4 and --cameras >= 2")
        if not 1 <= self.min_frames <= self.max_frames:
            raise OccreidError("synth needs 1 <= --min-frames <= --max-frames")
        if self.width % 8:
            raise OccreidError("synth needs --width divisible by 8 (masks are bit-packed)")
