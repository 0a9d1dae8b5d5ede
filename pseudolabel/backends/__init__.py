"""Pose and parsing backends by name: the one table the runner and the CLI read (lazy imports:
only the chosen backend's stack is loaded).

\b
pose:    oracle     synth ground truth (groundtruth/ beside the frames)
         mediapipe  offline CPU, models inside the mediapipe 0.10.x wheel
         mmpose     any mmpose top-down config + checkpoint (path or URL); GPU, fp16
parsing: oracle     synth ground truth
         mediapipe  selfie segmentation (offline CPU)
         mmseg      any mmsegmentation config + checkpoint; --person-classes picks the classes
         keypoints  the body the seen key points support (no model: for a pose-only backend)

Each backend declares its constructor's options (no catch-all): an option it does not take is a
one-line error naming the options it does, found before any model is built.
"""

from __future__ import annotations

import inspect
from importlib import import_module
from typing import Any

from occreid.common.errors import OccreidError
from occreid.pseudolabel.backends.base import ParsingBackend, PoseBackend

BACKENDS: dict[str, dict[str, str]] = {
    "pose": {
        "oracle": "occreid.pseudolabel.backends.oracle:OraclePose",
        "mediapipe": "occreid.pseudolabel.backends.mediapipe_backend:MediaPipePose",
        "mmpose": "occreid.pseudolabel.backends.mm:MMPose",
    },
    "parsing": {
        "oracle": "occreid.pseudolabel.backends.oracle:OracleParsing",
        "mediapipe": "occreid.pseudolabel.backends.mediapipe_backend:MediaPipeParsing",
        "mmseg": "occreid.pseudolabel.backends.mm:MMSeg",
        "keypoints": "occreid.pseudolabel.backends.keypoints:KeypointParsing",
    },
}
ADE20K_PERSON = (12,)  # mmseg's default person classes: "person" of ADE20K
# The parsing backend that goes with a pose backend where one model does both jobs badly:
# mediapipe's selfie mask is not the target's visible body (it covers occluders), so the mask
# the key points support is stored instead and no segmentation model runs (backends/keypoints.py).
PAIRED_PARSING = {"mediapipe": "keypoints"}


def paired_parsing(pose: str) -> str:
    """The parsing backend to run with pose backend ``pose`` when none is chosen (the demo)."""
    return PAIRED_PARSING.get(pose, pose)


def backend_class(kind: str, name: str) -> Any:
    """The class of backend ``name`` (``kind`` pose or parsing); its module is imported, not
    its model stack."""
    table = BACKENDS[kind]
    if name not in table:
        raise OccreidError(f"unknown {kind} backend {name!r}; choose one of {', '.join(table)}")
    module, cls = table[name].split(":")
    return getattr(import_module(module), cls)


def backend_options(kind: str, name: str) -> list[str]:
    """The options backend ``name``'s constructor declares."""
    return list(inspect.signature(backend_class(kind, name)).parameters)


def check_options(kind: str, name: str, options: dict[str, Any]) -> None:
    """An option the backend does not declare is a one-line error."""
    known = backend_options(kind, name)
    unknown = sorted(set(options) - set(known))
    if unknown:
        takes = ", ".join(known) or "no options"
        raise OccreidError(
            f"the {name} {kind} backend has no option {unknown[0]!r} (it takes: {takes})"
        )


def make_pose(name: str, **options: Any) -> PoseBackend:
    check_options("pose", name, options)
    return backend_class("pose", name)(**options)  # type: ignore[no-any-return]


def make_parsing(name: str, **options: Any) -> ParsingBackend:
    check_options("parsing", name, options)
    return backend_class("parsing", name)(**options)  # type: ignore[no-any-return]
