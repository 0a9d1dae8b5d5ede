import torch
from torch import nn

from occreid.model.srfc import SRFC, Assignment, encode_decode, position_similarity
from occreid.model.trfc import TRFC


def test_fully_occluded_region_is_completed_from_its_neighbours_cluster() -> None:
    # Regions own disjoint channels: R1-R2 channels 0-3, R3-R4 4-7, R5 8-11; R6 fully occluded.
    f = torch.zeros(1, 6, 12)
    f[0, 0:2, 0:4], f[0, 2:4, 4:8], f[0, 4, 8:12] = 1.0, 1.0, 1.0
    # hand-set assignment (eqs. 8-9): R5 and R6 are position neighbours in cluster 3
    s = torch.tensor(
        [
            [
                [0.9, 0.05, 0.05],
                [0.9, 0.05, 0.05],
                [0.05, 0.9, 0.05],
                [0.05, 0.9, 0.05],
                [0.05, 0.05, 0.9],
                [0.05, 0.05, 0.9],
            ]
        ]
    )
    z = encode_decode(f, s, nn.Identity(), nn.Identity())
    o6 = f[0, 5] + z[0, 5]
    assert o6.norm() > 0.3
    assert o6[8:12].pow(2).sum() > 0.8 * o6.pow(2).sum()  # dominated by the neighbour R5
    # eq. 8 then eq. 9 by hand: c = A^T f with A column-normalised, z_6 = sum_k S_6k c_k
    a = s[0] / s[0].sum(0)
    assert torch.allclose(z[0, 5], s[0, 5] @ (a.t() @ f[0]))


def test_assignment_rows_and_encoding_columns_sum_to_one() -> None:
    torch.manual_seed(0)
    srfc = SRFC(8, clusters=3)
    f, pos = torch.rand(4, 6, 8), torch.rand(4, 6, 4)
    s, s_a, s_p = srfc.assign(f, pos)
    for m in (s, s_a, s_p):
        assert torch.allclose(m.sum(-1), torch.ones(4, 6))
    assert torch.allclose(s, (s_a + s_p) / 2)
    a = s / s.sum(dim=1, keepdim=True)
    assert torch.allclose(a.sum(1), torch.ones(4, 3))


def test_ablation_assignments() -> None:
    f, pos = torch.rand(2, 6, 8), torch.rand(2, 6, 4)
    s, s_a, s_p = SRFC(8, assignment=Assignment.APPEARANCE).assign(f, pos)
    assert s_p is None and torch.equal(s, s_a)
    s, s_a, s_p = SRFC(8, assignment=Assignment.POSITION).assign(f, pos)
    assert s_a is None and torch.equal(s, s_p)
    s, *_ = SRFC(8, assignment=Assignment.KEYPOINT).assign(f, pos)
    assert s[0].argmax(1).tolist() == [0, 1, 2, 2, 2, 2]  # head / upper body / lower body


def test_position_similarity_eq6() -> None:
    pos = torch.tensor([[[0.5, 0.5, 0, 0], [0.8, 0.9, 0, 0], [0.5, 0.25, 0, 0]]])
    ps = position_similarity(pos)[0]
    # distances: (0.3, 0.4) -> 0.5 -> 1 - 1 = 0; (0, 0.25) -> 1 - 0.5 = 0.5
    far = 1 - 2 * (0.3**2 + 0.65**2) ** 0.5  # (0.8, 0.9) vs (0.5, 0.25): -0.4318
    expected = torch.tensor([[1.0, 0.0, 0.5], [0.0, 1.0, far], [0.5, far, 1.0]])
    assert torch.allclose(ps, expected, atol=1e-6)


def _halves() -> torch.Tensor:
    """Two regions on a 4 x 2 map: rows 0-1 and rows 2-3, as (1, 2, 4, 2) masks."""
    masks = torch.zeros(1, 2, 4, 2)
    masks[:, 0, :2], masks[:, 1, 2:] = 1.0, 1.0
    return masks


