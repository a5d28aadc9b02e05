"""Training curves: the one plotter, a run's metrics log read and drawn, and its loss terms summarised.

The metrics log (``metrics.jsonl``, written by :class:`tsgan_lib.train.loop.FitLoop`'s hooks)
holds the *weighted* loss terms of Algorithm 1, averaged over each logging
interval. Their names say which phase made them:

=========  ==========================================  ============
prefix     phase of Algorithm 1                         optimiser
=========  ==========================================  ============
``g_``     generators, L_G (Eq. 1, 6, 7)                O_G
``reid_``  backbone, L_ReID (Eq. 8-12)                  O_B
``ts_``    backbone, L_TS (Eq. 13-16)                   O_B
``d_``     discriminators, L_D (Eq. 2-5)                O_D
=========  ==========================================  ============

- :func:`training_curves` -- the plotter: any history (one row per step or
  logging interval), one panel per :class:`Panel`; the notebooks draw their
  short runs with it (the teacher's pretraining, the CycleGAN).
- :func:`read_metrics` -- the log's step or epoch lines as a DataFrame.
- :func:`plot_loss_curves` -- a run's log through :func:`training_curves`: one
  panel per group above (a 2 x 2 grid for the full model), log scale where a
  panel's terms span decades, O_B's learning rate as a thin line on a
  secondary axis of the L_ReID panel.
- :func:`loss_summary` -- each term at the start and at the end of training
  (means over the first and last logging intervals), for sentences that state
  what the curves show.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from tsgan_lib.files import RunFolder

#: Panels of the loss-curve figure: (key, title, term-name prefix, optimiser).
PANELS = (
    ("G", "Generators: L_G (Eq. 7) = adversarial (Eq. 1) + ω·L_cyc (Eq. 6)", "g_", "O_G"),
    ("ReID", "Backbone: L_ReID (Eq. 8) = λ1·ID + λ2·triplet + λ3·GAN (Eq. 12)", "reid_", "O_B"),
    ("TS", "Backbone: L_TS (Eq. 16) = α_c·CD (Eq. 15) + α_s·(real + fake IR)", "ts_", "O_B"),
    ("D", "Discriminators: L_D (Eq. 2-5), D_I and D_R", "d_", "O_D"),
)
#: A panel switches to a log scale when its terms span more than this factor.
LOG_SPAN = 20.0


def read_metrics(path: str | os.PathLike, kind: str = "step") -> pd.DataFrame:
    """The ``kind`` ("step" or "epoch") lines of a ``metrics.jsonl`` as a DataFrame
    (a run folder is accepted too)."""
    path = Path(path)
    if path.is_dir():
        path = RunFolder(path).metrics
    if not path.is_file():
        raise FileNotFoundError(f"no metrics log at {path}")
    from tsgan_lib.train.hooks import log_records

    return pd.DataFrame([r for r in log_records(path) if r.get("kind") == kind])


def loss_terms(df: pd.DataFrame) -> dict[str, list[str]]:
    """``{panel key: [term columns]}`` for the panels of :data:`PANELS` present in ``df``."""
    out = {}
    for key, _, prefix, _ in PANELS:
        cols = [c for c in df.columns if c.startswith(prefix) and pd.api.types.is_numeric_dtype(df[c])]
        if cols:
            out[key] = cols
    return out


def _as_frame(metrics: str | os.PathLike | pd.DataFrame) -> pd.DataFrame:
    df = metrics if isinstance(metrics, pd.DataFrame) else read_metrics(metrics)
    if df.empty:
        raise ValueError("the metrics log has no step lines")
    return df


def loss_summary(metrics: str | os.PathLike | pd.DataFrame, window: int = 3) -> pd.DataFrame:
    """One row per loss term: its ``panel``, ``optimiser``, the mean over the
    first and over the last ``window`` logging intervals (``start``, ``end``),
    ``end / start`` (``ratio``), and its ``min`` and ``max``. Weighted values,
    as logged."""
    df = _as_frame(metrics)
    optimiser = {key: opt for key, _, _, opt in PANELS}
    rows = []
    for key, cols in loss_terms(df).items():
        for c in cols:
            v = df[c].astype(float)
            start, end = float(v.iloc[:window].mean()), float(v.iloc[-window:].mean())
            rows.append({"term": c, "panel": key, "optimiser": optimiser[key], "start": start, "end": end,
                         "ratio": end / start if start else float("nan"), "min": float(v.min()),
                         "max": float(v.max())})
    return pd.DataFrame(rows).set_index("term")


class Panel(NamedTuple):
    """One panel of :func:`training_curves`: its title, the history columns it draws, the y-axis
    label, a log y-axis (``True``, ``False``, or ``None``: when its values span more than
    :data:`LOG_SPAN`), and optional y limits."""

    title: str
    columns: Sequence[str]
    ylabel: str
    log: bool | None = False
    ylim: tuple[float, float] | None = None


def training_curves(history: pd.DataFrame | Sequence[Mapping], panels: Sequence[Panel], *, x: str = "step",
                    smooth: int = 5, xlabel: str = "training step", title: str | None = None, ncols: int | None = None,
                    panel_width: float = 3.7, panel_height: float = 3.1, legend: bool | None = None,
                    lr_panel: int | None = None):
    """Curves of a training history (one row per step or logging interval), one panel per
    :class:`Panel` (``ncols`` per row; default: one row), each column smoothed by a trailing running
    mean over ``smooth`` rows (``1``: raw); columns absent from the history are skipped. ``legend``:
    always, never, or (``None``) where a panel draws several columns. ``lr_panel``: the index of the
    panel that gets the history's ``lr`` as a thin dotted line on a secondary axis. Returns the Figure."""
    import matplotlib.pyplot as plt

    df = history if isinstance(history, pd.DataFrame) else pd.DataFrame(list(history))
    xs = df[x] if x in df else pd.Series(np.arange(len(df)))
    ncols = ncols or len(panels)
    nrows = math.ceil(len(panels) / ncols)
    fig, axes = plt.subplots(nrows, ncols, squeeze=False, layout="constrained",
                             figsize=(min(max(panel_width * ncols, 6.5), 11.5), panel_height * nrows + 0.3))
    for i, (ax, panel) in enumerate(zip(axes.flat, panels)):
        columns = [c for c in panel.columns if c in df]
        values = df[columns].astype(float)
        positive = values.where(values > 0).stack()
        log = panel.log if panel.log is not None else (len(positive) > 0 and positive.max() / positive.min() > LOG_SPAN)
        for col in columns:
            ax.plot(xs, (values[col].where(values[col] > 0) if log else values[col]).rolling(smooth, min_periods=1)
                    .mean(), label=col, lw=1.4)
        notes = [f"{smooth}-step mean"] * (smooth > 1) + ["log scale"] * bool(log)
        ax.set_ylabel(panel.ylabel + (f" ({', '.join(notes)})" if notes else ""), fontsize=9)
        ax.set_xlabel(xlabel, fontsize=9)
        ax.set_title(panel.title, fontsize=9)
        if log:
            ax.set_yscale("log")
        if panel.ylim is not None:
            ax.set_ylim(*panel.ylim)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3, which="both" if log else "major")
        if legend or (legend is None and len(columns) > 1):
            ax.legend(fontsize=7.5, loc="best", framealpha=0.8, ncol=2 if len(columns) > 3 else 1)
        if i == lr_panel and "lr" in df and df["lr"].notna().any():
            _lr_axis(ax, xs, df["lr"].astype(float))
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def _lr_axis(ax, xs: pd.Series, lr: pd.Series) -> None:
    """The learning rate as a thin dotted step line on a secondary axis, scaled to a power of ten."""
    top = float(np.nanmax(lr))
    exp = math.floor(math.log10(top)) if top > 0 else 0
    ax2 = ax.twinx()
    ax2.plot(xs, lr / 10.0 ** exp, color="0.45", lw=0.9, ls=":", drawstyle="steps-post")
    ax2.set_ylabel(f"O_B learning rate, ×1e{exp} (dotted)", fontsize=8, color="0.35")
    ax2.tick_params(labelsize=7, colors="0.35")
    ax2.set_ylim(0, top / 10.0 ** exp * 1.15 if top > 0 else 1)


def plot_loss_curves(metrics: str | os.PathLike | pd.DataFrame, title: str | None = None, *, lr: bool = True):
    """A run's loss terms against the global step (:func:`training_curves`), one panel per group
    of :data:`PANELS` that the run logged (2 x 2 for the full model; a single panel for the
    backbone variant). y: the weighted loss (log scale where a panel's terms span more than
    :data:`LOG_SPAN`). ``lr``: O_B's learning rate as a thin dotted line on a secondary axis of
    the L_ReID panel. Returns the Figure (about 10 x 6.5 inches for four panels)."""
    df = _as_frame(metrics)
    groups = loss_terms(df)
    if not groups:
        raise ValueError(f"the metrics log has no loss terms (columns: {list(df.columns)})")
    titles = {key: t for key, t, _, _ in PANELS}
    panels = [Panel(titles[key], cols, "weighted loss", log=None) for key, cols in groups.items()]
    reid = list(groups).index("ReID") if lr and "ReID" in groups else None
    return training_curves(df, panels, x="global_step", smooth=1, title=title, ncols=1 if len(panels) == 1 else 2,
                           panel_width=5.0, legend=True, lr_panel=reid)
