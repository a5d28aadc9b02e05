"""The evaluation driver: every SYSU-MM01 setting and trial, one DataFrame.

Scope: from a model (or precomputed features) to a tidy table of results,
one row per (mode, shots, trial, rerank), and its mean +- std over trials.

Units: the metric functions of :mod:`tsgan_lib.eval.metrics` return
fractions; this driver and :mod:`tsgan_lib.eval.tables` report **percent**
(0-100), as the paper's tables do. Columns: ``mode, shots, trial, rerank,
R1, R10, R20, mAP, mINP, num_query, num_gallery, num_valid``.

Distances: float64 (:data:`~tsgan_lib.eval.features.EVAL_DTYPE`), as the
official code's ``pdist2``, so that exactly tied distances rank by gallery
index as there; re-ranking works in float32 (see
:mod:`~tsgan_lib.eval.rerank`).

Device: distances, re-ranking and (on an accelerator) the ranking sort run
on ``device``; each trial's matrix stays there (see
:func:`~tsgan_lib.eval.metrics.rank_metrics`). On a CPU the same code runs,
and the ranking sort uses NumPy.

Speed: features are extracted once; the query x RGB distance matrix (and,
for re-ranking, query x query and RGB x RGB) is computed once, and each
trial only selects its gallery columns. On a 2-core CPU the 40 runs
(all/indoor x single/multi-shot x 10 trials) take seconds, not minutes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from ..data.records import Record
from ..utils import resolve_device
from .features import EVAL_DTYPE, euclidean_distance, extract_features
from .metrics import cmc_at, evaluate_regdb, evaluate_sysu
from .protocol import MODE_CAMERAS, NUM_TRIALS, QUERY_CAMERAS, SHOTS, RandPerm, check_setting, labels, \
    load_rand_perm, sysu_query_gallery
from .rerank import k_reciprocal_rerank

METRICS = ("R1", "R10", "R20", "mAP", "mINP")
SETTING_COLUMNS = ("mode", "shots", "rerank")


def _row(result: dict) -> dict:
    row = {k: 100.0 * v for k, v in cmc_at(result, (1, 10, 20)).items()}
    row.update(mAP=100.0 * result["mAP"], mINP=100.0 * result["mINP"], num_valid=result["num_valid"])
    return row


def _distance(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Evaluation distances: float64, as the official ``pdist2``."""
    return euclidean_distance(x, y, dtype=EVAL_DTYPE)


def _rerank(q_g, q_q, g_g, rerank_params: dict | None) -> torch.Tensor:
    """Re-ranked distances, kept on the computing device."""
    return k_reciprocal_rerank(q_g, q_q, g_g, as_tensor=True, **(rerank_params or {}))


def evaluate_sysu_features(records: Sequence[Record], features, *, modes: Iterable[str] = ("all", "indoor"),
                           shots: Iterable[int] = SHOTS, trials: Iterable[int] = range(NUM_TRIALS),
                           rerank: Iterable[bool] = (False, True),
                           rand_perm: str | os.PathLike | RandPerm | None = None, seed: int = 0,
                           rerank_params: dict | None = None, device: str | torch.device = "auto") -> pd.DataFrame:
    """Evaluate precomputed features over SYSU-MM01 settings and trials.

    ``records``: the test records (``dataset.test``, or any list holding the
    IR queries and the RGB images), ``features``: one row per record (tensor
    or array, same order). ``modes`` in {"all", "indoor"}, ``shots`` in
    {1, 10}, ``trials`` (0..9 with ``rand_perm``), ``rerank``: which of
    without / with k-reciprocal re-ranking (``rerank_params``: its k1, k2,
    lambda_value). ``rand_perm`` and ``seed``: see
    :func:`~tsgan_lib.eval.protocol.sysu_query_gallery`. ``device``: where
    distances, re-ranking and the ranking sort run (``"auto"``: CUDA when
    present).

    Returns one row per (mode, shots, trial, rerank); metrics in percent.
    """
    records = list(records)
    feats = torch.as_tensor(features)
    if feats.ndim != 2 or feats.shape[0] != len(records):
        raise ValueError(f"features must be (len(records), D) = ({len(records)}, D), got {tuple(feats.shape)}")
    modes, shots, trials, rerank = list(modes), list(shots), list(trials), list(rerank)
    for mode in modes:
        for s in shots:
            check_setting(mode, s)
    if isinstance(rand_perm, (str, os.PathLike)):
        rand_perm = load_rand_perm(rand_perm)
    device = resolve_device(device)
    q_rows = [i for i, r in enumerate(records) if r.camid in QUERY_CAMERAS]
    rgb_cams = set().union(*(MODE_CAMERAS[m] for m in modes))
    rgb_rows = [i for i, r in enumerate(records) if r.camid in rgb_cams]
    col_of = {records[i].path: c for c, i in enumerate(rgb_rows)}
    qf, rgbf = feats[q_rows].to(device), feats[rgb_rows].to(device)

    q_rgb = _distance(qf, rgbf)  # computed once, sliced per trial
    if any(rerank):  # float32: what re-ranking computes in
        q_q, rgb_rgb = euclidean_distance(qf, qf), euclidean_distance(rgbf, rgbf)
    rows = []
    for mode in modes:
        for s in shots:
            for trial in trials:
                query, gallery = sysu_query_gallery(records, mode, s, trial, rand_perm, seed=seed)
                cols = torch.as_tensor([col_of[r.path] for r in gallery], device=device)
                qp, qc = labels(query)
                gp, gc = labels(gallery)
                for rr in rerank:
                    dist = q_rgb[:, cols]
                    if rr:
                        dist = _rerank(dist, q_q, rgb_rgb[cols][:, cols], rerank_params)
                    res = evaluate_sysu(dist, qp, gp, qc, gc, max_rank=20)
                    rows.append({"mode": mode, "shots": s, "trial": int(trial), "rerank": bool(rr), **_row(res),
                                 "num_query": len(query), "num_gallery": len(gallery)})
    cols_order = ["mode", "shots", "trial", "rerank", *METRICS, "num_query", "num_gallery", "num_valid"]
    return pd.DataFrame(rows, columns=cols_order)


