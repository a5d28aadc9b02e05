"""k-reciprocal re-ranking (Zhong et al., CVPR 2017), vectorised in torch.

Scope: one function, :func:`k_reciprocal_rerank`, from Euclidean distance
matrices to the re-ranked query x gallery distance. The paper (TS-GAN,
Section IV.B.1) uses it at test time with the defaults k1=20, k2=6, λ=0.3.

The algorithm, on all N = q + g images together:

1. d(i, j) = squared Euclidean distance, each row divided by its maximum.
2. N(i, k): the k nearest neighbours of i (itself included).
   k-reciprocal set R(i) = {j in N(i, k1+1) : i in N(j, k1+1)}.
3. Expansion: for every c in R(i), its half set R_h(c) (same rule with
   k = round(k1/2)) joins when |R_h(c) ∩ R(i)| > 2/3 |R_h(c)|. E(i) = R(i) ∪
   the joined sets.
4. V(i, j) = exp(-d(i, j)) for j in E(i), 0 elsewhere, rows summing to 1.
   Local query expansion: V(i) <- mean of V(j) over j in N(i, k2).
5. Jaccard distance d_J(i, j) = 1 - Σ_k min(V(i,k), V(j,k)) / (2 - Σ_k min(...)).
6. Result: (1 - λ) d_J + λ d, query rows x gallery columns.

Implementation. The N x N matrix is never built: its rows are read from the
three input blocks (row i is column i of the full matrix, as in the
reference code, which transposes). Neighbour lists come from ``topk`` on the
blocks, merged; the reciprocal tests and the expansion are batched gathers
over (N, k1+1, round(k1/2)+1) index tensors; V and its query expansion are
kept sparse (E(i) has a few dozen members); the Jaccard sums visit only the
(query, gallery) pairs that share a non-zero column of V, in chunks of
``max_pairs``. No Python loop over images. Everything is float32 (the
float16 variants of the peers overflow to NaN on unnormalised 2048-d
features).

Ties: an exact tie at the edge of a neighbour list is broken by ``topk``
(deterministic on a given device); the reference's unstable ``argsort`` may
pick the other member, which moves a few re-ranked distances slightly.

Memory, beyond the inputs: the output and two temporaries of its shape
(q x g float32), O(N k1^2) indices, O(N k2 |E|) sparse entries and the
Jaccard work buffers (under 100 bytes per pair; ``max_pairs`` = 2M pairs by
default, so under 200 MB). SYSU multi-shot (3,803 + 3,010): under 0.5 GB; the reference dense
code holds several N x N arrays (N = 6,813: 186 MB each).
"""

from __future__ import annotations

import numpy as np
import torch


def _as_tensor(x, name: str, device: torch.device) -> torch.Tensor:
    t = x if isinstance(x, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(np.asarray(x)))
    if t.ndim != 2:
        raise ValueError(f"{name} must be a 2-D distance matrix, got shape {tuple(t.shape)}")
    t = t.detach().to(device=device, dtype=torch.float32)
    if t.numel():
        low, high = torch.aminmax(t)  # one pass; NaN propagates to both
        if not (bool(low >= 0) and bool(high < float("inf"))):
            raise ValueError(f"{name} must hold finite, non-negative Euclidean distances (found NaN, inf or < 0)")
    return t


