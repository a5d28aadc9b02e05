"""Reading a run's metrics log and drawing its loss curves."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

# Panels of the loss-curve figure: (title, term-name prefixes)
PANELS = (
    ("Backbone: L_ReID (Eq. 8) and L_TS (Eq. 16), weighted", ("reid_", "ts_")),
    ("Generators: L_G (Eq. 7), weighted", ("g_",)),
    ("Discriminators: L_D (Eq. 2-5)", ("d_",)),
)


def read_metrics(path: str | os.PathLike, kind: str = "step") -> pd.DataFrame:
    """The ``kind`` ("step" or "epoch") lines of a ``metrics.jsonl`` as a DataFrame
    (a run folder is accepted too)."""
    path = Path(path)
    if path.is_dir():
        path = path / "metrics.jsonl"
    if not path.is_file():
        raise FileNotFoundError(f"no metrics log at {path}")
    from tsgan_lib.train.loop import log_records

    return pd.DataFrame([r for r in log_records(path) if r.get("kind") == kind])


def plot_loss_curves(metrics: str | os.PathLike | pd.DataFrame, title: str | None = None):
    """One panel per phase of Algorithm 1 (log scale: the TS terms are orders
    of magnitude below the ID loss) plus the learning rate, against the global step."""
    import matplotlib.pyplot as plt

    df = metrics if isinstance(metrics, pd.DataFrame) else read_metrics(metrics)
    if df.empty:
        raise ValueError("the metrics log has no step lines")
    panels = [(t, [c for c in df.columns if c.startswith(prefixes)]) for t, prefixes in PANELS]
    panels = [(t, cols) for t, cols in panels if cols]
    fig, axes = plt.subplots(1, len(panels) + 1, figsize=(4.2 * (len(panels) + 1), 3.4))
    for ax, (name, cols) in zip(axes, panels):
        for c in cols:
            vals = df[c].where(df[c] > 0)
            ax.plot(df["global_step"], vals, label=c, lw=1.2)
        ax.set_yscale("log")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("step")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    ax = axes[-1]
    ax.plot(df["global_step"], df["lr"], color="k", lw=1.2)
    ax.set_title("O_B learning rate", fontsize=9)
    ax.set_xlabel("step")
    ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
