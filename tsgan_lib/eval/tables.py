"""The paper's result tables, transcribed once, and ours printed beside them.

Scope: Tables I, II and III of the TS-GAN paper as constants (percent, as
printed), and :func:`compare_with_paper`, which lays our numbers beside the
paper's rows in the paper's layout (R1, R10, R20, mAP per setting; ours with
one decimal) and optionally writes Markdown and CSV.

Where the paper disagrees with itself, the table wins: Section IV.D says the
single-TS variant "gets 44.5 R1", Table II prints 44.2; we keep 44.2.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

#: Table I column groups: (mode, shots) in the paper's order, and metrics.
TABLE_I_SETTINGS = (("all", 1), ("all", 10), ("indoor", 1), ("indoor", 10))
TABLE_I_METRICS = ("R1", "R10", "R20", "mAP")
_SETTING_NAMES = {("all", 1): "All/Single", ("all", 10): "All/Multi",
                  ("indoor", 1): "Indoor/Single", ("indoor", 10): "Indoor/Multi"}

#: Table I (SYSU-MM01): per method, 16 numbers = 4 settings x (R1, R10, R20, mAP).
TABLE_I = {
    "HOG": (2.76, 18.3, 32.0, 4.24, 3.82, 22.8, 37.7, 2.16, 3.22, 24.7, 44.6, 7.25, 4.75, 29.1, 49.4, 3.51),
    "LOMO": (3.64, 23.2, 37.3, 4.53, 4.70, 28.3, 43.1, 2.28, 5.75, 34.4, 54.9, 10.2, 7.36, 40.4, 60.4, 5.64),
    "Two-Stream[13]": (11.7, 48.0, 65.5, 12.9, 16.4, 58.4, 74.5, 8.03, 15.6, 61.2, 81.1, 21.5,
                       22.5, 72.3, 88.7, 14.0),
    "One-Stream[13]": (12.1, 49.7, 66.8, 13.7, 16.3, 58.2, 75.1, 8.59, 17.0, 63.6, 82.1, 23.0,
                       22.7, 71.8, 87.9, 15.1),
    "Zero-Padding[13]": (14.8, 52.2, 71.4, 16.0, 19.2, 61.4, 78.5, 10.9, 20.6, 68.4, 85.8, 27.0,
                         24.5, 75.9, 91.4, 18.7),
    "cmGAN[15]": (27.0, 67.5, 80.6, 27.8, 31.5, 72.7, 85.0, 22.3, 31.7, 77.2, 89.2, 42.2, 37.0, 80.9, 92.3, 32.8),
    "Dist.based[35]": (29.05, 74.71, 87.16, 30.94, 35.40, 81.02, 91.85, 24.12, 32.74, 82.40, 93.35, 44.26,
                       40.41, 86.83, 96.27, 33.93),
    "alignGAN[16]": (42.4, 85.0, 93.7, 40.7, 51.5, 89.4, 95.7, 33.9, 45.9, 87.6, 94.4, 54.3, 57.1, 92.7, 97.4, 45.3),
    "TS-GAN (w/o rerank)": (49.8, 87.3, 93.8, 47.4, 56.1, 90.2, 96.3, 38.5, 50.4, 90.8, 96.8, 63.1,
                            59.3, 91.2, 97.8, 50.2),
    "TS-GAN (w/ rerank)": (58.3, 87.8, 94.1, 55.1, 55.9, 91.2, 96.6, 39.7, 62.1, 90.8, 96.4, 71.3,
                           59.7, 91.8, 97.9, 50.9),
}

#: Table II (ablation, all-search single-shot): R1, R10, R20, mAP.
TABLE_II_METRICS = ("R1", "R10", "R20", "mAP")
TABLE_II = {
    "Backbone": (41.4, 77.0, 85.0, 39.9),
    "TS-GAN_OD^singleTS": (44.2, 80.3, 88.2, 44.1),
    "TS-GAN_OD^allTS": (47.6, 82.6, 89.9, 44.5),
    "TS-GAN_JD^allTS": (49.8, 87.3, 93.8, 47.4),
    "TS-GAN_JD^allTS + rerank": (58.3, 87.8, 94.1, 55.1),
}

#: Table III (teacher baseline on one modality): train set, test set, R1, R10, mAP.
TABLE_III_METRICS = ("R1", "R10", "mAP")
TABLE_III = {
    "Baseline (IR)": ("SYSU-IR", "SYSU-IR", 98.0, 98.7, 97.4),
    "Baseline (RGB)": ("SYSU-RGB", "SYSU-RGB", 99.1, 99.4, 98.5),
}


def _table_i_columns() -> list[str]:
    return [f"{_SETTING_NAMES[s]} {m}" for s in TABLE_I_SETTINGS for m in TABLE_I_METRICS]


def paper_table(which: str) -> pd.DataFrame:
    """The paper's Table ``"I"``, ``"II"`` or ``"III"`` as a numeric DataFrame
    indexed by method (Table I columns: ``"All/Single R1"``, ...)."""
    if which == "I":
        return pd.DataFrame.from_dict(TABLE_I, orient="index", columns=_table_i_columns())
    if which == "II":
        return pd.DataFrame.from_dict(TABLE_II, orient="index", columns=list(TABLE_II_METRICS))
    if which == "III":
        return pd.DataFrame.from_dict(TABLE_III, orient="index", columns=["Trainset", "Testset", *TABLE_III_METRICS])
    raise ValueError(f"which must be 'I', 'II' or 'III', got {which!r}")


def setting_means(results: pd.DataFrame, mode: str = "all", shots: int = 1, rerank: bool = False) -> dict:
    """Mean over trials of one setting of the driver's DataFrame (percent)."""
    sel = results[(results["mode"] == mode) & (results["shots"] == shots) & (results["rerank"] == rerank)]
    if sel.empty:
        raise ValueError(f"results hold no row for mode={mode!r}, shots={shots}, rerank={rerank}")
    return {m: float(sel[m].mean()) for m in ("R1", "R10", "R20", "mAP", "mINP") if m in sel}


