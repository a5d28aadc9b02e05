"""The stable ranking of a distance matrix, fast: each row's gallery indices
by ascending distance, exact ties by gallery index (a *stable* sort),
ignored items last. The one order every metric of
:mod:`~tsgan_lib.eval.metrics` reads.

Scope: :func:`stable_order` (NumPy, on the host) and
:func:`stable_order_torch` (torch, on any device). Both return exactly the
order of a row-by-row ``sorted(range(n), key=lambda j: (d[j], j))`` for the
kept items (:func:`~tsgan_lib.eval.reference.rank_list_reference`).

NumPy: ONE vectorised sort of unique 64-bit keys (the distance's
order-preserving bits, with the gallery index in the low bits, ignored items
pushed to the end): no per-query loop and no ``argsort(kind="stable")`` on
floats. float32 (and smaller) distances fit whole into the key. float64
distances (the protocol's, as the official ``pdist2``) keep their top
64 - b bits (b = bits of a gallery index, 12 for 3,010 columns), so
distances within about 1e-12 (relative) of each other may share a key and
come out in column order; the pairs that share a key are then checked, and
the rare row where two *distinct* distances shared one is re-sorted exactly
with a stable argsort. Integer input is ranked by a stable argsort.

torch: ``torch.sort(stable=True)`` in row chunks (bounded device memory);
only the order comes back to the host. On a CUDA tensor this is the fast
path; on a CPU NumPy's vectorised sort of int64 keys is several times
faster than ``torch.sort``, so CPU input takes :func:`stable_order` (see
:func:`~tsgan_lib.eval.metrics.rank_metrics`).
"""

from __future__ import annotations

import numpy as np
import torch


def stable_order(d: np.ndarray, ignore: np.ndarray | None) -> np.ndarray:
    """Per-row gallery indices: kept items ascending by distance, ties by
    column (a stable sort), then the ignored items (in an order that no
    metric reads: by column here, by distance in the argsort and torch
    variants)."""
    nq, ng = d.shape
    d = np.ascontiguousarray(d)  # row sorts and key views need C order (a transpose is F order)
    shift = max(1, int(ng - 1).bit_length())
    if d.dtype == np.float64:
        return _order_float64(d, ignore, shift)
    if not np.issubdtype(d.dtype, np.floating) or d.dtype.itemsize > 4:  # integers, long double
        return _order_argsort(d, ignore)
    bits = (d.astype(np.float32, copy=False) + np.float32(0.0)).view(np.int32)  # + 0.0: -0.0 -> +0.0
    if (bits < 0).any():  # negative floats: flip so that int order = float order
        bits = np.where(bits < 0, bits ^ np.int32(0x7FFFFFFF), bits)
    if ignore is not None:  # above every finite or infinite distance
        bits = np.where(ignore, np.int32(0x7FFFFFFF), bits)
    key = bits.astype(np.int64)
    key <<= shift
    key |= np.arange(ng, dtype=np.int64)[None, :]  # unique keys: (distance, column)
    key.sort(axis=1)  # the keys are unique, so this sort is stable
    key &= (1 << shift) - 1
    return key


def _order_float64(d: np.ndarray, ignore: np.ndarray | None, shift: int) -> np.ndarray:
    """:func:`stable_order` of float64 distances: the top 64 - ``shift``
    bits of each distance and its column as one key, then a check of the
    sorted values; rows where two distinct distances shared a key are
    re-sorted exactly."""
    ng = d.shape[1]
    key = (d + 0.0).view(np.int64)  # a fresh array; + 0.0 turns -0.0 into +0.0
    if (key < 0).any():  # negative floats: flip so that int order = float order
        np.copyto(key, key ^ np.int64(0x7FFFFFFFFFFFFFFF), where=key < 0)
    key &= np.int64(-(1 << shift))  # drop the low bits (floor: keeps the order)
    if ignore is not None:  # above every finite or infinite distance
        np.copyto(key, np.int64(0x7FFFFFFFFFFFFFFF) & np.int64(-(1 << shift)), where=ignore)
    key |= np.arange(ng, dtype=np.int64)[None, :]  # unique keys: (truncated distance, column)
    key.sort(axis=1)
    # Neighbours in the sorted rows that share the truncated distance (exact
    # ties, mostly) are in column order; that is right only if their full
    # distances are equal. Check just those pairs.
    shared = (key[:, 1:] ^ key[:, :-1]).view(np.uint64) < np.uint64(1 << shift)
    key &= (1 << shift) - 1
    rows, pos = np.nonzero(shared)
    if ignore is not None:  # the ignored tail shares one key; its order is never read
        kept = pos + 1 < ng - ignore.sum(axis=1)[rows]
        rows, pos = rows[kept], pos[kept]
    bad = np.unique(rows[d[rows, key[rows, pos]] != d[rows, key[rows, pos + 1]]])
    if bad.size:
        key[bad] = _order_argsort(d[bad], None if ignore is None else ignore[bad])
    return key


def _order_argsort(d: np.ndarray, ignore: np.ndarray | None) -> np.ndarray:
    """:func:`stable_order` by NumPy's stable argsort (any real dtype; slower)."""
    order = np.argsort(d, axis=1, kind="stable")
    if ignore is not None:  # stable partition: kept first
        ign = np.take_along_axis(ignore, order, axis=1)
        order = np.take_along_axis(order, np.argsort(ign, axis=1, kind="stable"), axis=1)
    return order


def stable_order_torch(d: torch.Tensor, ignore: np.ndarray | None,
                       max_elements: int = 1 << 24) -> np.ndarray:
    """:func:`stable_order` with ``torch.sort(stable=True)`` on ``d``'s
    device, in chunks of rows of about ``max_elements`` entries (bounded
    device memory); the order comes back as a NumPy array."""
    nq, ng = d.shape
    if d.dtype in (torch.float16, torch.bfloat16):
        d = d.float()  # exact; sorted as float32
    ign = torch.from_numpy(np.ascontiguousarray(ignore)).to(d.device) if ignore is not None else None
    out = np.empty((nq, ng), dtype=np.int64)
    step = max(1, max_elements // max(ng, 1))
    for s in range(0, nq, step):
        block = d[s:s + step]
        if block.is_floating_point():
            block = block + 0.0  # -0.0 -> +0.0, so that a radix sort ties them
        order = torch.sort(block, dim=1, stable=True).indices
        if ign is not None:  # stable partition: kept first
            flags = torch.gather(ign[s:s + step], 1, order).to(torch.uint8)
            order = torch.gather(order, 1, torch.sort(flags, dim=1, stable=True).indices)
        out[s:s + step] = order.cpu().numpy()
    return out
