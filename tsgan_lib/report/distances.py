"""Distances of learnt (or fixed) features, drawn: the modality gap's histograms and query x gallery heatmaps.

- :func:`plot_gap_histograms` -- same- vs different-identity distances per
  pair type (RGB-RGB, IR-IR, IR-RGB: :data:`tsgan_lib.eval.gap.PAIR_TYPES`),
  one row per embedding, each panel titled with its separation
  (:func:`tsgan_lib.eval.gap.separation`); notebook 00 (a fixed embedding of
  each dataset) and notebook 05 (a backbone before and after training);
- :func:`plot_distance_heatmaps` -- query x gallery distances sorted by
  identity, one panel per backbone, each with its colour bar.

Both return a matplotlib Figure and write nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from tsgan_lib.eval.gap import PAIR_TYPES, pair_distances, separation


def plot_gap_histograms(embeddings: Mapping[str, np.ndarray], pids: Sequence[int], modalities: Sequence[str], *,
                        bins: int = 40, axes=None, xlabel: str = "distance",
                        panel_size: tuple[float, float] = (3.7, 2.6)):
    """Histograms of same- vs different-identity distances within RGB, within
    IR and across modalities (columns), one row per embedding (e.g.
    ``{"untrained": ..., "trained": ...}``), of the same images (``pids``,
    ``modalities``). Each panel has its own bins (a trained network's distances
    may live on another scale) and its title gives its separation, as
    :func:`tsgan_lib.eval.gap.modality_gap_stats`. y: density. ``axes``: rows of
    three axes to draw into (one per embedding; e.g. a row of a larger figure);
    default: a new figure. Returns the Figure."""
    import matplotlib.pyplot as plt

    rows = {name: pair_distances(emb, pids, modalities) for name, emb in embeddings.items()}
    new = axes is None
    if new:
        fig, axes = plt.subplots(len(rows), len(PAIR_TYPES), squeeze=False,
                                 figsize=(panel_size[0] * len(PAIR_TYPES), panel_size[1] * len(rows) + 0.2))
    fig = axes[0][0].figure
    for r, (name, (d, masks)) in enumerate(rows.items()):
        for c, (pair, block, same) in enumerate(masks):
            ax = axes[r][c]
            ds, dd = d[block & same], d[block & ~same]
            edges = np.linspace(float(d[block].min()), float(d[block].max()), bins + 1)
            ax.hist(dd, bins=edges, density=True, alpha=0.55, color="#d62728", label="different id")
            ax.hist(ds, bins=edges, density=True, alpha=0.55, color="#2ca02c", label="same id")
            ax.set_title(f"{name}: {pair} (separation {separation(ds, dd):.2f})", fontsize=9)
            ax.set_xlabel(xlabel, fontsize=8.5)
            ax.set_ylabel("density", fontsize=8.5)
            ax.tick_params(labelsize=7.5)
    axes[0][0].legend(fontsize=7.5)
    if new:
        fig.tight_layout()
    return fig


def plot_distance_heatmaps(distances: Mapping[str, np.ndarray], q_pids: Sequence[int], g_pids: Sequence[int], *,
                           shared_scale: bool = False, panel_size: tuple[float, float] = (4.6, 4.0),
                           cmap: str = "viridis"):
    """Query x gallery distance matrices, rows and columns sorted by identity
    (a person's own block lies on the diagonal), one panel per entry of
    ``distances``, each with its colour bar (``shared_scale``: one scale and
    one colour bar for all, when the distances are comparable). Returns the Figure."""
    import matplotlib.pyplot as plt

    qo = np.argsort(np.asarray(q_pids), kind="stable")
    go = np.argsort(np.asarray(g_pids), kind="stable")
    mats = {k: np.asarray(v, dtype=float)[np.ix_(qo, go)] for k, v in distances.items()}
    lo = min(float(m.min()) for m in mats.values())
    hi = max(float(m.max()) for m in mats.values())
    fig, axes = plt.subplots(1, len(mats), squeeze=False,
                             figsize=(panel_size[0] * len(mats) + (0.8 if shared_scale else 0.9 * len(mats)),
                                      panel_size[1]))
    im = None
    for ax, (name, m) in zip(axes[0], mats.items()):
        vmin, vmax = (lo, hi) if shared_scale else (float(m.min()), float(m.max()))
        im = ax.imshow(m, aspect="auto", cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("gallery images (RGB), sorted by identity", fontsize=8.5)
        ax.set_ylabel("queries (IR), sorted by identity", fontsize=8.5)
        ax.tick_params(labelsize=7.5)
        if not shared_scale:
            bar = fig.colorbar(im, ax=ax, fraction=0.05, pad=0.03)
            bar.set_label("distance", fontsize=8.5)
            bar.ax.tick_params(labelsize=7.5)
    if shared_scale:
        bar = fig.colorbar(im, ax=list(axes[0]), fraction=0.03, pad=0.02)
        bar.set_label("distance", fontsize=8.5)
    else:
        fig.tight_layout()
    return fig
