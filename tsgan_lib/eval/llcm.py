"""The LLCM test protocol and its driver: both directions, ten gallery draws.

Scope: from the test records of :func:`tsgan_lib.data.llcm.load_llcm` to
the query and gallery lists of one evaluation run
(:func:`llcm_query_gallery`), and from features or a model to a tidy table,
one row per (direction, trial, rerank) (:func:`evaluate_llcm_features`,
:func:`evaluate_llcm_model`). The metric is
:func:`~tsgan_lib.eval.metrics.evaluate_llcm`.

The protocol, in four facts, as the dataset's authors run it (DEEN's
``data_manager.py``, ``eval_metrics.py`` and ``test.py``):

1. **Two directions, one model.** ``"ir->visible"`` (DEEN's default,
   ``test_mode = [1, 2]``): every NIR test image queries a visible gallery;
   ``"visible->ir"``: every visible test image queries an NIR gallery.
   Queries (``process_query_llcm``): every image of the test ids in the query
   modality's cameras, ordered by person id, camera, file name.
2. **Gallery** (``process_gallery_llcm``): one image per (test identity,
   camera) of the other modality, drawn with Python's ``random``:
   ``random.seed(trial)``, then one ``random.choice`` of the name-sorted
   images of each person folder, ids in order, then cameras in order.
   :func:`draw_gallery` draws exactly so, so on the real set the galleries
   are the ones DEEN (and the peers that copy its reader) evaluate.
3. **Trials**: draws 0..9; the figure is the mean over the ten.
4. **Gallery rule** (at evaluation time): a query ignores the gallery images
   of its own identity from its own camera
   (:func:`~tsgan_lib.eval.metrics.llcm_same_camera_rule`); CMC over distinct
   identities.

One thing DEEN's ``test.py`` does differently: for ``test_mode = [2, 1]``
("VIS to IR") it builds these very lists (all visible images, an NIR draw)
but calls ``eval_llcm`` on the transposed distances with the labels swapped,
so the numbers it prints for that direction rank each *drawn NIR image*
against *all visible test images*. Here ``"visible->ir"`` ranks as its
lists say: visible queries against the drawn NIR gallery.
"""

from __future__ import annotations

import os
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
import torch

from ..data.records import IR, RGB, Record
from ..utils import resolve_device
from .driver import (METRICS, TEST_BATCH_SIZE, TEST_HEIGHT, TEST_WIDTH, _check_features, _distance,
                     _model_features, _rerank, _row)
from .features import euclidean_distance
from .metrics import evaluate_llcm
from .protocol import NUM_TRIALS, labels

#: LLCM's two test directions: NIR queries against a visible gallery (DEEN's default), and back.
LLCM_DIRECTIONS = ("ir->visible", "visible->ir")
#: (query modality, gallery modality) of each direction.
DIRECTION_MODALITIES = {"ir->visible": (IR, RGB), "visible->ir": (RGB, IR)}
LLCM_COLUMNS = ("direction", "trial", "rerank", *METRICS, "num_query", "num_gallery", "num_valid")


def _check_direction(direction: str) -> tuple[str, str]:
    if direction not in DIRECTION_MODALITIES:
        raise ValueError(f"direction must be one of {LLCM_DIRECTIONS}, got {direction!r}")
    return DIRECTION_MODALITIES[direction]


def _by_person_and_camera(records: Iterable[Record], modality: str) -> dict[tuple[int, int], list[Record]]:
    """``{(pid, camid): name-sorted records}`` of one modality, in (pid, camera) order."""
    groups: dict[tuple[int, int], list[Record]] = defaultdict(list)
    for r in records:
        if r.modality == modality:
            groups[(r.pid, r.camid)].append(r)
    return {key: sorted(groups[key], key=lambda r: os.path.basename(r.path)) for key in sorted(groups)}


def draw_gallery(folders: Sequence[Sequence[Record]], trial: int) -> list[Record]:
    """One record of each folder (a (person, camera)'s name-sorted images,
    folders in (person, camera) order), as DEEN draws trial ``trial``:
    ``random.seed(trial)``, then ``random.choice`` folder after folder. A
    private generator, so the global ``random`` state is left alone."""
    rng = random.Random(int(trial))
    return [rng.choice(list(images)) for images in folders]


