"""Figures of the teaching notebooks 01-03: training curves, the paper's Fig. 5
(RGB <-> IR translations) and teacher / student feature maps side by side.

Scope: plot helpers only. Each takes plain DataFrames or tensors and returns a
matplotlib Figure (constrained layout, so titles, labels and colorbars do not
overlap; labelled axes; a colorbar wherever colour carries a value) and
writes nothing to disk. Sizes suit a notebook's width (about 10 inches).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch

FONT = 9  # tick labels and legends; titles one point larger


class Panel(NamedTuple):
    """One panel of :func:`training_curves`: its title, the history columns it
    draws, the y-axis label, a log y-axis or not, and optional y limits."""

    title: str
    columns: Sequence[str]
    ylabel: str
    log: bool = False
    ylim: tuple[float, float] | None = None


def training_curves(history: pd.DataFrame | Sequence[Mapping], panels: Sequence[Panel], *, x: str = "step",
                    smooth: int = 5, xlabel: str = "training step", title: str | None = None):
    """Curves of a training history (one row per step), one panel per
    :class:`Panel`, each column smoothed by a trailing running mean over
    ``smooth`` steps (``1``: raw). Columns absent from the history are skipped."""
    import matplotlib.pyplot as plt

    df = history if isinstance(history, pd.DataFrame) else pd.DataFrame(list(history))
    xs = df[x] if x in df else pd.Series(np.arange(len(df)))
    fig, axes = plt.subplots(1, len(panels), figsize=(min(max(3.7 * len(panels), 6.5), 11.5), 3.3), squeeze=False,
                             layout="constrained")
    for ax, panel in zip(axes[0], panels):
        for col in panel.columns:
            if col not in df:
                continue
            values = df[col].astype(float)
            if panel.log:
                values = values.where(values > 0)
            ax.plot(xs, values.rolling(smooth, min_periods=1).mean(), label=col, lw=1.3)
        ax.set_title(panel.title, fontsize=FONT + 1)
        ax.set_xlabel(xlabel, fontsize=FONT)
        ax.set_ylabel(panel.ylabel + (f" ({smooth}-step mean)" if smooth > 1 else ""), fontsize=FONT)
        if panel.log:
            ax.set_yscale("log")
        if panel.ylim is not None:
            ax.set_ylim(*panel.ylim)
        ax.tick_params(labelsize=FONT)
        ax.grid(alpha=0.3)
        if len(panel.columns) > 1:
            ax.legend(fontsize=FONT - 1)
    if title:
        fig.suptitle(title, fontsize=FONT + 2)
    return fig


def _as_image(x: torch.Tensor) -> np.ndarray:
    return x.detach().float().clamp(0, 1).permute(1, 2, 0).cpu().numpy()


def translation_figure(images: Mapping[str, torch.Tensor], row_labels: Sequence[str], *,
                       notes: Mapping[str, Sequence[str]] | None = None, title: str | None = None):
    """The paper's Fig. 5 layout: one row per person, one column per entry of
    ``images`` (name -> (N, 3, H, W) images in [0, 1], e.g. real RGB, fake IR,
    reconstructed RGB, real IR, fake RGB). ``notes``: per column name, one
    short text per row printed under the image (e.g. its reconstruction error)."""
    import matplotlib.pyplot as plt

    names = list(images)
    n = len(row_labels)
    fig, axes = plt.subplots(n, len(names), figsize=(1.45 * len(names) + 0.5, 2.55 * n), squeeze=False,
                             layout="constrained")
    for i, label in enumerate(row_labels):
        for j, name in enumerate(names):
            ax = axes[i, j]
            ax.imshow(_as_image(images[name][i]))
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(name, fontsize=FONT + 1)
            if notes and name in notes:
                ax.set_xlabel(notes[name][i], fontsize=FONT)
        axes[i, 0].set_ylabel(label, fontsize=FONT + 1)
    if title:
        fig.suptitle(title, fontsize=FONT + 2)
    return fig


def channel_mean(fmap: torch.Tensor) -> np.ndarray:
    """A (C, h, w) feature map as one (h, w) heatmap: the mean over channels."""
    return fmap.detach().float().mean(0).cpu().numpy()


def feature_map_figure(columns: Sequence[tuple[str, torch.Tensor, str]], rows: Sequence[int], *,
                       title: str | None = None, cmap: str = "magma"):
    """Images and feature maps side by side, one row per batch index in ``rows``.

    ``columns``: ``(name, tensor, kind)`` with ``kind`` ``"image"`` (an (N, 3,
    H, W) batch in [0, 1]) or ``"map"`` (an (N, C, h, w) batch of feature maps,
    drawn as the channel mean, :func:`channel_mean`). All maps of a row share
    one colour scale, from 0 to the row's largest value, and the row's colorbar
    (on the right) says what the colours mean."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(rows), len(columns), figsize=(1.1 * len(columns) + 1.2, 2.35 * len(rows)),
                             squeeze=False, layout="constrained")
    for r, i in enumerate(rows):
        heats = {name: channel_mean(t[i]) for name, t, kind in columns if kind == "map"}
        vmax = max(float(h.max()) for h in heats.values()) if heats else 1.0
        mappable = None
        for c, (name, tensor, kind) in enumerate(columns):
            ax = axes[r, c]
            if kind == "image":
                ax.imshow(_as_image(tensor[i]))
            elif kind == "map":
                mappable = ax.imshow(heats[name], cmap=cmap, vmin=0, vmax=vmax, interpolation="nearest")
            else:
                raise ValueError(f"column {name!r}: kind must be 'image' or 'map', got {kind!r}")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(name, fontsize=FONT)
        if mappable is not None:
            bar = fig.colorbar(mappable, ax=axes[r, :], shrink=0.85, pad=0.01)
            bar.set_label("mean activation\nover channels", fontsize=FONT - 1)
            bar.ax.tick_params(labelsize=FONT - 1)
    if title:
        fig.suptitle(title, fontsize=FONT + 1)
    return fig
