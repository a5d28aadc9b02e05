"""Chance levels: what a uniformly random ranking of the gallery scores.

Scope: :func:`chance_levels`, the expected Rank-k, mAP and mINP of a random
ranking for a given query set and gallery (identities, and cameras for
SYSU-MM01's location rule or LLCM's same-camera rule), computed exactly: closed forms and one exact
quadrature, no sampling. The floor any learnt feature must clear. Its
Rank-1 is :func:`~tsgan_lib.eval.metrics.chance_rank1`.

Per valid query, with N gallery items left after the camera rule, M of
them true matches (metrics average over valid queries, so chance does too):

- Rank-k, ordinary CMC (RegDB): the first match lies in the top k unless
  all k are non-matches: 1 - C(N-M, k) / C(N, k).
- Rank-k, distinct identities (SYSU-MM01): give every gallery image an
  independent uniform time in [0, 1]; the ranking is the order of the
  times. The first true match comes at t with density M (1-t)^(M-1); by
  then another identity j (n_j images) has appeared with probability
  p_j(t) = 1 - (1-t)^(n_j), independently of the others. The rank is 1 +
  the number D of identities seen before, so
  P(rank <= k) = int_0^1 M (1-t)^(M-1) P(sum_j Bernoulli(p_j(t)) <= k-1) dt.
  The integrand is a polynomial of degree N-1 in t, so Gauss-Legendre
  quadrature with N // 2 + 1 nodes gives it exactly (up to rounding, about
  1e-15); the Bernoulli sum's distribution is a short dynamic programme.
- AP: the true match at position p has, on average, (p-1)(M-1)/(N-1) other
  matches above it, so E[AP] = (1/N) sum_{p=1..N} (1 + (p-1)(M-1)/(N-1)) / p.
- INP = M / L, L the rank of the last match: P(L = l) = C(l-1, M-1) / C(N, M)
  for l = M..N.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
from scipy.special import gammaln, roots_legendre

from .metrics import _to_numpy, camera_rule, chance_rank1
from .reference import _distinct_ids_default


@functools.lru_cache(maxsize=16)
def _nodes(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights on [0, 1]."""
    x, w = roots_legendre(n)
    return (x + 1) / 2, w / 2


def _cmc_distinct(m: int, other_counts: np.ndarray, max_rank: int) -> np.ndarray:
    """P(distinct-identity rank <= k), k = 1..max_rank, of one query with
    ``m`` matches among identities whose other image counts are ``other_counts``."""
    n = m + int(other_counts.sum())
    t, w = _nodes(n // 2 + 1)
    u = 1.0 - t
    dist = np.zeros((t.size, max_rank))  # dist[:, r] = P(D = r | t), r < max_rank
    dist[:, 0] = 1.0
    for count in other_counts:
        p = (1.0 - u ** count)[:, None]
        seen = dist[:, :-1] * p
        dist *= 1.0 - p
        dist[:, 1:] += seen
    return (w * m * u ** (m - 1)) @ np.cumsum(dist, axis=1)


def _cmc_ordinary(m: int, n: int, max_rank: int) -> np.ndarray:
    """P(first match within the top k) = 1 - C(n-m, k)/C(n, k), k = 1..max_rank."""
    i = np.arange(max_rank)
    fresh = np.where(i < n - m, (n - m - i) / np.maximum(n - i, 1), 0.0)  # item i+1 misses, given i missed
    miss = np.cumprod(fresh)  # all of the top k are non-matches
    return 1.0 - miss


def _expected_ap(m: int, n: int) -> float:
    if n == 1:
        return 1.0
    p = np.arange(1, n + 1)
    return float(np.mean((1.0 + (p - 1) * (m - 1) / (n - 1)) / p))


def _expected_inp(m: int, n: int) -> float:
    last = np.arange(m, n + 1)
    log_c = lambda a, b: gammaln(a + 1) - gammaln(b + 1) - gammaln(a - b + 1)
    return float(np.sum(m / last * np.exp(log_c(last - 1, m - 1) - log_c(n, m))))


def chance_levels(q_pids, g_pids, q_camids=None, g_camids=None, *, ranks: Sequence[int] = (1, 10, 20),
                  distinct_ids: bool | None = None, rule: str = "location") -> dict:
    """Expected ``R<k>`` (k in ``ranks``), ``mAP`` and ``mINP`` of a random
    ranking, as fractions, and ``num_valid``.

    ``q_camids``/``g_camids``: cameras; when given, the camera ``rule``
    removes gallery images first (:func:`~tsgan_lib.eval.metrics.camera_rule`:
    ``"location"``, SYSU-MM01's, or ``"same_camera"``, LLCM's). ``distinct_ids``:
    CMC over distinct identities; ``None`` = True with cameras (SYSU-MM01,
    LLCM), False without (RegDB), as in :func:`~tsgan_lib.eval.reference.evaluate_reference`.
    Exact (see the module docstring); Rank-1 is
    :func:`~tsgan_lib.eval.metrics.chance_rank1`.
    """
    if (q_camids is None) != (g_camids is None):
        raise ValueError("give both q_camids and g_camids (the location rule), or neither")
    ranks = list(ranks)
    if not ranks or any(not isinstance(k, (int, np.integer)) or k < 1 for k in ranks):
        raise ValueError(f"ranks must be positive integers, got {ranks!r}")
    distinct_ids = _distinct_ids_default(distinct_ids, q_camids)
    qp = _to_numpy(q_pids, "q_pids").reshape(-1)
    gp = _to_numpy(g_pids, "g_pids").reshape(-1)
    qc = np.zeros(qp.size, dtype=np.int64) if q_camids is None else _to_numpy(q_camids, "q_camids").reshape(-1)
    if qc.size != qp.size:
        raise ValueError(f"q_camids has {qc.size} entries but q_pids has {qp.size}")
    if g_camids is not None and _to_numpy(g_camids, "g_camids").size != gp.size:
        raise ValueError(f"g_camids has {_to_numpy(g_camids, 'g_camids').size} entries but g_pids has {gp.size}")
    max_rank = max(ranks)
    # Queries of one identity from one camera see the same filtered gallery: one expectation each.
    keys, weights = np.unique(np.stack([qp, qc], axis=1), axis=0, return_counts=True)
    totals, num_valid = np.zeros(max_rank + 2), 0
    for (pid, camid), weight in zip(keys, weights):
        kept = np.ones(gp.size, dtype=bool) if q_camids is None else ~camera_rule(rule, [pid], gp, [camid], g_camids)[0]
        kept_ids, counts = np.unique(gp[kept], return_counts=True)
        m, n = int(counts[kept_ids == pid].sum()), int(counts.sum())
        if m == 0:
            continue  # invalid query
        cmc = _cmc_distinct(m, counts[kept_ids != pid], max_rank) if distinct_ids else _cmc_ordinary(m, n, max_rank)
        totals += weight * np.r_[cmc, _expected_ap(m, n), _expected_inp(m, n)]
        num_valid += int(weight)
    if num_valid == 0:
        raise ValueError("no valid query: no query identity has a (non-ignored) match in the gallery")
    means = totals / num_valid
    out = {f"R{k}": float(means[k - 1]) for k in ranks}
    if 1 in ranks:  # the Rank-1 case, also for distinct identities: the first item decides
        out["R1"] = chance_rank1(qp, gp, q_camids, g_camids, rule=rule)
    out.update(mAP=float(means[max_rank]), mINP=float(means[max_rank + 1]), num_valid=num_valid)
    return out
