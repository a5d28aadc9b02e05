"""CMC / mAP / mINP and the SYSU-MM01 location rule against brute-force loops."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tsgan_lib.eval import evaluate_regdb, evaluate_sysu, rank_metrics, sysu_location_rule
from tsgan_lib.eval.metrics import cmc_at, ranked_gallery


def brute_force(d, q_pids, g_pids, q_cams, g_cams, max_rank, *, location=True, distinct=True):
    """Literal per-query loops: stable sort, drop cam2 for a cam3 query,
    distinct-identity (or ordinary) CMC, AP and INP; invalid queries skipped."""
    cmc, aps, inps = np.zeros(max_rank), [], []
    for i in range(d.shape[0]):
        order = sorted(range(d.shape[1]), key=lambda j: (d[i, j], j))
        if location:
            order = [j for j in order if not (q_cams[i] == 3 and g_cams[j] == 2)]
        hits = [g_pids[j] == q_pids[i] for j in order]
        if not any(hits):
            continue
        ranks = [r + 1 for r, h in enumerate(hits) if h]
        aps.append(np.mean([(k + 1) / r for k, r in enumerate(ranks)]))
        inps.append(len(ranks) / ranks[-1])
        if distinct:
            seen = []
            for j in order:
                if g_pids[j] not in seen:
                    seen.append(g_pids[j])
            first = seen.index(q_pids[i]) + 1
        else:
            first = ranks[0]
        cmc[first - 1:] += 1
    return cmc / len(aps), float(np.mean(aps)), float(np.mean(inps)), len(aps)


def _random_case(rng, kind):
    nq, ng = int(rng.integers(1, 25)), int(rng.integers(1, 40))
    if kind == "ties":  # few distinct values: many ties, broken by gallery index
        d = rng.integers(0, 4, (nq, ng)).astype(np.float32)
    elif kind == "int":
        d = rng.integers(0, 6, (nq, ng))
    elif kind == "float64":  # not representable in float32: the argsort fallback, with ties
        d = rng.random((nq, ng)) + 1e-12
        d[:, ::3] = d[:, :1]
    else:  # float32 with negative values and -0.0 (the key's sign handling)
        d = rng.normal(size=(nq, ng)).astype(np.float32)
        d[0, 0] = -0.0
        d[:, -1] = 0.0
    q_pids, g_pids = rng.integers(0, 6, nq), rng.integers(0, 6, ng)
    q_cams, g_cams = rng.choice([3, 6], nq), rng.choice([1, 2, 4, 5], ng)
    return d, q_pids, g_pids, q_cams, g_cams


@pytest.mark.parametrize("kind", ["ties", "int", "float64", "float32"])
def test_evaluate_sysu_matches_brute_force(kind):
    rng = np.random.default_rng(7)
    checked = 0
    for _ in range(40):
        d, qp, gp, qc, gc = _random_case(rng, kind)
        ref = brute_force(d, qp, gp, qc, gc, 10) if _has_valid(qp, gp, qc, gc) else None
        if ref is None:
            with pytest.raises(ValueError, match="no valid query"):
                evaluate_sysu(d, qp, gp, qc, gc, max_rank=10)
            continue
        out = evaluate_sysu(d, qp, gp, qc, gc, max_rank=10)
        np.testing.assert_allclose(out["cmc"], ref[0], atol=1e-12)
        assert out["mAP"] == pytest.approx(ref[1], abs=1e-12)
        assert out["mINP"] == pytest.approx(ref[2], abs=1e-12)
        assert out["num_valid"] == ref[3]
        checked += 1
    assert checked > 20


def _has_valid(qp, gp, qc, gc):
    keep = ~((qc[:, None] == 3) & (gc[None, :] == 2))
    return bool(((qp[:, None] == gp[None, :]) & keep).any())


@pytest.mark.parametrize("kind", ["ties", "float32"])
def test_regdb_matches_brute_force(kind):
    rng = np.random.default_rng(3)
    for _ in range(30):
        d, qp, gp, qc, gc = _random_case(rng, kind)
        if not (qp[:, None] == gp[None, :]).any():
            continue
        ref = brute_force(d, qp, gp, qc, gc, 5, location=False, distinct=False)
        out = evaluate_regdb(d, qp, gp, max_rank=5)
        np.testing.assert_allclose(out["cmc"], ref[0], atol=1e-12)
        assert (out["mAP"], out["mINP"], out["num_valid"]) == pytest.approx(ref[1:])


def test_location_rule():
    # queries: cam3, cam6; gallery: cams 1, 2, 4, 5, 2 (RGB) and 3 (IR, same camera)
    mask = sysu_location_rule([3, 6], [1, 2, 4, 5, 2, 3])
    expected = np.array([[False, True, False, False, True, True],
                         [False, False, False, False, False, False]])
    np.testing.assert_array_equal(mask, expected)
    with pytest.raises(ValueError, match="g_camids"):
        sysu_location_rule([3], [7])


def test_hand_made_example_location_rule_and_distinct_ids():
    """Two queries of person 1 (A from cam3, B from cam6), same distances:

        gallery  g0   g1   g2   g3   g4   g5   g6   g7
        pid       2    3    3    3    1    1    4    1
        cam       2    1    4    5    2    1    5    4
        dist    .10  .20  .30  .35  .05  .40  .50  .60

    B (cam6) sees all: g4✓ g0 g1 g2 g3 g5✓ g6 g7✓, matches at ranks 1, 6, 8:
        AP = (1/1 + 2/6 + 3/8) / 3 = 0.569444, INP = 3/8, Rank-1 hit.
    A (cam3) ignores every cam2 image (g0 and g4, even the true match g4):
        g1 g2 g3 g5✓ g6 g7✓, matches at ranks 4 and 6:
        AP = (1/4 + 2/6) / 2 = 0.291667, INP = 2/6.
        Ordinary CMC: first match at rank 4. Distinct identities: 3, 3, 3
        count once, so the list reads 3, 1 -> rank 2.
    Without the location rule A would equal B (Rank-1 hit, AP 0.569444).
    SYSU result: CMC = 0.5 at rank 1, 1.0 from rank 2; mAP = (0.291667 +
    0.569444) / 2 = 0.430556; mINP = (1/3 + 3/8) / 2 = 0.354167.
    """
    g_pids = [2, 3, 3, 3, 1, 1, 4, 1]
    g_cams = [2, 1, 4, 5, 2, 1, 5, 4]
    row = [0.10, 0.20, 0.30, 0.35, 0.05, 0.40, 0.50, 0.60]
    d = np.array([row, row], dtype=np.float32)
    q_pids, q_cams = [1, 1], [3, 6]

    sysu = evaluate_sysu(d, q_pids, g_pids, q_cams, g_cams, max_rank=5, per_query=True)
    np.testing.assert_allclose(sysu["cmc"], [0.5, 1, 1, 1, 1])
    assert sysu["mAP"] == pytest.approx((1 / 4 + 2 / 6) / 2 / 2 + (1 + 2 / 6 + 3 / 8) / 3 / 2)
    assert sysu["mAP"] == pytest.approx(0.430556, abs=1e-6)
    assert sysu["mINP"] == pytest.approx(0.354167, abs=1e-6)
    np.testing.assert_array_equal(sysu["first_rank"], [2, 1])

    no_distinct = rank_metrics(d, q_pids, g_pids, ignore=sysu_location_rule(q_cams, g_cams), max_rank=5)
    np.testing.assert_allclose(no_distinct["cmc"], [0.5, 0.5, 0.5, 1, 1])  # A's first match at rank 4
    no_rule = evaluate_regdb(d, q_pids, g_pids, max_rank=5)
    np.testing.assert_allclose(no_rule["cmc"], [1, 1, 1, 1, 1])
    assert no_rule["mAP"] == pytest.approx(0.569444, abs=1e-6)


def test_ties_broken_by_gallery_index():
    # all distances equal: the ranking is the gallery order
    d = np.zeros((1, 4), dtype=np.float32)
    out = evaluate_regdb(d, [1], [0, 1, 0, 1], max_rank=4)
    np.testing.assert_allclose(out["cmc"], [0, 1, 1, 1])
    assert out["mAP"] == pytest.approx((1 / 2 + 2 / 4) / 2)
    np.testing.assert_array_equal(ranked_gallery(d[0]), [0, 1, 2, 3])


def test_invalid_queries_are_skipped_and_torch_input():
    d = torch.tensor([[0.1, 0.2], [0.3, 0.4], [0.5, 0.1]])
    out = evaluate_sysu(d, torch.tensor([1, 9, 2]), torch.tensor([1, 2]), [6, 6, 3], [1, 2], per_query=True)
    # query 1 (pid 9) has no match; query 2 (cam3, pid 2) only matches a cam2 image -> invalid
    assert out["num_valid"] == 1
    np.testing.assert_array_equal(out["valid"], [True, False, False])
    assert out["cmc"].shape == (20,) and out["cmc"][0] == 1.0


def test_multi_shot_distinct_cmc_exceeds_ordinary():
    # person 5 has two gallery images ranked 1 and 2, the true id (1) comes third
    d = np.array([[0.1, 0.2, 0.3]])
    assert evaluate_regdb(d, [1], [5, 5, 1], max_rank=3)["cmc"][1] == 0.0
    assert evaluate_sysu(d, [1], [5, 5, 1], [6], [1, 4, 5], max_rank=3)["cmc"][1] == 1.0


@pytest.mark.parametrize("call, needle", [
    (lambda: evaluate_sysu(np.zeros((2, 3)), [1], [1, 2, 3], [3, 3], [1, 1, 1]), "q_pids"),
    (lambda: evaluate_sysu(np.zeros((2, 3)), [1, 2], [1, 2], [3, 3], [1, 1, 1]), "g_pids"),
    (lambda: evaluate_sysu(np.zeros((2, 3)), [1, 2], [1, 2, 3], [3], [1, 1, 1]), "q_camids"),
    (lambda: evaluate_sysu(np.zeros((2, 3)), [1, 2], [1, 2, 3], [3, 3], [1, 1]), "g_camids"),
    (lambda: evaluate_regdb(np.zeros(3), [1], [1, 2, 3]), "2-D"),
    (lambda: evaluate_regdb(np.full((1, 2), np.nan), [1], [1, 2]), "NaN"),
    (lambda: evaluate_regdb(np.zeros((1, 2)), [1], [1, 2], max_rank=0), "max_rank"),
    (lambda: cmc_at(evaluate_regdb(np.zeros((1, 2)), [1], [1, 2], max_rank=5), (10,)), "max_rank"),
])
def test_errors_name_the_parameter(call, needle):
    with pytest.raises(ValueError, match=needle):
        call()
