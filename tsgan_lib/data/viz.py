"""Looking at the data: identity grids, sampler batches, the three sensors of
the stand-ins side by side, and the modality gap measured under a fixed
simple embedding.

The measurement answers "how different are RGB and IR images of the same
person?" before any learning: every image is embedded the same way (grey
levels, resized, standardised per image), then distances are compared for
same-identity and different-identity pairs within RGB, within IR and across
modalities. A small cross-modality separation next to large within-modality
ones is the modality gap the method has to close.

Every plot helper returns a matplotlib Figure and writes nothing to disk.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from ..eval.features import euclidean_distance
from ..models.convert import reid_to_unit
from .datasets import read_image
from .records import IR, RGB, Record
from .sysu import IR_CAMERAS


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


PAIR_TYPES = (("RGB-RGB", RGB, RGB), ("IR-IR", IR, IR), ("IR-RGB", IR, RGB))


def _pair_masks(emb: np.ndarray, pids: Sequence[int], modalities: Sequence[str]):
    """Distances, then ``(name, pair-type mask, same-identity mask)`` per pair
    type (self-pairs excluded)."""
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


def modality_gap_stats(emb: np.ndarray, pids: Sequence[int], modalities: Sequence[str]) -> pd.DataFrame:
    """Mean Euclidean distance of same- and different-identity pairs within RGB,
    within IR and across modalities, and their separation
    ``(mean_diff - mean_same) / std_diff`` (larger = identities easier to tell
    apart). One row per pair type."""
    d, masks = _pair_masks(emb, pids, modalities)
    rows = []
    for name, block, same in masks:
        ds, dd = d[block & same], d[block & ~same]
        rows.append({"pairs": name, "same_id": float(ds.mean()), "different_id": float(dd.mean()),
                     "separation": float((dd.mean() - ds.mean()) / (dd.std() + 1e-12)),
                     "n_same": int(ds.size), "n_different": int(dd.size)})
    return pd.DataFrame(rows)


def identity_grid(records: Sequence[Record], pid: int, per_camera: int = 3, cameras=(1, 2, 3, 4, 5, 6)) -> plt.Figure:
    """One identity across the six cameras: a column per camera."""
    by_cam = {c: [r for r in records if r.pid == pid and r.camid == c][:per_camera] for c in cameras}
    fig, axes = plt.subplots(per_camera, len(cameras), figsize=(1.3 * len(cameras), 2.3 * per_camera), squeeze=False)
    for j, c in enumerate(cameras):
        for i in range(per_camera):
            ax = axes[i, j]
            ax.axis("off")
            if i < len(by_cam[c]):
                ax.imshow(read_image(by_cam[c][i].path))
            if i == 0:
                mod = "IR" if c in IR_CAMERAS else "RGB"
                ax.set_title(f"cam{c} ({mod})" + ("" if by_cam[c] else "\nnot seen"), fontsize=9)
    fig.suptitle(f"person {pid:04d}")
    fig.tight_layout()
    return fig


def batch_grid(x_rgb: torch.Tensor, x_ir: torch.Tensor, labels: torch.Tensor, K: int) -> plt.Figure:
    """A sampler batch: one row per identity, K RGB then K IR images."""
    P = len(labels) // K
    fig, axes = plt.subplots(P, 2 * K, figsize=(0.9 * 2 * K, 1.7 * P), squeeze=False)
    for p in range(P):
        for k in range(K):
            for j, x in ((k, x_rgb), (K + k, x_ir)):
                ax = axes[p, j]
                ax.imshow(reid_to_unit(x[p * K + k]).permute(1, 2, 0).cpu().numpy())
                ax.set_xticks([])
                ax.set_yticks([])
        axes[p, 0].set_ylabel(f"label {int(labels[p * K])}", fontsize=9)
    axes[0, 0].set_title("RGB", fontsize=9, loc="left")
    axes[0, K].set_title("IR", fontsize=9, loc="left")
    fig.tight_layout()
    return fig


def gap_histograms(emb: np.ndarray, pids: Sequence[int], modalities: Sequence[str], *, axes=None,
                   label: str = "") -> plt.Figure:
    """Histograms of same- vs different-identity distances per pair type
    (RGB-RGB, IR-IR, IR-RGB). ``axes``: three axes to draw into (e.g. one row
    of a larger figure; default: a new 1x3 figure); ``label`` prefixes the
    panel titles (e.g. the IR sensor)."""
    d, masks = _pair_masks(emb, pids, modalities)
    if axes is None:
        fig, axes = plt.subplots(1, 3, figsize=(10, 3), layout="constrained")
    else:
        fig = axes[0].figure
    for ax, (name, block, same) in zip(axes, masks):
        bins = np.linspace(d[block].min(), d[block].max(), 40)
        ax.hist(d[block & ~same], bins=bins, density=True, alpha=0.6, label="different id")
        ax.hist(d[block & same], bins=bins, density=True, alpha=0.6, label="same id")
        ax.set_title(f"{label}: {name}" if label else name, fontsize=10)
        ax.set_xlabel("distance (fixed embedding)")
        ax.set_ylabel("density (pairs)")
    axes[0].legend(fontsize=8)
    return fig


def sensor_grid(config, pids: Sequence[int], index: int = 1, cam: int = 6) -> plt.Figure:
    """The same person in the same pose through the three sensors of the
    stand-ins (:func:`~tsgan_lib.data.synthetic.render_sensors`): one column
    per person, one row per sensor: RGB, near-infrared (SYSU-MM01's IR
    cameras), thermal (RegDB's). ``config``: the SYSU-MM01 stand-in's
    :class:`~tsgan_lib.data.synthetic.SyntheticConfig` (or ``None``)."""
    from .synthetic import render_sensors

    names = (("rgb", "RGB"), ("nir", "near-infrared"), ("thermal", "thermal"))
    fig, axes = plt.subplots(len(names), len(pids), figsize=(1.25 * len(pids) + 0.5, 2.2 * len(names)),
                             squeeze=False, layout="constrained")
    for j, pid in enumerate(pids):
        images = render_sensors(config, pid, index, cam=cam)
        for i, (key, name) in enumerate(names):
            ax = axes[i, j]
            ax.imshow(images[key])
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(f"id {pid}", fontsize=9)
            if j == 0:
                ax.set_ylabel(name, fontsize=10)
    return fig


def luminance_correlation(config, pids: Sequence[int], index: int = 1, cam: int = 6) -> pd.DataFrame:
    """How much of a person's visible brightness pattern each IR sensor keeps:
    per person, the Pearson correlation, over the pixels that show the person,
    between the RGB image's luminance and the NIR (resp. thermal) image of the
    same scene (:func:`~tsgan_lib.data.synthetic.render_sensors`). One row per
    person: ``pid``, ``nir``, ``thermal``."""
    from .synthetic import region_masks, render_sensors

    lum = np.array([0.2126, 0.7152, 0.0722])
    rows = []
    for pid in pids:
        images = render_sensors(config, pid, index, cam=cam)
        person = region_masks(config, pid, cam, index)["person"] > 0.5
        y = (images["rgb"].astype(np.float64) @ lum)[person]
        rows.append({"pid": pid, **{s: float(np.corrcoef(y, images[s][..., 0][person].astype(np.float64))[0, 1])
                                    for s in ("nir", "thermal")}})
    return pd.DataFrame(rows)


def record_grid(rows: Sequence[Sequence[Record]], row_labels: Sequence[str], col_labels: Sequence[str],
                title: str | None = None) -> plt.Figure:
    """Images of records in a grid (``rows[i][j]`` in row i, column j), with
    labelled rows and columns: e.g. RegDB's visible and thermal images of a few people."""
    n_rows, n_cols = len(rows), max(len(r) for r in rows)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(1.1 * n_cols + 0.6, 2.1 * n_rows), squeeze=False,
                             layout="constrained")
    for i, recs in enumerate(rows):
        for j in range(n_cols):
            ax = axes[i, j]
            ax.set_xticks([])
            ax.set_yticks([])
            if j < len(recs):
                ax.imshow(read_image(recs[j].path))
            else:
                ax.set_axis_off()
            if i == 0 and j < len(col_labels):
                ax.set_title(col_labels[j], fontsize=9)
        axes[i, 0].set_ylabel(row_labels[i], fontsize=9)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig
