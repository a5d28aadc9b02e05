"""Which readings of the paper decide whether TS-GAN helps: each one flipped from the suite's defaults, measured.

Where the paper is silent or ambiguous, the suite reads it one way
(docs/interpretations.md) and makes the reading a setting. The readings that
can decide the result are turned, one at a time, from their default to the
other reading, in the full model (TS-GAN_JD^allTS) and, where a reading
touches it, in the backbone; every run is trained with several seeds and
compared with the same-seed default full model and the same-seed backbone
(paired 95 % intervals, as in :mod:`tsgan_lib.report.ablation`). Each run's
probes (:mod:`tsgan_lib.train.probes`) say what the reading did to the
mechanism: the TS terms' share of the gradient at f_map, whether X_I'
carries identity, what D_I rejects.

``python -m tsgan_lib ablation --readings`` trains the rows in the ablation's
own runs folder (:meth:`tsgan_lib.files.RunFolder.row`: ``<variant>[~<reading>]_s<seed>``, so the default full model
and the backbone are shared with Table II) and writes
``<out>/readings_<name>.{md,json}``; the JSON is one record per run, with
``reading``, ``variant`` and ``seed``.
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from tsgan_lib.files import RunFolder, write_json, write_text_atomic

from .ablation import CONFIDENCE, collect, paired_stats, run_row
from .vocab import VARIANT_NAMES, markdown_table


@dataclass(frozen=True)
class Reading:
    """One reading flipped from the default: its settings, what the paper says, who it can touch."""

    title: str
    overrides: dict
    paper: str
    variants: tuple[str, ...] = ("jd_all_ts",)


#: The readings that can decide the result, each as the change from the suite's defaults.
READINGS = {
    "fake_ir_in_reid": Reading(
        "ID and triplet losses also on X_I' (X_R's labels)", {"reid.on_fake_ir": True},
        "\"It takes RGB-IR cross-modality images (X_R and X_I) and the generated IR images X_I' as inputs\"; "
        "\"The (Real RGB, Fake IR) image pairs are then used to train the Student ReID module with MSE "
        "reconstruction loss\""),
    "ts_mean": Reading(
        "TS losses as the mean over map elements", {"ts.reduction": "mean"},
        "Eq. (13)-(15): ||f_T - f_S||_2^2; \"We use two MSE losses\""),
    "d_sees_teacher_fake": Reading(
        "D_I's fakes also hold (X_I', FE_T(X_I')) (not the paper's)", {"gan.fake_set": "paper+teacher_fake"},
        "Eq. (5): M = (X_I', f_map,R^X_I') ∪ (X_I', f_map,R^X_I) ∪ (X_I, f_map,R^X_I)"),
    "no_pool": Reading(
        "D sees only the current fakes (no history)", {"gan.pool_size": 0},
        "silent; \"we construct a cycle consistency GAN\" (CycleGAN keeps 50 past fakes)"),
    "affine_d": Reading(
        "D's InstanceNorms affine, its convs without bias", {"model.discriminator.norm_affine": True},
        "silent (CycleGAN's PatchGAN: InstanceNorm without affine parameters, convs with bias)"),
    "lambda_id_1": Reading(
        "λ1 = 1 (ID and triplet 1:1)", {"reid.lambda_id": 1.0},
        "\"we set weight parameters λ1 as 3.0 ... The triplet loss plays a more critical role in the person ReID "
        "results than identification loss\"", ("jd_all_ts", "backbone")),
    "first_reading": Reading(
        "the suite's first reading: X_I' in ID/triplet, mean TS losses, no pool, affine D", {
            "reid.on_fake_ir": True, "ts.reduction": "mean", "gan.pool_size": 0,
            "model.discriminator.norm_affine": True},
        "(X_I' in ID/triplet, mean TS losses, no pool, affine D: the readings behind the first Table II)"),
}

#: The probes the table shows: (column, name in a run's mechanism summary, header, scale).
PROBES = (("ts_share", "grad_share.fmap.ts", "TS share of grad at f_map", 100),
          ("fake_share", "grad_share.fmap_reid.ir_fake", "X_I' share of ID+tri grad", 100),
          ("teacher_acc", "fake_ir.teacher_acc", "teacher acc. on X_I'", 100),
          ("student_acc", "fake_ir.student_acc", "student acc. on X_I'", 100),
          ("d_rejects_g", "d_ir_acc.g_pair", "D_I rejects (X_I', FE_T)", 100))


def collect_readings(results: dict[tuple[str, str | None, int], dict]) -> pd.DataFrame:
    """One record per run: ``reading`` ("default" for the defaults), ``variant``,
    ``seed``, the ablation's metrics and the probes of :data:`PROBES` (percent)."""
    df = collect({(RunFolder.row_name(v, r), s): res for (v, r, s), res in results.items()})
    df.insert(0, "reading", [r or "default" for (_, r, _) in results])
    df["variant"] = [v for (v, _, _) in results]
    for col, name, _, scale in PROBES:
        df[col] = [scale * res.get("mechanism", {}).get("run", {}).get(name, np.nan) for res in results.values()]
    return df


