"""Table II on a synthetic stand-in: the four rows x several seeds, and what the seeds can tell apart.

``python -m tsgan_lib ablation`` (``make ablation``) trains each
``params/synthetic_<variant>.yaml`` row with each seed in its run folder
(:meth:`tsgan_lib.files.RunFolder.row`: ``<runs>/<variant>_s<seed>/``, one
teacher per seed, shared by that seed's rows), evaluates it, and writes ``<out>/ablation_<name>.{md,png,json}``:

- the table: mean ± std over seeds per row, beside chance and the untrained backbone;
- the verdict: each TS-GAN row minus the backbone trained with the same seed
  (same data, initial weights and batches), with a 95 % confidence interval
  (Student's t over the seeds' paired differences); a row beats or trails
  the backbone only where its interval excludes zero;
- the figure: bars with each seed's value, and the paired differences with their intervals.

A finished run (its ``results.json`` exists) is not trained again, so an
interrupted ablation continues where it stopped; a finished run made with
other settings than its row's (another variant, seed, sensor or ``--set``)
is refused, naming each difference, rather than reported as that row. ``sensor`` switches the
SYSU-MM01 stand-in's IR cameras between near-infrared (the real sensor) and
thermal, to see whether the sensor model changes the answer.
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from tsgan_lib.files import RunFolder, RunMismatch, write_json, write_text_atomic
from tsgan_lib.train.config import TrainConfig, changes_the_results, concerns, load_config, resolve_config
from tsgan_lib.train.checkpoint import describe_changes
from tsgan_lib.paths import resolve_path

from .results import load_results
from .runs import run
from .vocab import VARIANT_NAMES, VARIANTS, markdown_table

SETTINGS = (("all_single", "all-search"), ("indoor_single", "indoor"))
METRICS = ("R1", "mAP", "mINP")          # the table's columns
RECORDED = ("R1", "R10", "R20", "mAP", "mINP")  # what collect keeps of each run
CONFIDENCE = 0.95


def row_config(variant: str, seed: int, runs_dir: Path, overrides: dict | None = None, reading: str | None = None):
    """The configuration of one (row, seed) run of the ablation (``reading``: the name of the reading its
    ``overrides`` flip), in its run folder (:meth:`~tsgan_lib.files.RunFolder.row`)."""
    return resolve_config(f"synthetic_{variant}", {"run.seed": seed,
                                                    "run.dir": str(RunFolder.row(runs_dir, variant, seed, reading).path),
                                                    "teacher.path": str(RunFolder.row_teacher(runs_dir, seed)),
                                                    "run.progress": False, **(overrides or {})})


def run_row(variant: str, seed: int, runs_dir: Path, overrides: dict | None = None, reading: str | None = None) -> dict:
    """Train and evaluate one (row, seed), or read its results when it is finished (with its settings)."""
    cfg = row_config(variant, seed, runs_dir, overrides, reading)
    if RunFolder(cfg.run_dir).results.is_file():
        check_finished_run(cfg, f"{RunFolder.row_name(variant, reading)}, seed {seed}")
        return load_results(cfg.run_dir)
    _, results = run(cfg)
    return results


def finished_table2_runs(runs_dir: str | Path) -> dict[tuple[str, int], dict]:
    """``{(variant, seed): results}`` of the finished Table II runs in ``runs_dir`` with the defaults (no
    reading flipped; the field's baselines left out), for :func:`collect`."""
    rows = [(folder.row_key, folder.path) for folder in RunFolder.finished_rows(runs_dir)]
    return {(variant, seed): load_results(path) for (variant, reading, seed), path in rows
            if variant in VARIANTS and reading is None}


def check_finished_run(cfg: TrainConfig, label: str) -> None:
    """Refuse to report a finished run as ``label`` when its recorded settings (its ``config.json``)
    differ from ``cfg`` in anything its numbers depend on; the message names each difference."""
    saved = load_config(RunFolder(cfg.run_dir).config)
    differ = {k: v for k, v in cfg.diff(saved).items() if changes_the_results(k) and concerns(cfg, k)}
    if differ:
        raise RunMismatch(f"{cfg.run_dir} holds a finished run with other settings ({describe_changes(differ)}): its "
                          f"results are not those of {label}. Give the ablation another --runs-dir, or delete "
                          f"{cfg.run_dir} to train it again")


def collect(results: dict[tuple[str, int], dict]) -> pd.DataFrame:
    """One row per (variant, seed) with the settings' metrics as ``<setting>.<metric>`` columns."""
    rows = []
    for (variant, seed), r in results.items():
        row = {"variant": variant, "seed": seed, "epochs": r.get("epochs"), "train_seconds": r.get("train_seconds"),
               "teacher_seconds": r.get("teacher_seconds"), "eval_seconds": r.get("eval_seconds"),
               "chance_R1": r["chance_R1"], "untrained_R1": r["untrained"]["all_single"]["R1"],
               "untrained_mAP": r["untrained"]["all_single"]["mAP"],
               "chance_indoor_R1": r.get("chance", {}).get("indoor_single", {}).get("R1", float("nan")),
               "teacher_ir_R1": r.get("teacher_quality", {}).get("ir_R1", float("nan")), "trials": r.get("trials")}
        for key, _ in SETTINGS:
            for m in RECORDED:
                row[f"{key}.{m}"] = r["metrics"][key][m]
        rows.append(row)
    return pd.DataFrame(rows)


def paired_stats(d: np.ndarray, confidence: float = CONFIDENCE) -> dict:
    """Paired differences (one per seed): their mean, std, a ``confidence``
    interval of the mean (Student's t, n-1 degrees of freedom) and how many are > 0."""
    n, mean = len(d), float(np.mean(d))
    std = float(np.std(d, ddof=1)) if n > 1 else float("nan")
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * std / np.sqrt(n)) if n > 1 else float("nan")
    return {"seeds": n, "delta_mean": mean, "delta_std": std, "ci_low": mean - half, "ci_high": mean + half,
            "ahead": int((np.asarray(d) > 0).sum())}


