"""`mmpose` and `mmseg`: OpenMMLab models built from their registries (``mmpose.apis`` imports
torchvision, which this project never installs), any config + checkpoint (path or URL).

Install: ``scripts/install_mm.sh`` (builds mmcv for the installed torch). Without a checkpoint the
model keeps random weights and a warning says so (tests do this). On CUDA, inference runs under
fp16 autocast.

Persons (paper 5.1, step 1: a frame with more than one person is occluded): MMSeg also runs an
mmdet detector (RTMDet-tiny COCO by default, ``detector_checkpoint`` for its weights) on the same
letterboxed input and counts the detections of COCO's person class with score >= PERSON_SCORE
(0.5) whose box is at least PERSON_MIN_HEIGHT (0.5) of the crop high: a second person standing
next to or in front of the target, not a small figure far behind. The target itself is always
counted, detected or not (persons >= 1).

Input policy. mmpose: the frame is the person box; the config's top-down pipeline pads the box to
the model's aspect ratio (bbox padding 1.25), scales it to the input size (e.g. 256x192) and maps
the keypoints back to frame pixels. mmseg: the frame is letterboxed (letterbox.py) to
``input_size`` (default 512x256, so small crops are upscaled), and the mask of the person classes
is cut back out of the padding and resized to the cache's mask size.
"""

from __future__ import annotations

import warnings
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from occreid.common.distributed import torchrun_place
from occreid.common.errors import OccreidError
from occreid.common.runtime import DEFAULT_DEVICE, autocast, resolve_device
from occreid.pseudolabel.backends import ADE20K_PERSON
from occreid.pseudolabel.backends.base import FrameBatch, ParsingBackend, PoseBackend
from occreid.pseudolabel.letterbox import Letterbox, letterbox

if TYPE_CHECKING:
    import torch

POSE_CONFIG = "body_2d_keypoint/rtmpose/coco/rtmpose-m_8xb256-420e_coco-256x192.py"
SEG_CONFIG = "segformer/segformer_mit-b0_8xb2-160k_ade20k-512x512.py"
DET_CONFIG = "rtmdet/rtmdet_tiny_8xb32-300e_coco.py"
COCO_PERSON = 0  # mmdet's COCO label of person
PERSON_SCORE = 0.5  # a detection counts as a person from this score
PERSON_MIN_HEIGHT = 0.5  # ... and when its box is at least this share of the crop's height


def _require(module: str) -> Any:
    from importlib import import_module

    try:
        return import_module(module)
    except ImportError as err:
        raise OccreidError(
            f"the {module.split('.')[0]} backend needs the OpenMMLab extra: "
            "run scripts/install_mm.sh"
        ) from err


def packaged_config(package: Any, relative: str) -> str:
    """A config shipped inside an installed mm package (its .mim/configs folder)."""
    path = Path(package.__file__).parent / ".mim" / "configs" / relative
    if not path.is_file():
        raise OccreidError(f"{path}: config not found in the installed {package.__name__}")
    return str(path)


def _fp16(device: torch.device) -> Any:
    """fp16 autocast on CUDA, nothing elsewhere."""
    import torch

    return autocast(device, torch.float16)


def _load_weights(model: Any, checkpoint: str | None, what: str) -> None:
    if not checkpoint:
        warnings.warn(f"{what}: no checkpoint given, the model has random weights", stacklevel=3)
        return
    from mmengine.runner import load_checkpoint

    load_checkpoint(model, checkpoint, map_location="cpu")


class MMPose(PoseBackend):
    """Top-down mmpose model on the whole crop (COCO-17)."""

    name = "mmpose"
    score_scale = (0.3, 0.3)
    seen_score = 0.3
    score_source = "mmpose's own key-point threshold (kpt_thr 0.3 of its demos); not fitted"
    confidence_cap = 0.75  # not fitted: no tag claims 0.8 before `occreid calibrate`

    def __init__(
        self,
        config: str | None = None,
        checkpoint: str | None = None,
        device: str = DEFAULT_DEVICE,
    ) -> None:
        mmpose = _require("mmpose")
        _require("mmpose.models")
        _require("mmpose.datasets.transforms")
        from mmengine.config import Config
        from mmengine.dataset import Compose
        from mmengine.registry import init_default_scope
        from mmpose.datasets.datasets.utils import parse_pose_metainfo
        from mmpose.registry import MODELS

        init_default_scope("mmpose")
        self.config = config or packaged_config(mmpose, POSE_CONFIG)
        self.checkpoint = checkpoint
        self.device = resolve_device(device, torchrun_place())
        cfg = Config.fromfile(self.config)
        self.model = MODELS.build(cfg.model)
        _load_weights(self.model, checkpoint, "mmpose")
        coco = packaged_config(mmpose, "_base_/datasets/coco.py")
        self.model.dataset_meta = parse_pose_metainfo({"from_file": coco})
        self.model.to(self.device).eval()
        self.pipeline = Compose(cfg.test_dataloader.dataset.pipeline)

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": version("mmpose"),
            "config": Path(self.config).name,
            "checkpoint": self.checkpoint,
        }

    def predict(self, batch: FrameBatch) -> np.ndarray:
        import torch
        from mmengine.dataset import pseudo_collate

        items = []
        for image in batch.images:
            h, w = image.shape[:2]
            item = {
                "img": image,
                "bbox": np.array([[0, 0, w, h]], dtype=np.float32),
                "bbox_score": np.ones(1, dtype=np.float32),
                **self.model.dataset_meta,
            }
            items.append(self.pipeline(item))
        with torch.no_grad(), _fp16(self.device):
            results = self.model.test_step(pseudo_collate(items))
        out = np.zeros((len(results), 17, 3), dtype=np.float32)
        for i, r in enumerate(results):
            out[i, :, :2] = r.pred_instances.keypoints[0]
            out[i, :, 2] = r.pred_instances.keypoint_scores[0]
        return out


