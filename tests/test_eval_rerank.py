"""k-reciprocal re-ranking against a literal, set-based implementation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.spatial.distance import cdist

from tsgan_lib.eval import k_reciprocal_rerank


def literal_rerank(q_g, q_q, g_g, k1, k2, lam, stats=None):
    """Zhong et al. written with Python sets, straight from the definitions."""
    nq, ng = q_g.shape
    full = np.block([[q_q, q_g], [q_g.T, g_g]]).T ** 2
    d = full / full.max(axis=1, keepdims=True)
    n = nq + ng
    order = [list(np.argsort(d[i], kind="stable")) for i in range(n)]

    def nearest(i, k):
        return order[i][:k]

    def reciprocal(i, k):
        return {j for j in nearest(i, k + 1) if i in nearest(j, k + 1)}

    V = np.zeros((n, n))
    for i in range(n):
        r_i = reciprocal(i, k1)
        expanded = set(r_i)
        for c in r_i:
            r_c = reciprocal(c, round(k1 / 2))
            if len(r_c & r_i) > 2 / 3 * len(r_c):
                expanded |= r_c
                if stats is not None and not r_c <= r_i:
                    stats["joined"] += 1
        weights = {j: math.exp(-d[i, j]) for j in expanded}
        total = sum(weights.values())
        for j, w in weights.items():
            V[i, j] = w / total
    if k2 > 1:
        V = np.array([V[nearest(i, k2)].mean(axis=0) for i in range(n)])
    jaccard = np.empty((nq, ng))
    for i in range(nq):
        for j in range(ng):
            m = np.minimum(V[i], V[nq + j]).sum()
            jaccard[i, j] = 1 - m / (2 - m)
    return (1 - lam) * jaccard + lam * d[:nq, nq:]


def _clustered(rng, nq, ng, dim=8, ids=6):
    centers = rng.normal(size=(ids, dim)) * 2
    q = centers[rng.integers(0, ids, nq)] + rng.normal(size=(nq, dim))
    g = centers[rng.integers(0, ids, ng)] + rng.normal(size=(ng, dim)) + 0.5
    return cdist(q, g), cdist(q, q), cdist(g, g)


@pytest.mark.parametrize("nq, ng, k1, k2, lam", [
    (12, 20, 5, 3, 0.3), (30, 25, 20, 6, 0.3), (4, 3, 20, 6, 0.3), (25, 15, 7, 1, 0.0), (18, 22, 4, 9, 1.0),
])
def test_matches_literal_sets(nq, ng, k1, k2, lam):
    rng = np.random.default_rng(nq * 100 + ng)
    q_g, q_q, g_g = _clustered(rng, nq, ng)
    stats = {"joined": 0}
    want = literal_rerank(q_g, q_q, g_g, k1, k2, lam, stats)
    got = k_reciprocal_rerank(q_g, q_q, g_g, k1=k1, k2=k2, lambda_value=lam, max_pairs=37)
    assert got.shape == (nq, ng) and got.dtype == np.float32
    np.testing.assert_allclose(got, want, atol=2e-6)
    if (nq, ng, k1) == (30, 25, 20):
        assert stats["joined"] > 0  # the expansion step was exercised


def test_asymmetric_inputs_follow_the_reference_transpose():
    rng = np.random.default_rng(1)
    q_g, q_q, g_g = _clustered(rng, 10, 14)
    q_q = q_q * rng.uniform(0.8, 1.2, q_q.shape)  # not symmetric any more
    g_g = g_g * rng.uniform(0.8, 1.2, g_g.shape)
    np.testing.assert_allclose(k_reciprocal_rerank(q_g, q_q, g_g, k1=6, k2=3),
                               literal_rerank(q_g, q_q, g_g, 6, 3, 0.3), atol=2e-6)


def test_torch_input_float32_no_overflow():
    # unnormalised 2048-d features: squared distances far above float16's 65504
    rng = np.random.default_rng(2)
    f = torch.from_numpy(rng.normal(size=(40, 2048)).astype(np.float32)) * 50
    q, g = f[:25], f[25:]
    out = k_reciprocal_rerank(torch.cdist(q, g), torch.cdist(q, q), torch.cdist(g, g))
    assert np.isfinite(out).all()
    # re-ranking is scale invariant (rows are divided by their maximum)
    small = k_reciprocal_rerank(torch.cdist(q, g) / 50, torch.cdist(q, q) / 50, torch.cdist(g, g) / 50)
    np.testing.assert_allclose(out, small, atol=1e-5)


def test_result_lies_in_the_unit_interval():
    # Jaccard distance and the row-scaled distance both lie in [0, 1]
    rng = np.random.default_rng(4)
    q_g, q_q, g_g = _clustered(rng, 40, 40, dim=16, ids=4)
    out = k_reciprocal_rerank(q_g, q_q, g_g, k1=8, k2=3)
    assert np.all(out >= 0) and np.all(out <= 1.0 + 1e-6)


@pytest.mark.parametrize("kwargs, needle", [
    ({"q_q": np.zeros((2, 2))}, "q_q"),
    ({"g_g": np.zeros((4, 4))}, "g_g"),
    ({"q_g": np.full((3, 5), np.nan)}, "q_g"),
    ({"q_g": -np.ones((3, 5))}, "q_g"),
    ({"k1": 0}, "k1"),
    ({"k2": 1.5}, "k2"),
    ({"lambda_value": 2.0}, "lambda_value"),
])
def test_errors_name_the_parameter(kwargs, needle):
    args = {"q_g": np.ones((3, 5)), "q_q": np.ones((3, 3)), "g_g": np.ones((5, 5))}
    args.update(kwargs)
    with pytest.raises(ValueError, match=needle):
        k_reciprocal_rerank(**args)
