"""The size and randomness of a toy dataset: `occreid synth`'s options (the CLI reads its
defaults here)."""

from __future__ import annotations

from dataclasses import dataclass

from occreid.common.errors import OccreidError

MIN_HEIGHT = 16  # the background draws windows up to 10 px above a horizon at 0.7-0.85 height


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
        """Every option combination either renders or fails here, with one line naming the fix."""
        checks = [
            (self.ids >= 4, "--ids >= 4 (half train, half query / gallery)"),
            (self.distractors >= 0, "--distractors >= 0"),
            (self.cameras >= 2, "--cameras >= 2 (a test identity's gallery is in another camera)"),
            (1 <= self.min_frames <= self.max_frames, "1 <= --min-frames <= --max-frames"),
            (self.height >= MIN_HEIGHT, f"--height >= {MIN_HEIGHT} (room for the scene's windows)"),
            (self.width >= 8 and self.width % 8 == 0, "--width a multiple of 8 (bit-packed masks)"),
            (self.group_size >= 1, "group_size >= 1"),
            (0 <= self.occluded_tracklets <= 1, "--occluded-tracklets between 0 and 1 (a share)"),
            (self.seed >= 0, "--seed >= 0"),
        ]
        for ok, needs in checks:
            if not ok:
                raise OccreidError(f"synth needs {needs}")
