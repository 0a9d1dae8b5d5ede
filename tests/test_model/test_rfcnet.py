import warnings

import pytest
import torch

from occreid.common.errors import OccreidError
from occreid.model import LossConfig, ModelConfig, build_model, rfc_losses

SMALL = {"arch": "resnet18", "pretrained": "none", "input_size": [128, 64]}


def _model(**overrides):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return build_model(ModelConfig(**{**SMALL, **overrides}), num_classes=3)


def _batch(b: int = 4, t: int = 2):
    torch.manual_seed(0)
    clips = torch.randn(b, t, 3, 128, 64)
    pids = torch.arange(b) // 2
    kps = torch.tensor([0.23, 0.5, 0.7, 0.5]).expand(b, t, 4).clone()
    masks = torch.zeros(b, t, 32, 16)
    masks[..., 4:30, 4:12] = 1
    return clips, pids, kps, masks


def test_gradient_reaches_every_learnable_parameter() -> None:
    model = _model().train()
    clips, pids, kps, masks = _batch()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(2):  # the first step moves the zero-initialised projection BN off zero
        opt.zero_grad()
        rfc_losses(model(clips), pids, LossConfig(), kps, masks)["total"].backward()
        dead = [
            n
            for n, p in model.named_parameters()
            if p.requires_grad and (p.grad is None or p.grad.abs().sum() == 0)
        ]
        opt.step()
    assert dead == []
    assert not model.bottleneck.bias.requires_grad  # BNNeck bias is frozen


def test_fresh_rfc_blocks_start_as_the_identity() -> None:
    base, rfc = _model(rfc_stages=[]).eval(), _model().eval()
    rfc.backbone.load_state_dict(base.backbone.state_dict())
    clips = _batch()[0]
    with torch.no_grad():
        assert torch.allclose(base(clips).features, rfc(clips).features, atol=1e-5)


def test_clip_feature_ignores_frame_order_without_trfc() -> None:
    model = _model(temporal=False).eval()
    clips = torch.randn(2, 5, 3, 128, 64)
    with torch.no_grad():
        a = model(clips).embedding
        b = model(clips[:, torch.tensor([3, 0, 4, 2, 1])]).embedding
    assert torch.allclose(a, b, atol=1e-5)


def test_trfc_mixes_frames() -> None:
    model = _model().eval()
    with torch.no_grad():  # make the block's output count, so TRFC's effect reaches the feature
        for block in model.blocks.values():
            block.expand[1].weight.fill_(1.0)
    clips = torch.randn(1, 3, 3, 128, 64)
    with torch.no_grad():
        alone = torch.cat([model(clips[:, i : i + 1]).features for i in range(3)]).mean(0)
        together = model(clips).features[0]
    assert not torch.allclose(alone, together, atol=1e-4)


ABLATIONS = {
    "baseline": {"rfc_stages": []},
    "foreground": {"block": "foreground", "rfc_stages": [2]},
    "keypoint-select": {"spatial": "keypoint", "temporal": False, "rfc_stages": [2]},
    "srfc": {"temporal": False, "rfc_stages": [2]},
    "srfc-a": {"spatial": "appearance", "temporal": False, "rfc_stages": [2]},
    "srfc-p": {"spatial": "position", "temporal": False, "rfc_stages": [2]},
    "trfc": {"spatial": "off", "rfc_stages": [2]},
    "s-t": {"rfc_stages": [2]},
    "t-s": {"arrangement": "t-s", "rfc_stages": [2]},
    "s+t": {"arrangement": "s+t", "rfc_stages": [2]},
    "fixed-4": {"partition": "fixed", "regions": 4},
    "no-foreground": {"foreground": False},
    "stage4": {"rfc_stages": [4]},
}


