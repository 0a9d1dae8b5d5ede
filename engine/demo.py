"""`occreid demo`: the whole chain on toy data, ending in one HTML report.

synth -> pseudolabel (mediapipe if installed, else the oracle) -> build-dataset -> train a
baseline and an RFCnet on the same budget (configs/demo_*.yaml: ResNet-18 at 96 x 48 from
scratch, so that a 2-core laptop finishes in minutes) -> evaluate both -> DIR/report.html with the
dataset statistics, the training curves, both models' mAP / CMC and the RFCnet's pictures.
"""

from __future__ import annotations

import base64
import html
import importlib.util
import json
import time
from pathlib import Path
from typing import Any

from tqdm import tqdm

from occreid.engine.config import TrainConfig, load_config
from occreid.engine.options import DemoOptions, EvalOptions, TrainOptions
from occreid.engine.visualize import loss_curves
from occreid.occdata.report import Table, report_tables

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
    report = write_report(d, backend, results, timings)
    steps.update()
    steps.close()
    return report


def _img(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<figure><img alt="{path.stem}" src="data:image/png;base64,{data}"/></figure>'


def write_report(
    d: Path, backend: str, results: dict[str, dict[str, Any]], timings: dict[str, float]
) -> Path:
    """DIR/report.html (self-contained) and DIR/results.json."""
    runs = {name: d / "runs" / name for name in results}
    curves = loss_curves(runs, d / "curves.png", ("total", "ce", "triplet"))
    model = results["RFCnet"]["config"]["model"]
    optim = results["RFCnet"]["config"]["optim"]
    table = Table(
        "Toy Occluded-DukeMTMC-VideoReID: single-query results",
        ["model", "mAP", "rank-1", "rank-5", "rank-10", "train + eval (s)"],
        [
            [
                name,
                f"{r['mAP']:.1%}",
                f"{r['rank1']:.1%}",
                f"{r['rank5']:.1%}",
                f"{r['rank10']:.1%}",
                f"{r['seconds']:.0f}",
            ]
            for name, r in results.items()
        ],
    )
    stats = json.loads((d / "dataset" / "reports" / "stats.json").read_text())
    pictures = sorted((runs["RFCnet"] / "eval").glob("*.png"))
    setup = (
        f"Backbone: {model['arch']} at {model['input_size'][0]} x {model['input_size'][1]}, "
        f"pretrained: {model['pretrained']}, {optim['epochs']} epochs (the paper: ResNet-50 from "
        "ImageNet at 256 x 128, 150 epochs). RFC blocks after stages "
        f"{model['rfc_stages']}. Labels: {backend}. "
        + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items())
        + "."
    )
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>occreid demo</title>"
        "<style>body{font-family:sans-serif;max-width:70em;margin:2em auto}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;"
        "text-align:right}img{max-width:100%}</style></head><body>"
        "<h1>occreid demo: toy data to a trained RFCnet</h1>"
        f"<p>{html.escape(setup)}</p>"
        + table.html()
        + "<h2>Training curves</h2>"
        + _img(curves)
        + "<h2>RFCnet pictures (ranked lists, APU regions + foreground, SRFC assignment)</h2>"
        + "".join(_img(p) for p in pictures)
        + "<h2>Dataset</h2>"
        + "".join(t.html() for t in report_tables(stats))
        + "</body></html>\n"
    )
    report = d / "report.html"
    report.write_text(page)
    summary = {name: {k: v for k, v in r.items() if k != "config"} for name, r in results.items()}
    (d / "results.json").write_text(json.dumps({"setup": setup, "results": summary}, indent=2))
    return report
