"""The accelerator code paths, run on the CPU (and on CUDA when present):
ranking with ``torch.sort`` (the path a CUDA tensor takes) and re-ranking
kept on tensors, against the NumPy paths."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import tsgan_lib.eval.metrics as metrics
from tsgan_lib.eval import (evaluate_regdb_features, evaluate_sysu, evaluate_sysu_features, k_reciprocal_rerank,
                            rank_metrics, sysu_location_rule)
from tsgan_lib.eval.ranking import stable_order, stable_order_torch

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def _case(rng, kind, nq=40, ng=60):
    if kind == "float32":
        d = rng.normal(size=(nq, ng)).astype(np.float32)
        d[1, :5], d[1, 5:8] = -0.0, 0.0  # signed zeros tie (row 0 is the invalid query)
    elif kind == "float64_ties":
        d = rng.integers(0, 5, (nq, ng)) + rng.random((nq, ng)) * (rng.random((nq, ng)) < 0.3)
        d[:, 7] = np.nextafter(d[:, 6], -np.inf)
    else:
        d = rng.integers(-3, 4, (nq, ng))
    q_pids, g_pids = rng.integers(0, 8, nq), rng.integers(0, 8, ng)
    q_pids[0] = 99  # an invalid query
    return d, q_pids, g_pids, rng.choice([3, 6], nq), rng.choice([1, 2, 4, 5], ng)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("kind", ["float32", "float64_ties", "int"])
def test_torch_ranking_equals_numpy_ranking(device, kind, monkeypatch):
    rng = np.random.default_rng(len(kind))
    d, qp, gp, qc, gc = _case(rng, kind)
    calls = []
    real = metrics.stable_order_torch
    monkeypatch.setattr(metrics, "stable_order_torch", lambda *a, **k: calls.append(1) or real(*a, **k))
    for distinct, ignore in ((True, sysu_location_rule(qc, gc)), (False, None)):
        want = rank_metrics(d, qp, gp, ignore=ignore, distinct_ids=distinct, max_rank=15, per_query=True)
        assert not calls  # NumPy input ranks with NumPy
        got = rank_metrics(torch.as_tensor(d), qp, gp, ignore=ignore, distinct_ids=distinct, max_rank=15,
                           per_query=True, device=device)
        assert len(calls) == 1  # ... and device= ranks with torch.sort
        calls.clear()
        for key in ("cmc", "AP", "INP", "first_rank", "valid"):
            np.testing.assert_array_equal(got[key], want[key], err_msg=key)
        assert (got["mAP"], got["mINP"], got["num_valid"]) == (want["mAP"], want["mINP"], want["num_valid"])


def test_cpu_tensor_ranks_with_numpy_and_accelerator_tensor_with_torch(monkeypatch):
    d = torch.tensor([[0.2, 0.1, 0.1]])
    calls = []
    monkeypatch.setattr(metrics, "stable_order_torch", lambda d, ign: calls.append(d.device) or
                        stable_order(d.cpu().numpy(), ign))
    evaluate_sysu(d, [1], [1, 2, 1], [6], [1, 4, 5])
    assert calls == []
    if torch.cuda.is_available():
        evaluate_sysu(d.cuda(), [1], [1, 2, 1], [6], [1, 4, 5])
        assert calls and calls[0].type == "cuda"


def test_torch_ranking_in_row_chunks():
    rng = np.random.default_rng(1)
    d = rng.integers(0, 6, (23, 17)).astype(np.float64)
    ignore = rng.random(d.shape) < 0.25
    whole = stable_order_torch(torch.from_numpy(d), ignore)
    chunked = stable_order_torch(torch.from_numpy(d), ignore, max_elements=40)  # 2 rows per chunk
    np.testing.assert_array_equal(chunked, whole)
    kept = (~ignore).sum(1)
    numpy_order = stable_order(d, ignore)
    for i in range(d.shape[0]):  # the kept part is the one stable order
        np.testing.assert_array_equal(whole[i, :kept[i]], numpy_order[i, :kept[i]])


def _blocks(rng, nq=30, ng=40, dim=16):
    centres = rng.normal(size=(6, dim)) * 3
    q = centres[rng.integers(0, 6, nq)] + rng.normal(size=(nq, dim))
    g = centres[rng.integers(0, 6, ng)] + rng.normal(size=(ng, dim)) + 0.5
    dist = lambda a, b: np.sqrt(((a[:, None] - b[None]) ** 2).sum(-1))
    return dist(q, g), dist(q, q), dist(g, g)


@pytest.mark.parametrize("device", DEVICES)
def test_rerank_on_device_tensors_equals_numpy_input(device):
    q_g, q_q, g_g = _blocks(np.random.default_rng(2))
    want = k_reciprocal_rerank(q_g, q_q, g_g, k1=8, k2=3)  # NumPy in, NumPy out
    for dtype in (torch.float64, torch.float32):  # the driver passes float64 query x gallery distances
        tensors = [torch.as_tensor(x, dtype=dtype, device=device) for x in (q_g, q_q, g_g)]
        got = k_reciprocal_rerank(*tensors, k1=8, k2=3, as_tensor=True)
        assert isinstance(got, torch.Tensor) and got.device.type == device and got.dtype == torch.float32
        np.testing.assert_allclose(got.cpu().numpy(), want, atol=1e-6)
    np.testing.assert_allclose(k_reciprocal_rerank(*(torch.as_tensor(x) for x in (q_g, q_q, g_g)), k1=8, k2=3,
                                                   device=device), want, atol=1e-6)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_drivers_on_cuda_equal_cpu():
    from test_eval_driver import synthetic_test_split

    records, feats = synthetic_test_split()
    kwargs = dict(trials=range(2), seed=1, rerank_params={"k1": 6, "k2": 3})
    cpu = evaluate_sysu_features(records, feats, device="cpu", **kwargs)
    gpu = evaluate_sysu_features(records, feats, device="cuda", **kwargs)
    plain = ~cpu["rerank"]
    assert cpu[plain].equals(gpu[plain])  # float64 distances: the same ranking
    np.testing.assert_allclose(gpu[~plain][["R1", "mAP", "mINP"]], cpu[~plain][["R1", "mAP", "mINP"]], atol=1.0)
    vis = [r for r in records if r.camid in (1, 2, 4, 5)]
    ir = [r for r in records if r.camid in (3, 6)]
    row = {r.path: i for i, r in enumerate(records)}
    args = (vis, feats[[row[r.path] for r in vis]], ir, feats[[row[r.path] for r in ir]])
    assert evaluate_regdb_features(*args, device="cpu").equals(evaluate_regdb_features(*args, device="cuda"))
