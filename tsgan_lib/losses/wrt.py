r"""The baselines' triplet losses: AGW's weighted regularized triplet and CAJ's squared-difference variant.

Both replace the batch-hard triplet's hardest positive and negative
(:func:`tsgan_lib.losses.reid.triplet_loss`) with softmax-weighted averages
over all of them, so every pair gets a gradient and no margin is needed.
For anchor i with positive set P_i = {j : y_j = y_i} (the anchor itself
included, at distance 0, as in the reference code) and negative set
N_i = {k : y_k ≠ y_i}, and D the Euclidean distance:

.. math:: w^p_{ij} = \frac{e^{\alpha D_{ij}}}{\sum_{j' \in P_i} e^{\alpha D_{ij'}}}, \qquad
          w^n_{ik} = \frac{e^{-\alpha D_{ik}}}{\sum_{k' \in N_i} e^{-\alpha D_{ik'}}}, \qquad
          d^p_i = \sum_{j \in P_i} w^p_{ij} D_{ij}, \quad d^n_i = \sum_{k \in N_i} w^n_{ik} D_{ik}

(α = 1 in AGW; far positives and near negatives weigh most). Then

- **WRT** (AGW; Ye et al., TPAMI 2021): :math:`\mathcal{L}_{wrt} = \frac{1}{B}\sum_i
  \log\big(1 + e^{\,d^p_i - d^n_i}\big)`, the soft margin of ``TripletLoss_WRT``
  in ``mangye16/Cross-Modal-Re-ID-baseline`` (commit e817a26, ``loss.py`` lines
  60-111). AGW trains with cross-entropy + WRT, weights 1 and 1, on the pooled
  feature V (``train.py`` lines 194-196, 262-270).
- **Squared difference** (CAJ; Ye et al., ICCV 2021, "enhanced channel-mixed
  learning"): ``TripletLoss_ADP`` in the same repository's ``ICCV21_CAJ/loss.py``
  (lines 108-161), run with alpha = 1, gamma = 1, square = 1 (``README.md``
  line 30, ``main.sh``). With Δ_i = d^p_i − d^n_i and s_i = +1 if Δ_i > 0 else −1:
  :math:`\mathcal{L}_{sq} = \frac{1}{B}\sum_i \log\big(1 + e^{\,s_i \min(\gamma \Delta_i^2,\, 88)}\big)`:
  a violated triplet costs more the larger the violation, a satisfied one
  keeps being pushed apart. The clamp at 88 (``exp`` stays finite in
  float32) is the code's. The formula is taken from the code.

The weights are not detached: gradients flow through them, as in the
reference. The reference normalises the softmax with ``Z + 1e-6``; here it is
exact. An anchor without a negative in the batch is left out of the mean
(the reference would count it with d^n = 0); an identity sampler never makes one.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from .reid import pairwise_euclidean, triplet_loss

SQUARED_DIFFERENCE_CLAMP = 88.0  # max of γΔ² before exp (ICCV21_CAJ/loss.py line 148)


def softmax_weights(scores: Tensor, mask: Tensor) -> Tensor:
    r"""Row-wise softmax of ``scores`` over the entries where ``mask`` is True:
    :math:`w_{ij} = e^{s_{ij}} [m_{ij}] / \sum_{j'} e^{s_{ij'}} [m_{ij'}]`; a row with no
    True entry gets zero weights."""
    s = scores.masked_fill(~mask, float("-inf"))
    top = s.max(dim=1, keepdim=True).values.detach()           # softmax is shift-invariant: stability only
    e = torch.exp(s - torch.where(torch.isfinite(top), top, torch.zeros_like(top)))  # 0 off the mask
    return e / e.sum(dim=1, keepdim=True).clamp(min=torch.finfo(e.dtype).tiny)


def weighted_pair_distances(feat: Tensor, targets: Tensor, alpha: float = 1.0) -> tuple[Tensor, Tensor, Tensor]:
    r"""The softmax-weighted positive and negative distances of each anchor:
    :math:`d^p_i = \sum_{j \in P_i} w^p_{ij} D_{ij}` and :math:`d^n_i = \sum_{k \in N_i} w^n_{ik} D_{ik}`
    (weights in the module docstring). Returns ``(d_p, d_n, has_negative)``, each (B,)."""
    dist = pairwise_euclidean(feat)
    same = targets[:, None] == targets[None, :]
    d_p = (softmax_weights(alpha * dist, same) * dist).sum(dim=1)
    d_n = (softmax_weights(-alpha * dist, ~same) * dist).sum(dim=1)
    return d_p, d_n, (~same).any(dim=1)


def _mean_over(values: Tensor, keep: Tensor) -> Tensor:
    keep = keep.to(values.dtype)
    return (values * keep).sum() / keep.sum().clamp(min=1.0)


def wrt_loss(feat: Tensor, targets: Tensor) -> Tensor:
    r"""AGW's weighted regularized triplet loss on features ``feat`` (B, d).

    .. math:: \mathcal{L}_{wrt} = \frac{1}{B}\sum_{i} \log\Big(1 + \exp\big(\sum_{j \in P_i} w^p_{ij} D_{ij}
              - \sum_{k \in N_i} w^n_{ik} D_{ik}\big)\Big)

    No margin: the soft margin log(1 + e^x) keeps pushing a satisfied triplet.
    """
    d_p, d_n, valid = weighted_pair_distances(feat, targets)
    return _mean_over(F.softplus(d_p - d_n), valid)


def squared_difference_loss(feat: Tensor, targets: Tensor, alpha: float = 1.0, gamma: float = 1.0) -> Tensor:
    r"""CAJ's weighted triplet with the squared difference ("enhanced channel-mixed learning").

    .. math:: \mathcal{L}_{sq} = \frac{1}{B}\sum_i \log\big(1 + e^{\,s_i \min(\gamma (d^p_i - d^n_i)^2,\, 88)}\big),
              \quad s_i = \begin{cases} +1 & d^p_i > d^n_i \\ -1 & \text{otherwise} \end{cases}

    with the weights' temperature ``alpha`` (CAJ runs alpha = gamma = 1).
    """
    d_p, d_n, valid = weighted_pair_distances(feat, targets, alpha)
    sq = (gamma * (d_p - d_n).pow(2)).clamp(max=SQUARED_DIFFERENCE_CLAMP)
    sign = torch.where(d_p > d_n, 1.0, -1.0).to(sq.dtype)
    return _mean_over(F.softplus(sign * sq), valid)


#: ``reid.triplet``'s values: the paper's Eq. (11), AGW's WRT, CAJ's squared difference
TRIPLET_FORMS = ("batch_hard", "wrt", "squared_difference")


def triplet_term(feat: Tensor, targets: Tensor, form: str = "batch_hard", margin: float = 0.3) -> Tensor:
    """The triplet term of L_ReID in the form ``reid.triplet`` names: Eq. (11)'s batch-hard triplet with
    margin ``margin`` (:func:`~tsgan_lib.losses.reid.triplet_loss`), :func:`wrt_loss` or
    :func:`squared_difference_loss` (no margin)."""
    if form == "batch_hard":
        return triplet_loss(feat, targets, margin)
    if form == "wrt":
        return wrt_loss(feat, targets)
    if form == "squared_difference":
        return squared_difference_loss(feat, targets)
    raise ValueError(f"unknown triplet form {form!r}; expected one of {TRIPLET_FORMS}")