def evaluate_sysu_model(model: torch.nn.Module, dataset, *, transform=None, height: int = 288, width: int = 144,
                        batch_size: int = 128, num_workers: int = 0, flip: bool = False, normalize: bool = False,
                        feature_key: str = "feat", device: str | torch.device = "auto",
                        dataset_factory: Callable[[list[Record], Callable], Dataset] | None = None,
                        **kwargs) -> pd.DataFrame:
    """Extract test features with the backbone, then :func:`evaluate_sysu_features`.

    ``dataset``: a loaded SYSU-MM01 (its ``.test``) or a list of test records.
    ``transform``: the test transform (default: the project's test transform
    at ``height`` x ``width``). ``dataset_factory(records, transform)``: the
    image dataset (default ``tsgan_lib.data.datasets.ImageDataset``). Feature
    options: see :func:`~tsgan_lib.eval.features.extract_features`. Other
    keyword arguments go to :func:`evaluate_sysu_features`.
    """
    if dataset_factory is None:
        from ..data.datasets import ImageDataset as dataset_factory
    if transform is None:
        from ..data.transforms import build_transform
        transform = build_transform(False, height, width)
    records = list(getattr(dataset, "test", dataset))
    cams = set(QUERY_CAMERAS).union(*(MODE_CAMERAS[m] for m in kwargs.get("modes", ("all", "indoor"))))
    records = [r for r in records if r.camid in cams]
    feats = extract_features(model, dataset_factory(records, transform), batch_size=batch_size, device=device,
                             num_workers=num_workers, flip=flip, normalize=normalize, feature_key=feature_key)
    return evaluate_sysu_features(records, feats, device=device, **kwargs)


def evaluate_features(query_feats, gallery_feats, q_pids, g_pids, *, rerank: bool = False,
                      rerank_params: dict | None = None,
                      device: str | torch.device = "auto") -> dict:
    """One query/gallery evaluation without camera filtering (RegDB, or a
    single-modality test as in Table III): Euclidean distances (float64), optional
    re-ranking, :func:`~tsgan_lib.eval.metrics.evaluate_regdb`. Returns the
    metrics in percent (``R1``, ``R10``, ``R20``, ``mAP``, ``mINP``, ``num_valid``)."""
    device = resolve_device(device)
    qf, gf = torch.as_tensor(query_feats).to(device), torch.as_tensor(gallery_feats).to(device)
    dist = _distance(qf, gf)
    if rerank:  # float32: what re-ranking computes in
        dist = _rerank(dist, euclidean_distance(qf, qf), euclidean_distance(gf, gf), rerank_params)
    return _row(evaluate_regdb(dist, q_pids, g_pids, max_rank=20))


def summarize(results: pd.DataFrame, metrics: Sequence[str] = METRICS) -> pd.DataFrame:
    """Mean and standard deviation (over trials, ddof=1) of each metric, one
    row per (mode, shots, rerank): columns ``<metric>_mean``, ``<metric>_std``
    and ``trials``."""
    missing = [c for c in (*SETTING_COLUMNS, *metrics) if c not in results.columns]
    if missing:
        raise ValueError(f"results lacks the columns {missing}; expected the driver's DataFrame")
    grouped = results.groupby(list(SETTING_COLUMNS), sort=False)
    out = grouped[list(metrics)].agg(["mean", "std"])
    out.columns = [f"{m}_{s}" for m, s in out.columns]
    out.insert(0, "trials", grouped.size())
    return out.reset_index()


def format_summary(summary: pd.DataFrame, metrics: Sequence[str] = METRICS, decimals: int = 1) -> pd.DataFrame:
    """``summarize``'s table as strings "mean ± std" (percent)."""
    out = summary[list(SETTING_COLUMNS) + ["trials"]].copy()
    for m in metrics:
        std = summary[f"{m}_std"].fillna(0.0)
        out[m] = [f"{a:.{decimals}f} ± {b:.{decimals}f}" for a, b in zip(summary[f"{m}_mean"], std)]
    return out
