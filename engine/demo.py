"""`occreid demo`: the whole chain on toy data, ending in one HTML report.

synth -> pseudolabel (mediapipe if installed, else the oracle) -> build-dataset -> train a
baseline and an RFCnet on the same budget (configs/demo_*.yaml: ResNet-18 at 96 x 48 from
scratch, so that a 2-core laptop finishes in minutes) -> evaluate both -> DIR/report.html
(engine/demo_report.py: this run's numbers beside the toy benchmark's spread over seeds).
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path
from typing import Any

from tqdm import tqdm

from occreid.engine.config import TrainConfig, load_config
from occreid.engine.demo_report import write_report
from occreid.engine.options import DemoOptions, EvalOptions, TrainOptions

MODELS = {"baseline": "demo_baseline.yaml", "RFCnet": "demo_rfcnet.yaml"}
STEPS = ("synth", "pseudolabel", "build-dataset", "train baseline", "train RFCnet", "report")


def demo_config(name: str, seed: int, epochs: int | None) -> TrainConfig:
    """The packaged demo config of ``name`` (baseline / RFCnet) with the demo's seed."""
    overrides = [f"run.seed={seed}", *([f"optim.epochs={epochs}"] if epochs else [])]
    return load_config(MODELS[name], overrides)


def run_demo(opts: DemoOptions) -> Path:
    """Run every stage into ``opts.directory``; returns the report's path."""
    from occreid.engine.evaluate import evaluate_checkpoint
    from occreid.engine.train import train
    from occreid.occdata.build import BuildOptions, build_dataset
    from occreid.occdata.synth import SynthConfig, synthesize
    from occreid.pseudolabel.backends import paired_parsing
    from occreid.pseudolabel.runner import RunOptions, run

    backend = opts.backend
    if backend == "auto":
        backend = "mediapipe" if importlib.util.find_spec("mediapipe") else "oracle"
    d = opts.directory
    source, labels, dataset = d / "toy-source", d / "labels", d / "dataset"
    d.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    steps = tqdm(STEPS, desc="demo", unit="stage", position=0)

    def stage(name: str) -> float:
        steps.set_postfix_str(name)
        tqdm.write(f"[demo] {name}")
        return time.perf_counter()

    t = stage("synth")
    synthesize(source, SynthConfig(ids=opts.ids, seed=opts.seed), overwrite=opts.overwrite)
    timings["synth"] = time.perf_counter() - t
    steps.update()
    t = stage(f"pseudolabel ({backend})")
    run(
        RunOptions(
            root=source,
            out=labels,
            pose=backend,
            parsing=paired_parsing(backend),
            overwrite=opts.overwrite,
        )
    )
    timings["pseudolabel"] = time.perf_counter() - t
    steps.update()
    t = stage("build-dataset")
    build_dataset(
        BuildOptions(
            source=source,
            out=dataset,
            annotations=source / "annotations.csv",
            seed=opts.seed,
            overwrite=opts.overwrite,
        )
    )
    timings["build-dataset"] = time.perf_counter() - t
    steps.update()
    results: dict[str, dict[str, Any]] = {}
    for name in MODELS:
        t = stage(f"train + evaluate {name}")
        cfg = demo_config(name, opts.seed, opts.epochs)
        out = d / "runs" / name
        train(cfg, TrainOptions(dataset=dataset, out=out, labels=labels, overwrite=True))
        evaluation = EvalOptions(
            checkpoint=out / "model.pt",
            dataset=dataset,
            out=out / "eval",
            labels=labels,
            visualize=name == "RFCnet",
        )
        metrics = evaluate_checkpoint(evaluation)
        results[name] = {**metrics, "seconds": time.perf_counter() - t, "config": cfg.to_dict()}
        tqdm.write(f"[demo] {name}: mAP {metrics['mAP']:.1%}, rank-1 {metrics['rank1']:.1%}")
        steps.update()
    stage("report")
    report = write_report(d, backend, opts.ids, results, timings)
    steps.update()
    steps.close()
    return report
