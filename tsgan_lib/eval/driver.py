"""The evaluation driver: every SYSU-MM01 setting and trial, and RegDB's
two directions, as one DataFrame.

Scope: from a model (or precomputed features) to a tidy table of results,
and its mean +- std over trials.

- SYSU-MM01 (:func:`evaluate_sysu_features`, :func:`evaluate_sysu_model`):
  one row per (mode, shots, trial, rerank); ``trial`` is the gallery draw.
- RegDB (:func:`evaluate_regdb_features`, :func:`evaluate_regdb_model`):
  one row per (direction, rerank) of one trained model; ``trial`` is the
  RegDB split (1..10) the model was trained on, one model per split. The
  reported figure is the mean +- std over the 10 splits:
  ``summarize(pd.concat(rows_of_the_10_models))``.

Units: the metric functions of :mod:`tsgan_lib.eval.metrics` return
fractions; this driver and :mod:`tsgan_lib.eval.tables` report **percent**
(0-100), as the paper's tables do. Columns: ``mode, shots`` (SYSU) or
``direction`` (RegDB), then ``trial, rerank, R1, R10, R20, mAP, mINP,
num_query, num_gallery, num_valid``.

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

from ..data.config import DataConfig
from ..data.records import Record
from ..utils import resolve_device
from .config import EvalConfig
from .features import EVAL_DTYPE, euclidean_distance, extract_features
from .metrics import cmc_at, evaluate_regdb, evaluate_sysu
from .protocol import MODE_CAMERAS, NUM_TRIALS, QUERY_CAMERAS, SHOTS, RandPerm, check_setting, labels, \
    load_rand_perm, sysu_query_gallery
from .rerank import k_reciprocal_rerank

METRICS = ("R1", "R10", "R20", "mAP", "mINP")
#: Columns that name a setting (a row of :func:`summarize`): SYSU-MM01's
#: mode and shots, RegDB's direction, and re-ranking; those present are used.
SETTING_COLUMNS = ("mode", "shots", "direction", "rerank")
SYSU_COLUMNS = ("mode", "shots", "trial", "rerank", *METRICS, "num_query", "num_gallery", "num_valid")
REGDB_COLUMNS = ("direction", "trial", "rerank", *METRICS, "num_query", "num_gallery", "num_valid")
#: RegDB's two test directions: visible queries against the thermal gallery, and back.
REGDB_DIRECTIONS = ("visible->thermal", "thermal->visible")
#: Test image size (H, W) and feature batch size of the model drivers (the peers' 288 x 144).
TEST_HEIGHT, TEST_WIDTH = DataConfig.height, DataConfig.width  # the run's input size (stated in DataConfig)
TEST_BATCH_SIZE = EvalConfig.batch_size


def _row(result: dict) -> dict:
    row = {k: 100.0 * v for k, v in cmc_at(result, (1, 10, 20)).items()}
    row.update(mAP=100.0 * result["mAP"], mINP=100.0 * result["mINP"], num_valid=result["num_valid"])
    return row


def _check_features(records: Sequence[Record], features, name: str) -> torch.Tensor:
    feats = torch.as_tensor(features)
    if feats.ndim != 2 or feats.shape[0] != len(records):
        raise ValueError(f"{name} must be (len(records), D) = ({len(records)}, D), got {tuple(feats.shape)}")
    return feats


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
                           draw: str = "official", rerank_params: dict | None = None,
                           device: str | torch.device = "auto") -> pd.DataFrame:
    """Evaluate precomputed features over SYSU-MM01 settings and trials.

    ``records``: the test records (``dataset.test``, or any list holding the
    IR queries and the RGB images), ``features``: one row per record (tensor
    or array, same order). ``modes`` in {"all", "indoor"}, ``shots`` in
    {1, 10}, ``trials`` (0..9 with ``rand_perm``), ``rerank``: which of
    without / with k-reciprocal re-ranking (``rerank_params``: its k1, k2,
    lambda_value). ``rand_perm``, ``seed`` and ``draw``: see
    :func:`~tsgan_lib.eval.protocol.sysu_query_gallery`. ``device``: where
    distances, re-ranking and the ranking sort run (``"auto"``: CUDA when
    present).

    Returns one row per (mode, shots, trial, rerank); metrics in percent.
    """
    records = list(records)
    feats = _check_features(records, features, "features")
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
                query, gallery = sysu_query_gallery(records, mode, s, trial, rand_perm, seed=seed, draw=draw)
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
    return pd.DataFrame(rows, columns=list(SYSU_COLUMNS))


def _model_features(model: torch.nn.Module, records: list[Record], *, transform, height: int, width: int,
                    batch_size: int, num_workers: int, flip: bool, normalize: bool, feature_key: str,
                    device: str | torch.device, dataset_factory) -> torch.Tensor:
    """Backbone features of ``records`` (the model drivers' shared step)."""
    if dataset_factory is None:
        from ..data.datasets import ImageDataset as dataset_factory
    if transform is None:
        from ..data.transforms import build_transform
        transform = build_transform(False, height, width)
    return extract_features(model, dataset_factory(records, transform), batch_size=batch_size, device=device,
                            num_workers=num_workers, flip=flip, normalize=normalize, feature_key=feature_key)


def evaluate_sysu_model(model: torch.nn.Module, dataset, *, transform=None, height: int = TEST_HEIGHT,
                        width: int = TEST_WIDTH, batch_size: int = TEST_BATCH_SIZE, num_workers: int = 0,
                        flip: bool = False, normalize: bool = False, feature_key: str = "feat",
                        device: str | torch.device = "auto",
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
    records = list(getattr(dataset, "test", dataset))
    cams = set(QUERY_CAMERAS).union(*(MODE_CAMERAS[m] for m in kwargs.get("modes", ("all", "indoor"))))
    records = [r for r in records if r.camid in cams]
    feats = _model_features(model, records, transform=transform, height=height, width=width,
                            batch_size=batch_size, num_workers=num_workers, flip=flip, normalize=normalize,
                            feature_key=feature_key, device=device, dataset_factory=dataset_factory)
    return evaluate_sysu_features(records, feats, device=device, **kwargs)


def _plain_row(q_g: torch.Tensor, q_pids, g_pids, *, rerank: bool, q_q=None, g_g=None,
               rerank_params: dict | None = None) -> dict:
    """One query/gallery evaluation without camera filtering, in percent."""
    dist = _rerank(q_g, q_q, g_g, rerank_params) if rerank else q_g
    return _row(evaluate_regdb(dist, q_pids, g_pids, max_rank=20))


def evaluate_features(query_feats, gallery_feats, q_pids, g_pids, *, rerank: bool = False,
                      rerank_params: dict | None = None,
                      device: str | torch.device = "auto") -> dict:
    """One query/gallery evaluation without camera filtering (RegDB, or a
    single-modality test as in Table III): Euclidean distances (float64),
    optional re-ranking, :func:`~tsgan_lib.eval.metrics.evaluate_regdb`.
    Returns the metrics in percent (``R1``, ``R10``, ``R20``, ``mAP``, ``mINP``, ``num_valid``)."""
    device = resolve_device(device)
    qf, gf = torch.as_tensor(query_feats).to(device), torch.as_tensor(gallery_feats).to(device)
    if qf.ndim != 2 or gf.ndim != 2 or qf.shape[1] != gf.shape[1]:
        raise ValueError(f"query_feats and gallery_feats must be (m, D) and (n, D) with the same D, "
                         f"got {tuple(qf.shape)} and {tuple(gf.shape)}")
    q_q, g_g = (euclidean_distance(qf, qf), euclidean_distance(gf, gf)) if rerank else (None, None)
    return _plain_row(_distance(qf, gf), q_pids, g_pids, rerank=rerank, q_q=q_q, g_g=g_g,
                      rerank_params=rerank_params)


def evaluate_regdb_features(visible_records: Sequence[Record], visible_feats, thermal_records: Sequence[Record],
                            thermal_feats, *, directions: Iterable[str] = REGDB_DIRECTIONS,
                            rerank: Iterable[bool] = (False,), rerank_params: dict | None = None,
                            trial: int | None = None, device: str | torch.device = "auto") -> pd.DataFrame:
    """RegDB's test of one trained model: every visible image queries the
    thermal gallery (``"visible->thermal"``), and the other way round
    (``"thermal->visible"``); all test images, ordinary CMC, mAP and mINP,
    no camera filtering.

    ``visible_records`` / ``thermal_records``: the test records
    (``RegDB.test_visible`` / ``.test_thermal``); ``visible_feats`` /
    ``thermal_feats``: one feature row per record, same order. ``directions``:
    a subset of :data:`REGDB_DIRECTIONS`. ``rerank``: which of without /
    with k-reciprocal re-ranking (``rerank_params``: its k1, k2,
    lambda_value). ``trial``: the RegDB split (1..10) the model was trained
    on, copied to the ``trial`` column. ``device``: as in
    :func:`evaluate_sysu_features`.

    Returns one row per (direction, rerank); metrics in percent.
    """
    visible_records, thermal_records = list(visible_records), list(thermal_records)
    vf = _check_features(visible_records, visible_feats, "visible_feats")
    tf = _check_features(thermal_records, thermal_feats, "thermal_feats")
    if vf.shape[1] != tf.shape[1]:
        raise ValueError(f"visible_feats and thermal_feats must have the same dimension, "
                         f"got {vf.shape[1]} and {tf.shape[1]}")
    directions, rerank = list(directions), list(rerank)
    for direction in directions:
        if direction not in REGDB_DIRECTIONS:
            raise ValueError(f"directions must be among {REGDB_DIRECTIONS}, got {direction!r}")
    device = resolve_device(device)
    vf, tf = vf.to(device), tf.to(device)
    v_pids = np.array([r.pid for r in visible_records], dtype=np.int64)
    t_pids = np.array([r.pid for r in thermal_records], dtype=np.int64)
    v_t = _distance(vf, tf)  # computed once; thermal->visible is its transpose
    v_v = t_t = None
    if any(rerank):  # float32: what re-ranking computes in
        v_v, t_t = euclidean_distance(vf, vf), euclidean_distance(tf, tf)
    setups = {"visible->thermal": (v_t, v_pids, t_pids, v_v, t_t),
              "thermal->visible": (v_t.T, t_pids, v_pids, t_t, v_v)}
    rows = []
    for direction in directions:
        q_g, q_pids, g_pids, q_q, g_g = setups[direction]
        for rr in rerank:
            rows.append({"direction": direction, "trial": trial, "rerank": bool(rr),
                         **_plain_row(q_g, q_pids, g_pids, rerank=rr, q_q=q_q, g_g=g_g, rerank_params=rerank_params),
                         "num_query": len(q_pids), "num_gallery": len(g_pids)})
    return pd.DataFrame(rows, columns=list(REGDB_COLUMNS))


def evaluate_regdb_model(model: torch.nn.Module, regdb_dataset, *, transform=None, height: int = TEST_HEIGHT,
                         width: int = TEST_WIDTH, batch_size: int = TEST_BATCH_SIZE, num_workers: int = 0,
                         flip: bool = False, normalize: bool = False, feature_key: str = "feat",
                         device: str | torch.device = "auto",
                         dataset_factory: Callable[[list[Record], Callable], Dataset] | None = None,
                         **kwargs) -> pd.DataFrame:
    """Extract the RegDB test features of one trained model, then
    :func:`evaluate_regdb_features` (both directions).

    ``regdb_dataset``: a :class:`~tsgan_lib.data.regdb.RegDB` (its
    ``test_visible``, ``test_thermal`` and ``trial``). Feature options as in
    :func:`evaluate_sysu_model`; other keyword arguments go to
    :func:`evaluate_regdb_features`. RegDB's figure is the mean +- std over
    the 10 splits, one model each: concatenate the 10 DataFrames and
    :func:`summarize`.
    """
    for attr in ("test_visible", "test_thermal"):
        if not hasattr(regdb_dataset, attr):
            raise TypeError(f"regdb_dataset must be a RegDB (from load_regdb) with .test_visible and "
                            f".test_thermal, got {type(regdb_dataset).__name__}")
    visible, thermal = list(regdb_dataset.test_visible), list(regdb_dataset.test_thermal)
    feats = _model_features(model, visible + thermal, transform=transform, height=height, width=width,
                            batch_size=batch_size, num_workers=num_workers, flip=flip, normalize=normalize,
                            feature_key=feature_key, device=device, dataset_factory=dataset_factory)
    kwargs.setdefault("trial", getattr(regdb_dataset, "trial", None))
    return evaluate_regdb_features(visible, feats[:len(visible)], thermal, feats[len(visible):], device=device,
                                   **kwargs)


def _settings(results: pd.DataFrame) -> list[str]:
    """The setting columns present: SYSU's mode and shots, or RegDB's direction, and rerank."""
    return [c for c in SETTING_COLUMNS if c in results.columns]


def summarize(results: pd.DataFrame, metrics: Sequence[str] = METRICS) -> pd.DataFrame:
    """Mean and standard deviation (over trials, ddof=1) of each metric, one
    row per setting: (mode, shots, rerank) for SYSU-MM01, (direction,
    rerank) for RegDB (:data:`SETTING_COLUMNS`, those present). Columns
    ``<metric>_mean``, ``<metric>_std`` and ``trials``."""
    settings = _settings(results)
    missing = [c for c in (*metrics, "rerank") if c not in results.columns]
    if settings in ([], ["rerank"]):
        missing.insert(0, "mode and shots (SYSU-MM01) or direction (RegDB)")
    if missing:
        raise ValueError(f"results lacks the columns {missing}; expected the driver's DataFrame")
    grouped = results.groupby(settings, sort=False)
    out = grouped[list(metrics)].agg(["mean", "std"])
    out.columns = [f"{m}_{s}" for m, s in out.columns]
    out.insert(0, "trials", grouped.size())
    return out.reset_index()


def format_summary(summary: pd.DataFrame, metrics: Sequence[str] = METRICS, decimals: int = 1) -> pd.DataFrame:
    """``summarize``'s table as strings "mean ± std" (percent)."""
    out = summary[_settings(summary) + ["trials"]].copy()
    for m in metrics:
        std = summary[f"{m}_std"].fillna(0.0)
        out[m] = [f"{a:.{decimals}f} ± {b:.{decimals}f}" for a, b in zip(summary[f"{m}_mean"], std)]
    return out