def _paired(df: pd.DataFrame, a: pd.Series, ref: tuple[str, str], metric: str) -> str:
    base = df[(df["variant"] == ref[0]) & (df["reading"] == ref[1])].set_index("seed")[metric]
    seeds = a.index.intersection(base.index)
    if len(seeds) < 2:
        return "–"
    s = paired_stats((a[seeds] - base[seeds]).to_numpy(float))
    return f"{s['delta_mean']:+.1f} [{s['ci_low']:+.1f}, {s['ci_high']:+.1f}]"


def readings_table(df: pd.DataFrame, metric: str = "all_single.R1") -> str:
    """Per (variant, reading): the metric's mean ± std, its paired differences to the same-seed default
    full model and backbone, and the probes' means."""
    header = ["row", "reading", "seeds", "R1", "mAP", "Δ R1 vs full model (95% CI)", "Δ R1 vs backbone (95% CI)",
              *[h for _, _, h, _ in PROBES]]
    rows = []
    for (variant, reading), sub in df.groupby(["variant", "reading"], sort=False):
        own = sub.set_index("seed")
        cells = [VARIANT_NAMES.get(variant, variant),
                 READINGS[reading].title if reading in READINGS else "the suite's defaults", str(len(own))]
        for m in ("all_single.R1", "all_single.mAP"):
            cells.append(f"{own[m].mean():.1f} ± {own[m].std(ddof=1) if len(own) > 1 else 0:.1f}")
        for ref in (("jd_all_ts", "default"), ("backbone", "default")):
            same = (variant, reading) == ref
            cells.append("(reference)" if same else _paired(df, own[metric], ref, metric))
        for col, _, _, _ in PROBES:
            cells.append("–" if own[col].isna().all() else f"{own[col].mean():.1f}")
        rows.append(cells)
    return markdown_table(rows, header)


def markdown_report(df: pd.DataFrame, command: str, data_note: str) -> str:
    seeds = sorted(df["seed"].unique())
    paper = "\n".join(f"- **{r.title}** (`{', '.join(f'{k}={v}' for k, v in r.overrides.items())}`): {r.paper}"
                      for name, r in READINGS.items() if name in set(df["reading"]))
    lines = [
        "# The readings of TS-GAN that decide the result, on the synthetic stand-in", "",
        f"Each row turns one reading of the paper from the suite's default (docs/interpretations.md) and trains "
        f"seeds {', '.join(map(str, seeds))} ({data_note}; *seeds*: how many of them a row has). R1 and mAP: all-search single-shot, mean ± std over the "
        "seeds, each seed the mean over the 10 gallery draws. Δ: the row minus the same-seed run of the default full "
        f"model or of the backbone, mean over the seeds with a {CONFIDENCE:.0%} t-interval. Probes (percent, means "
        "over each run's probes, `train_info.json` → `mechanism`): the TS terms' share of the gradient norm at "
        "f_map,S; X_I''s share of the ID + triplet gradient there; the frozen teacher's and the student's "
        "accuracy on X_I' with X_R's labels; the share of D_I's patches that reject the generator's pair.",
        "These are **not SYSU-MM01 numbers**.", "",
        readings_table(df), "", "What the paper says about each reading:", "", paper, "",
        f"Made by `{command}` on {time.strftime('%Y-%m-%d')}, {platform.machine()}, {os.cpu_count()} CPU cores. "
        "Per-run numbers: the `.json` beside this file.",
    ]
    return "\n".join(lines) + "\n"


