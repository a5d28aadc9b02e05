"""Images and feature maps side by side: the paper's Fig. 5 and the teacher's and student's maps (notebooks 02-03).

- :func:`translation_figure` -- the paper's Fig. 5 layout: real RGB, fake IR,
  reconstructed RGB, real IR, fake RGB, one row per person;
- :func:`feature_map_figure` -- images and feature maps (each as its mean over
  channels, :func:`channel_mean`) in one grid, one colour scale and colour bar
  per row.

Both return a matplotlib Figure and write nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch

FONT = 9  # tick labels and legends; titles one point larger


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
