from pathlib import Path

import pytest
import torch
import yaml

from occreid.model import LossConfig, build_model

CONFIGS = sorted((Path(__file__).resolve().parents[2] / "configs").glob("*.yaml"))


@pytest.mark.filterwarnings("ignore:backbone trains from scratch")
@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_config_model_and_loss_sections_build(path: Path) -> None:
    cfg = yaml.safe_load(path.read_text())
    model = build_model({**cfg["model"], "pretrained": "none", "arch": "resnet18"}, 5)
    LossConfig.from_dict(cfg["loss"])
    frames = 4 if cfg["model"]["temporal"] else 1
    with torch.no_grad():
        out = model.eval()(torch.randn(1, frames, 3, *cfg["model"]["input_size"]))
    assert len(out.aux) == len(cfg["model"]["rfc_stages"])


def test_the_four_paper_settings_ship() -> None:
    assert {p.stem for p in CONFIGS} >= {
        "rfcnet_video",
        "rfcnet_image",
        "baseline_video",
        "baseline_image",
    }
