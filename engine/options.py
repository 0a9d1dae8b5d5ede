"""What the engine's jobs take besides a training config: `occreid train`, `occreid evaluate` and
`occreid demo`. The CLI reads its defaults and choices here; this module imports no torch, so
that `occreid --help` stays instant.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from occreid.common.runtime import DEFAULT_DEVICE

DEMO_BACKENDS = ("auto", "oracle", "mediapipe")  # auto: mediapipe where installed


@dataclass(kw_only=True)
class TrainOptions:
    """`occreid train`: the built dataset, the run folder, the label cache (Lk, Lf), where the
    frames moved, and whether to resume or replace the run."""

    dataset: Path
    out: Path
    labels: Path | None = None
    source: Path | None = None
    resume: bool = False
    overwrite: bool = False


@dataclass(kw_only=True)
class EvalOptions:
    """`occreid evaluate`: a checkpoint on a dataset's query and gallery; pictures on request."""

    checkpoint: Path
    dataset: Path
    out: Path
    labels: Path | None = None
    source: Path | None = None
    visualize: bool = False
    queries: int = 6
    device: str = DEFAULT_DEVICE


@dataclass(kw_only=True)
class DemoOptions:
    """`occreid demo`: the whole chain on toy data in ``directory``."""

    directory: Path
    ids: int = 60
    seed: int = 0
    backend: str = "auto"
    overwrite: bool = True
    epochs: int | None = None