def count_persons(
    labels: np.ndarray, scores: np.ndarray, heights: np.ndarray, crop_height: float
) -> int:
    """Persons in one crop from its detections (label, score, box height in crop pixels): the
    detections of a person at PERSON_SCORE and PERSON_MIN_HEIGHT, at least 1 (the target)."""
    person = (labels == COCO_PERSON) & (scores >= PERSON_SCORE)
    tall = heights >= PERSON_MIN_HEIGHT * crop_height
    return max(1, int((person & tall).sum()))


class PersonCounter:
    """An mmdet detector that counts the persons of letterboxed crops (count_persons)."""

    def __init__(self, config: str | None, checkpoint: str | None, device: Any) -> None:
        mmdet = _require("mmdet")
        _require("mmdet.models")
        from mmdet.registry import MODELS
        from mmengine.config import Config
        from mmengine.registry import init_default_scope

        init_default_scope("mmdet")
        self.config = config or packaged_config(mmdet, DET_CONFIG)
        self.checkpoint = checkpoint
        self.device = device
        self.model = MODELS.build(Config.fromfile(self.config).model)
        _load_weights(self.model, checkpoint, "mmdet")
        self.model.to(device).eval()

    def describe(self) -> dict[str, Any]:
        return {
            "config": Path(self.config).name,
            "checkpoint": self.checkpoint,
            "min_score": PERSON_SCORE,
            "min_height": PERSON_MIN_HEIGHT,
        }

    def count(self, inputs: list[torch.Tensor], boxes: list[Letterbox]) -> np.ndarray:
        """(B,) int8 persons of each crop; ``inputs`` are the letterboxed canvases (3, H, W)."""
        import torch
        from mmdet.structures import DetDataSample

        shape = tuple(inputs[0].shape[1:])
        meta = {"img_shape": shape, "ori_shape": shape, "pad_shape": shape, "scale_factor": (1, 1)}
        samples = [DetDataSample(metainfo=meta) for _ in inputs]
        with torch.no_grad(), _fp16(self.device):
            results = self.model.test_step({"inputs": inputs, "data_samples": samples})
        counts = []
        for box, r in zip(boxes, results, strict=True):
            found = r.pred_instances
            xyxy = found.bboxes.float().cpu().numpy().reshape(-1, 4)
            heights = (xyxy[:, 3] - xyxy[:, 1]) / box.scale  # in the crop's pixels
            labels, scores = found.labels.cpu().numpy(), found.scores.float().cpu().numpy()
            counts.append(count_persons(labels, scores, heights, box.orig[0]))
        return np.array(counts, dtype=np.int8)


class MMSeg(ParsingBackend):
    """Semantic segmentation whose ``person_classes`` make the person mask."""

    name = "mmseg"
    mask_is_visible_body = True
    mask_weight = 0.5
    mask_source = "person classes, the target's component only; not measured on real crops"

    def __init__(
        self,
        config: str | None = None,
        checkpoint: str | None = None,
        device: str | None = None,
        person_classes: tuple[int, ...] = ADE20K_PERSON,
        input_size: tuple[int, int] = (512, 256),
        detector_config: str | None = None,
        detector_checkpoint: str | None = None,
    ) -> None:
        mmseg = _require("mmseg")
        _require("mmseg.models")
        from mmengine.config import Config
        from mmengine.registry import init_default_scope
        from mmseg.registry import MODELS

        init_default_scope("mmseg")
        self.config = config or packaged_config(mmseg, SEG_CONFIG)
        self.checkpoint = checkpoint
        self.device = resolve_device(device, torchrun_place())
        self.person_classes = list(person_classes)
        self.input_size = input_size
        self.model = MODELS.build(Config.fromfile(self.config).model)
        _load_weights(self.model, checkpoint, "mmseg")
        self.model.to(self.device).eval()
        self.persons = PersonCounter(detector_config, detector_checkpoint, self.device)

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": version("mmsegmentation"),
            "config": Path(self.config).name,
            "checkpoint": self.checkpoint,
            "person_classes": self.person_classes,
            "input": list(self.input_size),
            "detector": self.persons.describe(),
        }

    def predict(self, batch: FrameBatch, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        import torch
        from mmseg.structures import SegDataSample

        boxes, inputs, samples = [], [], []
        for image in batch.images:
            canvas, box = letterbox(image, self.input_size)
            boxes.append(box)
            inputs.append(torch.from_numpy(np.ascontiguousarray(canvas.transpose(2, 0, 1))))
            shape = tuple(self.input_size)
            samples.append(
                SegDataSample(metainfo={"img_shape": shape, "ori_shape": shape, "pad_shape": shape})
            )
        with torch.no_grad(), _fp16(self.device):
            results = self.model.test_step({"inputs": inputs, "data_samples": samples})
        classes = np.array(self.person_classes)
        masks = np.stack(
            [
                box.mask_to(np.isin(r.pred_sem_seg.data[0].cpu().numpy(), classes), size)
                for box, r in zip(boxes, results, strict=True)
            ]
        )
        return masks, self.persons.count(inputs, boxes)