def ours_table_i(results: pd.DataFrame, label: str = "Ours") -> pd.DataFrame:
    """Our Table I rows (w/o and w/ re-ranking) from the driver's DataFrame:
    means over trials, NaN where a setting was not run."""
    rows = {}
    for rr, name in ((False, f"{label} (w/o rerank)"), (True, f"{label} (w/ rerank)")):
        if not (results["rerank"] == rr).any():
            continue
        vals = []
        for mode, shots in TABLE_I_SETTINGS:
            try:
                means = setting_means(results, mode, shots, rr)
            except ValueError:
                means = {}
            vals.extend(means.get(m, math.nan) for m in TABLE_I_METRICS)
        rows[name] = vals
    return pd.DataFrame.from_dict(rows, orient="index", columns=_table_i_columns())


def _ours_frame(which: str, ours, label: str) -> pd.DataFrame:
    paper = paper_table(which)
    if which == "I" and isinstance(ours, pd.DataFrame) and "mode" in ours.columns:
        return ours_table_i(ours, label)
    if isinstance(ours, pd.DataFrame):
        frame = ours
    elif isinstance(ours, Mapping):
        frame = pd.DataFrame.from_dict({k: dict(v) for k, v in ours.items()}, orient="index")
    else:
        raise TypeError(f"ours must be the driver's DataFrame or a mapping row label -> metrics, got {type(ours)}")
    return frame.reindex(columns=paper.columns)


def _fmt(v, ours: bool) -> str:
    if isinstance(v, str):
        return v
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if ours:
        return f"{v:.1f}"
    return f"{v:.1f}" if round(v, 1) == v else f"{v:.2f}"  # as transcribed


def markdown_table(rows: Sequence[Sequence], header: Sequence[str]) -> str:
    """A Markdown table: the first column left-aligned (labels), the others right (numbers)."""
    lines = ["| " + " | ".join(map(str, header)) + " |", "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|"]
    lines += ["| " + " | ".join(map(str, r)) + " |" for r in rows]
    return "\n".join(lines)


def to_markdown(table: pd.DataFrame) -> str:
    """Markdown of :func:`compare_with_paper`'s table; our rows one decimal,
    the paper's as printed in the paper."""
    rows = [[f"**{name}**" if source == "ours" else name] + [_fmt(v, source == "ours") for v in row]
            for (source, name), row in table.iterrows()]
    return markdown_table(rows, ["Method", *map(str, table.columns)])


def compare_with_paper(ours, which: str = "I", *, label: str = "Ours", out: str | os.PathLike | None = None,
                       show: bool = True) -> pd.DataFrame:
    """Our results beside the paper's Table ``which`` (percent).

    ``ours``: for Table I the driver's DataFrame (per-trial rows; means are
    taken) or a mapping row label -> {"All/Single R1": ..., ...}; for Tables
    II and III a mapping row label -> {"R1": ..., "R10": ..., ...} (see
    :func:`setting_means`). ``show``: print the Markdown. ``out``: a path
    stem; writes ``<out>.md`` and ``<out>.csv``.

    Returns the combined numeric table, indexed by (source, method) with
    source "paper" or "ours".
    """
    paper = paper_table(which)
    mine = _ours_frame(which, ours, label)
    table = pd.concat({"paper": paper, "ours": mine}, names=["source", "method"])
    md = to_markdown(table)
    if show:
        print(f"Table {which}: the paper's rows and ours (percent)\n{md}")
    if out is not None:
        stem = Path(out)
        stem.parent.mkdir(parents=True, exist_ok=True)
        stem.with_name(stem.name + ".md").write_text(md + "\n")
        table.to_csv(stem.with_name(stem.name + ".csv"))
    return table
