"""The baselines' weighted triplets: AGW's WRT and CAJ's squared difference,
each on a hand-made batch worked out in closed form and against a literal
transcription of its formula; the softmax weights; the hard limit."""

from __future__ import annotations

import math

import pytest
import torch

from tsgan_lib.losses import softmax_weights, squared_difference_loss, weighted_pair_distances, wrt_loss
from tsgan_lib.losses.wrt import SQUARED_DIFFERENCE_CLAMP

E = math.e


def softplus(v: float) -> float:
    return math.log1p(math.exp(v))


def _literal_weighted_distances(feat, y, alpha):
    """d^p_i and d^n_i straight from the formula, one anchor and one pair at a time."""
    out = []
    for i in range(len(y)):
        d = [math.dist(feat[i].tolist(), feat[j].tolist()) for j in range(len(y))]
        pos = [j for j in range(len(y)) if y[j] == y[i]]          # the anchor included (d = 0)
        neg = [k for k in range(len(y)) if y[k] != y[i]]
        zp = sum(math.exp(alpha * d[j]) for j in pos)
        zn = sum(math.exp(-alpha * d[k]) for k in neg)
        d_p = sum(math.exp(alpha * d[j]) / zp * d[j] for j in pos)
        d_n = sum(math.exp(-alpha * d[k]) / zn * d[k] for k in neg)
        out.append((d_p, d_n))
    return out


def test_softmax_weights_by_hand():
    scores = torch.tensor([[0.0, math.log(3.0), 5.0], [1.0, 2.0, 3.0]])
    mask = torch.tensor([[True, True, False], [False, False, False]])
    w = softmax_weights(scores, mask)
    torch.testing.assert_close(w, torch.tensor([[0.25, 0.75, 0.0], [0.0, 0.0, 0.0]]))
    scores.requires_grad_(True)
    softmax_weights(scores, mask).sum().backward()
    assert torch.isfinite(scores.grad).all(), "an empty row must not give NaN gradients"


def test_wrt_by_hand():
    # 1-D features 0, 1 (identity 0) and 4 (identity 1)
    feat, y = torch.tensor([[0.0], [1.0], [4.0]]), torch.tensor([0, 0, 1])
    d_p01 = E / (1 + E)                      # positives {self: 0, other: 1}, weights e^0, e^1
    d_n2 = (4 + 3 * E) / (1 + E)             # anchor 4: negatives at 4 and 3, weights e^-4, e^-3
    expected = (softplus(d_p01 - 4) + softplus(d_p01 - 3) + softplus(0 - d_n2)) / 3
    assert wrt_loss(feat, y).item() == pytest.approx(expected, abs=1e-5)


def test_wrt_against_literal_formula():
    torch.manual_seed(0)
    feat, y = torch.randn(12, 5), torch.tensor([0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3])
    pairs = _literal_weighted_distances(feat, y, alpha=1.0)
    expected = sum(softplus(d_p - d_n) for d_p, d_n in pairs) / len(pairs)
    assert wrt_loss(feat, y).item() == pytest.approx(expected, abs=1e-5)
    d_p, d_n, has_neg = weighted_pair_distances(feat, y)
    torch.testing.assert_close(d_p, torch.tensor([p for p, _ in pairs]), atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(d_n, torch.tensor([n for _, n in pairs]), atol=1e-4, rtol=1e-4)
    assert has_neg.all()


def test_weights_become_batch_hard_when_distances_are_large():
    torch.manual_seed(1)
    feat, y = torch.randn(8, 3) * 200, torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    d_p, d_n, _ = weighted_pair_distances(feat, y)
    dist = torch.cdist(feat, feat)
    same = y[:, None] == y[None, :]
    torch.testing.assert_close(d_p, dist.masked_fill(~same, -1).max(1).values, rtol=1e-3, atol=0)
    torch.testing.assert_close(d_n, dist.masked_fill(same, float("inf")).min(1).values, rtol=1e-3, atol=0)


def test_wrt_gradient_and_anchors_without_negatives():
    torch.manual_seed(2)
    feat = torch.randn(6, 4, requires_grad=True)
    wrt_loss(feat, torch.tensor([0, 0, 1, 1, 2, 2])).backward()
    assert torch.isfinite(feat.grad).all() and feat.grad.abs().sum() > 0
    one_id = torch.zeros(6, dtype=torch.long)
    assert wrt_loss(feat, one_id).item() == 0.0   # no anchor has a negative: nothing to average


def test_squared_difference_by_hand():
    # features 0, 3 (identity 0) and 1 (identity 1): anchors 0 and 3 violate, anchor 1 does not
    feat, y = torch.tensor([[0.0], [3.0], [1.0]]), torch.tensor([0, 0, 1])
    d_p = 3 * E ** 3 / (1 + E ** 3)                    # positives at 0 and 3, weights e^0, e^3
    d_n_anchor2 = (1 + 2 / E) / (1 + 1 / E)            # anchor 1: negatives at 1 and 2, weights e^-1, e^-2
    expected = (softplus((d_p - 1) ** 2) + softplus((d_p - 2) ** 2) + softplus(-(0 - d_n_anchor2) ** 2)) / 3
    assert squared_difference_loss(feat, y).item() == pytest.approx(expected, abs=1e-5)


def test_squared_difference_against_literal_formula():
    torch.manual_seed(3)
    feat, y = torch.randn(12, 5), torch.tensor([0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3])
    alpha, gamma = 2.0, 0.5
    losses = []
    for d_p, d_n in _literal_weighted_distances(feat, y, alpha):
        s = 1.0 if d_p > d_n else -1.0
        losses.append(softplus(s * min(gamma * (d_p - d_n) ** 2, SQUARED_DIFFERENCE_CLAMP)))
    assert squared_difference_loss(feat, y, alpha, gamma).item() == pytest.approx(sum(losses) / 12, abs=1e-5)


def test_squared_difference_clamps_a_huge_violation():
    # anchor 0: d_p = 100, d_n = 1, so γΔ² = 9801 is clamped to 88; anchor 100: Δ = 100 - 99 = 1;
    # anchor 1 (identity 1): d_p = 0, d_n = 1 (the negative at 99 weighs e^-98 times less)
    feat, y = torch.tensor([[0.0], [100.0], [1.0]]), torch.tensor([0, 0, 1])
    expected = (softplus(SQUARED_DIFFERENCE_CLAMP) + softplus(1.0) + softplus(-1.0)) / 3
    assert squared_difference_loss(feat, y).item() == pytest.approx(expected, abs=1e-4)
