from pathlib import Path

import pytest
import torch

from occreid.common.errors import OccreidError
from occreid.model.backbone import ResNet, load_pretrained


def test_resnet50_matches_torchvision_layout() -> None:
    net = ResNet("resnet50", last_stride=2, num_classes=1000)
    state = net.state_dict()
    # torchvision's resnet50: 320 state_dict entries, 25,557,032 parameters (23,508,032 without fc)
    assert len(state) == 320
    assert sum(p.numel() for p in net.parameters()) == 25_557_032
    for key in (
        "conv1.weight",
        "bn1.running_var",
        "layer1.0.downsample.0.weight",
        "layer1.0.downsample.1.num_batches_tracked",
        "layer4.2.conv3.weight",
        "layer4.2.bn3.bias",
        "fc.weight",
        "fc.bias",
    ):
        assert key in state


def test_last_stride_one_keeps_resolution() -> None:
    x = torch.randn(1, 3, 256, 128)
    assert ResNet("resnet50", last_stride=1).eval()(x).shape == (1, 2048, 16, 8)
    assert ResNet("resnet50", last_stride=2).eval()(x).shape == (1, 2048, 8, 4)


def test_checkpoint_round_trip(tmp_path: Path) -> None:
    src = ResNet("resnet18", num_classes=1000)
    path = tmp_path / "resnet18.pth"
    torch.save(src.state_dict(), path)
    dst = ResNet("resnet18", last_stride=1)
    load_pretrained(dst, str(path), "resnet18")
    for key, value in dst.state_dict().items():
        assert torch.equal(value, src.state_dict()[key]), key


def test_wrong_checkpoint_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "r50.pth"
    torch.save(ResNet("resnet50").state_dict(), path)
    with pytest.raises(OccreidError, match=r"not a resnet18 checkpoint"):
        load_pretrained(ResNet("resnet18"), str(path), "resnet18")
    with pytest.raises(OccreidError, match=r"not found"):
        load_pretrained(ResNet("resnet18"), str(tmp_path / "nope.pth"), "resnet18")


@pytest.mark.parametrize("content", [b"\xff\xd8\xff\xe0 a jpeg", None])
def test_a_file_that_is_not_weights_is_a_one_line_error(tmp_path: Path, content) -> None:
    path = tmp_path / "weights.pth"
    if content is None:
        torch.save([1, 2, 3], path)  # a torch file, but not a state_dict
    else:
        path.write_bytes(content)
    with pytest.raises(OccreidError) as err:
        load_pretrained(ResNet("resnet18"), str(path), "resnet18")
    assert str(err.value).startswith(str(path)) and "\n" not in str(err.value)


def test_none_warns() -> None:
    with pytest.warns(UserWarning, match="from scratch"):
        load_pretrained(ResNet("resnet18"), "none", "resnet18")


def test_offline_imagenet_download_says_where_the_file_goes(tmp_path: Path, monkeypatch) -> None:
    from urllib.error import URLError

    def offline(*args, **kwargs):
        raise URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    net = ResNet("resnet18")
    with pytest.raises(OccreidError) as err:
        load_pretrained(net, "imagenet", "resnet18")
    message = str(err.value)
    cached = tmp_path / "hub" / "checkpoints" / "resnet18-f37072fd.pth"
    assert "\n" not in message and str(cached) in message
    assert "model.pretrained=PATH" in message and "model.pretrained=none" in message
    # the file put where the message says loads without the network
    cached.parent.mkdir(parents=True, exist_ok=True)
    torch.save(ResNet("resnet18", num_classes=1000).state_dict(), cached)
    load_pretrained(net, "imagenet", "resnet18")
