"""The key-point locator's own learning rate (optim.locator_lr): the head is built from scratch
and Lk alone trains it, and Adam moves a parameter by about lr a step, so a short schedule at one
rate leaves it at the prior (issue 19, point 5; benchmarks/locator_toy.py)."""

import warnings

import pytest
import torch
from torch import nn

from occreid.common.distributed import Dist
from occreid.common.errors import OccreidError
from occreid.common.runtime import Runtime
from occreid.engine.config import OptimConfig, load_config
from occreid.engine.locator import LocatorError
from occreid.engine.train import build_training, param_groups
from occreid.model.losses import keypoint_loss
from occreid.model.partition import AdaptivePartitionUnit
from occreid.model.rfc_block import BlockAux

TINY = ["model.arch=resnet18", "model.pretrained=none", "model.input_size=[64,32]"]
C, H, W = 128, 12, 6  # the demo's stage-2 map: ResNet-18 layer2 at 96 x 48


def _locator_ids(model: nn.Module) -> set[int]:
    return {
        id(p)
        for m in model.modules()
        if isinstance(m, AdaptivePartitionUnit)
        for p in m.parameters()
    }


def test_the_locator_gets_its_own_rate_in_the_optimizer_train_builds() -> None:
    cfg = load_config("rfcnet_video", [*TINY, "optim.lr=0.001", "optim.locator_lr=10"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # backbone trains from scratch
        model, opt, sched = build_training(cfg, 4, Runtime(torch.device("cpu"), Dist()))
    locator = _locator_ids(model)
    assert locator
    rest, head = opt.param_groups
    assert {id(p) for p in head["params"]} == locator
    assert head["lr"] == pytest.approx(0.01) and rest["lr"] == pytest.approx(0.001)
    assert head["weight_decay"] == rest["weight_decay"] == cfg.optim.weight_decay
    every = [id(p) for g in opt.param_groups for p in g["params"]]
    assert sorted(every) == sorted(id(p) for p in model.parameters())  # each exactly once
    for _ in range(cfg.optim.step):
        sched.step()
    assert head["lr"] == pytest.approx(0.01 * cfg.optim.gamma)  # the schedule decays both


def test_at_one_the_optimizer_has_the_papers_single_group() -> None:
    model = nn.Sequential(nn.Conv2d(C, C, 1), AdaptivePartitionUnit(C, H, W))
    (group,) = param_groups(model, OptimConfig(lr=0.001))
    assert len(group["params"]) == len(list(model.parameters()))


def test_the_demo_sets_the_locator_rate_and_the_paper_configs_do_not() -> None:
    assert load_config("demo_rfcnet").optim.locator_lr == 10
    assert load_config("rfcnet_video").optim.locator_lr == 1
    assert load_config("rfcnet_image").optim.locator_lr == 1
    with pytest.raises(OccreidError, match="locator_lr"):
        load_config("demo_rfcnet", ["optim.locator_lr=0"])


def _maps(n: int, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Feature maps whose rows hold the body (a fixed channel pattern from its top to its
    bottom, in noise) and its key points as fractions: shoulder, hip, knee rows and a centre."""
    top = 0.12 * torch.rand(n, generator=gen)
    scale = 0.8 + 0.15 * torch.rand(n, generator=gen)
    targets = torch.stack(
        [top + 0.2 * scale, top + 0.5 * scale, top + 0.72 * scale, torch.full((n,), 0.5)], 1
    )
    rows = (torch.arange(H).float() + 0.5) / H
    body = ((rows >= top[:, None]) & (rows <= (top + scale)[:, None])).float()
    pattern = torch.randn(C, generator=torch.Generator().manual_seed(1))
    x = (
        torch.randn(n, C, H, W, generator=gen)
        + pattern[None, :, None, None] * body[:, None, :, None]
    )
    return x, targets


def _ratio_after(steps: int, locator_lr: float) -> float:
    """Locator error / mean-target error on fresh maps after ``steps`` Adam steps on 0.1 Lk
    (the paper's weight) with the groups train builds, at the demo's base rate."""
    torch.manual_seed(0)
    unit = AdaptivePartitionUnit(C, H, W)
    opt = torch.optim.Adam(param_groups(unit, OptimConfig(lr=1e-3, locator_lr=locator_lr)))
    gen = torch.Generator().manual_seed(0)
    for _ in range(steps):
        x, t = _maps(64, gen)
        loss = 0.1 * keypoint_loss(unit(x).keypoint_logits, t)
        opt.zero_grad()
        loss.backward()
        opt.step()
    x, t = _maps(1000, torch.Generator().manual_seed(99))
    error = LocatorError(t.mean(0).tolist())
    with torch.no_grad():
        error.update([BlockAux(unit.eval()(x), None, None, None)], t)
    return float(error.result()["ratio"])


def test_a_short_schedule_teaches_the_locator_the_rows_only_at_its_own_rate() -> None:
    fast, slow = _ratio_after(30, 10), _ratio_after(30, 1)
    assert fast < 0.8  # it reads the rows
    assert slow > 0.9  # the same steps at one rate: the prior, nearly
