"""The modality gap, measured: how far a person's IR images are from their own RGB images.

Distances of same-identity and different-identity pairs are compared within
RGB, within IR and across the two (:data:`PAIR_TYPES`); their separation
``(mean different - mean same) / std different`` says how easily identities
are told apart within each pair type. A small cross-modality separation next
to large within-modality ones is the gap the method has to close.

- :func:`simple_embedding` -- a fixed, learning-free embedding of images
  (grey levels, resized, standardised per image): the gap before any learning
  (notebook 00); a trained backbone's features give it after (notebook 05);
- :func:`pair_distances` -- the distances and, per pair type, which pairs belong to it;
- :func:`modality_gap_stats` -- mean same- and different-identity distances
  and the separation per pair type;
- :func:`luminance_correlation` -- how much of a person's visible brightness
  pattern each IR sensor of the stand-ins keeps, pixel by pixel.

The figure of these distances is :func:`tsgan_lib.report.distances.plot_gap_histograms`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch

from tsgan_lib.data.datasets import read_image
from tsgan_lib.data.records import IR, RGB, Record
from tsgan_lib.data.synthetic import region_masks, render_sensors

from .features import euclidean_distance

PAIR_TYPES = (("RGB-RGB", RGB, RGB), ("IR-IR", IR, IR), ("IR-RGB", IR, RGB))


def simple_embedding(records: Sequence[Record], size: tuple[int, int] = (32, 16)) -> np.ndarray:
    """Fixed, learning-free embedding: grey image resized to ``size`` (H, W),
    standardised per image, flattened and L2-normalised. ``(N, H*W)`` float32."""
    h, w = size
    out = np.empty((len(records), h * w), np.float32)
    for i, r in enumerate(records):
        g = np.asarray(read_image(r.path).convert("L").resize((w, h)), np.float32).ravel()
        g = (g - g.mean()) / (g.std() + 1e-6)
        out[i] = g / (np.linalg.norm(g) + 1e-6)
    return out


def pair_distances(emb: np.ndarray, pids: Sequence[int], modalities: Sequence[str]):
    """Euclidean distances of the rows of ``emb``, then ``(name, pair-type mask, same-identity
    mask)`` per pair type of :data:`PAIR_TYPES` (self-pairs excluded)."""
    pids, mods = np.asarray(pids), np.asarray(modalities)
    x = torch.from_numpy(np.ascontiguousarray(emb, dtype=np.float32))
    d = euclidean_distance(x, x).numpy()
    same = pids[:, None] == pids[None, :]
    masks = []
    for name, ma, mb in PAIR_TYPES:
        block = np.outer(mods == ma, mods == mb)
        if ma == mb:
            block &= ~np.eye(len(pids), dtype=bool)
        masks.append((name, block, same))
    return d, masks


def separation(same: np.ndarray, different: np.ndarray) -> float:
    """``(mean different - mean same) / std different``: larger = identities easier to tell apart."""
    return float((different.mean() - same.mean()) / (different.std() + 1e-12))


def modality_gap_stats(emb: np.ndarray, pids: Sequence[int], modalities: Sequence[str]) -> pd.DataFrame:
    """Mean Euclidean distance of same- and different-identity pairs within RGB,
    within IR and across modalities, and their :func:`separation` (larger =
    identities easier to tell apart). One row per pair type."""
    d, masks = pair_distances(emb, pids, modalities)
    rows = []
    for name, block, same in masks:
        ds, dd = d[block & same], d[block & ~same]
        rows.append({"pairs": name, "same_id": float(ds.mean()), "different_id": float(dd.mean()),
                     "separation": separation(ds, dd), "n_same": int(ds.size), "n_different": int(dd.size)})
    return pd.DataFrame(rows)


def luminance_correlation(config, pids: Sequence[int], index: int = 1, cam: int = 6) -> pd.DataFrame:
    """How much of a person's visible brightness pattern each IR sensor keeps:
    per person, the Pearson correlation, over the pixels that show the person,
    between the RGB image's luminance and the NIR (resp. thermal) image of the
    same scene (:func:`~tsgan_lib.data.synthetic.render_sensors`). One row per
    person: ``pid``, ``nir``, ``thermal``."""
    lum = np.array([0.2126, 0.7152, 0.0722])
    rows = []
    for pid in pids:
        images = render_sensors(config, pid, index, cam=cam)
        person = region_masks(config, pid, cam, index)["person"] > 0.5
        y = (images["rgb"].astype(np.float64) @ lum)[person]
        rows.append({"pid": pid, **{s: float(np.corrcoef(y, images[s][..., 0][person].astype(np.float64))[0, 1])
                                    for s in ("nir", "thermal")}})
    return pd.DataFrame(rows)
