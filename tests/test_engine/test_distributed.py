import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from occreid.engine.evaluate import evaluate_checkpoint
from occreid.engine.options import EvalOptions

CONFIG = Path(__file__).resolve().parents[2] / "configs" / "rfcnet_video.yaml"


def _torchrun(*args: str) -> None:
    """Two CPU processes; --standalone lets the rendezvous store pick its own free port (no race
    between choosing a port and binding it); the output is shown when it fails."""
    env = {**os.environ, "TQDM_DISABLE": "1", "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
    done = subprocess.run(
        [*cmd, "-m", "occreid.cli", *args], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]


@pytest.mark.dist
@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:backbone trains from scratch")
def test_two_gloo_processes_train_and_evaluate(toy_dataset, tiny_overrides, tmp_path):
    dataset, labels = toy_dataset
    run = tmp_path / "run"
    sets = [x for o in tiny_overrides for x in ("--set", o)]
    _torchrun(
        "train",
        "--dataset",
        str(dataset),
        "--labels",
        str(labels),
        "--out",
        str(run),
        "--config",
        str(CONFIG),
        *sets,
    )
    summary = json.loads((run / "train.json").read_text())
    assert summary["processes"] == 2 and summary["steps"] == 4
    assert (run / "model.pt").is_file() and not list(run.rglob(".*.tmp-*"))

    _torchrun(
        "evaluate",
        "--checkpoint",
        str(run / "model.pt"),
        "--dataset",
        str(dataset),
        "--out",
        str(tmp_path / "eval2"),
        "--device",
        "cpu",
    )
    two = json.loads((tmp_path / "eval2" / "metrics.json").read_text())
    eval1 = tmp_path / "eval1"
    one = evaluate_checkpoint(
        EvalOptions(checkpoint=run / "model.pt", dataset=dataset, out=eval1, device="cpu")
    )
    assert two["mAP"] == pytest.approx(one["mAP"], abs=1e-6)
    assert two["cmc"] == pytest.approx(one["cmc"], abs=1e-6)
