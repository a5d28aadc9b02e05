"""Ranking metrics: CMC, mAP and mINP for SYSU-MM01 and RegDB.

Scope: pure functions of a query x gallery distance matrix and the labels.
Nothing here reads images or runs a model.

- :func:`evaluate_sysu` -- the official SYSU-MM01 protocol: the location rule
  (:func:`sysu_location_rule`), distinct-identity CMC, mAP and mINP on the
  filtered list, averaged over valid queries.
- :func:`evaluate_regdb` -- RegDB: ordinary CMC, mAP and mINP, no filtering.
- :func:`evaluate_llcm` -- LLCM: its gallery rule (:func:`llcm_same_camera_rule`),
  then SYSU-MM01's distinct-identity CMC, mAP and mINP.
- :func:`rank_metrics` -- the shared core, for any other protocol.
- :func:`ranked_gallery` -- one query's ranked, filtered gallery (for figures).

Definitions (one query, gallery ranked by distance, ties broken by gallery
index, i.e. a *stable* sort; ignored gallery items removed first):

- CMC(k) = fraction of valid queries whose first true match is at rank <= k.
  With ``distinct_ids=True`` (SYSU-MM01) ranks count *distinct identities*:
  an item whose identity already appeared higher in the list is skipped, so
  the first true match's rank is 1 + the number of other identities seen
  before it.
- AP = mean over the query's true matches of k / (rank of the k-th match);
  mAP = mean AP. mINP = mean of (number of true matches) / (rank of the last
  true match). Both on the filtered list *without* de-duplication.
- A query is *valid* when at least one true match survives the filter; every
  average is over valid queries.

The same definitions as short per-query loops, for reading:
:mod:`~tsgan_lib.eval.reference` (the tests compare the two).

Speed and device: the stable order of the whole matrix comes from one
vectorised sort (:mod:`~tsgan_lib.eval.ranking`): NumPy keys on the host,
``torch.sort`` on an accelerator for a CUDA tensor (or on ``device=``); the
bookkeeping (matches, AP, distinct identities) is vectorised NumPy. Memory:
two int64 arrays of the matrix's shape plus a few boolean ones (3,803 x
3,010: about 250 MB at peak).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from .ranking import stable_order, stable_order_torch

#: Official SYSU-MM01 camera -> location map (evaluation code: ``[1 2 2 4 5 6]``).
#: cam2 (RGB) and cam3 (IR) film the same room, so they share location 2.
SYSU_CAMERA_LOCATION = {1: 1, 2: 2, 3: 2, 4: 4, 5: 5, 6: 6}


def _to_numpy(x, name: str) -> np.ndarray:
    if hasattr(x, "detach"):  # a torch tensor, on any device
        x = x.detach().cpu().numpy()
    arr = np.asarray(x)
    if arr.dtype == object:
        raise TypeError(f"{name} must be numeric, got an object array")
    return arr


def _ranking_input(distmat, device):
    """``distmat`` as a torch tensor on the device where the torch ranking
    runs (``device``, else an accelerator tensor's own), or as a NumPy array
    for the NumPy ranking (``device`` None and NumPy or CPU-tensor input)."""
    if device is not None:
        return torch.as_tensor(_to_numpy(distmat, "distmat") if not isinstance(distmat, torch.Tensor)
                               else distmat.detach()).to(torch.device(device))
    if isinstance(distmat, torch.Tensor) and distmat.device.type != "cpu":
        return distmat.detach()
    return _to_numpy(distmat, "distmat")


def _check_inputs(distmat, q_pids, g_pids, max_rank: int, device=None):
    d = _ranking_input(distmat, device)
    if isinstance(d, torch.Tensor) and (d.is_complex() or d.dtype == torch.bool):
        raise TypeError(f"distmat must hold real numbers, got {d.dtype}")
    if d.ndim != 2:
        raise ValueError(f"distmat must be 2-D (num_query, num_gallery), got shape {tuple(d.shape)}")
    q = _to_numpy(q_pids, "q_pids").reshape(-1)
    g = _to_numpy(g_pids, "g_pids").reshape(-1)
    if q.shape[0] != d.shape[0]:
        raise ValueError(f"q_pids has {q.shape[0]} entries but distmat has {d.shape[0]} rows (queries)")
    if g.shape[0] != d.shape[1]:
        raise ValueError(f"g_pids has {g.shape[0]} entries but distmat has {d.shape[1]} columns (gallery)")
    if d.shape[1] == 0:
        raise ValueError("distmat has no gallery column: the gallery is empty")
    if not isinstance(max_rank, (int, np.integer)) or max_rank < 1:
        raise ValueError(f"max_rank must be a positive integer, got {max_rank!r}")
    if isinstance(d, torch.Tensor):
        has_nan = d.is_floating_point() and bool(torch.isnan(d).any())
    else:
        has_nan = np.issubdtype(d.dtype, np.floating) and bool(np.isnan(d).any())
    if has_nan:
        raise ValueError("distmat contains NaN; distances must be comparable (check the features)")
    return d, q, g


def sysu_location_rule(q_camids, g_camids) -> np.ndarray:
    """The SYSU-MM01 location rule: which (query, gallery) pairs to ignore.

    Returns a boolean array of shape (num_query, num_gallery), ``True`` where
    the gallery image must be *ignored* for that query: the two cameras stand
    at the same location (:data:`SYSU_CAMERA_LOCATION`). In the cross-modality
    protocol (IR queries from cams 3 and 6, RGB gallery from cams 1, 2, 4, 5)
    this means exactly: **a cam3 query ignores every cam2 gallery image, of
    every identity** (cam2 and cam3 film the same room), and a cam6 query
    ignores nothing. The official MATLAB code drops same-location gallery
    images in the same way.
    """
    q = _to_numpy(q_camids, "q_camids").reshape(-1).astype(np.int64)
    g = _to_numpy(g_camids, "g_camids").reshape(-1).astype(np.int64)
    lut = np.zeros(max(SYSU_CAMERA_LOCATION) + 1, dtype=np.int64)
    for cam, loc in SYSU_CAMERA_LOCATION.items():
        lut[cam] = loc
    for name, arr in (("q_camids", q), ("g_camids", g)):
        bad = arr[(arr < 1) | (arr > 6)]
        if bad.size:
            raise ValueError(f"{name} must hold SYSU-MM01 cameras 1..6, got {bad[0]}")
    return lut[q][:, None] == lut[g][None, :]


def rank_metrics(distmat, q_pids, g_pids, *, ignore=None, distinct_ids: bool = False,
                 max_rank: int = 20, per_query: bool = False, device: str | torch.device | None = None) -> dict:
    """CMC, mAP and mINP of a ranking problem (the core of both protocols).

    Parameters
    ----------
    distmat: (num_query, num_gallery) distances (NumPy or torch; smaller = closer).
    q_pids, g_pids: identities of the queries and the gallery items.
    ignore: optional boolean (num_query, num_gallery) mask of gallery items to
        remove from a query's list before ranking (e.g. :func:`sysu_location_rule`).
    distinct_ids: count CMC ranks over distinct identities (SYSU-MM01).
    max_rank: length of the returned CMC curve.
    per_query: also return ``"valid"`` (bool per query), ``"AP"``, ``"INP"``
        and ``"first_rank"`` (per valid query).
    device: rank with ``torch.sort`` on this device. ``None``: on the
        tensor's own device for an accelerator (CUDA) tensor, else with
        NumPy on the host (see the module docstring; same result).

    Returns ``{"cmc", "mAP", "mINP", "num_valid"}``: fractions in [0, 1].
    Raises ``ValueError`` on shape mismatches, NaN distances or when no query
    has a true match in the gallery.
    """
    d, q, g = _check_inputs(distmat, q_pids, g_pids, max_rank, device)
    nq, ng = d.shape
    if ignore is not None:
        ignore = _to_numpy(ignore, "ignore").astype(bool, copy=False)
        if ignore.shape != (nq, ng):
            raise ValueError(f"ignore must have distmat's shape {(nq, ng)}, got {ignore.shape}")
    ids, g_codes = np.unique(g, return_inverse=True)
    q_codes = np.searchsorted(ids, q)
    q_codes[(q_codes >= ids.size) | (ids[np.minimum(q_codes, ids.size - 1)] != q)] = -1
    g_codes = g_codes.astype(np.int32 if ids.size > 32767 else np.int16)

    positive = g_codes[None, :] == q_codes[:, None]
    if ignore is not None:
        positive &= ~ignore
    valid = positive.any(axis=1)
    nv = int(valid.sum())
    if nv == 0:
        raise ValueError("no valid query: no query identity has a (non-ignored) match in the gallery; "
                         "check q_pids / g_pids")
    if nv < nq:  # rank only the valid queries
        rows = torch.from_numpy(np.flatnonzero(valid)).to(d.device) if isinstance(d, torch.Tensor) else valid
        d, q_codes = d[rows], q_codes[valid]
        ignore = ignore[valid] if ignore is not None else None

    # ignored items last: rank = column + 1
    order = stable_order_torch(d, ignore) if isinstance(d, torch.Tensor) else stable_order(d, ignore)
    ids_sorted = g_codes[order]
    match = ids_sorted == q_codes[:, None]
    if ignore is not None:
        num_kept = ng - ignore.sum(axis=1)
        match &= np.arange(ng)[None, :] < num_kept[:, None]
    rows, cols = np.nonzero(match)  # row-major: each row's matches in rank order
    rank = cols + 1
    num_pos = np.bincount(rows, minlength=nv)
    starts = np.cumsum(num_pos) - num_pos
    kth = np.arange(rows.size) - starts[rows] + 1  # k: this is the k-th true match
    ap = np.bincount(rows, weights=kth / rank, minlength=nv) / num_pos
    inp = num_pos / rank[starts + num_pos - 1]
    first = rank[starts].astype(np.int64)
    if distinct_ids:  # 1 + number of other identities ranked before the first match
        before = np.arange(ng)[None, :] < cols[starts][:, None]  # kept, above the first match
        br, bc = np.nonzero(before)
        seen = np.zeros((nv, ids.size), dtype=bool)
        seen[br, ids_sorted[br, bc]] = True
        first = seen.sum(axis=1) + 1
    hits = np.bincount(np.minimum(first, max_rank + 1), minlength=max_rank + 2)[1:max_rank + 1]
    out = {"cmc": np.cumsum(hits) / nv, "mAP": float(ap.mean()), "mINP": float(inp.mean()), "num_valid": nv}
    if per_query:
        out.update(valid=valid, AP=ap, INP=inp, first_rank=first)
    return out


def evaluate_sysu(distmat, q_pids, g_pids, q_camids, g_camids, max_rank: int = 20, *,
                  per_query: bool = False, device: str | torch.device | None = None) -> dict:
    """The official SYSU-MM01 evaluation of one gallery draw.

    1. The location rule (:func:`sysu_location_rule`): a cam3 query ignores
       every cam2 gallery image.
    2. Ranking by distance, ties broken by gallery index (stable sort).
    3. CMC over *distinct identities* (the official "max similarity per
       person"), mAP and mINP on the filtered, non-de-duplicated list.
    4. Averages over valid queries (those with a true match left after step 1).

    Returns ``{"cmc": ndarray (max_rank,), "mAP": float, "mINP": float,
    "num_valid": int}``, fractions in [0, 1]. ``cmc[0]`` is Rank-1.
    ``device``: where the ranking sort runs (see :func:`rank_metrics`).
    """
    d = distmat if isinstance(distmat, torch.Tensor) else _to_numpy(distmat, "distmat")
    shape = tuple(d.shape)
    for name, arr, n in (("q_camids", q_camids, shape[0]), ("g_camids", g_camids, shape[-1])):
        if _to_numpy(arr, name).reshape(-1).shape[0] != n:
            raise ValueError(f"{name} has {_to_numpy(arr, name).size} entries but distmat has shape {shape}")
    ignore = sysu_location_rule(q_camids, g_camids)
    return rank_metrics(d, q_pids, g_pids, ignore=ignore, distinct_ids=True, max_rank=max_rank,
                        per_query=per_query, device=device)


def evaluate_regdb(distmat, q_pids, g_pids, max_rank: int = 20, *, per_query: bool = False,
                   device: str | torch.device | None = None) -> dict:
    """RegDB evaluation (visible->thermal or thermal->visible): ordinary CMC,
    mAP and mINP over the whole gallery, no camera filtering.

    Returns the same keys as :func:`evaluate_sysu`, fractions in [0, 1].
    ``device``: where the ranking sort runs (see :func:`rank_metrics`).
    """
    return rank_metrics(distmat, q_pids, g_pids, ignore=None, distinct_ids=False, max_rank=max_rank,
                        per_query=per_query, device=device)


def llcm_same_camera_rule(q_pids, g_pids, q_camids, g_camids) -> np.ndarray:
    """LLCM's gallery rule: which (query, gallery) pairs to ignore.

    Returns a boolean array of shape (num_query, num_gallery), ``True`` where
    the gallery image shows **the query's identity, seen by the query's
    camera** (LLCM's camera ``N`` films in colour or in NIR, so an image of
    the same person from the same camera is the easy match the protocol
    removes). Other identities' images from that camera stay, unlike
    SYSU-MM01's location rule. DEEN's ``eval_metrics.py:eval_llcm``: "remove
    gallery samples that have the same pid and camid with query".
    """
    qp = _to_numpy(q_pids, "q_pids").reshape(-1)
    gp = _to_numpy(g_pids, "g_pids").reshape(-1)
    qc = _to_numpy(q_camids, "q_camids").reshape(-1)
    gc = _to_numpy(g_camids, "g_camids").reshape(-1)
    for name, cams, ids in (("q_camids", qc, qp), ("g_camids", gc, gp)):
        if cams.shape != ids.shape:
            raise ValueError(f"{name} has {cams.size} entries but there are {ids.size} {name[0]}_pids")
    return (qp[:, None] == gp[None, :]) & (qc[:, None] == gc[None, :])


def evaluate_llcm(distmat, q_pids, g_pids, q_camids, g_camids, max_rank: int = 20, *,
                  per_query: bool = False, device: str | torch.device | None = None) -> dict:
    """LLCM's evaluation of one gallery draw (either direction).

    1. The gallery rule (:func:`llcm_same_camera_rule`): a query ignores the
       gallery images of its own identity taken by its own camera.
    2. Ranking by distance, ties broken by gallery index (stable sort).
    3. CMC over *distinct identities* (DEEN's ``eval_llcm`` returns this
       curve, as SYSU-MM01's official code), mAP and mINP on the filtered,
       non-de-duplicated list.
    4. Averages over valid queries (those with a true match left after step 1).

    Returns the same keys as :func:`evaluate_sysu`, fractions in [0, 1].
    ``device``: where the ranking sort runs (see :func:`rank_metrics`).
    """
    d = distmat if isinstance(distmat, torch.Tensor) else _to_numpy(distmat, "distmat")
    shape = tuple(d.shape)
    for name, arr, n in (("q_pids", q_pids, shape[0]), ("g_pids", g_pids, shape[-1])):
        if _to_numpy(arr, name).reshape(-1).shape[0] != n:
            raise ValueError(f"{name} has {_to_numpy(arr, name).size} entries but distmat has shape {shape}")
    ignore = llcm_same_camera_rule(q_pids, g_pids, q_camids, g_camids)
    return rank_metrics(d, q_pids, g_pids, ignore=ignore, distinct_ids=True, max_rank=max_rank,
                        per_query=per_query, device=device)


def ranked_gallery(dist_row, *, ignore_row=None, top_k: int | None = None) -> np.ndarray:
    """Gallery indices of one query, best first (stable), ignored items dropped."""
    row = _to_numpy(dist_row, "dist_row").reshape(-1)
    order = np.argsort(row, kind="stable")
    if ignore_row is not None:
        ign = _to_numpy(ignore_row, "ignore_row").reshape(-1).astype(bool)
        if ign.shape != row.shape:
            raise ValueError(f"ignore_row has {ign.size} entries, dist_row has {row.size}")
        order = order[~ign[order]]
    return order if top_k is None else order[:top_k]


def cmc_at(result: dict, ranks: Sequence[int] = (1, 10, 20)) -> dict:
    """Pick ``R1``, ``R10``, ... (fractions) from a result's CMC curve."""
    cmc = result["cmc"]
    out = {}
    for r in ranks:
        if not 1 <= r <= len(cmc):
            raise ValueError(f"rank {r} is outside the CMC curve of length {len(cmc)} (raise max_rank)")
        out[f"R{r}"] = float(cmc[r - 1])
    return out


#: The camera rules a protocol filters its galleries by: SYSU-MM01's location
#: rule and LLCM's same-camera rule (see :func:`camera_rule`).
CAMERA_RULES = ("location", "same_camera")


def camera_rule(rule: str, q_pids, g_pids, q_camids, g_camids) -> np.ndarray:
    """The ignore mask of a protocol's camera rule: ``"location"``
    (:func:`sysu_location_rule`) or ``"same_camera"`` (:func:`llcm_same_camera_rule`)."""
    if rule == "location":
        return sysu_location_rule(q_camids, g_camids)
    if rule == "same_camera":
        return llcm_same_camera_rule(q_pids, g_pids, q_camids, g_camids)
    raise ValueError(f"rule must be one of {CAMERA_RULES}, got {rule!r}")


def chance_rank1(q_pids, g_pids, q_camids=None, g_camids=None, *, rule: str = "location") -> float:
    """Expected Rank-1 of a random ranking, as a fraction: the mean over valid
    queries of (true matches / gallery size), both counted after the camera
    ``rule`` (:func:`camera_rule`: SYSU-MM01's location rule by default) when
    camera ids are given (the first-ranked image's identity decides Rank-1,
    also for the distinct-identity CMC). The floor any learnt feature must clear."""
    qp = _to_numpy(q_pids, "q_pids").reshape(-1)
    gp = _to_numpy(g_pids, "g_pids").reshape(-1)
    keep = np.ones((qp.size, gp.size), dtype=bool)
    if q_camids is not None and g_camids is not None:
        keep = ~camera_rule(rule, qp, gp, q_camids, g_camids)
    matches = ((qp[:, None] == gp[None, :]) & keep).sum(1)
    sizes = keep.sum(1)
    valid = matches > 0
    if not valid.any():
        raise ValueError("no query has a true match in the gallery")
    return float(np.mean(matches[valid] / sizes[valid]))