def paired_deltas(df: pd.DataFrame, metric: str = "all_single.R1", confidence: float = CONFIDENCE,
                  rows: Sequence[str] = VARIANTS[1:]) -> pd.DataFrame:
    """Each of ``rows`` (default: the TS-GAN rows) minus the backbone trained with the same seed: mean, std
    over seeds, a ``confidence`` interval of the mean (Student's t, n-1 degrees
    of freedom) and on how many seeds the row is ahead."""
    base = df[df["variant"] == "backbone"].set_index("seed")[metric]
    out = []
    for variant in rows:
        own = df[df["variant"] == variant].set_index("seed")[metric]
        seeds = own.index.intersection(base.index)
        if len(seeds) == 0:
            continue
        out.append({"variant": variant, **paired_stats((own[seeds] - base[seeds]).to_numpy(float), confidence)})
    return pd.DataFrame(out, columns=["variant", "seeds", "delta_mean", "delta_std", "ci_low", "ci_high", "ahead"])


def verdict_text(df: pd.DataFrame, metric: str = "all_single.R1") -> str:
    """Does the paper's Table II ordering hold, and which differences are larger than the seed-to-seed noise?"""
    label = {"all_single.R1": "all-search R1", "all_single.mAP": "all-search mAP"}.get(metric, metric)
    best = df.groupby("variant")[metric].mean().sort_values(ascending=False)
    order = " > ".join(VARIANT_NAMES[v] for v in best.index)
    paper = " > ".join(VARIANT_NAMES[v] for v in reversed(VARIANTS))
    holds = list(best.index) == list(reversed(VARIANTS))
    text = (f"Ordering by mean {label} on this data: {order}. The paper's ordering (Table II) is {paper}; "
            f"on this data it **{'holds' if holds else 'does not hold'}**.")
    deltas = paired_deltas(df, metric)
    if deltas.empty:
        return text
    parts, above, below = [], [], []
    for _, r in deltas.iterrows():
        ci = "" if np.isnan(r["ci_low"]) else f", {CONFIDENCE:.0%} CI [{r['ci_low']:+.1f}, {r['ci_high']:+.1f}]"
        parts.append(f"{VARIANT_NAMES[r['variant']]} {r['delta_mean']:+.1f}{ci} (ahead on {r['ahead']} of "
                     f"{r['seeds']} seeds)")
        if r["ci_low"] > 0:
            above.append(VARIANT_NAMES[r["variant"]])
        elif r["ci_high"] < 0:
            below.append(VARIANT_NAMES[r["variant"]])
    text += f" Against the backbone trained with the same seed, {label} changes by " + "; ".join(parts) + "."
    if above or below:
        if above:
            text += f" Beyond the seed-to-seed noise (interval above zero), better than the backbone: {', '.join(above)}."
        if below:
            text += f" Beyond the noise (interval below zero), worse than the backbone: {', '.join(below)}."
    else:
        text += (f" Every interval contains zero: with {deltas['seeds'].max()} seeds these runs cannot tell the "
                 "TS-GAN rows from the backbone.")
    if {"chance_R1", "untrained_R1"} <= set(df.columns) and metric == "all_single.R1":
        chance = df["chance_R1"].mean()
        text += (f" For scale: the best row's mean all-search R1 is {best.iloc[0]:.1f}, {best.iloc[0] / chance:.1f}× "
                 f"chance ({chance:.1f}); the untrained backbone gives {df['untrained_R1'].mean():.1f}.")
    return text