def llcm_query_gallery(dataset, direction: str = "ir->visible", trial: int = 0) -> tuple[list[Record], list[Record]]:
    """Query and gallery records of one LLCM evaluation run.

    ``dataset``: an :class:`~tsgan_lib.data.llcm.LLCM` (its ``.test``) or a
    list of test records with the dataset's own person ids. ``direction``:
    one of :data:`LLCM_DIRECTIONS`. ``trial``: the gallery draw (DEEN's
    ``0..9``; any non-negative integer).

    Returns ``(query, gallery)``: every test record of the query modality,
    and one record per (person, camera) of the gallery modality, both
    ordered by person id, camera (and file name for the queries).
    """
    q_mod, g_mod = _check_direction(direction)
    if not isinstance(trial, (int, np.integer)) or trial < 0:
        raise ValueError(f"trial must be a non-negative integer, got {trial!r}")
    records = list(getattr(dataset, "test", dataset))
    if records and not isinstance(records[0], Record):
        raise TypeError(f"dataset must be an LLCM (from load_llcm) or a list of Record, got items of "
                        f"{type(records[0])}")
    query = [r for group in _by_person_and_camera(records, q_mod).values() for r in group]
    return query, draw_gallery(list(_by_person_and_camera(records, g_mod).values()), trial)


def evaluate_llcm_features(records: Sequence[Record], features, *, directions: Iterable[str] = LLCM_DIRECTIONS,
                           trials: Iterable[int] = range(NUM_TRIALS), rerank: Iterable[bool] = (False,),
                           rerank_params: dict | None = None, device: str | torch.device = "auto") -> pd.DataFrame:
    """Evaluate precomputed features over LLCM's directions and gallery draws.

    ``records``: the test records (``dataset.test``: both modalities),
    ``features``: one row per record (tensor or array, same order).
    ``directions``: a subset of :data:`LLCM_DIRECTIONS`; ``trials``: the
    gallery draws; ``rerank``: which of without / with k-reciprocal
    re-ranking (``rerank_params``: its k1, k2, lambda_value). ``device``:
    where distances, re-ranking and the ranking sort run.

    Returns one row per (direction, trial, rerank); metrics in percent.
    """
    records = list(records)
    feats = _check_features(records, features, "features")
    directions, trials, rerank = list(directions), list(trials), list(rerank)
    for direction in directions:
        _check_direction(direction)
    device = resolve_device(device)
    rows_of = {m: [i for i, r in enumerate(records) if r.modality == m] for m in (RGB, IR)}
    col_of = {m: {records[i].path: c for c, i in enumerate(rows_of[m])} for m in (RGB, IR)}
    f = {m: feats[rows_of[m]].to(device) for m in (RGB, IR)}
    v_i = _distance(f[RGB], f[IR])  # computed once; each direction and trial takes its rows and columns
    dist = {(RGB, IR): v_i, (IR, RGB): v_i.T}
    own = {m: euclidean_distance(f[m], f[m]) for m in (RGB, IR)} if any(rerank) else {}  # float32, as re-ranking
    out = []
    for direction in directions:
        q_mod, g_mod = DIRECTION_MODALITIES[direction]
        for trial in trials:
            query, gallery = llcm_query_gallery(records, direction, trial)
            q_idx = torch.as_tensor([col_of[q_mod][r.path] for r in query], device=device)
            g_idx = torch.as_tensor([col_of[g_mod][r.path] for r in gallery], device=device)
            (qp, qc), (gp, gc) = labels(query), labels(gallery)
            for rr in rerank:
                d = dist[(q_mod, g_mod)][q_idx][:, g_idx]
                if rr:
                    d = _rerank(d, own[q_mod][q_idx][:, q_idx], own[g_mod][g_idx][:, g_idx], rerank_params)
                res = evaluate_llcm(d, qp, gp, qc, gc, max_rank=20)
                out.append({"direction": direction, "trial": int(trial), "rerank": bool(rr), **_row(res),
                            "num_query": len(query), "num_gallery": len(gallery)})
    return pd.DataFrame(out, columns=list(LLCM_COLUMNS))


def evaluate_llcm_model(model: torch.nn.Module, dataset, *, transform=None, height: int = TEST_HEIGHT,
                        width: int = TEST_WIDTH, batch_size: int = TEST_BATCH_SIZE, num_workers: int = 0,
                        flip: bool = False, normalize: bool = False, feature_key: str = "feat",
                        device: str | torch.device = "auto", dataset_factory=None, **kwargs) -> pd.DataFrame:
    """Extract the LLCM test features of one model (each image once), then
    :func:`evaluate_llcm_features` (keyword arguments go there).

    ``dataset``: an :class:`~tsgan_lib.data.llcm.LLCM` (its ``.test``) or a
    list of test records. Feature options as in
    :func:`~tsgan_lib.eval.driver.evaluate_sysu_model`.
    """
    records = list(getattr(dataset, "test", dataset))
    feats = _model_features(model, records, transform=transform, height=height, width=width,
                            batch_size=batch_size, num_workers=num_workers, flip=flip, normalize=normalize,
                            feature_key=feature_key, device=device, dataset_factory=dataset_factory)
    return evaluate_llcm_features(records, feats, device=device, **kwargs)