class _Rows:
    """Rows of the transposed full distance matrix [[qq, qg], [qg.T, gg]].T,
    read from the blocks: row i < nq is [qq[:, i], qg[i]], row nq + j is
    [qg[:, j], gg[:, j]]."""

    def __init__(self, qq: torch.Tensor, qg: torch.Tensor, gg: torch.Tensor):
        self.qq, self.qg, self.gg = qq, qg, gg
        self.nq, self.ng = qg.shape
        amax = lambda t, dim: t.amax(dim=dim) if t.shape[dim] else t.new_zeros(t.shape[1 - dim])
        row_max = torch.cat([torch.maximum(amax(qq, 0), amax(qg, 1)), torch.maximum(amax(qg, 0), amax(gg, 0))])
        self.scale = row_max.square().clamp_min(torch.finfo(torch.float32).tiny)  # max of the squared row

    def nearest(self, k: int) -> torch.Tensor:
        """(N, k) column indices of each row's k smallest, nearest first."""
        def small(t, dim, offset):
            kk = min(k, t.shape[dim])
            v, i = torch.topk(t, kk, dim=dim, largest=False)
            return (v.T, i.T + offset) if dim == 0 else (v, i + offset)
        parts_q = [small(self.qq, 0, 0), small(self.qg, 1, self.nq)]
        parts_g = [small(self.qg, 0, 0), small(self.gg, 0, self.nq)]
        out = []
        for parts in (parts_q, parts_g):
            v = torch.cat([p[0] for p in parts], dim=1)
            i = torch.cat([p[1] for p in parts], dim=1)
            order = torch.topk(v, min(k, v.shape[1]), dim=1, largest=False).indices
            out.append(torch.gather(i, 1, order))
        return torch.cat(out)

    def values(self, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
        """Row-scaled squared distances at (rows, cols), step 1."""
        nq = self.nq
        out = torch.empty(rows.shape, dtype=torch.float32, device=rows.device)
        rq, cq = rows < nq, cols < nq
        for m, block, a, b in ((rq & cq, self.qq, cols, rows), (rq & ~cq, self.qg, rows, cols - nq),
                               (~rq & cq, self.qg, cols, rows - nq), (~rq & ~cq, self.gg, cols - nq, rows - nq)):
            out[m] = block[a[m], b[m]]
        return out.square_() / self.scale[rows]


def _reciprocal(nn: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(cand, mask)``: each row's k nearest, and which of them are
    k-reciprocal neighbours (the row is among the neighbour's k nearest)."""
    cand = nn[:, :k]
    rows = torch.arange(nn.shape[0], device=nn.device)
    return cand, (cand[cand] == rows[:, None, None]).any(dim=-1)


def _expanded_sets(nn: torch.Tensor, k1: int, chunk: int = 2048) -> tuple[torch.Tensor, torch.Tensor]:
    """E(i) of step 3 as ``(rows, cols)`` of its members, each pair once."""
    n = nn.shape[0]
    fwd, r_mask = _reciprocal(nn, min(k1 + 1, n))
    half, h_mask = _reciprocal(nn, min(int(round(k1 / 2)) + 1, n))  # round half to even, as numpy.around
    h_size = h_mask.sum(dim=1)
    padded = []
    for s in range(0, n, chunk):
        f, rm = fwd[s:s + chunk], r_mask[s:s + chunk]
        members, m_mask = half[f], h_mask[f]  # (c, K, Kh): R_h of each candidate
        in_r = ((members[..., None] == f[:, None, None, :]) & rm[:, None, None, :]).any(dim=-1)
        overlap = (in_r & m_mask).sum(dim=-1)  # |R_h(c) ∩ R(i)|
        joined = rm & (3 * overlap > 2 * h_size[f])  # > 2/3 |R_h(c)|, exactly, in integers
        idx = torch.cat([f, members.flatten(1)], dim=1)
        keep = torch.cat([rm, (joined[..., None] & m_mask).flatten(1)], dim=1)
        padded.append(torch.where(keep, idx, torch.full_like(idx, n)))
    srt = torch.sort(torch.cat(padded), dim=1).values  # de-duplicate each row
    first = torch.ones_like(srt, dtype=torch.bool)
    first[:, 1:] = srt[:, 1:] != srt[:, :-1]
    rows, pos = (first & (srt < n)).nonzero(as_tuple=True)
    return rows, srt[rows, pos]


def _coalesce(rows, cols, vals, n):
    """Sum duplicate (row, col) entries; result sorted by row, then col."""
    key, inv = torch.unique(rows * n + cols, sorted=True, return_inverse=True)
    summed = torch.zeros(key.numel(), dtype=vals.dtype, device=vals.device).index_add_(0, inv, vals)
    return key // n, key % n, summed


def _expand_rows(starts, counts):
    """Entry indices ``starts[r] + 0..counts[r]-1`` for every r, concatenated,
    and the position r each comes from."""
    total = int(counts.sum())
    src = torch.repeat_interleave(torch.arange(counts.numel(), device=counts.device), counts, output_size=total)
    shift = torch.repeat_interleave(starts - (torch.cumsum(counts, 0) - counts), counts, output_size=total)
    return torch.arange(total, device=counts.device) + shift, src


def _jaccard_overlap(rows, cols, vals, nq, ng, n, max_pairs):
    """Σ_k min(V(i,k), V(nq+j,k)) for every query i and gallery j, from the
    sparse V, over the pairs sharing a column only."""
    out = torch.zeros(nq * ng, dtype=torch.float32, device=vals.device)
    is_q = rows < nq
    q_base, qk, qv = rows[is_q] * ng, cols[is_q], vals[is_q]  # flat output row offset
    by_col = torch.sort(cols[~is_q], stable=True).indices
    gj, gk, gv = rows[~is_q][by_col] - nq, cols[~is_q][by_col], vals[~is_q][by_col]
    g_count = torch.bincount(gk, minlength=n)
    g_start = torch.cumsum(g_count, 0) - g_count
    n_pairs = g_count[qk]
    ends = torch.cumsum(n_pairs, 0)
    s = 0
    while s < qk.numel():  # chunks of at most max_pairs pairs (one query entry at least)
        e = max(int(torch.searchsorted(ends, ends[s] - n_pairs[s] + max_pairs, right=True)), s + 1)
        cnt = n_pairs[s:e]
        total = int(cnt.sum())
        # pair p: query entry s + r, gallery entry g_start[qk[s + r]] + (p - first pair of r)
        g_idx = torch.arange(total, device=out.device) + torch.repeat_interleave(
            g_start[qk[s:e]] - (torch.cumsum(cnt, 0) - cnt), cnt, output_size=total)
        flat = torch.repeat_interleave(q_base[s:e], cnt, output_size=total) + gj[g_idx]
        out.index_add_(0, flat, torch.minimum(torch.repeat_interleave(qv[s:e], cnt, output_size=total), gv[g_idx]))
        s = e
    return out.view(nq, ng)


def k_reciprocal_rerank(q_g, q_q, g_g, k1: int = 20, k2: int = 6, lambda_value: float = 0.3, *,
                        device: str | torch.device | None = None, max_pairs: int = 1 << 21,
                        as_tensor: bool = False) -> np.ndarray | torch.Tensor:
    """Re-ranked query x gallery distances (k-reciprocal encoding + Jaccard).

    Parameters
    ----------
    q_g, q_q, g_g: Euclidean (NOT squared) distances: query x gallery,
        query x query, gallery x gallery. NumPy arrays or torch tensors, of
        any float dtype: they are cast to float32 first, then squared (the
        reference's precision; float32 squares overflow only above 1.8e19,
        float16's above 255).
    k1, k2, lambda_value: the method's k1 (reciprocal neighbourhood), k2
        (local query expansion) and λ (weight of the original distance).
    device: where to compute; ``None`` = the device of a tensor input (a
        CUDA tensor runs on the GPU), CPU for NumPy input.
    max_pairs: work-buffer size of the sparse Jaccard step (memory knob).
    as_tensor: return a torch tensor on the compute device (e.g. to rank it
        there with :func:`~tsgan_lib.eval.metrics.evaluate_sysu`) instead of
        a NumPy array.

    Returns a float32 NumPy array (or tensor) of shape (num_query,
    num_gallery). The algorithm and its memory are described in the module
    docstring. The computation is the same torch code on every device; on a
    CPU it runs for NumPy input too.
    """
    if device is None:
        device = next((x.device for x in (q_g, q_q, g_g) if isinstance(x, torch.Tensor)), torch.device("cpu"))
    device = torch.device(device)
    qg = _as_tensor(q_g, "q_g", device)
    qq = _as_tensor(q_q, "q_q", device)
    gg = _as_tensor(g_g, "g_g", device)
    nq, ng = qg.shape
    if nq == 0 or ng == 0:
        raise ValueError(f"q_g must have queries and gallery items, got shape {tuple(qg.shape)}")
    if qq.shape != (nq, nq):
        raise ValueError(f"q_q must be ({nq}, {nq}) to match q_g {tuple(qg.shape)}, got {tuple(qq.shape)}")
    if gg.shape != (ng, ng):
        raise ValueError(f"g_g must be ({ng}, {ng}) to match q_g {tuple(qg.shape)}, got {tuple(gg.shape)}")
    for name, k in (("k1", k1), ("k2", k2)):
        if not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"{name} must be a positive integer, got {k!r}")
    if not 0.0 <= float(lambda_value) <= 1.0:
        raise ValueError(f"lambda_value must lie in [0, 1], got {lambda_value!r}")
    if not isinstance(max_pairs, (int, np.integer)) or max_pairs < 1:
        raise ValueError(f"max_pairs must be a positive integer, got {max_pairs!r}")
    n = nq + ng
    full = _Rows(qq, qg, gg)

    # Steps 1-3: neighbour lists (ranking raw distances = ranking the row-
    # scaled squares), then the expanded k-reciprocal sets E(i).
    nn = full.nearest(min(max(k1 + 1, k2), n))
    rows, cols = _expanded_sets(nn, k1)

    # Step 4: V on E(i), rows normalised; local query expansion over N(i, k2).
    w = torch.exp(-full.values(rows, cols))
    w /= torch.zeros(n, device=device).index_add_(0, rows, w)[rows]
    if k2 != 1:
        counts = torch.bincount(rows, minlength=n)
        starts = torch.cumsum(counts, 0) - counts
        neighbours = nn[:, :k2].reshape(-1)  # row i's k2 nearest, row-major
        entry, src = _expand_rows(starts[neighbours], counts[neighbours])
        rows, cols, w = _coalesce(src // nn[:, :k2].shape[1], cols[entry], w[entry] / nn[:, :k2].shape[1], n)

    # Steps 5-6: Jaccard distance, blended with the row-scaled original.
    jaccard = _jaccard_overlap(rows, cols, w, nq, ng, n, int(max_pairs))
    jaccard = (2.0 - 2.0 * jaccard) / (2.0 - jaccard)  # = 1 - o / (2 - o)
    original = qg.square() / full.scale[:nq, None]
    out = jaccard * (1.0 - lambda_value) + original * lambda_value
    return out if as_tensor else out.cpu().numpy()