def test_trfc_gate_is_lower_for_a_small_valued_region() -> None:
    torch.manual_seed(0)
    trfc = TRFC(16)
    nn.init.normal_(trfc.gate.weight)  # mixed signs: relu keeps W >= 0
    u = torch.rand(1, 16, 1, 1)
    g_small, g_large = trfc.gate_values(0.05 * u), trfc.gate_values(3.0 * u)
    assert (g_small <= g_large).all() and g_small.mean() < g_large.mean() - 0.1


def test_trfc_gate_is_a_full_width_c_by_c_weight() -> None:
    trfc = TRFC(24)
    assert trfc.gate.weight.numel() == 24 * 24  # the paper's counts: W is C x C (eq. 11)
    maps = torch.rand(1, 24, 4, 2)
    g = trfc.gate_values(maps)
    assert g.shape == maps.shape
    # every channel's gate reads every channel of the feature (no reduced width in between)
    with torch.no_grad():
        trfc.gate.weight.zero_()
        trfc.gate.bias.zero_()
        trfc.gate.weight[5, 17] = 1.0
    bumped = maps.clone()
    bumped[:, 17] += 1.0
    diff = trfc.gate_values(bumped) - trfc.gate_values(maps)
    assert diff[:, 5].abs().min() > 0.05 and diff[:, torch.arange(24) != 5].abs().max() == 0


def test_trfc_completes_a_region_occluded_in_one_frame_from_the_other_frames() -> None:
    torch.manual_seed(0)
    trfc = TRFC(8)
    with torch.no_grad():  # a positive gate: visible features open it, a zero feature closes it
        trfc.gate.weight.fill_(1.0)
        trfc.gate.bias.fill_(-4.0)
    legs, head = torch.rand(8) + 1, torch.rand(8) + 1
    regions = torch.stack([head, legs])  # (R, C)
    o = regions.expand(3, 2, 8).clone()  # three frames of the same person
    o[1, 1] = 0.0  # the legs are hidden in frame 1: the foreground-weighted feature is ~0
    masks = _halves().expand(3, -1, -1, -1)
    maps = torch.einsum("nrhw,nrc->nchw", masks, o)
    e = trfc(maps, masks, frames=3)
    occluded = e[1, :, 2:]  # frame 1's leg pixels now carry the legs of frames 0 and 2
    assert torch.allclose(occluded, legs[:, None, None].expand_as(occluded), atol=0.05)
    visible = e[0, :, :2]  # a visible region keeps its own feature (its gate is open)
    assert torch.allclose(visible, head[:, None, None].expand_as(visible), atol=1e-3)


def test_trfc_attends_to_the_other_frames_only() -> None:
    trfc = TRFC(4)
    masks = _halves().expand(2, -1, -1, -1)
    o = torch.rand(2, 2, 4)
    maps = torch.einsum("nrhw,nrc->nchw", masks, o)
    e = trfc(maps, masks, frames=2)
    g = trfc.gate_values(maps)
    # with two frames, the context of frame 0 is exactly frame 1 (eq. 10 excludes t itself)
    assert torch.allclose(e[0], g[0] * maps[0] + (1 - g[0]) * maps[1])
    assert torch.equal(trfc(maps, masks, frames=1), maps)  # a single frame passes through


def test_trfc_context_weighs_the_other_frames_by_eq_10() -> None:
    # one region over three frames: o0 = (1, 0), o1 = (0, 1), o2 = (1, 1); for frame 0 the
    # scores with frames 1 and 2 are 0 and 1, so alpha = (1, e) / (1 + e); for frame 2 they
    # are 1 and 1, so v2 is the mean of o0 and o1
    o = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]).view(1, 3, 1, 2)
    v = TRFC.context(o)[0, :, 0]
    e = torch.e
    assert torch.allclose(v[0], torch.tensor([e, 1 + e]) / (1 + e))
    assert torch.allclose(v[1], torch.tensor([1 + e, e]) / (1 + e))
    assert torch.allclose(v[2], torch.tensor([0.5, 0.5]))
