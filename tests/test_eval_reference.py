"""The literal CMC / AP / INP (eval.reference) against the fast, vectorised
metrics, and a five-image example worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from tsgan_lib.eval import evaluate_regdb, evaluate_sysu, rank_metrics, sysu_location_rule
from tsgan_lib.eval.reference import (average_precision_reference, cmc_reference, evaluate_reference,
                                      first_match_rank_reference, inp_reference, rank_list_reference)


def test_five_image_example_by_hand():
    """One query of person 1, five gallery images:

        gallery  g0   g1   g2   g3   g4
        pid       2    1    2    1    3
        cam       2    1    4    5    2
        dist     .3   .5   .1   .9   .5

    Ranked (stable: g1 before g4 at the tied .5): g2 g0 g1 g4 g3,
    identities 2 2 1 3 1; true matches at ranks 3 and 5.
      ordinary CMC: first match at rank 3 -> R1 = 0, R3 = 1.
      distinct identities: 2, (2 again, skipped), 1 -> rank 2.
      AP = (1/3 + 2/5) / 2 = 11/30 = 0.366667;  INP = 2/5 = 0.4.
    From cam3 (location rule: every cam2 image, g0 and g4, is dropped):
      g2 g1 g3, identities 2 1 1; matches at ranks 2 and 3.
      R1 = 0, rank 2 (ordinary and distinct); AP = (1/2 + 2/3) / 2 = 7/12 =
      0.583333; INP = 2/3.
    """
    d = np.array([[0.3, 0.5, 0.1, 0.9, 0.5]])
    g_pids, g_cams = [2, 1, 2, 1, 3], [2, 1, 4, 5, 2]

    assert rank_list_reference(d[0]) == [2, 0, 1, 4, 3]
    matches = [g_pids[j] == 1 for j in rank_list_reference(d[0])]
    assert matches == [False, False, True, False, True]
    assert average_precision_reference(matches) == pytest.approx(0.366667, abs=1e-6)
    assert inp_reference(matches) == 0.4
    assert first_match_rank_reference([2, 2, 1, 3, 1], 1, distinct_ids=False) == 3
    assert first_match_rank_reference([2, 2, 1, 3, 1], 1, distinct_ids=True) == 2

    regdb = evaluate_reference(d, [1], g_pids, max_rank=5)  # no cameras: ordinary CMC
    np.testing.assert_array_equal(regdb["cmc"], [0, 0, 1, 1, 1])
    assert (regdb["mAP"], regdb["mINP"], regdb["num_valid"]) == pytest.approx((0.366667, 0.4, 1), abs=1e-6)
    for fast in (evaluate_regdb(d, [1], g_pids, max_rank=5),):
        np.testing.assert_array_equal(fast["cmc"], regdb["cmc"])
        assert fast["mAP"] == pytest.approx(0.366667, abs=1e-6) and fast["mINP"] == pytest.approx(0.4)

    cam6 = evaluate_reference(d, [1], g_pids, [6], g_cams, max_rank=5)  # SYSU: distinct ids, nothing dropped
    np.testing.assert_array_equal(cam6["cmc"], [0, 1, 1, 1, 1])
    np.testing.assert_array_equal(evaluate_sysu(d, [1], g_pids, [6], g_cams, max_rank=5)["cmc"], [0, 1, 1, 1, 1])

    cam3 = evaluate_reference(d, [1], g_pids, [3], g_cams, max_rank=5)
    np.testing.assert_array_equal(cam3["cmc"], [0, 1, 1, 1, 1])
    assert cam3["mAP"] == pytest.approx(0.583333, abs=1e-6) and cam3["mINP"] == pytest.approx(2 / 3)
    fast = evaluate_sysu(d, [1], g_pids, [3], g_cams, max_rank=5)
    np.testing.assert_array_equal(fast["cmc"], [0, 1, 1, 1, 1])
    assert fast["mAP"] == pytest.approx(0.583333, abs=1e-6) and fast["mINP"] == pytest.approx(2 / 3)


def _case(rng, kind):
    nq, ng = int(rng.integers(1, 20)), int(rng.integers(1, 30))
    if kind == "ties":  # few distinct values: most of the order comes from the gallery index
        d = rng.integers(0, 3, (nq, ng)).astype(np.float64)
    elif kind == "float32":
        d = rng.normal(size=(nq, ng)).astype(np.float32)
    else:  # float64 with one-ulp neighbours and exact ties
        d = rng.random((nq, ng))
        d[:, 1::2] = np.nextafter(d[:, ::2][:, :d[:, 1::2].shape[1]], -np.inf)
    q_pids, g_pids = rng.integers(0, 5, nq), rng.integers(0, 5, ng)
    q_cams, g_cams = rng.choice([3, 6], nq), rng.choice([1, 2, 4, 5], ng)
    return d, q_pids, g_pids, q_cams, g_cams


def _valid(q_pids, g_pids, ignore=None):
    pos = np.asarray(q_pids)[:, None] == np.asarray(g_pids)[None, :]
    return bool((pos & ~ignore).any() if ignore is not None else pos.any())


@pytest.mark.parametrize("kind", ["ties", "float32", "float64"])
def test_reference_equals_fast_on_random_cases(kind):
    rng = np.random.default_rng({"ties": 0, "float32": 1, "float64": 2}[kind])
    checked = {"sysu": 0, "regdb": 0}
    for _ in range(40):
        d, qp, gp, qc, gc = _case(rng, kind)
        if _valid(qp, gp, sysu_location_rule(qc, gc)):  # SYSU-MM01: location rule, distinct ids
            slow, fast = evaluate_reference(d, qp, gp, qc, gc, max_rank=8), evaluate_sysu(d, qp, gp, qc, gc, 8)
            np.testing.assert_allclose(fast["cmc"], slow["cmc"], atol=1e-12)
            assert (fast["mAP"], fast["mINP"], fast["num_valid"]) == pytest.approx(
                (slow["mAP"], slow["mINP"], slow["num_valid"]), abs=1e-12)
            np.testing.assert_array_equal(cmc_reference(d, qp, gp, qc, gc, max_rank=8), slow["cmc"])
            checked["sysu"] += 1
        if _valid(qp, gp):  # RegDB: ordinary CMC, nothing ignored
            slow, fast = evaluate_reference(d, qp, gp, max_rank=8), evaluate_regdb(d, qp, gp, 8)
            np.testing.assert_allclose(fast["cmc"], slow["cmc"], atol=1e-12)
            assert (fast["mAP"], fast["mINP"], fast["num_valid"]) == pytest.approx(
                (slow["mAP"], slow["mINP"], slow["num_valid"]), abs=1e-12)
            checked["regdb"] += 1
    assert min(checked.values()) > 15


def test_explicit_ignore_and_distinct_switch():
    rng = np.random.default_rng(5)
    d = rng.integers(0, 4, (12, 20)).astype(float)
    qp, gp = rng.integers(0, 4, 12), rng.integers(0, 4, 20)
    ignore = rng.random(d.shape) < 0.3
    for distinct in (False, True):
        slow = evaluate_reference(d, qp, gp, ignore=ignore, distinct_ids=distinct, max_rank=6)
        fast = rank_metrics(d, qp, gp, ignore=ignore, distinct_ids=distinct, max_rank=6)
        np.testing.assert_allclose(fast["cmc"], slow["cmc"], atol=1e-12)
        assert (fast["mAP"], fast["mINP"]) == pytest.approx((slow["mAP"], slow["mINP"]), abs=1e-12)
    # distinct identities never rank a query's first match later than the ordinary CMC does
    assert np.all(cmc_reference(d, qp, gp, ignore=ignore, distinct_ids=True, max_rank=6)
                  >= cmc_reference(d, qp, gp, ignore=ignore, distinct_ids=False, max_rank=6))


def test_location_rule_drops_cam2_for_cam3_queries_only():
    # the only true match of both queries sits in cam2, nearest
    d = np.array([[0.1, 0.5, 0.6], [0.1, 0.5, 0.6]])
    out = evaluate_reference(d, [1, 1], [1, 2, 1], [3, 6], [2, 1, 4], max_rank=3)
    # cam6 query: match at rank 1 (AP 1 with matches at 1 and 3: (1 + 2/3) / 2); cam3: g0 dropped, match at 2
    np.testing.assert_array_equal(out["cmc"], [0.5, 1, 1])
    assert out["mAP"] == pytest.approx(((1 + 2 / 3) / 2 + 1 / 2) / 2)


@pytest.mark.parametrize("call, needle", [
    (lambda: evaluate_reference(np.zeros((1, 2)), [1], [2, 3]), "no valid query"),
    (lambda: evaluate_reference(np.zeros((1, 2)), [1], [1, 3], [3], None), "g_camids"),
    (lambda: evaluate_reference(np.zeros((1, 2)), [1, 2], [1, 3]), "q_pids"),
    (lambda: evaluate_reference(np.zeros((1, 2)), [1], [1, 3], ignore=np.zeros((2, 2), bool)), "ignore"),
    (lambda: cmc_reference(np.zeros((1, 2)), [1], [1, 3], max_rank=0), "max_rank"),
])
def test_errors_name_the_parameter(call, needle):
    with pytest.raises(ValueError, match=needle):
        call()
