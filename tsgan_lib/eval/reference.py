"""CMC, AP and INP written as their textbook definitions, one query at a time.

Scope: readable references beside the fast, vectorised
:mod:`tsgan_lib.eval.metrics`. Nothing here is fast (Python loops over
queries and gallery items); everything here is meant to be read, shown in a
notebook with ``inspect.getsource``, and compared against the fast code in
the tests. Same inputs, same outputs, same conventions:

- A query's ranked list: the gallery sorted by distance, ties broken by
  gallery index (a *stable* sort), ignored items removed
  (:func:`rank_list_reference`).
- SYSU-MM01's location rule: a query ignores every gallery image taken at
  its own location (:data:`~tsgan_lib.eval.metrics.SYSU_CAMERA_LOCATION`;
  in practice, a cam3 query ignores every cam2 image).
- CMC: a valid query counts as a hit at rank k when its first true match
  sits at rank <= k. With ``distinct_ids`` (SYSU-MM01) ranks count distinct
  identities: an identity already seen higher in the list is skipped.
- AP = mean over the true matches of k / (rank of the k-th match);
  INP = (number of true matches) / (rank of the last match); both on the
  filtered list, not de-duplicated.
- Invalid queries (no true match left after filtering) are skipped; every
  average is over the valid ones.
"""

from __future__ import annotations

import numpy as np

from .metrics import SYSU_CAMERA_LOCATION, _check_inputs, _to_numpy


def rank_list_reference(dist_row, ignore_row=None) -> list[int]:
    """One query's gallery indices, nearest first: sorted by (distance,
    index), so equal distances keep the gallery order; items where
    ``ignore_row`` is True are left out."""
    ranked = sorted(range(len(dist_row)), key=lambda j: (dist_row[j], j))
    if ignore_row is None:
        return ranked
    return [j for j in ranked if not ignore_row[j]]


def first_match_rank_reference(ranked_pids, q_pid, distinct_ids: bool) -> int | None:
    """Rank (1-based) of the first true match in a ranked list of gallery
    identities; ``None`` when there is none. With ``distinct_ids`` each
    identity is counted once, where it first appears."""
    seen = []
    for pid in ranked_pids:
        if distinct_ids and pid in seen:
            continue
        seen.append(pid)
        if pid == q_pid:
            return len(seen)
    return None


def average_precision_reference(matches) -> float:
    """AP of one ranked list of booleans (True = true match): the mean over
    the true matches of k / (rank of the k-th true match)."""
    ranks = [r + 1 for r, is_match in enumerate(matches) if is_match]
    return sum(k / rank for k, rank in enumerate(ranks, start=1)) / len(ranks)


def inp_reference(matches) -> float:
    """INP of one ranked list of booleans: the number of true matches divided
    by the rank of the last one (1 when all matches come first)."""
    ranks = [r + 1 for r, is_match in enumerate(matches) if is_match]
    return len(ranks) / ranks[-1]


def _distinct_ids_default(distinct_ids: bool | None, q_camids) -> bool:
    """``distinct_ids=None`` is the protocol's choice: distinct identities
    (SYSU-MM01) when cameras are given, ordinary CMC (RegDB) without."""
    return q_camids is not None if distinct_ids is None else bool(distinct_ids)


def _same_location(q_camid, g_camid) -> bool:
    """SYSU-MM01's location rule for one pair: drop the gallery image when
    both cameras stand at the same location (cam2 and cam3 share a room)."""
    for name, cam in (("q_camids", q_camid), ("g_camids", g_camid)):
        if cam not in SYSU_CAMERA_LOCATION:
            raise ValueError(f"{name} must hold SYSU-MM01 cameras 1..6, got {cam}")
    return SYSU_CAMERA_LOCATION[q_camid] == SYSU_CAMERA_LOCATION[g_camid]


