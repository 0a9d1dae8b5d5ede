from pathlib import Path

import pytest
import torch

from occreid.common.errors import OccreidError
from occreid.engine.config import TrainConfig, config_from_dict, load_config
from occreid.model import ModelConfig, build_model

CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs"
CONFIGS = sorted(CONFIG_DIR.rglob("*.yaml"))


@pytest.mark.filterwarnings("ignore:backbone trains from scratch")
@pytest.mark.parametrize("path", CONFIGS, ids=[str(p.relative_to(CONFIG_DIR)) for p in CONFIGS])
def test_every_config_loads_and_builds_its_model(path: Path) -> None:
    cfg = load_config(path)
    model_cfg = ModelConfig(**{**cfg.model.to_dict(), "pretrained": "none", "arch": "resnet18"})
    model = build_model(model_cfg, 5)
    frames = cfg.data.clip_len
    with torch.no_grad():
        out = model.eval()(torch.randn(1, frames, 3, *cfg.model.input_size))
    assert len(out.aux) == len(cfg.model.rfc_stages)
    assert (cfg.data.mode == "image") == (frames == 1)


def test_the_paper_settings_and_every_ablation_row_ship() -> None:
    names = {str(p.relative_to(CONFIG_DIR)) for p in CONFIGS}
    assert {"rfcnet_video.yaml", "rfcnet_image.yaml", "baseline_video.yaml"} <= names
    table9 = {"foreground", "keypoint_select", "srfc", "srfc_a", "srfc_p", "trfc", "s_t_rfc"}
    table9 |= {"t_s_rfc", "s_plus_t_rfc", "rfc_stage2", "rfc_stage3", "srfcnet"}
    table9 |= {f"rfcnet_wo_{x}" for x in ("lk", "lf", "lap", "la", "lp")}
    assert {f"ablations/video/{n}.yaml" for n in table9} <= names
    assert {f"ablations/image/rfc_stage{s}.yaml" for s in (1, 2, 3, 4)} <= names


def test_paper_schedules() -> None:
    video, image = (
        load_config(CONFIG_DIR / "rfcnet_video.yaml"),
        load_config(CONFIG_DIR / "rfcnet_image.yaml"),
    )
    assert (video.optim.lr, video.optim.step, video.optim.epochs) == (3e-4, 40, 150)
    assert (image.optim.lr, image.optim.step, image.optim.epochs) == (3.5e-4, 20, 60)
    assert video.data.ids_per_batch * video.data.instances == 32
    assert image.data.ids_per_batch * image.data.instances == 64


def test_ablation_overrides_its_base_only_where_it_says() -> None:
    base = load_config(CONFIG_DIR / "rfcnet_video.yaml").to_dict()
    trfc = load_config(CONFIG_DIR / "ablations/video/trfc.yaml").to_dict()
    assert trfc["model"]["spatial"] == "off" and trfc["model"]["rfc_stages"] == [2]
    for key in ("rfc_stages", "spatial"):
        trfc["model"][key] = base["model"][key]
    assert trfc == base


def test_set_overrides_apply_with_types() -> None:
    cfg = load_config(CONFIG_DIR / "rfcnet_video.yaml", ["optim.lr=0.01", "model.rfc_stages=[3]"])
    assert cfg.optim.lr == 0.01 and cfg.model.rfc_stages == [3]


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ("model.colour=red", "model.colour"),
        ("optim.lr=fast", "optim.lr"),
        ("nosuch.section=1", "nosuch"),
        ("model.block=transformer", "block"),
        ("data.mode=image", "temporal"),
        ("data.erase_fill=blur", "erase_fill = 'blur'"),
        ("oops", "key=value"),
    ],
)
def test_bad_keys_and_values_are_one_line_errors_naming_them(override: str, named: str) -> None:
    with pytest.raises(OccreidError, match=named) as err:
        load_config(CONFIG_DIR / "rfcnet_video.yaml", [override])
    assert "\n" not in str(err.value)


def test_unknown_key_in_a_file_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"base: {CONFIG_DIR / 'rfcnet_video.yaml'}\noptim:\n  learning_rate: 1\n")
    with pytest.raises(OccreidError, match=r"bad.yaml.*optim.learning_rate"):
        load_config(bad)


def test_round_trip_through_a_plain_dict() -> None:
    cfg = load_config(CONFIG_DIR / "ablations/video/t_s_rfc.yaml")
    plain = cfg.to_dict()
    assert type(plain) is dict and type(plain["model"]) is dict
    assert config_from_dict(plain) == cfg
    assert TrainConfig().to_dict()["model"]["arrangement"] == "s-t"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["model.regions=4"], "regions = 4 needs partition = fixed"),
        (["loss.distance=manhattan"], "distance = 'manhattan'"),
        (["loss.keypoint=-0.1"], "a weight is >= 0"),
    ],
)
def test_settings_that_would_be_ignored_are_one_line_errors(
    overrides: list[str], message: str
) -> None:
    with pytest.raises(OccreidError, match=message):
        load_config("rfcnet_video", overrides)
    assert load_config("rfcnet_video", ["model.partition=fixed", "model.regions=4"])
