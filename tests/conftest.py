"""Session fixtures: a small toy dataset made once, and a builder for hand-made source trees."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path

import pytest

os.environ.setdefault("TQDM_DISABLE", "1")  # progress bars off in tests

from occreid.occdata.synth import SynthConfig, synthesize

TOY = SynthConfig(ids=16, distractors=4, min_frames=8, max_frames=20, seed=3)
IMAGE_FOLDERS = ("bounding_box_train", "query", "bounding_box_test")


@pytest.fixture(scope="session")
def toy_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A toy DukeMTMC-VideoReID (about 900 frames) with annotations.csv and ground truth."""
    dest = tmp_path_factory.mktemp("toy") / "source"
    synthesize(dest, TOY)
    return dest


Tracklet = tuple[str, int, str, int, int]  # split, pid, tracklet folder, camera, frames


def write_tree(root: Path, tracklets: Iterable[Tracklet], names: Callable | None = None) -> Path:
    """Write empty frame files for each tracklet (indexing reads names only)."""
    for split in ("train", "query", "gallery"):
        (root / split).mkdir(parents=True, exist_ok=True)
    for split, pid, tid, cam, n in tracklets:
        folder = root / split / f"{pid:04d}" / tid
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(1, n + 1):
            name = names(pid, cam, i) if names else f"{pid:04d}_C{cam}_F{i:04d}_X{1000 + i}.jpg"
            (folder / name).touch()
    return root


def write_csv(path: Path, rows: Iterable[tuple[str, int, int]]) -> Path:
    """Write an annotation CSV (path, occlusion, persons)."""
    lines = ["path,occlusion,persons", *(f"{p},{o},{n}" for p, o, n in rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def csv_writer() -> Callable[..., Path]:
    return write_csv


@pytest.fixture
def tree_factory(tmp_path: Path) -> Callable[..., Path]:
    def make(tracklets: Iterable[Tracklet], names: Callable | None = None) -> Path:
        return write_tree(tmp_path / "src", tracklets, names)

    return make


@pytest.fixture
def annotated_frames(tree_factory: Callable[..., Path], tmp_path: Path) -> Callable[..., object]:
    """Frames from (split, pid, tracklet, camera, pattern): pattern letter per frame, in F order:
    '0' clear, '1'-'9' occlusion label, 'p' a second person (label 0)."""
    from occreid.occdata.annotations import Missing, attach_annotations, read_annotations
    from occreid.occdata.source_index import index_source

    def make(spec: list[tuple[str, int, str, int, str]]):
        root = tree_factory([(s, pid, tid, cam, len(pat)) for s, pid, tid, cam, pat in spec])
        rows = []
        for split, pid, tid, cam, pat in spec:
            for i, ch in enumerate(pat, start=1):
                path = f"{split}/{pid:04d}/{tid}/{pid:04d}_C{cam}_F{i:04d}_X{1000 + i}.jpg"
                rows.append((path, 0 if ch == "p" else int(ch), 2 if ch == "p" else 1))
        csv = write_csv(tmp_path / "ann.csv", rows)
        frames = index_source(root).frames
        return attach_annotations(frames, read_annotations(csv), csv, Missing.ERROR)

    return make


def _has_module(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip `gpu` tests without CUDA and `mm` tests without the OpenMMLab extra."""
    gpu = None
    for item in items:
        if "mm" in item.keywords and not _has_module("mmcv"):
            item.add_marker(pytest.mark.skip(reason="OpenMMLab extra not installed"))
        if "gpu" in item.keywords:
            if gpu is None:
                import torch

                gpu = torch.cuda.is_available()
            if not gpu:
                item.add_marker(pytest.mark.skip(reason="no CUDA device"))


@pytest.fixture(scope="session")
def toy_dataset(toy_source: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(built dataset, oracle label cache) of the toy source, made once per session."""
    from occreid.occdata.build import BuildOptions, build_dataset
    from occreid.pseudolabel.runner import RunOptions, run

    root = tmp_path_factory.mktemp("toy-dataset")
    run(RunOptions(root=toy_source, out=root / "labels"))
    build_dataset(
        BuildOptions(
            source=toy_source, out=root / "dataset", annotations=toy_source / "annotations.csv"
        )
    )
    return root / "dataset", root / "labels"


# A training run small enough for a test: ResNet-18 on 64 x 32 frames, 2 epochs of 2 steps.
TINY = [
    "model.arch=resnet18",
    "model.pretrained=none",
    "model.input_size=[64,32]",
    "data.ids_per_batch=4",
    "data.instances=2",
    "data.chunk=0",
    "data.workers=0",
    "data.test_clip_len=8",
    "data.iters_per_epoch=2",
    "optim.epochs=2",
    "optim.step=1",
    "run.checkpoint_every=1",
    "run.log_every=1",
]


@pytest.fixture
def tiny_overrides() -> list[str]:
    return list(TINY)


def write_image_folder(root: Path, folders: Iterable[str] = IMAGE_FOLDERS) -> Path:
    """A Market-1501-layout folder: three identities in two cameras in each of ``folders``,
    16 x 8 grey JPEGs (file names ``<pid>_c<cam>s1_...jpg``)."""
    import cv2
    import numpy as np

    image = np.full((16, 8, 3), 128, np.uint8)
    for folder in folders:
        (root / folder).mkdir(parents=True)
        for pid in (1, 2, 3):
            for cam in (1, 2):
                cv2.imwrite(str(root / folder / f"{pid:04d}_c{cam}s1_000{pid}{cam}_00.jpg"), image)
    return root


@pytest.fixture
def image_folder_factory(tmp_path: Path) -> Callable[..., Path]:
    def make(folders: Iterable[str] = IMAGE_FOLDERS) -> Path:
        return write_image_folder(tmp_path / "market", folders)

    return make
