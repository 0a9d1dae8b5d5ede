import torch

from occreid.model.foreground import region_features
from occreid.model.partition import (
    AdaptivePartitionUnit,
    FixedPartition,
    position_codes,
    region_masks,
    repair_keypoints,
)


def test_eq1_worked_example() -> None:
    # 8x4 map; a1=1 (head rows 0-1), a2=4 (upper 2-4), a3=6 (upper legs 5-6), a4=1 (cols 0-1 left)
    m = region_masks(torch.tensor([[1, 4, 6, 1]]), 8, 4)[0]
    expected = torch.zeros(8, 4, dtype=torch.long)
    expected[0:2] = 0
    expected[2:5] = 1
    expected[5:7, :2], expected[5:7, 2:] = 2, 3
    expected[7:, :2], expected[7:, 2:] = 4, 5
    assert torch.equal(m.argmax(0), expected)
    assert torch.equal(m.sum(0), torch.ones(8, 4))


def test_repaired_keypoints_give_six_nonempty_regions() -> None:
    torch.manual_seed(0)
    raw = torch.stack(
        [torch.randint(0, 16, (200,)) for _ in range(3)] + [torch.randint(0, 8, (200,))], 1
    )
    masks = region_masks(repair_keypoints(raw, 16, 8), 16, 8)
    assert torch.equal(masks.sum(1), torch.ones(200, 16, 8))  # every pixel in exactly one region
    assert (masks.sum(dim=(2, 3)) > 0).all()


def test_position_codes_are_centres_and_extents() -> None:
    m = region_masks(torch.tensor([[1, 4, 6, 1]]), 8, 4)
    codes = position_codes(m)[0]
    # head: rows 0-1 -> centre y 1/8, full width -> centre x 1/2, height 2/8, width 1
    assert torch.allclose(codes[0], torch.tensor([1 / 8, 0.5, 2 / 8, 1.0]))
    # lower-right leg: row 7, cols 2-3 -> centre (7.5/8, 3/4), 1 row, 2 columns
    assert torch.allclose(codes[5], torch.tensor([7.5 / 8, 0.75, 1 / 8, 0.5]))


def test_apu_masks_follow_the_argmax_and_carry_no_gradient() -> None:
    apu = AdaptivePartitionUnit(64, 16, 8).eval()
    with torch.no_grad():
        apu.vertical.weight.zero_()
        apu.horizontal.weight.zero_()
        bias = torch.full((3, 16), -10.0)
        bias[0, 3], bias[1, 8], bias[2, 12] = 10.0, 10.0, 10.0
        apu.vertical.bias.copy_(bias.flatten())
        apu.horizontal.bias.copy_(torch.where(torch.arange(8) == 4, 10.0, -10.0))
    part = apu(torch.randn(2, 64, 16, 8, requires_grad=True))
    assert torch.equal(part.masks, region_masks(torch.tensor([[3, 8, 12, 4]] * 2), 16, 8))
    assert not part.masks.requires_grad
    assert [p.shape for p in part.keypoint_logits] == [(2, 16)] * 3 + [(2, 8)]


def test_fixed_partition_stripes() -> None:
    part = FixedPartition(3, 8)(torch.zeros(2, 4, 8, 4))
    assert part.masks.shape == (2, 3, 8, 4)
    assert part.masks[0, :, :, 0].sum(1).tolist() == [3, 2, 3]  # round(linspace(0, 8, 4))
    assert torch.equal(part.masks.sum(1), torch.ones(2, 8, 4))


def test_region_features_eq2_and_empty_regions() -> None:
    x = torch.arange(8.0).view(1, 1, 2, 4)  # one channel: values 0..7
    masks = torch.zeros(1, 2, 2, 4)
    masks[0, 0, 0] = 1  # first row: 0, 1, 2, 3
    fg = torch.tensor([[[[1.0, 1.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0]]]])
    f = region_features(x, masks, fg)
    assert torch.allclose(f[0, 0], torch.tensor([0.5]))  # foreground keeps 0 and 1 only
    assert torch.allclose(region_features(x, masks, None)[0, 0], torch.tensor([1.5]))
    assert torch.equal(f[0, 1], torch.zeros(1))  # empty region: zero, not NaN
    masks[0, 1, 0, 2:] = 1  # a region whose foreground is zero everywhere
    assert torch.equal(region_features(x, masks, fg)[0, 1], torch.zeros(1))
