"""Table II on the synthetic stand-in: every ablation row, several seeds.

``python -m tsgan_lib.train.ablation`` (``make ablation``) trains each
``params/synthetic_<variant>.yaml`` row with each seed in
``runs/ablation/<variant>_s<seed>/`` (the teacher of seed s is pretrained
once, in ``runs/ablation/teacher_s<seed>.pt``, and shared by that seed's
rows), evaluates it, and writes under ``docs/results/``:

- ``ablation_synthetic.md``: mean ± std over seeds per row, beside chance and
  the untrained backbone, with the command, the date and the machine;
- ``ablation_synthetic.png``: the same as bars with the per-seed values;
- ``ablation_synthetic.json``: every per-seed number.

A finished run (its ``results.json`` exists) is not trained again, so an
interrupted ablation continues where it stopped.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from tsgan_lib.utils import REPO_ROOT, resolve_path

from .config import load_preset
from .results import load_results
from .trainer import run

ROWS = ("backbone", "od_single_ts", "od_all_ts", "jd_all_ts")
ROW_NAMES = {"backbone": "Backbone", "od_single_ts": "TS-GAN_OD^singleTS", "od_all_ts": "TS-GAN_OD^allTS",
             "jd_all_ts": "TS-GAN_JD^allTS"}
SETTINGS = (("all_single", "all-search"), ("indoor_single", "indoor"))
METRICS = ("R1", "mAP", "mINP")


def run_row(variant: str, seed: int, runs_dir: Path, **overrides) -> dict:
    run_dir = runs_dir / f"{variant}_s{seed}"
    if (run_dir / "results.json").is_file():
        return load_results(run_dir)
    cfg = load_preset(f"synthetic_{variant}", seed=seed, run_dir=str(run_dir),
                      teacher_path=str(runs_dir / f"teacher_s{seed}.pt"), progress=False, **overrides)
    _, results = run(cfg)
    return results


def collect(results: dict[tuple[str, int], dict]) -> pd.DataFrame:
    rows = []
    for (variant, seed), r in results.items():
        row = {"variant": variant, "seed": seed, "epochs": r.get("epochs"), "train_seconds": r.get("train_seconds"),
               "teacher_seconds": r.get("teacher_seconds"), "eval_seconds": r.get("eval_seconds"),
               "chance_R1": r["chance_R1"], "untrained_R1": r["untrained"]["all_single"]["R1"],
               "chance_indoor_R1": r.get("chance", {}).get("indoor_single", float("nan"))}
        for key, _ in SETTINGS:
            for m in METRICS:
                row[f"{key}.{m}"] = r["metrics"][key][m]
        rows.append(row)
    return pd.DataFrame(rows)


def paired_deltas(df: pd.DataFrame, metric: str = "all_single.R1") -> pd.DataFrame:
    """Each TS-GAN row minus the backbone trained with the same seed (the
    same data, initial weights and batches): mean, std over seeds, and on how
    many seeds the row is ahead."""
    base = df[df["variant"] == "backbone"].set_index("seed")[metric]
    rows = []
    for variant in ROWS[1:]:
        own = df[df["variant"] == variant].set_index("seed")[metric]
        seeds = own.index.intersection(base.index)
        if len(seeds) == 0:
            continue
        d = own[seeds] - base[seeds]
        rows.append({"variant": variant, "seeds": len(d), "delta_mean": d.mean(),
                     "delta_std": d.std(ddof=1) if len(d) > 1 else float("nan"), "ahead": int((d > 0).sum())})
    return pd.DataFrame(rows, columns=["variant", "seeds", "delta_mean", "delta_std", "ahead"])


def verdict_text(df: pd.DataFrame) -> str:
    """Does the paper's Table II ordering hold on these runs? The ordering of
    the means, then each row against the backbone paired by seed, with its
    spread, so a reader sees whether a difference is larger than the noise."""
    best = df.groupby("variant")["all_single.R1"].mean().sort_values(ascending=False)
    order = " > ".join(ROW_NAMES[v] for v in best.index)
    paper = " > ".join(ROW_NAMES[v] for v in reversed(ROWS))
    holds = list(best.index) == list(reversed(ROWS))
    text = (f"Ordering by mean all-search R1 on this data: {order}. The paper's ordering (Table II) is {paper}; "
            f"on this data it **{'holds' if holds else 'does not hold'}**.")
    deltas = paired_deltas(df)
    if deltas.empty:
        return text
    parts, clear = [], []
    for _, r in deltas.iterrows():
        spread = "" if np.isnan(r["delta_std"]) else f" ± {r['delta_std']:.1f}"
        parts.append(f"{ROW_NAMES[r['variant']]} {r['delta_mean']:+.1f}{spread} (ahead on {r['ahead']} of "
                     f"{r['seeds']} seeds)")
        if r["seeds"] > 1 and abs(r["delta_mean"]) > 2 * r["delta_std"] / np.sqrt(r["seeds"]):
            clear.append(ROW_NAMES[r["variant"]])
    text += (" Against the backbone trained with the same seed, all-search R1 changes by " + "; ".join(parts) + ".")
    if clear:
        text += (" Differences larger than two standard errors (a rough screen: with so few seeds it is not a "
                 "significance test): " + ", ".join(clear) + ".")
    else:
        text += (" No row differs from the backbone by more than two standard errors over seeds: with these seeds "
                 "the runs cannot tell the variants apart.")
    if {"chance_R1", "untrained_R1"} <= set(df.columns):
        chance = df["chance_R1"].mean()
        text += (f" For scale: the best row's mean all-search R1 is {best.iloc[0]:.1f}, {best.iloc[0] / chance:.1f}× "
                 f"chance ({chance:.1f}); the untrained backbone gives {df['untrained_R1'].mean():.1f}.")
    return text


def markdown_table(df: pd.DataFrame, command: str) -> str:
    seeds = sorted(df["seed"].unique())
    head = ["Method"] + [f"{name} {m}" for _, name in SETTINGS for m in METRICS] + ["train time / run"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|"]
    for variant in ROWS:
        sub = df[df["variant"] == variant]
        if sub.empty:
            continue
        cells = [ROW_NAMES[variant]]
        for key, _ in SETTINGS:
            for m in METRICS:
                v = sub[f"{key}.{m}"]
                cells.append(f"{v.mean():.1f} ± {v.std(ddof=1) if len(v) > 1 else 0.0:.1f}")
        cells.append(f"{sub['train_seconds'].mean() / 60:.1f} min")
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("| Untrained backbone (initial weights) | " + f"{df['untrained_R1'].mean():.1f}"
                 + " | – | – | – | – | – | – |")
    lines.append("| Chance (random ranking) | " + f"{df['chance_R1'].mean():.1f} | – | – | – | – | – | – |")
    cfg = load_preset("synthetic_jd_all_ts")
    text = [
        "# Table II on the synthetic stand-in (ablation)",
        "",
        f"Mean ± standard deviation over seeds {', '.join(map(str, seeds))} (training seed; the data is fixed,",
        f"data_seed {cfg.data_seed}); each seed's value is itself the mean over {cfg.eval_trials} gallery draws of the",
        "SYSU-MM01 protocol (single-shot). Percent. These are **not SYSU-MM01 numbers**: the data is the procedural",
        "stand-in, the networks are small and trained from scratch for minutes on a CPU (see",
        "`params/synthetic_*.yaml`).",
        "",
        *lines,
        "",
        verdict_text(df),
        "",
        f"Compute: {df['train_seconds'].sum() / 60:.0f} min of training, {df['teacher_seconds'].sum() / 60:.1f} min "
        f"of teacher pretraining and {df['eval_seconds'].sum() / 60:.1f} min of evaluation over {len(df)} runs.",
        "",
        f"Made by `{command}` on {time.strftime('%Y-%m-%d')}, {platform.machine()}, "
        f"{os.cpu_count()} CPU cores, torch threads default. Per-seed numbers: `ablation_synthetic.json`.",
    ]
    return "\n".join(text) + "\n"


def figure(df: pd.DataFrame, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, (key, name) in zip(axes, SETTINGS):
        for i, variant in enumerate(ROWS):
            v = df[df["variant"] == variant][f"{key}.R1"]
            if v.empty:
                continue
            ax.bar(i, v.mean(), yerr=v.std(ddof=1) if len(v) > 1 else 0, color=f"C{i}", alpha=0.6, capsize=4)
            ax.scatter(np.full(len(v), i) + np.linspace(-0.15, 0.15, len(v)), v, color="k", s=12, zorder=3)
        if key == "all_single":
            ax.axhline(df["untrained_R1"].mean(), color="grey", ls=":", label="untrained backbone")
        chance = df["chance_R1" if key == "all_single" else "chance_indoor_R1"].mean()
        if np.isfinite(chance):
            ax.axhline(chance, color="r", ls="--", label="chance")
        ax.legend(fontsize=8, loc="lower right")
        ax.set_xticks(range(len(ROWS)), [ROW_NAMES[v].replace("_", "\n", 1) for v in ROWS], fontsize=8)
        ax.set_ylabel("Rank-1 (%)")
        ax.set_title(f"{name}, single-shot (bars: mean ± std over seeds; dots: seeds)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--rows", nargs="+", default=list(ROWS), choices=ROWS)
    ap.add_argument("--runs-dir", default="runs/ablation")
    ap.add_argument("--out", default="docs/results")
    args = ap.parse_args(argv)
    runs_dir, out = resolve_path(args.runs_dir), resolve_path(args.out)
    command = "make ablation" if argv is None and os.environ.get("MAKELEVEL") else \
        "python -m tsgan_lib.train.ablation " + " ".join(argv if argv is not None else sys.argv[1:])
    results = {}
    t0 = time.time()
    for seed in args.seeds:
        for variant in args.rows:
            print(f"[{time.time() - t0:6.0f} s] {variant}, seed {seed}", flush=True)
            results[(variant, seed)] = run_row(variant, seed, runs_dir)
            r = results[(variant, seed)]["metrics"]["all_single"]
            print(f"    all-search R1 {r['R1']:.1f}, mAP {r['mAP']:.1f}", flush=True)
    df = collect(results)
    out.mkdir(parents=True, exist_ok=True)
    (out / "ablation_synthetic.md").write_text(markdown_table(df, command.strip()))
    figure(df, out / "ablation_synthetic.png")
    (out / "ablation_synthetic.json").write_text(json.dumps(df.to_dict(orient="records"), indent=1) + "\n")
    print((out / "ablation_synthetic.md").read_text())
    print(f"wrote {out}/ablation_synthetic.{{md,png,json}} in {time.time() - t0:.0f} s "
          f"(relative to {REPO_ROOT})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
