import csv
from pathlib import Path

import numpy as np
import pytest
import torch

import occreid.engine.train as train_module
from occreid.common.errors import OccreidError
from occreid.engine.checkpoint import load_checkpoint, model_from_checkpoint, save_checkpoint
from occreid.engine.config import load_config
from occreid.engine.evaluate import evaluate_checkpoint
from occreid.engine.options import EvalOptions, TrainOptions
from occreid.engine.train import train

pytestmark = pytest.mark.filterwarnings("ignore:backbone trains from scratch")
RFCNET = Path(__file__).resolve().parents[2] / "configs" / "rfcnet_video.yaml"


def _run(toy_dataset, out: Path, overrides: list[str], **kw) -> dict:
    dataset, labels = toy_dataset
    cfg = load_config(RFCNET, overrides)
    return train(cfg, TrainOptions(dataset=dataset, out=out, labels=labels, **kw))


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return load_checkpoint(path)["model"]


def test_a_run_logs_every_loss_term_and_writes_checkpoints(toy_dataset, tiny_overrides, tmp_path):
    summary = _run(toy_dataset, tmp_path / "run", tiny_overrides)
    run = tmp_path / "run"
    assert summary["epochs"] == 2 and summary["steps"] == 4
    rows = list(csv.DictReader((run / "log.csv").open()))
    assert [int(r["step"]) for r in rows] == [1, 2, 3, 4]
    for term in ("ce", "triplet", "keypoint", "foreground", "appearance", "position", "total"):
        assert all(float(r[term]) > 0 for r in rows), term
    assert float(rows[0]["lr"]) == pytest.approx(3e-4) and float(rows[2]["lr"]) == pytest.approx(
        3e-5
    )
    assert list((run / "tb").glob("events.out.tfevents.*"))
    assert (run / "curves.png").stat().st_size > 10_000
    state = load_checkpoint(run / "checkpoints" / "last.pt")
    assert state["epoch"] == 2 and state["step"] == 4 and type(state["config"]) is dict
    model, cfg = model_from_checkpoint(run / "model.pt")
    assert cfg.model.rfc_stages == [2, 3] and not model.training


def test_resume_after_a_kill_continues_the_same_run_bit_for_bit(
    toy_dataset, tiny_overrides, tmp_path, monkeypatch
):
    _run(toy_dataset, tmp_path / "straight", tiny_overrides)

    real = train_module.train_one_epoch

    def killed_in_epoch_two(*args, **kwargs):
        state = args[5]
        if state.epoch == 1:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(train_module, "train_one_epoch", killed_in_epoch_two)
    with pytest.raises(KeyboardInterrupt):
        _run(toy_dataset, tmp_path / "killed", tiny_overrides)
    assert load_checkpoint(tmp_path / "killed" / "checkpoints" / "last.pt")["epoch"] == 1
    monkeypatch.setattr(train_module, "train_one_epoch", real)
    _run(toy_dataset, tmp_path / "killed", tiny_overrides, resume=True)

    a, b = _weights(tmp_path / "straight" / "model.pt"), _weights(tmp_path / "killed" / "model.pt")
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    logs = [list(csv.DictReader((tmp_path / r / "log.csv").open())) for r in ("straight", "killed")]
    assert [r["total"] for r in logs[0]] == [r["total"] for r in logs[1]]


def test_loader_workers_do_not_change_the_run(toy_dataset, tiny_overrides, tmp_path):
    one = [*tiny_overrides, "optim.epochs=1"]
    _run(toy_dataset, tmp_path / "w0", [*one, "data.workers=0"])
    _run(toy_dataset, tmp_path / "w2", [*one, "data.workers=2"])
    a, b = _weights(tmp_path / "w0" / "model.pt"), _weights(tmp_path / "w2" / "model.pt")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_existing_run_is_refused_and_resume_checks_the_config(
    toy_dataset, tiny_overrides, tmp_path
):
    _run(toy_dataset, tmp_path / "run", [*tiny_overrides, "optim.epochs=1"])
    with pytest.raises(OccreidError, match="--overwrite"):
        _run(toy_dataset, tmp_path / "run", tiny_overrides)
    changed = [*tiny_overrides, "optim.epochs=1", "optim.lr=0.1"]
    with pytest.raises(OccreidError, match=r"optim\.lr: 0\.0003 -> 0\.1"):
        _run(toy_dataset, tmp_path / "run", changed, resume=True)
    with pytest.raises(OccreidError, match="nothing to resume"):
        _run(toy_dataset, tmp_path / "empty", tiny_overrides, resume=True)


def test_rfc_config_without_labels_says_how_to_fix(toy_dataset, tiny_overrides, tmp_path):
    dataset, _ = toy_dataset
    with pytest.raises(OccreidError, match="--labels"):
        train(
            load_config(RFCNET, tiny_overrides), TrainOptions(dataset=dataset, out=tmp_path / "r")
        )


