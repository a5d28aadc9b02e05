"""TS-GAN beside the field's baselines under one protocol: the comparison table on a stand-in.

Rows (:data:`COMPARISON_ROWS`): the backbone, AGW and CAJ (the field's
standard baselines; :mod:`tsgan_lib.models.agw`, :mod:`tsgan_lib.losses.wrt`,
:mod:`tsgan_lib.data.channel_aug`) and Table II's three TS-GAN rows, each
trained with the same seeds by :func:`~tsgan_lib.report.ablation.run_row` on
one dataset layout (``data.dataset``: the SYSU-MM01, RegDB or LLCM stand-in)
with the family's input size, sampler, optimiser and schedule
(``params/synthetic.yaml``), so that the rows differ only in the method. Each
dataset's protocol gives the columns (:data:`DIRECTIONS`): SYSU-MM01
all-search single-shot, RegDB's two directions of one trial (the protocol
trains a model per trial: trial ``data.trial`` stands for them), LLCM's two
directions. Every row is compared with the same-seed backbone: the paired
difference's mean and its 95 % t-interval.

:data:`PUBLISHED` holds each method's own numbers on the *real* datasets,
with their sources, so a student sees where a 2020 method stands; they are
not comparable with the stand-in's and the table says so.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from tsgan_lib.files import RunFolder, read_json, write_json, write_text_atomic

from .ablation import CONFIDENCE, paired_deltas, run_row
from .vocab import VARIANT_NAMES, markdown_table, setting_label

COMPARISON_ROWS = ("backbone", "agw", "caj", "od_single_ts", "od_all_ts", "jd_all_ts")
#: the protocol's settings reported per dataset layout (results.json keys)
DIRECTIONS = {"sysu": ("all_single",), "regdb": ("visible->thermal", "thermal->visible"),
              "llcm": ("ir->visible", "visible->ir")}
DATASET_NAMES = {"sysu": "SYSU-MM01", "regdb": "RegDB", "llcm": "LLCM"}

#: Published Rank-1 / mAP on the real datasets, the methods' own reports (last checked 2026-12):
#: SYSU-MM01 all-search single-shot, RegDB visible->thermal. None: not reported by that source.
PUBLISHED = {
    "backbone": {"sysu": (41.4, 39.9), "regdb": None,
                 "source": "TS-GAN paper, Table II (its backbone; no RegDB results)"},
    "agw": {"sysu": (47.50, 47.65), "regdb": (70.05, 66.37),
            "source": "mangye16/Cross-Modal-Re-ID-baseline README (Ye et al., TPAMI 2021)"},
    "caj": {"sysu": (69.88, 66.89), "regdb": (85.03, 79.14),
            "source": "mangye16/Cross-Modal-Re-ID-baseline README, ICCV21_CAJ (Ye et al., ICCV 2021)"},
    "od_single_ts": {"sysu": (44.2, 44.1), "regdb": None, "source": "TS-GAN paper, Table II"},
    "od_all_ts": {"sysu": (47.6, 44.5), "regdb": None, "source": "TS-GAN paper, Table II"},
    "jd_all_ts": {"sysu": (49.8, 47.4), "regdb": None, "source": "TS-GAN paper, Tables I-II"},
}


def collect_comparison(results: dict[tuple[str, int], dict], dataset: str) -> pd.DataFrame:
    """One row per (variant, seed): ``<direction>.R1`` / ``.mAP`` for the dataset's directions, the chance
    level and the untrained network's Rank-1 of the first direction, and the run's compute."""
    rows = []
    for (variant, seed), r in results.items():
        first = DIRECTIONS[dataset][0]
        row = {"variant": variant, "seed": seed, "chance_R1": r["chance_R1"],
               "untrained_R1": r.get("untrained", {}).get(first, {}).get("R1", float("nan")),
               "train_seconds": r.get("train_seconds"), "teacher_seconds": r.get("teacher_seconds")}
        for key in DIRECTIONS[dataset]:
            row.update({f"{key}.{m}": r["metrics"][key][m] for m in ("R1", "mAP")})
        rows.append(row)
    return pd.DataFrame(rows)


def comparison_deltas(df: pd.DataFrame, metric: str, confidence: float = CONFIDENCE) -> pd.DataFrame:
    """Each row minus the same-seed backbone on ``metric``: :func:`~tsgan_lib.report.ablation.paired_deltas`."""
    return paired_deltas(df, metric, confidence, rows=[v for v in COMPARISON_ROWS if v != "backbone"])


def _interval(r: pd.Series | None) -> str:
    if r is None:
        return ""
    if np.isnan(r["ci_low"]):
        return f"{r['delta_mean']:+.1f}"
    return f"{r['delta_mean']:+.1f} [{r['ci_low']:+.1f}, {r['ci_high']:+.1f}]"


def comparison_table(df: pd.DataFrame, dataset: str) -> str:
    """Markdown: per row its seeds, R1 / mAP (mean ± std) per direction, ΔR1 against the same-seed backbone
    with its interval (first direction), how many seeds it is ahead, and its published numbers."""
    first = DIRECTIONS[dataset][0]
    deltas = comparison_deltas(df, f"{first}.R1").set_index("variant")
    header = ["row", "seeds"]
    for key in DIRECTIONS[dataset]:
        header += [f"R1 {setting_label(key)}", f"mAP {setting_label(key)}"]
    header += [f"Δ R1 vs backbone ({CONFIDENCE:.0%} CI)", "seeds ahead", "published R1 / mAP (real data)"]
    lines = []
    for variant in COMPARISON_ROWS:
        own = df[df["variant"] == variant]
        if own.empty:
            continue
        cells = [VARIANT_NAMES[variant], str(len(own))]
        for key in DIRECTIONS[dataset]:
            for m in ("R1", "mAP"):
                col = own[f"{key}.{m}"]
                cells.append(f"{col.mean():.1f} ± {col.std(ddof=1) if len(col) > 1 else 0:.1f}")
        d = deltas.loc[variant] if variant in deltas.index else None
        cells += [_interval(d), "" if d is None else f"{int(d['ahead'])}/{int(d['seeds'])}"]
        pub = PUBLISHED[variant].get(dataset)
        cells.append("n/a" if pub is None else f"{pub[0]:g} / {pub[1]:g}")
        lines.append(cells)
    return markdown_table(lines, header)


def comparison_text(df: pd.DataFrame, dataset: str) -> str:
    """One generated sentence per row against the backbone: ahead, behind or level within the noise."""
    first = DIRECTIONS[dataset][0]
    parts = []
    for _, r in comparison_deltas(df, f"{first}.R1").iterrows():
        name, ci = VARIANT_NAMES[r["variant"]], _interval(r)
        if np.isnan(r["ci_low"]):
            verdict = "measured on one seed: no interval, no verdict"
        elif r["ci_low"] > 0:
            verdict = "ahead of the backbone beyond the seed noise"
        elif r["ci_high"] < 0:
            verdict = "behind the backbone beyond the seed noise"
        else:
            verdict = "level with the backbone within the seed noise"
        parts.append(f"{name} is {verdict} (Δ R1 {ci}, {r['seeds']} seed{'s' if r['seeds'] != 1 else ''})")
    if not parts:
        return f"On the {DATASET_NAMES[dataset]} stand-in: no row shares a seed with the backbone, so no paired difference."
    return f"On the {DATASET_NAMES[dataset]} stand-in ({setting_label(first)}): " + "; ".join(parts) + "."


def markdown_report(df: pd.DataFrame, dataset: str, command: str, label: str) -> str:
    sources = "; ".join(f"{VARIANT_NAMES[v]}: {PUBLISHED[v]['source']}" for v in COMPARISON_ROWS)
    seeds = sorted(df["seed"].unique())
    return "\n".join([
        f"# TS-GAN beside the field's baselines on the {DATASET_NAMES[dataset]} stand-in", "",
        f"Data: {label}. Seeds {', '.join(map(str, seeds))}; every row trained with the family's input size, "
        "sampler, optimiser and schedule (params/synthetic.yaml), so the rows differ only in the method "
        "(params/synthetic_<row>.yaml). R1 and mAP in percent, mean ± std over the seeds; Δ: the row minus the "
        f"same-seed backbone, mean with a {CONFIDENCE:.0%} t-interval. Chance Rank-1 "
        f"{df['chance_R1'].mean():.1f}; the untrained backbone {df['untrained_R1'].mean():.1f}.", "",
        comparison_table(df, dataset), "",
        comparison_text(df, dataset), "",
        "The last column holds each method's own numbers on the real dataset (SYSU-MM01 all-search single-shot, "
        "RegDB visible→thermal), which the stand-in's cannot be compared with: they show where each method stands "
        "in the field, not what this table measures. The baselines' authors report their test-set-best "
        "checkpoint; every row here is its last epoch. Sources: " + sources + ".", "",
        f"Reproduce: `{command}`", ""])


def load_comparison(path: str | Path) -> tuple[str, pd.DataFrame]:
    """A committed ``comparison_<dataset>.json``: ``(dataset, one row per (variant, seed))``."""
    path = Path(path)
    dataset = path.stem.removeprefix("comparison_")
    if dataset not in DIRECTIONS:
        raise ValueError(f"{path}: expected a file comparison_<dataset>.json, dataset one of {', '.join(DIRECTIONS)}")
    return dataset, pd.DataFrame(read_json(path, "the comparison records that `tsgan ablation --compare` writes"))


def run_comparison(dataset: str, seeds: Sequence[int], rows: Sequence[str] = COMPARISON_ROWS, *,
                   runs_dir: str | Path, out: str | Path, overrides: dict | None = None,
                   command: str = "python -m tsgan_lib ablation --compare", train: bool = True,
                   log: Callable[[str], None] = print) -> pd.DataFrame:
    """Train (or read) every (row, seed) on ``dataset``'s stand-in, then write
    ``<out>/comparison_<dataset>.{md,json}``. ``train=False`` tabulates the finished runs only."""
    if dataset not in DIRECTIONS:
        raise ValueError(f"dataset {dataset!r}: expected one of {', '.join(DIRECTIONS)}")
    unknown = [r for r in rows if r not in COMPARISON_ROWS]
    if unknown:
        raise ValueError(f"rows {unknown}: expected rows among {', '.join(COMPARISON_ROWS)}")
    runs_dir, out = Path(runs_dir), Path(out)
    extra = {**(overrides or {}), "data.dataset": dataset}
    results, label, t0 = {}, "", time.time()
    for seed in seeds:
        for variant in rows:
            if not train and not RunFolder.row(runs_dir, variant, seed).results.is_file():
                continue
            log(f"[{time.time() - t0:6.0f} s] {variant}, seed {seed}")
            results[(variant, seed)] = r = run_row(variant, seed, runs_dir, extra)
            label = r.get("dataset", label)
            first = DIRECTIONS[dataset][0]
            log(f"    {setting_label(first)} R1 {r['metrics'][first]['R1']:.1f}, mAP {r['metrics'][first]['mAP']:.1f}")
    if not results:
        raise ValueError(f"no finished runs in {runs_dir} for rows {', '.join(rows)} and seeds {list(seeds)}")
    df = collect_comparison(results, dataset)
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / f"comparison_{dataset}.md", markdown_report(df, dataset, command, label))
    write_json(out / f"comparison_{dataset}.json", df.to_dict(orient="records"))
    log(comparison_table(df, dataset))
    return df
