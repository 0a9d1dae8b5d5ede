"""RFCnet (paper 4.1): a ResNet with RFC blocks after chosen stages, temporal average pooling and
a BNNeck head.

Input: clips (B, T, 3, H, W) (T = 1 for images). Frames are folded into the batch for the CNN;
RFC blocks see (B*T, C, h, w) and unfold it for TRFC. The clip feature is the temporal mean of
the frames' pooled features (4.1). Head: BatchNorm1d then a classifier, and the triplet loss and
retrieval use the post-BN ``embedding``, as in the authors' code. That BN's bias is frozen at 0 and
the classifier has none: the BNNeck of Luo et al. (Bag of Tricks, 2019), which keeps the embedding
centred on the origin that cosine distances measure from (README, "Where we depart from the paper
or the authors' code").
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from occreid.model.backbone import ResNet, load_pretrained
from occreid.model.config import ModelConfig
from occreid.model.rfc_block import BlockAux, RFCBlock


@dataclass
class RFCOutput:
    """Model outputs: the clip feature, its BNNeck embedding, logits (training) and block aux."""

    features: torch.Tensor
    embedding: torch.Tensor
    logits: torch.Tensor | None
    aux: list[BlockAux] = field(default_factory=list)


def stage_sizes(input_size: list[int], last_stride: int) -> list[tuple[int, int]]:
    """Feature-map (h, w) after each of the four stages for an (H, W) input."""
    h, w = input_size
    strides = [4, 8, 16, 16 * last_stride]
    return [(-(-h // s), -(-w // s)) for s in strides]


class RFCNet(nn.Module):
    """Backbone + RFC blocks + BNNeck classifier."""

    def __init__(self, cfg: ModelConfig, num_classes: int) -> None:
        super().__init__()
        self.cfg = cfg
        self.backbone = ResNet(cfg.arch, cfg.last_stride)
        sizes = stage_sizes(cfg.input_size, cfg.last_stride)
        self.blocks = nn.ModuleDict(
            {
                str(s): RFCBlock(self.backbone.channels[s - 1], *sizes[s - 1], cfg)
                for s in cfg.rfc_stages
            }
        )
        dim = self.backbone.channels[-1]
        self.bottleneck = nn.BatchNorm1d(dim)
        self.bottleneck.bias.requires_grad_(False)
        self.classifier = nn.Linear(dim, num_classes, bias=False)
        nn.init.normal_(self.classifier.weight, std=0.001)

    @property
    def feature_dim(self) -> int:
        return self.bottleneck.num_features

    def forward_features(self, clips: torch.Tensor) -> tuple[torch.Tensor, list[BlockAux]]:
        """(B, T, 3, H, W) -> per-frame maps after layer4 (B*T, C, h, w) and the blocks' aux."""
        frames = clips.shape[1]
        x = self.backbone.stem(clips.flatten(0, 1))
        aux = []
        layers = (
            self.backbone.layer1,
            self.backbone.layer2,
            self.backbone.layer3,
            self.backbone.layer4,
        )
        for stage, layer in enumerate(layers, start=1):
            x = layer(x)
            if str(stage) in self.blocks:
                x, block_aux = self.blocks[str(stage)](x, frames)
                aux.append(block_aux)
        return x, aux

    def forward_head(self, maps: torch.Tensor, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Frame maps -> clip feature (temporal mean of pooled frames) and BNNeck embedding."""
        frame_features = maps.mean(dim=(2, 3))
        features = frame_features.view(batch, -1, frame_features.shape[1]).mean(dim=1)
        return features, self.bottleneck(features)

    def forward(self, clips: torch.Tensor) -> RFCOutput:
        if clips.dim() != 5:
            raise ValueError(f"expected clips (B, T, 3, H, W), got shape {tuple(clips.shape)}")
        maps, aux = self.forward_features(clips)
        features, embedding = self.forward_head(maps, clips.shape[0])
        logits = self.classifier(embedding) if self.training else None
        return RFCOutput(features, embedding, logits, aux)


def build_model(cfg: ModelConfig, num_classes: int) -> RFCNet:
    """Any variant of the ``model:`` section of a config (checked first), with its backbone
    weights (``cfg.pretrained``)."""
    cfg.validate()
    model = RFCNet(cfg, num_classes)
    load_pretrained(model.backbone, cfg.pretrained, cfg.arch)
    return model
