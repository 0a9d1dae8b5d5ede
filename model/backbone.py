"""ResNet backbones whose state_dict keys match torchvision's, without importing torchvision.

The "modified ResNet-50" of the paper (4.1): the last stage keeps stride 1 (layer4[0].conv2 and its
downsample), so a 256x128 input gives a 16x8 map after layer4. ResNet-18/34 (basic blocks) are
here for the CPU demo: RFC blocks plug into any of them.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from urllib.parse import urlparse

import torch
from torch import nn

from occreid.common.errors import OccreidError
from occreid.model.config import ARCHS

IMAGENET_URLS: dict[str, str] = {
    "resnet18": "https://download.pytorch.org/models/resnet18-f37072fd.pth",
    "resnet34": "https://download.pytorch.org/models/resnet34-b627a593.pth",
    "resnet50": "https://download.pytorch.org/models/resnet50-19c8e357.pth",
}


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a residual (ResNet-18/34)."""

    expansion = 1

    def __init__(
        self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None
    ) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + identity)


class Bottleneck(nn.Module):
    """1x1 -> 3x3 (stride here, as torchvision's v1.5) -> 1x1 with a residual (ResNet-50)."""

    expansion = 4

    def __init__(
        self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None
    ) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.relu(self.bn3(self.conv3(out)) + identity)


_DEPTHS: dict[str, tuple[type[BasicBlock] | type[Bottleneck], list[int]]] = dict(
    zip(
        ARCHS,
        [(BasicBlock, [2, 2, 2, 2]), (BasicBlock, [3, 4, 6, 3]), (Bottleneck, [3, 4, 6, 3])],
        strict=True,
    )
)


class ResNet(nn.Module):
    """conv1/bn1/maxpool, layer1..layer4 (torchvision names); ``fc`` only with ``num_classes``."""

    def __init__(
        self, arch: str = "resnet50", last_stride: int = 1, num_classes: int | None = None
    ) -> None:
        super().__init__()
        if arch not in _DEPTHS:
            raise OccreidError(f"unknown backbone {arch!r}; choose one of {sorted(_DEPTHS)}")
        block, layers = _DEPTHS[arch]
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._make_layer(block, 64, layers[0], 1)
        self.layer2 = self._make_layer(block, 128, layers[1], 2)
        self.layer3 = self._make_layer(block, 256, layers[2], 2)
        self.layer4 = self._make_layer(block, 512, layers[3], last_stride)
        self.channels = [64 * block.expansion * 2**i for i in range(4)]  # out of layer1..4
        self.fc = nn.Linear(512 * block.expansion, num_classes) if num_classes else None
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def _make_layer(
        self, block: type[BasicBlock] | type[Bottleneck], planes: int, blocks: int, stride: int
    ) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * block.expansion, 1, stride, bias=False),
                nn.BatchNorm2d(planes * block.expansion),
            )
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def stem(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) -> (N, 64, H/4, W/4)."""
        return self.maxpool(self.relu(self.bn1(self.conv1(x))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for layer in (self.layer1, self.layer2, self.layer3, self.layer4):
            x = layer(x)
        if self.fc is None:
            return x
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


def _download(url: str) -> dict[str, torch.Tensor]:
    """A state_dict through torch.hub's cache; without network, one line that says what to do."""
    try:
        return torch.hub.load_state_dict_from_url(url, map_location="cpu", weights_only=True)
    except (OSError, ValueError) as err:  # URLError and socket errors are OSErrors
        name = os.path.basename(urlparse(url).path)
        cached = Path(torch.hub.get_dir()) / "checkpoints" / name
        raise OccreidError(
            f"cannot download the pretrained backbone {url} ({type(err).__name__}): download "
            f"{name} on a machine with network and put it at {cached}, or pass "
            "--set model.pretrained=PATH (a local copy) or model.pretrained=none (from scratch)"
        ) from None


def load_pretrained(net: ResNet, source: str, arch: str) -> None:
    """Load ImageNet weights from a file path, ``imagenet`` (torch.hub URL), or any URL.

    The classifier (``fc.*``) of the checkpoint is dropped; every other key must match in name
    and shape, else the error names the first mismatch.
    """
    if source == "none":
        warnings.warn("backbone trains from scratch (pretrained: none)", stacklevel=2)
        return
    if source == "imagenet" or source.startswith(("http://", "https://")):
        url = IMAGENET_URLS[arch] if source == "imagenet" else source
        state = _download(url)
    else:
        path = Path(source)
        if not path.is_file():
            raise OccreidError(f"{path}: pretrained checkpoint not found (or use none / imagenet)")
        try:
            loaded = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:  # not a torch file, or a pickle of other objects: one line
            raise OccreidError(
                f"{path}: cannot read these weights ({type(err).__name__}); give a {arch} "
                "state_dict saved by torch.save (e.g. torchvision's .pth), imagenet or none"
            ) from None
        if not isinstance(loaded, dict):
            raise OccreidError(f"{path}: not a state_dict (a mapping of tensors) of a {arch}")
        state = loaded.get("state_dict", loaded)
    state = {k.removeprefix("module."): v for k, v in state.items() if not k.startswith("fc.")}
    own = {k: v for k, v in net.state_dict().items() if not k.startswith("fc.")}
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    if missing or unexpected:
        raise OccreidError(
            f"{source}: not a {arch} checkpoint "
            f"(missing {missing[:3]}, unexpected {unexpected[:3]})"
        )
    for k, v in state.items():
        if v.shape != own[k].shape:
            raise OccreidError(
                f"{source}: {k} has shape {tuple(v.shape)}, expected {tuple(own[k].shape)}"
            )
    net.load_state_dict(state, strict=False)
