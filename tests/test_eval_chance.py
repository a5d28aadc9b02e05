"""Chance levels of a random ranking: by hand, by exhaustive enumeration of
every ranking, and by a seeded Monte-Carlo on a larger gallery."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tsgan_lib.eval import chance_levels, chance_rank1, llcm_same_camera_rule, rank_metrics, sysu_location_rule


def test_five_images_by_hand():
    """Gallery identities 1 1 2 2 3, one query of person 1 (N = 5, M = 2).

    R1 = 2/5. Ordinary R2 = 1 - C(3,2)/C(5,2) = 1 - 3/10 = 0.7.
    The 10 equally likely match positions (a, b): AP = (1/a + 2/b) / 2 sums
    to 5.925 -> E[AP] = 0.5925; INP = 2/b: b = 2, 3, 4, 5 in 1, 2, 3, 4
    pairs -> E[INP] = (1 + 2*2/3 + 3*2/4 + 4*2/5) / 10 = 0.543333.
    Distinct identities: rank > 2 only when identity 3 and an image of 2
    both precede the first 1: integral of 2(1-t) * t * (1-(1-t)^2) = 7/30, so
    R2 = 23/30 = 0.766667.
    """
    g = [1, 1, 2, 2, 3]
    ordinary = chance_levels([1], g, ranks=(1, 2), distinct_ids=False)
    assert ordinary["R1"] == pytest.approx(0.4) and ordinary["R2"] == pytest.approx(0.7)
    assert ordinary["mAP"] == pytest.approx(0.5925) and ordinary["mINP"] == pytest.approx(0.543333, abs=1e-6)
    distinct = chance_levels([1], g, ranks=(1, 2), distinct_ids=True)
    assert distinct["R1"] == pytest.approx(0.4) and distinct["R2"] == pytest.approx(0.766667, abs=1e-6)
    assert distinct["mAP"] == ordinary["mAP"]  # AP never de-duplicates
    assert ordinary["num_valid"] == 1


def _every_ranking(q_pids, q_cams, ng):
    """Distance rows that rank the gallery in every possible order, for each query."""
    perms = np.array(list(itertools.permutations(range(ng))), dtype=float)
    return (np.concatenate([perms] * len(q_pids)), np.repeat(q_pids, len(perms)),
            None if q_cams is None else np.repeat(q_cams, len(perms)), len(perms))


@pytest.mark.parametrize("sysu", [True, False])
def test_equals_the_average_over_every_ranking(sysu):
    g_pids = np.array([1, 1, 2, 3, 3, 3, 2])
    g_cams = np.array([1, 2, 4, 5, 2, 1, 4])
    q_pids, q_cams = np.array([1, 3, 2, 9]), np.array([3, 6, 3, 6])  # pid 9: invalid, skipped
    d, qp, qc, per_query = _every_ranking(q_pids, q_cams if sysu else None, len(g_pids))
    ignore = sysu_location_rule(qc, g_cams) if sysu else None
    exact = rank_metrics(d, qp, g_pids, ignore=ignore, distinct_ids=sysu, max_rank=len(g_pids))
    got = chance_levels(q_pids, g_pids, q_cams if sysu else None, g_cams if sysu else None,
                        ranks=range(1, len(g_pids) + 1))
    np.testing.assert_allclose([got[f"R{k}"] for k in range(1, len(g_pids) + 1)], exact["cmc"], atol=1e-12)
    assert got["mAP"] == pytest.approx(exact["mAP"], abs=1e-12)
    assert got["mINP"] == pytest.approx(exact["mINP"], abs=1e-12)
    assert got["num_valid"] * per_query == exact["num_valid"] == 3 * per_query
    assert got["R1"] == chance_rank1(q_pids, g_pids, q_cams if sysu else None, g_cams if sysu else None)


def test_llcm_same_camera_rule_equals_the_average_over_every_ranking():
    """LLCM's rule removes only the query's own identity seen by its own
    camera: query 0 loses the person-1 image of camera 2, query 1 nothing,
    queries 2 and 3 one of person 2's two images each (the camera-4 one, the
    camera-2 one); a person-2 image of camera 2 stays for query 0."""
    g_pids = np.array([1, 1, 2, 3, 3, 3, 2])
    g_cams = np.array([2, 5, 2, 1, 2, 4, 4])
    q_pids, q_cams = np.array([1, 3, 2, 2]), np.array([2, 6, 4, 2])
    d, qp, qc, per_query = _every_ranking(q_pids, q_cams, len(g_pids))
    exact = rank_metrics(d, qp, g_pids, ignore=llcm_same_camera_rule(qp, g_pids, qc, g_cams), distinct_ids=True,
                         max_rank=len(g_pids))
    got = chance_levels(q_pids, g_pids, q_cams, g_cams, ranks=range(1, len(g_pids) + 1), rule="same_camera")
    np.testing.assert_allclose([got[f"R{k}"] for k in range(1, len(g_pids) + 1)], exact["cmc"], atol=1e-12)
    assert got["mAP"] == pytest.approx(exact["mAP"], abs=1e-12)
    assert got["mINP"] == pytest.approx(exact["mINP"], abs=1e-12)
    assert got["num_valid"] * per_query == exact["num_valid"] == 4 * per_query
    # by hand: query 0 keeps 6 images, 1 of person 1 -> 1/6; query 1: 3/7; query 2 (cam 4): 1/6; query 3: 1/6
    assert got["R1"] == pytest.approx((1 / 6 + 3 / 7 + 1 / 6 + 1 / 6) / 4)
    assert got["R1"] == chance_rank1(q_pids, g_pids, q_cams, g_cams, rule="same_camera")
    with pytest.raises(ValueError, match="rule"):
        chance_levels(q_pids, g_pids, q_cams, g_cams, rule="room")


def test_larger_gallery_against_seeded_monte_carlo():
    """SYSU-like: 12 identities with uneven image counts per camera (N up to
    ~130), distinct-identity CMC. 3,000 random rankings per query; every
    figure within 4.5 standard errors of the exact value."""
    rng = np.random.default_rng(0)
    g_pids = np.repeat(np.arange(12), rng.integers(4, 18, 12))
    g_cams = rng.choice([1, 2, 4, 5], g_pids.size)
    q_pids, q_cams = np.array([0, 3, 3, 7, 11]), np.array([3, 3, 6, 6, 3])
    draws = 3000
    d = rng.random((draws * q_pids.size, g_pids.size))
    qp, qc = np.repeat(q_pids, draws), np.repeat(q_cams, draws)
    mc = rank_metrics(d, qp, g_pids, ignore=sysu_location_rule(qc, g_cams), distinct_ids=True, max_rank=20,
                      per_query=True)
    exact = chance_levels(q_pids, g_pids, q_cams, g_cams, ranks=(1, 5, 10, 20))
    n = mc["num_valid"]
    for k in (1, 5, 10):
        p = exact[f"R{k}"]
        assert abs(mc["cmc"][k - 1] - p) < 4.5 * np.sqrt(p * (1 - p) / n) + 1e-9, k
    assert exact["R20"] == pytest.approx(1.0)  # only 11 other identities: rank <= 12 always
    for key, values in (("mAP", mc["AP"]), ("mINP", mc["INP"])):
        assert abs(values.mean() - exact[key]) < 4.5 * values.std() / np.sqrt(n)
    assert exact["R5"] > rank_metrics(d, qp, g_pids, ignore=sysu_location_rule(qc, g_cams),
                                      distinct_ids=False, max_rank=5)["cmc"][4]  # distinct > ordinary


@pytest.mark.parametrize("kwargs, needle", [
    ({"ranks": (0, 10)}, "ranks"),
    ({"q_camids": [3]}, "g_camids"),
    ({"q_pids": [5]}, "no valid query"),
    ({"q_camids": [3, 6], "g_camids": [1, 2]}, "q_camids"),
])
def test_errors_name_the_parameter(kwargs, needle):
    args = {"q_pids": [1], "g_pids": [1, 2]}
    args.update(kwargs)
    with pytest.raises(ValueError, match=needle):
        chance_levels(**args)
