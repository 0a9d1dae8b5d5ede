"""Pose and parsing backends by name (lazy imports: only the chosen backend's stack is loaded).

\b
pose:    oracle     synth ground truth (groundtruth/ beside the frames)
         mediapipe  offline CPU, models inside the mediapipe 0.10.x wheel
         mmpose     any mmpose top-down config + checkpoint (path or URL); GPU, fp16
parsing: oracle     synth ground truth
         mediapipe  selfie segmentation (offline CPU)
         mmseg      any mmsegmentation config + checkpoint; --person-classes picks the classes
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from occreid.occdata.errors import OccreidError
from occreid.pseudolabel.backends.base import ParsingBackend, PoseBackend

POSE: dict[str, str] = {
    "oracle": "occreid.pseudolabel.backends.oracle:OraclePose",
    "mediapipe": "occreid.pseudolabel.backends.mediapipe_backend:MediaPipePose",
    "mmpose": "occreid.pseudolabel.backends.mm:MMPose",
}
PARSING: dict[str, str] = {
    "oracle": "occreid.pseudolabel.backends.oracle:OracleParsing",
    "mediapipe": "occreid.pseudolabel.backends.mediapipe_backend:MediaPipeParsing",
    "mmseg": "occreid.pseudolabel.backends.mm:MMSeg",
}


def _load(table: dict[str, str], name: str, kind: str) -> Any:
    if name not in table:
        raise OccreidError(f"unknown {kind} backend {name!r}; choose one of {', '.join(table)}")
    module, cls = table[name].split(":")
    return getattr(import_module(module), cls)


def make_pose(name: str, **options: Any) -> PoseBackend:
    return _load(POSE, name, "pose")(**options)


def make_parsing(name: str, **options: Any) -> ParsingBackend:
    return _load(PARSING, name, "parsing")(**options)
