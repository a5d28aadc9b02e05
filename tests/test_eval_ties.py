"""Exact distance ties rank as the official code ranks them: float64
distances (MATLAB's double ``pdist2``), stable order by gallery index."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from tsgan_lib.data.records import Record
from tsgan_lib.eval import (EVAL_DTYPE, euclidean_distance, evaluate_features, evaluate_sysu,
                            evaluate_sysu_features, sysu_query_gallery)
from tsgan_lib.eval.metrics import rank_metrics
from tsgan_lib.eval.ranking import stable_order
from tsgan_lib.eval.protocol import labels
from tsgan_lib.eval.reference import evaluate_reference, rank_list_reference

CAMS = {1: "rgb", 2: "rgb", 3: "ir", 4: "rgb", 5: "rgb", 6: "ir"}


def brute_force_distances(q, g):
    """Double-precision Euclidean distances, one pair at a time, as pdist2."""
    return np.array([[math.sqrt(sum((float(a) - float(b)) ** 2 for a, b in zip(x, y))) for y in g] for x in q])


def quantised_split(ids=6, per_cam=5, dim=12, seed=0):
    """SYSU-like test records whose features lie on an integer grid (plus a
    large common offset, as non-negative GAP features have): many query-
    gallery distances tie exactly, and some gallery features are duplicates."""
    rng = np.random.default_rng(seed)
    centres = rng.integers(0, 3, (ids, dim))
    records, feats = [], []
    for cam, modality in CAMS.items():
        for pid in range(1, ids + 1):
            for i in range(per_cam):
                records.append(Record(f"/sysu/cam{cam}/{pid:04d}/{i + 1:04d}.jpg", pid, cam, modality))
                feats.append(centres[pid - 1] + rng.integers(0, 2, dim) + 50)
    feats = np.array(feats, dtype=np.float32)
    feats[1::7] = feats[0::7][:len(feats[1::7])]  # exact duplicates (often of another identity)
    return records, torch.from_numpy(feats)


@pytest.fixture(scope="module")
def split():
    return quantised_split()


def test_float64_ranking_equals_brute_force_and_float32_differs(split):
    records, feats = split
    query, gallery = sysu_query_gallery(records, "all", 10, trial=0, seed=0)
    row = {r.path: i for i, r in enumerate(records)}
    qf, gf = feats[[row[r.path] for r in query]], feats[[row[r.path] for r in gallery]]
    ref = brute_force_distances(qf.numpy(), gf.numpy())
    assert sum(ref.shape[1] - np.unique(r).size for r in ref) > 10 * ref.shape[0]  # many exact ties

    d64 = euclidean_distance(qf, gf, dtype=EVAL_DTYPE)
    assert d64.dtype == torch.float64
    want = [rank_list_reference(r) for r in ref]  # sorted by (distance, gallery index)
    assert [rank_list_reference(r) for r in d64.numpy()] == want
    assert stable_order(d64.numpy(), None).tolist() == want  # the fast metric's keys, float64 input

    d32 = euclidean_distance(qf, gf)  # float32: rounding splits the exact ties
    differ = sum(rank_list_reference(r) != w for r, w in zip(d32.numpy(), want))
    assert differ > ref.shape[0] // 2

    (qp, qc), (gp, gc) = labels(query), labels(gallery)
    truth = evaluate_reference(ref, qp, gp, qc, gc)
    ours = evaluate_sysu(d64, qp, gp, qc, gc)
    np.testing.assert_array_equal(ours["cmc"], truth["cmc"])
    assert (ours["mAP"], ours["mINP"]) == pytest.approx((truth["mAP"], truth["mINP"]), abs=1e-12)
    f32 = evaluate_sysu(d32, qp, gp, qc, gc)
    assert abs(f32["mAP"] - truth["mAP"]) > 1e-4 or np.abs(f32["cmc"] - truth["cmc"]).max() > 0


def test_driver_ranks_ties_as_the_official_code(split):
    """Every row of the driver equals the literal evaluation of brute-force
    double distances; the same driver on float32 distances would not."""
    records, feats = split
    out = evaluate_sysu_features(records, feats, modes=("all", "indoor"), shots=(1, 10), trials=(0, 1),
                                 rerank=(False,), seed=0, device="cpu").set_index(["mode", "shots", "trial"])
    row = {r.path: i for i, r in enumerate(records)}
    float32_differs = 0
    for mode in ("all", "indoor"):
        for shots in (1, 10):
            for trial in (0, 1):
                query, gallery = sysu_query_gallery(records, mode, shots, trial, seed=0)
                qf, gf = feats[[row[r.path] for r in query]], feats[[row[r.path] for r in gallery]]
                (qp, qc), (gp, gc) = labels(query), labels(gallery)
                truth = evaluate_reference(brute_force_distances(qf.numpy(), gf.numpy()), qp, gp, qc, gc)
                got = out.loc[(mode, shots, trial)]
                assert got["R1"] == pytest.approx(100 * truth["cmc"][0], abs=1e-9)
                assert got["R10"] == pytest.approx(100 * truth["cmc"][9], abs=1e-9)
                assert got["mAP"] == pytest.approx(100 * truth["mAP"], abs=1e-9)
                assert got["mINP"] == pytest.approx(100 * truth["mINP"], abs=1e-9)
                f32 = evaluate_sysu(euclidean_distance(qf, gf), qp, gp, qc, gc)
                float32_differs += abs(100 * f32["mAP"] - got["mAP"]) > 1e-6 or f32["cmc"][0] != truth["cmc"][0]
    assert float32_differs >= 4


def test_evaluate_features_uses_float64():
    """Two gallery items at exactly the same distance: the lower index wins."""
    q = torch.tensor([[1000.0, 1000.0]])
    g = torch.tensor([[1000.0, 1003.0], [1003.0, 1000.0], [1000.0, 1004.0]])  # distances 3, 3, 4
    out = evaluate_features(q, g, [7], [5, 7, 5], device="cpu")
    assert out["R1"] == 0.0 and out["mAP"] == pytest.approx(50.0)  # the true match ranks 2nd
    out = evaluate_features(q, g[[1, 0, 2]], [7], [7, 5, 5], device="cpu")
    assert out["R1"] == 100.0


def _near_tie_cases(rng):
    """float64 matrices whose distinct values differ by one ulp, next to
    exact ties, negative values, -0.0 and inf."""
    d = rng.random((30, 50)) * 10
    d[:, 10:20] = d[:, :10]  # exact ties
    d[:, 1] = np.nextafter(d[:, 0], -np.inf)  # one ulp below column 0: shares its truncated key
    d[:, 3] = np.nextafter(d[:, 2], np.inf)
    d[::3, 4] = -d[::3, 4]
    d[5, 5], d[6, 6], d[7, 7] = -0.0, 0.0, np.inf
    return d


def test_float64_keys_equal_the_literal_stable_sort():
    rng = np.random.default_rng(3)
    d = _near_tie_cases(rng)
    ignore = rng.random(d.shape) < 0.3
    for ign in (None, ignore):
        order = stable_order(d, ign)
        for i in range(d.shape[0]):
            kept = rank_list_reference(d[i], None if ign is None else ign[i])
            assert order[i, :len(kept)].tolist() == kept
            assert sorted(order[i]) == list(range(d.shape[1]))  # a permutation: ignored items at the end
    # and the metrics agree with the literal loops on these inputs
    q_pids, g_pids = rng.integers(0, 4, d.shape[0]), rng.integers(0, 4, d.shape[1])
    fast = rank_metrics(d, q_pids, g_pids, ignore=ignore, distinct_ids=True, max_rank=10)
    slow = evaluate_reference(d, q_pids, g_pids, ignore=ignore, distinct_ids=True, max_rank=10)
    np.testing.assert_array_equal(fast["cmc"], slow["cmc"])
    assert (fast["mAP"], fast["mINP"], fast["num_valid"]) == pytest.approx(
        (slow["mAP"], slow["mINP"], slow["num_valid"]), abs=1e-12)
