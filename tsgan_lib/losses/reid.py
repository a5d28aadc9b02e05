"""The ReID backbone's losses: Eq. (8) and its ID (9)-(10) and triplet (11) terms.

Paper Section III.B. The backbone's third term, the GAN loss of Eq. (12),
lives with the other adversarial terms in :mod:`tsgan_lib.losses.gan`.
The weights default to the paper's Section IV.B: λ1 = 3.0, λ2 = 1.0,
λ3 = 0.1, margin m = 0.3; label smoothing ε = 0.1 is the strong baseline's.

Which images the ID and triplet terms see (``on_fake_ir``; docs/interpretations.md,
7): X_R and X_I by default. The paper feeds X_I' to the backbone for the
"MSE reconstruction" of Eq. (14) and the adversarial Eq. (12); it never says
that the identity losses see X_I', and an X_I' that carries no identity (what
the ``fake_ir`` probes of a run measure) only adds noise to them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

import torch
import torch.nn.functional as F
from torch import Tensor

from tsgan_lib.ranges import NonNegative, Probability

from .terms import LossTerms


@dataclass
class ReIDLossConfig:
    """Weights and hyper-parameters of L_ReID (Eq. 8-11), paper defaults."""

    lambda_id: Annotated[float, NonNegative] = 3.0        # λ1, weight of the ID loss (9)
    lambda_tri: Annotated[float, NonNegative] = 1.0       # λ2, weight of the triplet loss (11)
    lambda_gan: Annotated[float, NonNegative] = 0.1       # λ3, weight of the backbone's GAN loss (12)
    margin: Annotated[float, NonNegative] = 0.3           # m, triplet margin (11)
    label_smoothing: Annotated[float, Probability] = 0.1  # ε of Eq. (10)
    on_fake_ir: bool = False      # ID and triplet losses also on X_I' with X_R's labels (docs/interpretations.md, 7)
    triplet: Literal["batch_hard", "wrt", "squared_difference"] = "batch_hard"  # Eq. (11) (paper), AGW's WRT or CAJ's squared difference (losses/wrt.py; no margin)
    channel_aug: bool = False  # CAJ's views in ID and triplet: X_R, a channel-exchanged X_R, X_I channel-augmented (data/channel_aug.py)


def smooth_labels(targets: Tensor, num_classes: int, epsilon: float) -> Tensor:
    r"""Eq. (10): the soft labels q of the ID loss.

    .. math:: q_{i,n} = 1 - \frac{N-1}{N}\epsilon \text{ if } n = y_i, \quad \frac{\epsilon}{N} \text{ otherwise}

    ``targets``: (B,) class indices; returns q of shape (B, N), rows summing to 1.
    """
    q = torch.full((targets.numel(), num_classes), epsilon / num_classes, device=targets.device)
    q.scatter_(1, targets.view(-1, 1), 1.0 - (num_classes - 1) / num_classes * epsilon)
    return q


def id_loss(logits: Tensor, targets: Tensor, epsilon: float = 0.1) -> Tensor:
    r"""Eq. (9): label-smoothed cross-entropy, averaged over the batch.

    .. math:: \mathcal{L}^{ID}_{ReID} = -\sum_{n=1}^{N} q_{i,n} \log p_{i,n}

    with p_{i,n} = softmax(F_i)_n (the paper calls p the "prediction logit";
    the log is of the softmax probability) and q from Eq. (10). Equals
    ``F.cross_entropy(logits, targets, label_smoothing=epsilon)``.
    """
    q = smooth_labels(targets, logits.shape[1], epsilon)
    log_p = F.log_softmax(logits.float(), dim=1)
    return -(q * log_p).sum(dim=1).mean()


def pairwise_euclidean(feat: Tensor) -> Tensor:
    """D[a, b] = ||V_a - V_b||_2 for the rows of ``feat`` (B, d); the clamp
    keeps the gradient finite on the zero diagonal."""
    feat = feat.float()
    sq = feat.pow(2).sum(dim=1)
    d2 = sq[:, None] + sq[None, :] - 2.0 * feat @ feat.t()
    return d2.clamp(min=1e-12).sqrt()


def triplet_loss(feat: Tensor, targets: Tensor, margin: float = 0.3) -> Tensor:
    r"""Eq. (11): batch-hard triplet loss on V (Hermans et al.).

    .. math:: \mathcal{L}^{Tri}_{ReID} = \frac{1}{B}\sum_{a}
              \big[m + \max_{p: y_p = y_a} D_{a,p} - \min_{n: y_n \ne y_a} D_{a,n}\big]_+

    D is the Euclidean distance. The paper writes a sum over (a, p, n); as in
    the strong baseline each anchor keeps its hardest positive and hardest
    negative within the batch and the result is averaged over anchors.
    Anchors without a negative in the batch are left out (masked, not
    indexed: no host synchronisation on a GPU).
    """
    dist = pairwise_euclidean(feat)
    same = targets[:, None] == targets[None, :]
    d_ap = dist.masked_fill(~same, float("-inf")).max(dim=1).values   # hardest positive (self gives 0)
    d_an = dist.masked_fill(same, float("inf")).min(dim=1).values     # hardest negative
    valid = torch.isfinite(d_an)
    keep = valid.to(dist.dtype)
    hinge = F.relu(margin + d_ap - torch.where(valid, d_an, torch.zeros_like(d_an))) * keep
    return hinge.sum() / keep.sum().clamp(min=1.0)


def reid_loss(loss_id: Tensor, loss_tri: Tensor, loss_gan: Tensor | None = None,
              cfg: ReIDLossConfig | None = None) -> LossTerms:
    r"""Eq. (8): the ReID backbone's loss, as named weighted terms.

    .. math:: \mathcal{L}_{ReID} = \lambda_1 \mathcal{L}^{ID}_{ReID} + \lambda_2 \mathcal{L}^{Tri}_{ReID}
              + \lambda_3 \mathcal{L}^{GAN}_{ReID}

    ``loss_gan`` (Eq. 12) is ``None`` when the variant has no joint
    discriminator; the term is then absent. Returns ``{"reid_id", "reid_tri"
    [, "reid_gan"]}``; their sum is L_ReID.
    """
    cfg = cfg or ReIDLossConfig()
    terms = {"reid_id": cfg.lambda_id * loss_id, "reid_tri": cfg.lambda_tri * loss_tri}
    if loss_gan is not None:
        terms["reid_gan"] = cfg.lambda_gan * loss_gan
    return terms
