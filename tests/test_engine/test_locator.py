"""Whether the APU locator learns shows in training and evaluation (issue 19, point 5)."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from occreid.engine.config import load_config
from occreid.engine.evaluate import evaluate_checkpoint
from occreid.engine.locator import LocatorError, body_targets, gridded
from occreid.engine.options import EvalOptions, TrainOptions
from occreid.engine.train import train
from occreid.engine.visualize import locator_caption
from occreid.model.partition import Partition
from occreid.model.rfc_block import BlockAux

H, W = 16, 8


def _aux(cells: torch.Tensor) -> list[BlockAux]:
    """One block whose locator puts all its weight on ``cells`` (N, 4) row / column indices."""
    n = len(cells)
    logits = [torch.full((n, H), -9.0) for _ in range(3)] + [torch.full((n, W), -9.0)]
    for i, lg in enumerate(logits):
        lg[torch.arange(n), cells[:, i]] = 9.0
    part = Partition(torch.zeros(n, 6, H, W), torch.zeros(n, 6, 4), logits)
    return [BlockAux(partition=part, foreground=None, region_features=None, srfc=None)]


def _targets(n: int = 64) -> torch.Tensor:
    gen = torch.Generator().manual_seed(0)
    t = torch.stack(
        [
            0.15 + 0.2 * torch.rand(n, generator=gen),
            0.4 + 0.2 * torch.rand(n, generator=gen),
            0.65 + 0.2 * torch.rand(n, generator=gen),
            0.3 + 0.4 * torch.rand(n, generator=gen),
        ],
        dim=1,
    )
    t[5] = float("nan")  # a frame without a target is left out
    return t


def test_a_locator_that_reads_the_frame_beats_the_mean_target_and_one_that_does_not_ties():
    targets = _targets()
    mean = torch.nanmean(targets, dim=0).tolist()
    reading = LocatorError(mean)
    cells = torch.nan_to_num(targets) * torch.tensor([H, H, H, W])
    reading.update(_aux((cells.round() - 1).clamp(min=0).long()), targets)
    blind = LocatorError(mean)
    mean_cells = (gridded(torch.tensor([mean]), H, W) * torch.tensor([H, H, H, W]) - 1).round()
    blind.update(_aux(mean_cells.long().expand(len(targets), -1)), targets)
    good, flat = reading.result(), blind.result()
    assert good["targets"] == flat["targets"] == len(targets) - 1
    assert good["mean_target_error"] == flat["mean_target_error"] > 0.03
    assert good["ratio"] < 0.5 and flat["ratio"] == pytest.approx(1.0)
    assert good["error"] <= 0.5 / H + 1e-6  # at most half a cell off: the grid's own error
    assert flat["distinct_predictions"] == [1] and good["distinct_predictions"][0] > 10


def test_targets_of_a_skeleton_that_is_not_a_body_are_left_out():
    body = np.zeros((2, 17, 3))
    levels = {0: 10, 5: 25, 6: 25, 11: 60, 12: 60, 13: 80, 14: 80, 15: 100, 16: 100}
    for joint, y in levels.items():
        body[:, joint] = (20 + (joint % 2) * 10, y, 1.0)
    body[1, :, 1] = 60 + body[1, :, 1] * 0.1  # bunched into a tenth of the box
    apu = np.array([[0.23, 0.5, 0.7, 0.5], [0.23, 0.5, 0.7, 0.5]], np.float32)
    kept, dropped = body_targets(apu, body, np.array([110.0, 110.0]))
    assert not np.isnan(kept[0]).any() and np.isnan(kept[1]).all()
    assert dropped.tolist() == [False, True]


@pytest.mark.filterwarnings("ignore:backbone trains from scratch")
def test_training_and_evaluate_report_the_locator_beside_the_mean_target(
    toy_dataset, tiny_overrides, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    dataset, labels = toy_dataset
    cfg = load_config("demo_rfcnet", tiny_overrides)
    summary = train(cfg, TrainOptions(dataset=dataset, labels=labels, out=tmp_path / "run"))
    for record in summary["history"]:
        kp = record["locator_train"]
        assert kp["targets"] > 0 and kp["error"] > 0 and kp["mean_target_error"] > 0
        assert len(kp["per_block"]) == len(cfg.model.rfc_stages)
    assert summary["locator"]["targets"]["not_a_body"] == 0  # oracle skeletons are bodies
    assert len(summary["locator"]["mean_target"]) == 4
    eval_dir = tmp_path / "eval"
    loads = []
    real_load = torch.load
    monkeypatch.setattr(torch, "load", lambda *a, **k: loads.append(a) or real_load(*a, **k))
    evaluate_checkpoint(
        EvalOptions(
            checkpoint=tmp_path / "run" / "model.pt",
            dataset=dataset,
            labels=labels,
            out=eval_dir,
            visualize=True,
            queries=2,
        )
    )
    assert len(loads) == 1  # the checkpoint is read once for the model and its locator record
    written = json.loads((eval_dir / "metrics.json").read_text())["locator"]
    assert written["train"] == summary["history"][-1]["locator_train"]
    assert written["test"]["targets"] > 0 and written["mean_of"] == "train targets"
    assert written["test"]["ratio"] == pytest.approx(
        written["test"]["error"] / written["test"]["mean_target_error"], rel=1e-3
    )
    caption = locator_caption(written)
    assert caption is not None and "mean target" in caption and "test" in caption
    assert (eval_dir / "partition.png").is_file()
