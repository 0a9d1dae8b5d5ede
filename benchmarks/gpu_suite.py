"""Everything a GPU machine should measure, in one go: `pytest -m gpu`, train_speed (baseline vs
RFCnet, bf16, channels_last, compile off and on; the 150-epoch projection), eval_speed,
model_cost, pseudolabel_speed for the installed backends, and a 200-step bf16 training run on
the toy data whose loss must go down. Writes OUT/suite.json and OUT/summary.md (each step's log
beside them) and exits non-zero if any step fails. Needs nothing from the network.

    bash benchmarks/gpu_suite.sh OUT          # on a machine with one GPU, under 10 minutes
    python benchmarks/gpu_suite.py OUT --device cpu --quick   # the wiring, on a CPU (tested)

Targets it reports against: the 150-epoch video schedule under 60 minutes on one H100 (the
paper: 290 minutes on two 2080 Ti), RFC step overhead under 10 % of the baseline, the device busy
over 90 % of a step, mmpose + mmseg >= 520 frames/s.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _results import write_json

HERE = Path(__file__).resolve().parent


def steps(out: Path, device: str, quick: bool, work: Path) -> dict[str, list[str]]:
    """Each step's command line (Python scripts of this folder, pytest, the occreid CLI)."""
    py = sys.executable
    iters = ["--iters", "3", "--warmup", "1"] if quick else ["--iters", "100"]
    small = ["--arch", "resnet18", "--size", "64", "32", "--frame-height", "64"] if quick else []
    workers = ["--workers", "2" if quick else "14"]
    train = [py, str(HERE / "train_speed.py"), "--device", device, *iters, *small, *workers]
    size = ["--queries", "300", "--gallery", "2000"] if quick else []
    cost = ["--iters", "2", "--batch", "2"] if quick else []
    compiled = [*train, "--compile", "--json", str(out / "train_speed_compile.json")]
    return {
        "pytest_gpu": [py, "-m", "pytest", "-m", "gpu", "-q", "-p", "no:cacheprovider"],
        "train_speed": [*train, "--json", str(out / "train_speed.json")],
        **({} if quick else {"train_speed_compile": compiled}),  # minutes to compile on CPU
        "eval_speed": [
            py,
            str(HERE / "eval_speed.py"),
            "--device",
            device,
            *size,
            "--json",
            str(out / "eval_speed.json"),
        ],
        "model_cost": [
            py,
            str(HERE / "model_cost.py"),
            "--device",
            device,
            *cost,
            "--json",
            str(out / "model_cost.json"),
        ],
        "pseudolabel_speed": [
            py,
            str(HERE / "pseudolabel_speed.py"),
            "--work",
            str(work / "pl"),
            "--json",
            str(out / "pseudolabel_speed.json"),
            *(["--ids", "8", "--oracle-only"] if quick else []),
        ],
        "toy_training": toy_training(work, device, quick),
    }


def toy_training(work: Path, device: str, quick: bool) -> list[str]:
    """`occreid demo`'s toy data (60 identities: 7 P x K batches an epoch), then `occreid train`
    for 200 bf16 steps, 5 an epoch (10 with --quick)."""
    script = (
        "import sys; sys.path.insert(0, {here!r}); from _toy import toy_dataset; "
        "from occreid.occdata.synth import SynthConfig; "
        "ds, labels = toy_dataset(__import__('pathlib').Path({work!r}), SynthConfig(ids=60)); "
        "from occreid.cli.main import main; "
        "main(['train', '--dataset', str(ds), '--labels', str(labels), '--out', {run!r}, "
        "'--overwrite', '--config', 'demo_rfcnet', '--set', 'run.device={device}', "
        "'--set', 'run.bf16=true', '--set', 'optim.epochs={epochs}', "
        "'--set', 'data.iters_per_epoch=5', '--set', 'run.log_every=1'])"
    ).format(
        here=str(HERE),
        work=str(work / "toy"),
        run=str(work / "toy-run"),
        device=device,
        epochs=2 if quick else 40,
    )
    return [sys.executable, "-c", script]


def loss_went_down(run: Path) -> dict[str, Any]:
    """First and last logged total loss of the toy run (mean of 5 rows at each end)."""
    rows = [float(r["total"]) for r in csv.DictReader((run / "log.csv").open())]
    head, tail = rows[: min(5, len(rows))], rows[-min(5, len(rows)) :]
    first, last = sum(head) / len(head), sum(tail) / len(tail)
    return {"steps": len(rows), "loss_first": first, "loss_last": last, "ok": last < first}


def targets(results: dict[str, Any]) -> list[str]:
    """The suite's targets, one line each, with what was measured."""
    lines = []
    speed = results.get("train_speed", {})
    if "projected_minutes" in speed:
        m = speed["projected_minutes"]
        lines.append(f"150-epoch video schedule: {m:.0f} min (target < 60 on one H100)")
    if "rfc_overhead" in speed:
        lines.append(f"RFC step overhead: {100 * speed['rfc_overhead']:.1f} % (target < 10 %)")
    if "busy_fraction" in speed:
        lines.append(f"device busy: {100 * speed['busy_fraction']:.0f} % of a step (target > 90)")
    for name, r in results.get("pseudolabel_speed", {}).items():
        lines.append(f"pseudolabel {name}: {r.get('frames_per_s')} frames/s (mm target >= 520)")
    return lines


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", type=Path)
    p.add_argument("--device", default="cuda")
    p.add_argument(
        "--quick", action="store_true", help="Tiny sizes, no compile: checks the wiring only."
    )
    p.add_argument("--timeout", type=int, default=540, help="Seconds per step at most.")
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="occreid-gpusuite-"))
    results: dict[str, Any] = {"device": args.device, "quick": args.quick, "steps": {}}
    failed = []
    for name, command in steps(args.out, args.device, args.quick, work).items():
        t = time.perf_counter()
        with (args.out / f"{name}.log").open("w") as log:
            try:
                rc = subprocess.run(
                    command, stdout=log, stderr=subprocess.STDOUT, timeout=args.timeout, check=False
                ).returncode
            except subprocess.TimeoutExpired:
                rc = 124
        seconds = round(time.perf_counter() - t, 1)
        results["steps"][name] = {"rc": rc, "seconds": seconds}
        if rc not in (0, 5) or (rc == 5 and name != "pytest_gpu"):  # 5: pytest found no gpu test
            failed.append(name)
        measured = args.out / f"{name}.json"
        if measured.is_file():
            results[name] = json.loads(measured.read_text())
        print(f"{name}: rc {rc} in {seconds} s", flush=True)
    if (work / "toy-run" / "log.csv").is_file():
        results["toy_training"] = loss_went_down(work / "toy-run")
        if not results["toy_training"]["ok"] and not args.quick:  # a few quick steps are noise
            failed.append("toy_training (loss did not go down)")
    results["failed"] = failed
    write_json(args.out / "suite.json", results)
    lines = [f"# GPU suite on {args.device}" + (" (quick)" if args.quick else ""), ""]
    lines += [f"- {n}: rc {s['rc']}, {s['seconds']} s" for n, s in results["steps"].items()]
    lines += ["", *[f"- {line}" for line in targets(results)]]
    lines += ["", f"Failed: {', '.join(failed) or 'none'}"]
    (args.out / "summary.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