def test_evaluate_writes_metrics_and_the_three_pictures(toy_dataset, tiny_overrides, tmp_path):
    dataset, labels = toy_dataset
    _run(toy_dataset, tmp_path / "run", [*tiny_overrides, "optim.epochs=1"])
    out = tmp_path / "eval"
    metrics = evaluate_checkpoint(
        EvalOptions(
            checkpoint=tmp_path / "run" / "model.pt",
            dataset=dataset,
            out=out,
            labels=labels,
            visualize=True,
        )
    )
    assert 0 < metrics["mAP"] <= 1 and metrics["queries"] > 0
    assert len(metrics["cmc"]) >= 10 and np.all(np.diff(metrics["cmc"]) >= 0)
    assert (out / "metrics.json").is_file()
    for name in ("ranked_lists.png", "partition.png", "assignment.png"):
        assert (out / name).stat().st_size > 10_000, name


def test_checkpoint_from_another_model_or_not_a_checkpoint(toy_dataset, tiny_overrides, tmp_path):
    _run(toy_dataset, tmp_path / "run", [*tiny_overrides, "optim.epochs=1"])
    state = load_checkpoint(tmp_path / "run" / "model.pt")
    state["config"]["model"]["rfc_stages"] = [3]
    save_checkpoint(
        tmp_path / "other.pt", {k: v for k, v in state.items() if k not in ("format", "kind")}
    )
    with pytest.raises(OccreidError, match="another model"):
        model_from_checkpoint(tmp_path / "other.pt")
    torch.save({"weight": torch.zeros(2)}, tmp_path / "plain.pt")
    with pytest.raises(OccreidError, match="not an occreid checkpoint"):
        model_from_checkpoint(tmp_path / "plain.pt")


@pytest.mark.gpu
def test_cuda_bf16_channels_last_run_matches_the_cpu_protocol(
    toy_dataset, tiny_overrides, tmp_path
):
    cuda = [*tiny_overrides, "run.device=cuda", "run.bf16=true", "run.channels_last=true"]
    summary = _run(toy_dataset, tmp_path / "gpu", cuda)
    assert summary["steps"] == 4
    assert all(np.isfinite(h["total"]) for h in summary["history"])
    dataset, _ = toy_dataset
    metrics = evaluate_checkpoint(
        EvalOptions(
            checkpoint=tmp_path / "gpu" / "model.pt", dataset=dataset, out=tmp_path / "eval"
        )
    )
    assert 0 < metrics["mAP"] <= 1


def test_periodic_evaluation_lands_in_the_history(toy_dataset, tiny_overrides, tmp_path):
    summary = _run(toy_dataset, tmp_path / "run", [*tiny_overrides, "run.eval_every=1"])
    maps = [h["mAP"] for h in summary["history"]]
    assert len(maps) == 2 and all(0 < m <= 1 for m in maps)


def test_a_run_that_fails_before_its_first_checkpoint_leaves_nothing(
    toy_dataset, tiny_overrides, tmp_path, monkeypatch
):
    from urllib.error import URLError

    def offline(*args, **kwargs):
        raise URLError("no network")

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    imagenet = [*tiny_overrides, "model.pretrained=imagenet"]
    with pytest.raises(OccreidError, match=r"model\.pretrained=none"):
        _run(toy_dataset, tmp_path / "run", imagenet)
    assert not (tmp_path / "run").exists()
    summary = _run(toy_dataset, tmp_path / "run", [*tiny_overrides, "optim.epochs=1"])  # retry
    assert summary["epochs"] == 1


def test_loader_workers_are_capped_at_the_usable_cores(toy_dataset) -> None:
    from occreid.common.cores import usable_cores
    from occreid.engine.data import loader

    assert loader(list(range(4)), 512, False).num_workers == usable_cores()
    assert loader(list(range(4)), 0, False).num_workers == 0


def test_loader_workers_start_after_opencv_ran_threads_here() -> None:
    """A forked worker inherits OpenCV's thread pool; the loader must not hang on it (it did in
    `occreid demo` after tagging). Runs in a fresh process with a timeout."""
    import subprocess
    import sys

    code = (
        "import numpy as np, cv2, torch\n"
        "from occreid.engine.data import loader\n"
        "a = np.random.rand(256, 128).astype(np.float32)\n"
        "for _ in range(3000):\n"
        "    cv2.resize(a, (32, 64), interpolation=cv2.INTER_AREA)\n"
        "    cv2.connectedComponents((a > 0.5).astype(np.uint8), connectivity=8)\n"
        "class D(torch.utils.data.Dataset):\n"
        "    def __len__(self): return 8\n"
        "    def __getitem__(self, i):\n"
        "        return float(cv2.resize(np.ones((300, 300), np.float32), (9, 9)).sum())\n"
        "print(sum(b.sum() for b in loader(D(), workers=2, pin=False, batch_size=2)).item())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0 and done.stdout.strip() == str(8 * 81.0), done.stderr[-2000:]
