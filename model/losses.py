"""The objective of eq. 13: CE + batch-hard triplet + l1 Lk + l2 Lf + l3 (La + Lp).

Defaults follow the paper's weights (0.1, 0.5, 0.05) and the authors' code where the paper is
silent: label smoothing 0.1 for CE, triplet margin 0.5 on cosine distance, Lf against the mask
resized bilinearly to the map (soft targets), Lk targets as round(f * size) - 1. Each auxiliary
loss is averaged over the RFC blocks. A term whose weight is 0 (the "without Lk / Lf / La / Lp"
rows of Tables 8-9) is not computed at all, so it sends no gradient, not even a zero one: the
key-point locator of "wo-Lk" is then never touched by the optimizer (Adam's weight decay included).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from occreid.common.config import require
from occreid.model.rfcnet import RFCOutput
from occreid.model.srfc import position_similarity

DISTANCES = ("cosine", "euclidean")
WEIGHTS = ("ce", "triplet", "keypoint", "foreground", "appearance", "position")


@dataclass
class LossConfig:
    """Weights and settings of each term (the `loss:` section of a config).

    detach_appearance_target: La's feature similarity as a fixed target (no gradient into f);
    off, as in the authors' code, La also pulls the region features (README, "Where we depart
    from the paper or the authors' code").
    """

    ce: float = 1.0
    triplet: float = 1.0
    keypoint: float = 0.1
    foreground: float = 0.5
    appearance: float = 0.05
    position: float = 0.05
    label_smoothing: float = 0.1
    margin: float = 0.5
    distance: str = "cosine"
    detach_appearance_target: bool = False

    def validate(self) -> None:
        """Every field checked (OmegaConf has checked the keys and types): one-line errors."""
        require(
            self.distance in DISTANCES,
            f"loss config: distance = {self.distance!r}; choose one of {DISTANCES}",
        )
        for name in WEIGHTS:
            value = getattr(self, name)
            require(value >= 0, f"loss config: {name} = {value}; a weight is >= 0")
        require(
            any(getattr(self, name) for name in WEIGHTS),
            "loss config: every weight is 0; nothing would be trained",
        )
        require(0 <= self.label_smoothing < 1, "loss config: label_smoothing is in [0, 1)")
        require(self.margin >= 0, "loss config: the triplet margin is >= 0")


def pairwise_distance(x: torch.Tensor, kind: str) -> torch.Tensor:
    """(N, D) -> (N, N): cosine distance 1 - cos, or Euclidean."""
    if kind == "cosine":
        x = F.normalize(x, dim=1)
        return 1 - x @ x.t()
    if kind == "euclidean":
        return torch.cdist(x, x)
    raise ValueError(f"distance {kind!r}; choose one of {DISTANCES}")


def batch_hard_triplet(
    x: torch.Tensor, pids: torch.Tensor, margin: float, kind: str
) -> torch.Tensor:
    """For each anchor, its hardest positive and hardest negative in the batch (Hermans et al.)."""
    dist = pairwise_distance(x, kind)
    same = pids[:, None] == pids[None, :]
    hardest_pos = dist.masked_fill(~same, float("-inf")).amax(dim=1)
    hardest_neg = dist.masked_fill(same, float("inf")).amin(dim=1)
    valid = torch.isfinite(hardest_neg) & (same.sum(1) > 1)
    if not valid.any():
        return x.sum() * 0
    return F.relu(hardest_pos - hardest_neg + margin)[valid].mean()


def keypoint_targets(fractions: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """(N, 4) image fractions (a1-a3 of the height, a4 of the width) -> grid indices.

    round(f * size) - 1 clamped to the map, as the authors' code; NaN (key point not found) ->
    -100, ignored by the cross entropy.
    """
    sizes = fractions.new_tensor([height, height, height, width])
    idx = (fractions * sizes).round() - 1
    idx = torch.minimum(idx.clamp_min(0), sizes - 1)
    return torch.where(torch.isnan(fractions), torch.full_like(idx, -100), idx).long()


def keypoint_loss(logits: list[torch.Tensor], fractions: torch.Tensor) -> torch.Tensor:
    """Eq. 14: mean over the 4 key points (and frames) of the CE against the target index.

    Frames without a target (no pose found: NaN) are left out; a batch with none gives 0."""
    h, w = logits[0].shape[1], logits[3].shape[1]
    target = keypoint_targets(fractions, h, w)
    terms = [
        F.cross_entropy(p.float(), target[:, i], ignore_index=-100, reduction="sum")
        for i, p in enumerate(logits)
    ]
    counts = (target != -100).sum(dim=0).clamp_min(1)
    return (torch.stack(terms) / counts).mean()


def foreground_loss(fg: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Eq. 15: BCE of the map (N, 1, h, w) against the person mask (N, H, W) resized to (h, w)."""
    target = F.interpolate(
        masks[:, None].float(), size=fg.shape[2:], mode="bilinear", align_corners=False
    )
    return F.binary_cross_entropy(fg.float().clamp(1e-6, 1 - 1e-6), target)