def results_table(df: pd.DataFrame) -> str:
    """Mean ± std over seeds per row and setting, with the untrained backbone and chance."""
    header = ["Method"] + [f"{name} {m}" for _, name in SETTINGS for m in METRICS] + ["train time / run"]
    rows = []
    for variant in VARIANTS:
        sub = df[df["variant"] == variant]
        if sub.empty:
            continue
        cells = [VARIANT_NAMES[variant]]
        for key, _ in SETTINGS:
            for m in METRICS:
                v = sub[f"{key}.{m}"]
                cells.append(f"{v.mean():.1f} ± {v.std(ddof=1) if len(v) > 1 else 0.0:.1f}")
        cells.append(f"{sub['train_seconds'].mean() / 60:.1f} min")
        rows.append(cells)
    dash = ["–"] * (len(header) - 2)
    rows.append(["Untrained backbone (initial weights)", f"{df['untrained_R1'].mean():.1f}", *dash])
    rows.append(["Chance (random ranking)", f"{df['chance_R1'].mean():.1f}", *dash])
    return markdown_table(rows, header)


def delta_table(df: pd.DataFrame) -> str:
    """The paired differences to the backbone, all-search R1 and mAP, with their intervals."""
    rows = []
    for metric, name in (("all_single.R1", "R1"), ("all_single.mAP", "mAP")):
        for _, r in paired_deltas(df, metric).iterrows():
            rows.append([VARIANT_NAMES[r["variant"]], name, f"{r['delta_mean']:+.1f}", f"{r['delta_std']:.1f}",
                         f"[{r['ci_low']:+.1f}, {r['ci_high']:+.1f}]", f"{r['ahead']} / {r['seeds']}"])
    return markdown_table(rows, ["Row minus backbone (same seed)", "metric", "mean", "std",
                                 f"{CONFIDENCE:.0%} CI", "ahead on"])


def markdown_report(df: pd.DataFrame, command: str, title: str, data_note: str) -> str:
    seeds = sorted(df["seed"].unique())
    draws = " or ".join(str(int(t)) for t in sorted(df["trials"].dropna().unique())) if "trials" in df else "the"
    lines = [
        f"# Table II on the synthetic stand-in: {title}", "",
        f"Mean ± standard deviation over training seeds {', '.join(map(str, seeds))} (the data is fixed: {data_note});",
        f"each seed's value is itself the mean over {draws} gallery draws of the SYSU-MM01 protocol",
        "(single-shot). Percent. These are **not SYSU-MM01 numbers**: the data is the procedural stand-in and the",
        "networks are small and trained from scratch for minutes on a CPU (`params/synthetic*.yaml`).", "",
        results_table(df), "", delta_table(df), "", verdict_text(df), "", verdict_text(df, "all_single.mAP"), "",
        f"Compute: {df['train_seconds'].sum() / 60:.0f} min of training, {df['teacher_seconds'].sum() / 60:.1f} min "
        f"of teacher pretraining and {df['eval_seconds'].sum() / 60:.1f} min of evaluation over {len(df)} runs."
        + (f" The teachers' IR->IR Rank-1 on the test ids: {df['teacher_ir_R1'].dropna().mean():.1f} % on average."
           if df["teacher_ir_R1"].notna().any() else ""), "",
        f"Made by `{command}` on {time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} CPU cores. "
        "Per-seed numbers: the `.json` beside this file.",
    ]
    return "\n".join(lines) + "\n"


