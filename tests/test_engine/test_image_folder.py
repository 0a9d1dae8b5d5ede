import shutil
from pathlib import Path

import pytest

from occreid.common.errors import OccreidError
from occreid.engine.config import load_config
from occreid.engine.data import load_split
from occreid.engine.evaluate import evaluate_checkpoint
from occreid.engine.options import EvalOptions, TrainOptions
from occreid.engine.train import train
from occreid.occdata.image_folder import index_image_split
from occreid.occdata.roots import frames_to_label

BASELINE = Path(__file__).resolve().parents[2] / "configs" / "baseline_image.yaml"


@pytest.fixture(scope="module")
def market(toy_dataset, tmp_path_factory) -> Path:
    """A Market-1501-style folder made of toy frames (pid -1 junk in the gallery)."""
    dataset, _ = toy_dataset
    root = tmp_path_factory.mktemp("market")
    for split, folder in (
        ("train", "bounding_box_train"),
        ("query", "query"),
        ("gallery", "bounding_box_test"),
    ):
        (root / folder).mkdir()
        data = load_split(dataset, split)
        for i, t in enumerate(data.tracklets.itertuples()):
            for j, row in enumerate(range(t.start, t.stop, 4)):
                name = f"{t.pid:04d}_c{t.camid}s1_{i:04d}{j:02d}_00.jpg"
                shutil.copy(data.root / data.frames["path"].iloc[row], root / folder / name)
    shutil.copy(
        next((root / "query").iterdir()), root / "bounding_box_test" / "-1_c1s1_000000_00.jpg"
    )
    return root


def test_market_names_parse_and_junk_is_left_out(market):
    gallery = index_image_split(market, "gallery")
    assert (gallery["pid"] >= 0).all() and gallery["path"].str.startswith(
        "bounding_box_test/"
    ).all()
    assert (gallery["tracklet"] == gallery["path"]).all()
    source, frames = frames_to_label(market)
    assert (
        source == market
        and len(frames)
        == sum(len(index_image_split(market, s)) for s in ("train", "query", "gallery"))
        and not frames["path"].str.startswith("bounding_box_test/-1").any()
    )


def test_unparsable_name_is_a_clear_error(market, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(market, bad)
    (bad / "query" / "frame.jpg").write_bytes(b"")
    with pytest.raises(OccreidError, match=r"frame\.jpg"):
        index_image_split(bad, "query")


@pytest.mark.filterwarnings("ignore:backbone trains from scratch")
def test_image_mode_trains_and_evaluates_on_an_image_folder(market, tiny_overrides, tmp_path):
    sets = [o for o in tiny_overrides if not o.startswith("data.test_clip_len")]
    cfg = load_config(BASELINE, [*sets, "data.test_batch=16"])
    assert cfg.data.mode == "image" and cfg.data.clip_len == 1 and cfg.data.test_flip
    summary = train(cfg, TrainOptions(dataset=market, out=tmp_path / "run"))
    assert summary["steps"] == 4
    metrics = evaluate_checkpoint(
        EvalOptions(checkpoint=tmp_path / "run" / "model.pt", dataset=market, out=tmp_path / "eval")
    )
    assert metrics["gallery"] == len(index_image_split(market, "gallery"))
    assert 0 < metrics["mAP"] <= 1


def _image_sets(tiny_overrides: list[str]) -> list[str]:
    """The tiny run's overrides that hold for one-image samples (no test clip length)."""
    return [o for o in tiny_overrides if not o.startswith("data.test_clip_len")]


@pytest.mark.filterwarnings("ignore:backbone trains from scratch")
def test_with_no_config_an_image_folder_trains_the_image_rfcnet(market, tiny_overrides, tmp_path):
    from click.testing import CliRunner

    from occreid.cli.main import main

    sets = [*_image_sets(tiny_overrides), "loss.keypoint=0", "loss.foreground=0"]
    args = ["train", "--dataset", str(market), "--out", str(tmp_path / "run")]
    result = CliRunner().invoke(main, [*args, *(x for s in sets for x in ("--set", s))])
    assert result.exit_code == 0, result.output
    saved = load_config(tmp_path / "run" / "config.yaml")
    image = load_config("rfcnet_image", sets)
    assert saved.data.mode == "image" and not saved.model.temporal
    assert saved.to_dict() == image.to_dict()


@pytest.mark.parametrize("setting", ["data.mode=video", "data.test_clip_len=64"])
def test_a_video_setting_on_an_image_folder_is_a_one_line_error(market, tmp_path, setting):
    with pytest.raises(OccreidError) as err:
        cfg = load_config("rfcnet_image", ["model.temporal=false", setting])
        train(cfg, TrainOptions(dataset=market, out=tmp_path / "run"))
    assert "\n" not in str(err.value) and not (tmp_path / "run").exists()
    assert "data.mode = image" in str(err.value)
    if setting == "data.mode=video":  # the default image config made video by the --set
        assert "drop any --set that makes it video" in str(err.value)


def test_an_image_config_on_a_video_dataset_is_a_one_line_error(toy_dataset, tmp_path):
    dataset, labels = toy_dataset
    cfg = load_config("rfcnet_image")
    with pytest.raises(OccreidError, match=r"takes data\.mode = video") as err:
        train(cfg, TrainOptions(dataset=dataset, labels=labels, out=tmp_path / "run"))
    assert "--config rfcnet_video" in str(err.value) and not (tmp_path / "run").exists()


@pytest.mark.filterwarnings("ignore:backbone trains from scratch")
def test_evaluate_refuses_a_video_checkpoint_on_an_image_folder(
    market, toy_dataset, tiny_overrides, tmp_path
):
    dataset, _ = toy_dataset
    cfg = load_config("baseline_video", tiny_overrides)
    train(cfg, TrainOptions(dataset=dataset, out=tmp_path / "run"))
    options = {"checkpoint": tmp_path / "run" / "model.pt", "out": tmp_path / "eval"}
    with pytest.raises(OccreidError, match=r"takes data\.mode = image") as err:
        evaluate_checkpoint(EvalOptions(dataset=market, **options))
    assert "was trained with data.mode = video" in str(err.value)
    assert "--config" not in str(err.value)  # evaluate has no --config: the fix is the dataset