def cosine_matrix(x: torch.Tensor) -> torch.Tensor:
    """(N, R, D) -> (N, R, R) cosine similarities between rows."""
    x = F.normalize(x.float(), dim=-1, eps=1e-12)
    return x @ x.transpose(1, 2)


def appearance_regularizer(
    s_a: torch.Tensor, f: torch.Tensor, detach_target: bool = False
) -> torch.Tensor:
    """Eq. 4: sum_j |sim(S^A_i, S^A_j) - sim(f_i, f_j)|, averaged over regions i and the batch.

    Both sides carry gradient (the authors' code); ``detach_target`` makes sim(f) a fixed target.
    """
    target = cosine_matrix(f)
    diff = (cosine_matrix(s_a) - (target.detach() if detach_target else target)).abs()
    return diff.sum(dim=2).mean()


def position_regularizer(s_p: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """Eq. 7: sum_j |sim(S^P_i, S^P_j) - ps(R_i, R_j)|, averaged over regions i and the batch."""
    diff = (cosine_matrix(s_p) - position_similarity(positions.float())).abs()
    return diff.sum(dim=2).mean()


def _mean(terms: list[torch.Tensor]) -> torch.Tensor | None:
    return torch.stack(terms).mean() if terms else None


def rfc_losses(
    out: RFCOutput,
    pids: torch.Tensor,
    cfg: LossConfig,
    keypoints: torch.Tensor | None = None,
    masks: torch.Tensor | None = None,
) -> dict[str, torch.Tensor]:
    """Every term of eq. 13 (unweighted) and ``total`` (weighted). ``keypoints`` (B, T, 4) and
    ``masks`` (B, T, H, W) are the cached labels; terms whose inputs are absent, or whose weight
    is 0, are left out (not computed, so they add no gradient path)."""
    assert out.logits is not None, "losses need the model in training mode"
    terms: dict[str, torch.Tensor] = {}
    if cfg.ce:
        terms["ce"] = F.cross_entropy(out.logits.float(), pids, label_smoothing=cfg.label_smoothing)
    if cfg.triplet:
        terms["triplet"] = batch_hard_triplet(out.embedding.float(), pids, cfg.margin, cfg.distance)
    kp, fg, la, lp = [], [], [], []
    for aux in out.aux:
        part = aux.partition
        srfc = aux.srfc
        if (
            cfg.keypoint
            and keypoints is not None
            and part is not None
            and part.keypoint_logits is not None
        ):
            kp.append(keypoint_loss(part.keypoint_logits, keypoints.flatten(0, 1)))
        if cfg.foreground and masks is not None and aux.foreground is not None:
            fg.append(foreground_loss(aux.foreground, masks.flatten(0, 1)))
        if cfg.appearance and srfc is not None and srfc.s_appearance is not None:
            la.append(
                appearance_regularizer(
                    srfc.s_appearance, aux.region_features, cfg.detach_appearance_target
                )
            )
        if cfg.position and srfc is not None and srfc.s_position is not None and part is not None:
            lp.append(position_regularizer(srfc.s_position, part.positions))
    for name, values in (
        ("keypoint", kp),
        ("foreground", fg),
        ("appearance", la),
        ("position", lp),
    ):
        value = _mean(values)
        if value is not None:
            terms[name] = value
    if not terms:
        raise ValueError("no loss term to train: every weight is 0 or its labels are missing")
    terms["total"] = sum(getattr(cfg, name) * value for name, value in terms.items())
    return terms
