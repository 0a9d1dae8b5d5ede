"""The GPU's mixed-precision and compiled paths, exercised on the CPU (CI has no GPU): the same
training step and autocast code, with bf16 autocast forced on the CPU."""

import os
import shutil
import warnings

import pytest
import torch

from occreid.common.distributed import Dist
from occreid.common.runtime import Runtime
from occreid.engine.config import load_config
from occreid.engine.train import build_training, train_step

TINY = ["model.arch=resnet18", "model.pretrained=none", "model.input_size=[64,32]"]
CONFIGS = {
    "video": ("rfcnet_video", 4),
    "image": ("rfcnet_image", 1),
}


def _training(config: str, rt: Runtime):
    """(config, model, optimizer) of a tiny ``config`` placed by ``rt``."""
    cfg = load_config(config, TINY)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # backbone trains from scratch
        model, opt, _ = build_training(cfg, 4, rt)
    return cfg, model, opt


def _batch(frames: int, clips: int = 8, ids: int = 4) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    masks = torch.zeros(clips, frames, 64, 32)
    masks[..., 8:60, 8:24] = 1
    return {
        "frames": torch.randint(0, 256, (clips, frames, 64, 32, 3), dtype=torch.uint8, generator=g),
        "pid": torch.arange(ids).repeat_interleave(clips // ids),
        "keypoints": torch.tensor([0.23, 0.5, 0.7, 0.5]).expand(clips, frames, 4).clone(),
        "masks": masks,
    }


@pytest.mark.parametrize("name", list(CONFIGS))
def test_a_bf16_training_step_runs_the_gpu_path_on_cpu(name: str) -> None:
    config, frames = CONFIGS[name]
    rt = Runtime(torch.device("cpu"), Dist(), bf16=True, channels_last=True, cpu_bf16=True)
    cfg, model, opt = _training(config, rt)
    dtypes = []
    model.classifier.register_forward_hook(lambda m, i, out: dtypes.append(out.dtype))
    batch = _batch(frames)
    totals = []
    for _ in range(6):
        losses = train_step(model, batch, opt, cfg, rt)
        totals.append(float(losses["total"].detach()))
        assert all(torch.isfinite(v) for v in losses.values())
        grads = [p.grad for p in model.parameters() if p.grad is not None]
        assert grads and all(torch.isfinite(g).all() for g in grads)
    assert set(dtypes) == {torch.bfloat16}  # the autocast really ran
    assert {"keypoint", "foreground", "appearance", "position"} <= set(losses)
    assert totals[-1] < totals[0]


def test_without_cpu_bf16_the_cpu_step_stays_float32() -> None:
    rt = Runtime(torch.device("cpu"), Dist(), bf16=True)
    cfg, model, opt = _training("rfcnet_image", rt)
    dtypes = []
    model.classifier.register_forward_hook(lambda m, i, out: dtypes.append(out.dtype))
    train_step(model, _batch(1), opt, cfg, rt)
    assert dtypes == [torch.float32]


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which(os.environ.get("CC", "cc")) is None, reason="torch.compile needs a C compiler"
)
def test_compiled_model_matches_eager_on_cpu() -> None:
    _, model, _ = _training(
        "rfcnet_video", Runtime(torch.device("cpu"), Dist(), channels_last=True)
    )
    model.eval()
    x = torch.randn(2, 4, 3, 64, 32).contiguous(memory_format=torch.contiguous_format)
    with torch.no_grad():
        eager = model(x).embedding
        compiled = torch.compile(model)(x).embedding
    torch.testing.assert_close(compiled, eager, rtol=1e-3, atol=1e-3)
