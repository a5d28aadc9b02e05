"""Looking at the data: one identity across the cameras, a sampler batch, the stand-ins' three sensors, a grid of records.

- :func:`identity_grid` -- one person across SYSU-MM01's six cameras;
- :func:`batch_grid` -- a training batch of the cross-modality sampler: one row
  per identity, K RGB then K IR images;
- :func:`sensor_grid` -- the same person and pose through the stand-ins' RGB,
  near-infrared and thermal sensors;
- :func:`record_grid` -- any records' images in a labelled grid (RegDB's visible
  and thermal images of a few people).

Notebook 00's figures; each returns a matplotlib Figure and writes nothing. The
modality gap they show is measured by :mod:`tsgan_lib.eval.gap`.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import torch

from tsgan_lib.data.datasets import read_image
from tsgan_lib.data.records import Record
from tsgan_lib.data.synthetic import render_sensors
from tsgan_lib.data.sysu import IR_CAMERAS
from tsgan_lib.models.convert import reid_to_unit


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


def sensor_grid(config, pids: Sequence[int], index: int = 1, cam: int = 6) -> plt.Figure:
    """The same person in the same pose through the three sensors of the
    stand-ins (:func:`~tsgan_lib.data.synthetic.render_sensors`): one column
    per person, one row per sensor: RGB, near-infrared (SYSU-MM01's IR
    cameras), thermal (RegDB's). ``config``: the SYSU-MM01 stand-in's
    :class:`~tsgan_lib.data.synthetic.SyntheticConfig` (or ``None``)."""
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