def run_readings(seeds: Sequence[int], readings: Sequence[str] = tuple(READINGS), *, runs_dir: str | Path,
                 out: str | Path, name: str = "synthetic", overrides: dict | None = None,
                 command: str = "python -m tsgan_lib ablation --readings", train: bool = True,
                 log: Callable[[str], None] = print) -> pd.DataFrame:
    """Train (or read) the default full model, the backbone and every reading's rows for every seed, then
    write ``<out>/readings_<name>.{md,json}``. ``train=False`` tabulates the finished runs only (a row
    then stands on the seeds it has; the table's *seeds* column says how many)."""
    runs_dir, out = Path(runs_dir), Path(out)
    plan = [("jd_all_ts", None), ("backbone", None)]
    plan += [(v, r) for r in readings for v in READINGS[r].variants]
    results, t0 = {}, time.time()
    for seed in seeds:
        for variant, reading in plan:
            extra = {**(overrides or {}), **(READINGS[reading].overrides if reading else {})}
            if not train and not RunFolder.row(runs_dir, variant, seed, reading).results.is_file():
                continue
            log(f"[{time.time() - t0:6.0f} s] {RunFolder.row_name(variant, reading)}, seed {seed}")
            results[(variant, reading, seed)] = r = run_row(variant, seed, runs_dir, extra, reading)
            m = r["metrics"]["all_single"]
            log(f"    all-search R1 {m['R1']:.1f}, mAP {m['mAP']:.1f}")
    df = collect_readings(results)
    cfg = results[next(iter(results))].get("config", {}).get("data", {}).get("synthetic", {})
    note = f"{cfg.get('num_ids')} identities, data seed {cfg.get('seed')}, {cfg.get('ir_sensor')} IR cameras"
    write_text_atomic(out / f"readings_{name}.md", markdown_report(df, command, note))
    write_json(out / f"readings_{name}.json", df.to_dict(orient="records"))
    log(f"wrote {out}/readings_{name}.{{md,json}} in {time.time() - t0:.0f} s")
    return df


def load_readings(path: str | Path) -> pd.DataFrame:
    """A ``readings_<name>.json`` (one record per run) as a DataFrame."""
    import json

    return pd.DataFrame(json.loads(Path(path).read_text()))


def reading_effect(df: pd.DataFrame, reading: str, variant: str = "jd_all_ts",
                   metric: str = "all_single.R1") -> dict:
    """One reading's measured effect on ``variant``: the paired difference to the same-seed
    default run (mean, interval, seeds ahead) and the probes' means with and without it."""
    own = df[(df["variant"] == variant) & (df["reading"] == reading)].set_index("seed")
    base = df[(df["variant"] == variant) & (df["reading"] == "default")].set_index("seed")
    seeds = own.index.intersection(base.index)
    out = {"reading": reading, "variant": variant, "metric": metric,
           **paired_stats((own.loc[seeds, metric] - base.loc[seeds, metric]).to_numpy(float))}
    for col, _, _, _ in PROBES:
        out[f"{col}_default"], out[f"{col}_reading"] = float(base[col].mean()), float(own[col].mean())
    return out


def reading_story(df: pd.DataFrame, reading: str, variant: str = "jd_all_ts") -> str:
    """What one reading does, in sentences generated from the readings table: the paper's words,
    the change, its paired interval, and what the probes saw."""
    r = READINGS[reading]
    e = reading_effect(df, reading, variant)
    lo, hi = e["ci_low"], e["ci_high"]
    verdict = ("beyond the seed-to-seed noise, better" if lo > 0 else "beyond the noise, worse" if hi < 0
               else "within the noise")
    text = (f"**{r.title}.** The paper: {r.paper}. Against the same-seed {VARIANT_NAMES.get(variant, variant)} with "
            f"the suite's defaults, all-search Rank-1 changes by {e['delta_mean']:+.1f} points "
            f"({CONFIDENCE:.0%} CI [{lo:+.1f}, {hi:+.1f}], ahead on {e['ahead']} of {e['seeds']} seeds): {verdict}.")
    probes = []
    for col, _, header, _ in PROBES:
        a, b = e[f"{col}_default"], e[f"{col}_reading"]
        if not (np.isnan(a) or np.isnan(b)) and abs(b - a) >= max(1.0, 0.2 * abs(a)):
            probes.append(f"{header} {a:.1f} → {b:.1f} %")
    if probes:
        text += " The probes moved: " + "; ".join(probes) + "."
    return text


def verdict_line(df: pd.DataFrame, variant: str, reading: str, metric: str = "all_single.R1") -> str:
    """``variant`` with ``reading`` against the same-seed backbone, in one sentence."""
    own = df[(df["variant"] == variant) & (df["reading"] == reading)].set_index("seed")[metric]
    base = df[(df["variant"] == "backbone") & (df["reading"] == "default")].set_index("seed")[metric]
    seeds = own.index.intersection(base.index)
    s = paired_stats((own[seeds] - base[seeds]).to_numpy(float))
    where = ("ahead of the backbone beyond the noise" if s["ci_low"] > 0 else
             "behind the backbone beyond the noise" if s["ci_high"] < 0 else "level with the backbone within the noise")
    name = READINGS[reading].title if reading in READINGS else "the suite's defaults"
    return (f"{VARIANT_NAMES.get(variant, variant)} with {name}: {s['delta_mean']:+.1f} Rank-1 points against the "
            f"same-seed backbone ({CONFIDENCE:.0%} CI [{s['ci_low']:+.1f}, {s['ci_high']:+.1f}], ahead on "
            f"{s['ahead']} of {s['seeds']} seeds): {where}.")