def _ignore_reference(nq, ng, q_camids, g_camids, ignore):
    """``out[i, j]``: True when gallery j is removed from query i's list, by
    the explicit ``ignore`` mask or by the location rule."""
    out = np.zeros((nq, ng), dtype=bool)
    if ignore is not None:
        out |= _to_numpy(ignore, "ignore").astype(bool)
    if q_camids is not None:
        qc = _to_numpy(q_camids, "q_camids").reshape(-1).tolist()
        gc = _to_numpy(g_camids, "g_camids").reshape(-1).tolist()
        if len(qc) != nq or len(gc) != ng:
            raise ValueError(f"q_camids / g_camids must have {nq} / {ng} entries, got {len(qc)} / {len(gc)}")
        for i in range(nq):
            for j in range(ng):
                if _same_location(qc[i], gc[j]):
                    out[i, j] = True
    return out


def _per_query_reference(distmat, q_pids, g_pids, q_camids, g_camids, distinct_ids, ignore, max_rank):
    """(first_rank, AP, INP) of every valid query, in query order."""
    if (q_camids is None) != (g_camids is None):
        raise ValueError("give both q_camids and g_camids (the location rule), or neither")
    d, qp, gp = _check_inputs(_to_numpy(distmat, "distmat"), q_pids, g_pids, max_rank)
    if ignore is not None and _to_numpy(ignore, "ignore").shape != d.shape:
        raise ValueError(f"ignore must have distmat's shape {d.shape}")
    distinct_ids = _distinct_ids_default(distinct_ids, q_camids)
    skip = _ignore_reference(d.shape[0], d.shape[1], q_camids, g_camids, ignore)
    per_query = []
    for i in range(d.shape[0]):
        ranked = rank_list_reference(d[i], skip[i])
        matches = [gp[j] == qp[i] for j in ranked]
        if not any(matches):
            continue  # invalid query: no true match left
        first = first_match_rank_reference([gp[j] for j in ranked], qp[i], distinct_ids)
        per_query.append((first, average_precision_reference(matches), inp_reference(matches)))
    if not per_query:
        raise ValueError("no valid query: no query identity has a (non-ignored) match in the gallery")
    return per_query


def cmc_reference(distmat, q_pids, g_pids, q_camids=None, g_camids=None, *, distinct_ids: bool | None = None,
                  ignore=None, max_rank: int = 20) -> np.ndarray:
    """CMC curve: ``cmc[k-1]`` = fraction of valid queries whose first true
    match is at rank <= k, for k = 1..max_rank.

    ``q_camids``/``g_camids``: SYSU-MM01 cameras; when given, the location
    rule removes same-location gallery images. ``ignore``: an optional extra
    (num_query, num_gallery) mask of removed items. ``distinct_ids``: count
    ranks over distinct identities; ``None`` = True with cameras (SYSU-MM01),
    False without (RegDB's ordinary CMC).
    """
    return evaluate_reference(distmat, q_pids, g_pids, q_camids, g_camids, distinct_ids=distinct_ids,
                              ignore=ignore, max_rank=max_rank)["cmc"]


def evaluate_reference(distmat, q_pids, g_pids, q_camids=None, g_camids=None, *,
                       distinct_ids: bool | None = None, ignore=None, max_rank: int = 20) -> dict:
    """CMC, mAP and mINP by the literal definitions; same keys as
    :func:`~tsgan_lib.eval.metrics.rank_metrics` and
    :func:`~tsgan_lib.eval.metrics.evaluate_sysu`: ``{"cmc", "mAP", "mINP",
    "num_valid"}``, fractions in [0, 1]. Arguments as :func:`cmc_reference`:
    with cameras it is SYSU-MM01's evaluation, without it RegDB's."""
    per_query = _per_query_reference(distmat, q_pids, g_pids, q_camids, g_camids, distinct_ids, ignore,
                                     max_rank)
    first_ranks = [first for first, _, _ in per_query]
    return {"cmc": np.array([sum(first <= k for first in first_ranks) / len(per_query)
                             for k in range(1, max_rank + 1)]),
            "mAP": sum(ap for _, ap, _ in per_query) / len(per_query),
            "mINP": sum(inp for _, _, inp in per_query) / len(per_query),
            "num_valid": len(per_query)}
