"""Shared by the benchmarks: toy sources and datasets, and the backend pairs installed here."""

from __future__ import annotations

import argparse
import importlib.util
import tempfile
from pathlib import Path

from occreid.occdata.synth import SynthConfig, synthesize


def toy(work: Path, ids: int) -> Path:
    """A toy source under ``work`` (made once per size)."""
    dest = work / f"toy-{ids}"
    if not dest.is_dir():
        synthesize(dest, SynthConfig(ids=ids, distractors=max(2, ids // 6), seed=0))
    return dest


def toy_dataset(dest: Path, cfg: SynthConfig) -> tuple[Path, Path]:
    """(built dataset, oracle label cache) of a toy source made with ``cfg`` under ``dest``,
    made once: the inputs of the training benchmarks."""
    src, labels, ds = dest / "src", dest / "labels", dest / "dataset"
    if not (ds / "manifests").is_dir():
        from occreid.occdata.build import BuildOptions, build_dataset
        from occreid.pseudolabel.runner import RunOptions, run

        synthesize(src, cfg, overwrite=True)
        run(RunOptions(root=src, out=labels, overwrite=True))
        build_dataset(
            BuildOptions(source=src, out=ds, annotations=src / "annotations.csv", overwrite=True)
        )
    return ds, labels


def query_draws(dest: Path, draws: int) -> list[Path]:
    """The dataset of ``toy_dataset(dest, ...)`` and ``draws - 1`` rebuilds with other seeds:
    other query sub-tracklets of the same identities, the same train and gallery splits."""
    from occreid.occdata.build import BuildOptions, build_dataset

    src, out = dest / "src", [dest / "dataset"]
    for seed in range(1, draws):
        ds = dest / f"dataset-draw{seed}"
        if not (ds / "manifests").is_dir():
            opts = BuildOptions(source=src, out=ds, annotations=src / "annotations.csv", seed=seed)
            build_dataset(opts)
        out.append(ds)
    return out


def available_pairs() -> list[tuple[str, str]]:
    """(pose, parsing) backend pairs whose packages are installed."""
    pairs = [("oracle", "oracle")]
    if importlib.util.find_spec("mediapipe"):
        pairs += [("mediapipe", "mediapipe"), ("mediapipe", "keypoints")]
    if importlib.util.find_spec("mmcv") and importlib.util.find_spec("mmpose"):
        pairs.append(("mmpose", "mmseg"))
    return pairs


def parser(doc: str, name: str) -> argparse.ArgumentParser:
    """The arguments both pseudolabel benchmarks take: a work folder and the JSON to write."""
    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    p.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "occreid-plbench")
    p.add_argument("--json", type=Path, default=Path(f"benchmarks/results/{name}.json"))
    return p