@pytest.mark.parametrize("name", list(ABLATIONS))
def test_every_ablation_builds_and_trains(name: str) -> None:
    model = _model(**ABLATIONS[name]).train()
    clips, pids, kps, masks = _batch()
    out = model(clips)
    terms = rfc_losses(out, pids, LossConfig(), kps, masks)
    terms["total"].backward()
    assert torch.isfinite(terms["total"])
    expected = {"ce", "triplet", "total"}
    cfg = model.cfg
    if cfg.rfc_stages and (cfg.foreground or cfg.block == "foreground"):
        expected.add("foreground")
    if cfg.rfc_stages and cfg.block == "rfc":
        if cfg.partition == "apu":
            expected.add("keypoint")
        if cfg.spatial in ("appearance+position", "appearance"):
            expected.add("appearance")
        if cfg.spatial in ("appearance+position", "position"):
            expected.add("position")
    assert set(terms) == expected


def test_parameter_counts_follow_table8_order() -> None:
    def n(**kw) -> int:
        m = _model(**kw)
        return sum(p.numel() for p in m.parameters()) - m.classifier.weight.numel()

    base = n(rfc_stages=[])
    fg = n(**ABLATIONS["foreground"])
    kp = n(**ABLATIONS["keypoint-select"])
    srfc = n(**ABLATIONS["srfc"])
    assert base < fg < kp < srfc < n(rfc_stages=[2])  # + TRFC


def test_trfc_adds_a_full_width_gate_per_block() -> None:
    def n(**kw) -> int:
        m = _model(**kw)
        return sum(p.numel() for p in m.parameters()) - m.classifier.weight.numel()

    video, image = n(), n(temporal=False)
    widths = [_model().blocks[str(s)].expand[1].num_features for s in (2, 3)]
    assert video - image == sum(c * c + c for c in widths)  # W (C x C) and b of eq. 11


def test_config_errors_are_one_line() -> None:
    with pytest.raises(OccreidError, match=r"arrangement = 'ts'"):
        build_model(ModelConfig(**{**SMALL, "arrangement": "ts"}), 3)
    with pytest.raises(OccreidError, match=r"arch = 'resnet99'"):
        build_model(ModelConfig(**{**SMALL, "arch": "resnet99"}), 3)


def test_images_are_one_frame_clips() -> None:
    model = _model(temporal=False).eval()
    with torch.no_grad():
        out = model(torch.randn(3, 1, 3, 128, 64))
    assert out.embedding.shape == (3, 512) and out.logits is None
    with pytest.raises(ValueError, match=r"\(B, T, 3, H, W\)"):
        model(torch.randn(3, 3, 128, 64))


def _locator_and_head(model) -> dict[str, torch.Tensor]:
    """The key-point locators' parameters (trained by Lk alone) and the classifier's."""
    return {
        n: p.detach().clone()
        for n, p in model.named_parameters()
        if ".partition." in n or n.startswith("classifier.")
    }


@pytest.mark.parametrize(("weight", "touched"), [(0.0, False), (0.1, True)])
def test_a_zero_lk_weight_leaves_the_locator_untouched(weight: float, touched: bool) -> None:
    """The "without Lk" rows of Tables 8-9: the term and its gradient path are gone, so Adam
    (whose weight decay would shrink a parameter with a zero gradient) never steps the locator."""
    model = _model().train()
    clips, pids, kps, masks = _batch()
    before = _locator_and_head(model)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=5e-4)
    opt.zero_grad(set_to_none=True)
    losses = rfc_losses(model(clips), pids, LossConfig(keypoint=weight), kps, masks)
    losses["total"].backward()
    opt.step()
    after = _locator_and_head(model)
    locator = [n for n in before if ".partition." in n]
    assert len(locator) >= 4 and ("keypoint" in losses) == touched
    assert all(torch.equal(before[n], after[n]) != touched for n in locator)
    assert not torch.equal(before["classifier.weight"], after["classifier.weight"])


def test_frames_without_a_pose_give_no_keypoint_loss_and_no_nan() -> None:
    model = _model().train()
    clips, pids, kps, masks = _batch()
    kps[:] = float("nan")  # no pose found anywhere in the batch
    losses = rfc_losses(model(clips), pids, LossConfig(), kps, masks)
    assert losses["keypoint"].item() == 0 and torch.isfinite(losses["total"])
    kps[0, 0] = torch.tensor([0.23, 0.5, 0.7, 0.5])  # one frame with a pose: a real loss
    assert rfc_losses(model(clips), pids, LossConfig(), kps, masks)["keypoint"].item() > 0