def figure(df: pd.DataFrame, path: Path) -> None:
    """Left: all-search R1 per row (bars: mean ± std; dots: seeds). Right: each
    TS-GAN row minus the same-seed backbone, with its 95 % interval."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, ax_d) = plt.subplots(1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": [1.2, 1]})
    for i, variant in enumerate(VARIANTS):
        v = df[df["variant"] == variant]["all_single.R1"]
        if v.empty:
            continue
        ax.bar(i, v.mean(), yerr=v.std(ddof=1) if len(v) > 1 else 0, color=f"C{i}", alpha=0.6, capsize=4)
        ax.scatter(np.full(len(v), i) + np.linspace(-0.15, 0.15, len(v)), v, color="k", s=12, zorder=3)
    ax.axhline(df["untrained_R1"].mean(), color="grey", ls=":", label="untrained backbone")
    ax.axhline(df["chance_R1"].mean(), color="r", ls="--", label="chance")
    ax.set_xticks(range(len(VARIANTS)), [VARIANT_NAMES[v].replace("_", "\n", 1) for v in VARIANTS], fontsize=9)
    ax.set_ylabel("all-search Rank-1 (%)")
    ax.set_title("Rank-1 per row (bars: mean ± std over seeds; dots: seeds)", fontsize=10)
    ax.legend(fontsize=8, loc="lower right")
    d = paired_deltas(df)
    y = np.arange(len(d))
    ax_d.errorbar(d["delta_mean"], y, xerr=[d["delta_mean"] - d["ci_low"], d["ci_high"] - d["delta_mean"]],
                  fmt="o", color="k", capsize=4)
    ax_d.axvline(0, color="grey", lw=1)
    ax_d.set_yticks(y, [VARIANT_NAMES[v] for v in d["variant"]], fontsize=9)
    ax_d.set_xlabel("Rank-1 difference to the same-seed backbone (points)")
    ax_d.set_title(f"Paired differences, {CONFIDENCE:.0%} confidence intervals", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def run_ablation(seeds: Sequence[int], rows: Sequence[str] = VARIANTS, *, runs_dir: str | Path, out: str | Path,
                 name: str = "synthetic", overrides: dict | None = None, command: str = "make ablation",
                 log: Callable[[str], None] = print) -> pd.DataFrame:
    """Train (or read) every (row, seed), then write ``<out>/ablation_<name>.{md,png,json}``."""
    runs_dir, out = Path(runs_dir), Path(out)
    results, t0 = {}, time.time()
    for seed in seeds:
        for variant in rows:
            log(f"[{time.time() - t0:6.0f} s] {variant}, seed {seed}")
            results[(variant, seed)] = r = run_row(variant, seed, runs_dir, overrides)
            m = r["metrics"]["all_single"]
            log(f"    all-search R1 {m['R1']:.1f}, mAP {m['mAP']:.1f}")
    df = collect(results)
    sample = row_config(rows[0], seeds[0], runs_dir, overrides).data
    note = (f"{sample.synthetic.num_ids} identities, data seed {sample.synthetic.seed}, "
            f"{sample.synthetic.ir_sensor} IR cameras")
    write_text_atomic(out / f"ablation_{name}.md", markdown_report(df, command, name, note))
    figure(df, out / f"ablation_{name}.png")
    write_json(out / f"ablation_{name}.json", df.to_dict(orient="records"))
    log(f"wrote {out}/ablation_{name}.{{md,png,json}} in {time.time() - t0:.0f} s")
    return df


def load_ablation(path: str | os.PathLike) -> pd.DataFrame:
    """A written ablation's runs (``ablation_<name>.json``: one row per variant and seed, as :func:`ablation` wrote
    them); a relative ``path`` resolves against the repository root."""
    return pd.DataFrame(json.loads(resolve_path(path).read_text()))
