import math

import torch
import torch.nn.functional as F

from occreid.model.losses import (
    appearance_regularizer,
    batch_hard_triplet,
    foreground_loss,
    keypoint_loss,
    keypoint_targets,
    position_regularizer,
)


def test_la_is_zero_when_similarities_agree() -> None:
    s = torch.softmax(torch.randn(2, 6, 3), dim=-1)
    assert appearance_regularizer(s, 5 * s).item() < 1e-6  # cosine ignores scale
    f = torch.randn(2, 6, 3)
    expected = (
        (
            F.cosine_similarity(s[:, :, None], s[:, None], dim=-1)
            - F.cosine_similarity(f[:, :, None], f[:, None], dim=-1)
        )
        .abs()
        .sum(2)
        .mean()
    )
    assert torch.isclose(appearance_regularizer(s, f), expected, atol=1e-5)
    assert expected > 0.1


def test_la_sends_gradient_into_the_region_features_as_the_authors_code() -> None:
    s = torch.softmax(torch.randn(2, 6, 3), dim=-1).requires_grad_()
    f = torch.randn(2, 6, 8, requires_grad=True)
    appearance_regularizer(s, f).backward()
    assert f.grad is not None and f.grad.abs().sum() > 0
    g = f.detach().clone().requires_grad_()
    appearance_regularizer(s, g, detach_target=True).backward()
    assert g.grad is None  # our option: sim(f) is a fixed target


def test_lp_is_zero_when_similarities_agree() -> None:
    same_place = torch.tensor([0.5, 0.5, 0.2, 1.0]).expand(1, 6, 4)
    s = torch.tensor([0.2, 0.3, 0.5]).expand(1, 6, 3)  # identical rows: cosine 1 = ps of one centre
    assert position_regularizer(s, same_place).item() < 1e-5
    spread = torch.rand(1, 6, 4)
    assert position_regularizer(s, spread) > 0.1


def test_keypoint_targets_and_loss() -> None:
    frac = torch.tensor([[0.23, 0.5, 0.7, 0.5], [0.0, 1.0, float("nan"), 0.99]])
    # rows: round(f * 32) - 1 clamped to [0, 31]; column: round(f * 16) - 1 clamped to [0, 15]
    assert keypoint_targets(frac, 32, 16).tolist() == [[6, 15, 21, 7], [0, 31, -100, 15]]
    logits = [torch.full((2, 32), -20.0) for _ in range(3)] + [torch.full((2, 16), -20.0)]
    for i, col in enumerate([6, 15, 21, 7]):
        logits[i][0, col] = 20.0
    for i, col in enumerate([0, 31, 5, 15]):
        logits[i][1, col] = 20.0
    assert keypoint_loss(logits, frac).item() < 1e-6  # the NaN target is ignored
    logits[0][0, 6] = -20.0  # a1 of frame 0 now uniform over 32 rows: CE log 32, mean of 2 x 4
    assert abs(keypoint_loss(logits, frac).item() - math.log(32) / 8) < 1e-4


def test_foreground_loss_is_bce_against_the_resized_mask() -> None:
    mask = torch.zeros(1, 64, 32)
    mask[:, 16:, 8:24] = 1
    target = F.interpolate(mask[:, None], size=(16, 8), mode="bilinear", align_corners=False)
    good = target.clamp(0.01, 0.99)
    assert foreground_loss(good, mask) < foreground_loss(1 - good, mask)
    assert torch.isclose(foreground_loss(good, mask), F.binary_cross_entropy(good, target))


def test_batch_hard_triplet_worked_example() -> None:
    x = torch.tensor([[0.0], [1.0], [3.0], [5.0]])
    pids = torch.tensor([0, 0, 1, 1])
    # hardest positives: 1, 1, 2, 2; hardest negatives: 3, 2, 2, 4; margin 0.5
    # losses: relu(1-3+.5)=0, relu(1-2+.5)=0, relu(2-2+.5)=.5, relu(2-4+.5)=0 -> mean 0.125
    assert torch.isclose(batch_hard_triplet(x, pids, 0.5, "euclidean"), torch.tensor(0.125))
    assert batch_hard_triplet(x, torch.tensor([0, 1, 2, 3]), 0.5, "euclidean").item() == 0
