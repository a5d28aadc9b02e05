"""One training run told: the sentences and small tables notebook 04 shows, generated from the run's numbers.

- :func:`run_header` / :func:`settings_table` -- the preset, variant and run folder, and the settings
  that differ from the paper's with their meanings.
- :func:`variant_table` -- which parts of Algorithm 1 each Table II row runs (``step_config``'s flags).
- :func:`weights_table` -- the loss weights λ1-λ3, m, ε, α_c, α_s, ω: this run's beside the paper's.
- :func:`log_without_settings` -- a ``log`` for ``train`` that prints all but the settings block.
- :func:`teacher_table` / :func:`teacher_text` -- the teacher's IR→IR retrieval beside chance and the
  paper's teacher (Table III), and what it hands on to the student.
- :func:`resumed_text` / :func:`run_facts` -- whether the run continued a checkpoint, and the facts of
  the run (``RunInfo``) as a table.
- :func:`moves` / :func:`loss_story` -- how one loss term moved, and the paragraphs on the loss terms of
  each phase (ReID, TS, generators, discriminators).
- :func:`results_header` / :func:`results_table` / :func:`results_text` -- the test beside chance and
  the untrained backbone: caption, table and sentence.
- :func:`floor_lines` / :func:`inside` / :func:`committed_ablation` / :func:`committed_range_text` /
  :func:`checks_text` -- the checks' floors, and where the run lies among the committed ablation's seeds.
- :func:`checkpoint_content` / :func:`checkpoint_files_text` -- what ``checkpoint.pt`` holds, and the files' sizes.
- :func:`rerun_commands` -- the commands that run this run again (papermill, the command line, torchrun, evaluate).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tsgan_lib.eval.tables import TABLE_III
from tsgan_lib.train import needs_teacher, resolve_config, step_config
from tsgan_lib.train.config import TrainConfig, changes_what_is_trained, describe_settings
from tsgan_lib.utils import resolve_path

from .ablation import load_ablation
from .vocab import VARIANT_NAMES, VARIANTS, setting_label

PAPER_TEACHER_IR = dict(zip(("R1", "R10", "mAP"), TABLE_III["Baseline (IR)"][2:]))  # Table III, ResNet-50
REFERENCE_PRESET = "synthetic_jd_all_ts"  # the preset the committed ablation trained as the full model
ABLATION_FILE = "docs/results/ablation_synthetic.json"
WEIGHTS = {"λ1, ID (reid.lambda_id)": "reid.lambda_id", "λ2, triplet (reid.lambda_tri)": "reid.lambda_tri",
           "λ3, backbone GAN (reid.lambda_gan)": "reid.lambda_gan", "m, triplet margin (reid.margin)": "reid.margin",
           "ε, label smoothing (reid.label_smoothing)": "reid.label_smoothing",
           "α_c, cross-domain TS (ts.alpha_c)": "ts.alpha_c", "α_s, same-domain TS (ts.alpha_s)": "ts.alpha_s",
           "ω, cycle loss (gan.omega)": "gan.omega"}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


# --- the run's settings ------------------------------------------------------------------------------------------

def run_header(cfg: TrainConfig) -> str:
    """The line above the settings table: preset, variant, run folder and how many settings differ."""
    return (f"**Preset** `{cfg.preset}` · **variant** `{cfg.variant}` ({VARIANT_NAMES[cfg.variant]}) · "
            f"**run folder** `{cfg.run_dir}` · {len(cfg.diff())} settings differ from the paper's:")


def settings_table(cfg: TrainConfig) -> pd.DataFrame:
    """The settings where ``cfg`` differs from the paper's: this run's value, the paper's and the meaning."""
    meaning = {line.split(" = ", 1)[0]: line.split("    # ", 1)[1]
               for line in describe_settings(cfg).splitlines() if "    # " in line}
    diff = cfg.diff()
    return pd.DataFrame({"this run": [repr(v) for _, v in diff.values()],
                         "paper": [repr(p) for p, _ in diff.values()],
                         "meaning": [meaning.get(k, "") for k in diff]}, index=pd.Index(list(diff), name="setting"))


def variant_table(cfg: TrainConfig) -> pd.DataFrame:
    """One row per Table II variant (with ``cfg``'s other settings): which parts of Algorithm 1 it runs."""
    rows = {}
    for v in VARIANTS:
        s = step_config(cfg.replace(variant=v))
        rows[VARIANT_NAMES[v]] = {"GAN (G_I, G_R, D_I, D_R)": s.use_gan, "joint D_I": s.use_gan and s.joint_disc,
                                  "Eq. 12 (backbone GAN)": s.use_gan and s.joint_disc,
                                  "Eq. 15 (cross-domain TS)": s.use_gan and s.ts.use_cross_domain,
                                  "Eq. 13-14 (same-domain TS)": s.ts.use_same_domain,
                                  "needs the teacher": needs_teacher(cfg.replace(variant=v))}
    return pd.DataFrame(rows).T


def weights_table(cfg: TrainConfig, paper: TrainConfig | None = None) -> pd.DataFrame:
    """The loss weights and margins of Eq. 7-16: this run's beside the paper's (``paper``: its defaults)."""
    mine, theirs = cfg.flat(), (paper or resolve_config()).flat()
    return pd.DataFrame({"this run": [mine[k] for k in WEIGHTS.values()],
                         "paper": [theirs[k] for k in WEIGHTS.values()]}, index=list(WEIGHTS))


def log_without_settings(message: str) -> None:
    """``train``'s ``log``: print every message except the settings block (the notebook's table lists them)."""
    if not message.startswith("settings that differ"):
        print(message)


# --- the teacher -------------------------------------------------------------------------------------------------

def teacher_table(quality: Mapping[str, float], chance_ir: Mapping[str, float],
                  paper_ir: Mapping[str, float] = PAPER_TEACHER_IR) -> pd.DataFrame:
    """The teacher's IR→IR Rank-1, Rank-10 and mAP beside chance and the paper's teacher (percent, 1 decimal)."""
    return pd.DataFrame({"this run's teacher": [quality["ir_R1"], quality["ir_R10"], quality["ir_mAP"]],
                         "chance (random ranking)": [chance_ir["R1"], chance_ir["R10"], chance_ir["mAP"]],
                         "paper, Table III (ResNet-50, SYSU-MM01)": [paper_ir["R1"], paper_ir["R10"], paper_ir["mAP"]]},
                        index=["IR→IR R1", "IR→IR R10", "IR→IR mAP"]).round(1)


def teacher_text(info: Any, cfg: TrainConfig, chance_ir: Mapping[str, float], gallery_size: int, num_ids: int,
                 paper_ir: Mapping[str, float] = PAPER_TEACHER_IR) -> str:
    """The teacher's quality in a sentence: its IR→IR Rank-1 and mAP against chance and the paper's teacher
    ("close to" within 5 Rank-1 points, else "N points below"), and what it was trained as.

    ``info``: the ``RunInfo`` (``teacher_quality``, ``teacher_source``, ``teacher_seconds``); ``gallery_size``:
    the IR gallery's images; ``num_ids``: the training identities."""
    q = info.teacher_quality
    pretrain = q.get("pretrain_seconds")
    gap_r1 = paper_ir["R1"] - q["ir_R1"]
    epochs = cfg.teacher.schedule.epochs
    verdict = ("close to the paper's teacher: a strong target" if gap_r1 < 5 else
               f"{gap_r1:.0f} points below the paper's teacher: a much weaker target")
    timing = (f", in {pretrain:.0f} s" if pretrain and info.teacher_seconds
              else f"; its pretraining took {pretrain:.0f} s" if pretrain else "")
    start = "starting from ImageNet weights" if cfg.model.pretrained else "trained from scratch"
    return (f"The teacher ({info.teacher_source}{timing}) finds the right person first for **{q['ir_R1']:.1f} %** "
            f"of the IR queries among {gallery_size} IR gallery images (mAP **{q['ir_mAP']:.1f} %**), "
            f"{q['ir_R1'] / chance_ir['R1']:.1f}× the chance Rank-1 of {chance_ir['R1']:.1f} %; the paper's "
            f"teacher: {paper_ir['R1']} / {paper_ir['mAP']} %. That is {verdict}, from a ResNet-{cfg.model.depth} "
            f"{start} for {_plural(epochs, 'epoch')} on {num_ids} identities. Its maps carry that much identity "
            "information, and that is what L_TS (Eq. 13-16) and the joint D_I's real pairs hand on to the student.")


# --- what the run did --------------------------------------------------------------------------------------------

def resumed_text(info: Any) -> str:
    """Whether the run continued a checkpoint: no; already finished; or from which step (epoch, step in it)."""
    steps_per_epoch = info.global_step // max(info.epochs_done, 1)
    if info.resumed_from_step is None:
        return "no: trained from the start in this session"
    if info.resumed_from_step >= info.global_step:
        return (f"already finished: loaded the checkpoint of its {_plural(info.epochs_done, 'epoch')} "
                f"({info.global_step} steps); nothing left to train")
    e, s = divmod(info.resumed_from_step, steps_per_epoch)
    return (f"yes: continued from step {info.resumed_from_step} (epoch {e + 1}, after {s} of its "
            f"{steps_per_epoch} steps)" if s else f"yes: continued after epoch {e} (step {info.resumed_from_step})")


def run_facts(info: Any, cfg: TrainConfig, wall: float) -> pd.DataFrame:
    """The facts of a run from its ``RunInfo`` (device, steps, times, speed, memory, resuming) as a ``value``
    column of strings; ``wall``: the seconds the training cell took."""
    steps_per_epoch = info.global_step // max(info.epochs_done, 1)
    loaded = " (loaded, not trained)" if needs_teacher(cfg) and info.teacher_seconds == 0 else ""
    facts = {"device": f"{info.device}" + (f" × {info.world_size} processes" if info.world_size > 1 else ""),
             "mixed precision": info.amp, "epochs": info.epochs_done,
             "steps": f"{info.global_step} ({steps_per_epoch} per epoch of {2 * cfg.data.P * cfg.data.K} images)",
             "teacher": info.teacher_source, "teacher phase": f"{info.teacher_seconds:.0f} s{loaded}",
             "Algorithm 1 time": f"{info.train_seconds:.0f} s ({info.train_seconds / 60:.1f} min)",
             "images / s": f"{info.images_per_second:.1f}", "peak memory": f"{info.peak_memory_mb:.0f} MB",
             "skipped steps (non-finite)": info.skipped_steps, "resumed": resumed_text(info),
             "this cell's wall time": f"{wall:.0f} s"}
    return pd.DataFrame({"value": [str(v) for v in facts.values()]}, index=list(facts))


# --- what the losses did -----------------------------------------------------------------------------------------

def moves(summary: pd.DataFrame, term: str, digits: int = 2) -> str:
    """How ``term`` moved between ``summary``'s ``start`` and ``end`` (``loss_summary``): falls, rises (by
    more than 5 %) or stays near."""
    a, b = summary.loc[term, "start"], summary.loc[term, "end"]
    if b < 0.95 * a:
        return f"falls from {a:.{digits}f} to {b:.{digits}f}"
    if b > 1.05 * a:
        return f"rises from {a:.{digits}f} to {b:.{digits}f}"
    return f"stays near {b:.{digits}f} (from {a:.{digits}f})"


def _reid_paragraph(summary: pd.DataFrame, cfg: TrainConfig, num_classes: int) -> str:
    end = summary["end"]
    uniform_id = cfg.reid.lambda_id * np.log(num_classes)
    text = (f"**Backbone, ReID terms.** The weighted ID loss {moves(summary, 'reid_id')}; λ1·ln N = {uniform_id:.2f} "
            f"is a uniform guess over the N = {num_classes} training identities, so the classifier ends "
            + ("well below guessing" if end["reid_id"] < 0.7 * uniform_id else "below guessing"
               if end["reid_id"] < 0.95 * uniform_id else "about at guessing")
            + f". The triplet loss {moves(summary, 'reid_tri')}, against a margin m = {cfg.reid.margin}: "
            + ("still above m, so in a typical batch the hardest negative is still closer to its anchor than the "
               "hardest positive." if end["reid_tri"] > cfg.reid.margin else
               "below m, so in most batches the hardest positive is already closer than the hardest negative."))
    if "reid_gan" in end:
        p_m = np.exp(-end["reid_gan"] / cfg.reid.lambda_gan)
        text += (f" The backbone's GAN term (Eq. 12) ends at {end['reid_gan']:.3f} = λ3·(−log D_I(M)): D_I gives "
                 f"the student's current pairs in M a probability of about {p_m:.2f} of being real, so the student "
                 + ("does not fool D_I." if p_m < 0.25 else "partly fools D_I." if p_m < 0.5 else "fools D_I."))
    return text


def _ts_paragraph(summary: pd.DataFrame, cfg: TrainConfig, ts_cols: Sequence[str]) -> str:
    start, end = summary["start"], summary["end"]
    ts_end = end[list(ts_cols)].sum()
    orders = np.log10(end["reid_id"] / ts_end)
    fell = [c for c in ts_cols if end[c] < 0.95 * start[c]]
    return (f"**Backbone, TS terms.** At α_c = {cfg.ts.alpha_c} and α_s = {cfg.ts.alpha_s} the weighted TS terms "
            f"sum to {ts_end:.4f} at the end, {orders:.1f} orders of magnitude below the weighted ID loss "
            f"({end['reid_id']:.2f}): " + ("a gentle pull on FE_S, not a main objective. " if orders > 1.5 else
                                           "a pull comparable with the ReID terms. ")
            + "; ".join(f"`{c}` {moves(summary, c, 4)}" for c in ts_cols)
            + (": the student's maps moved toward the teacher's." if len(fell) == len(ts_cols) else
               ": not every map moved toward the teacher's; the ID and triplet losses reshape FE_S too."))


def _generator_paragraph(summary: pd.DataFrame) -> str:
    end = summary["end"]
    p_g = np.exp(-end["g_adv_ir"])
    ratio = end["g_cyc"] / end["g_adv_ir"]
    return (f"**Generators.** The cycle term ω·L_cyc {moves(summary, 'g_cyc')}; G_I's adversarial term (Eq. 1) "
            f"{moves(summary, 'g_adv_ir', 3)}, {ratio:.0f}× smaller than the cycle term at the end. "
            f"−log D_I = {end['g_adv_ir']:.3f} means D_I calls G_I's pairs real with probability about {p_g:.2f}; "
            + (f"the adversarial gradient, scaled by 1 − D_I ≈ {1 - p_g:.2f}, is weak, so G_I is shaped mostly by "
               "the cycle loss." if p_g > 0.9 and ratio > 10 else
               f"the adversarial term still pushes G_I (its gradient is scaled by 1 − D_I ≈ {1 - p_g:.2f}).")
            + (f" G_R's adversarial term against D_R {moves(summary, 'g_adv_rgb')}." if "g_adv_rgb" in end else ""))


def _discriminator_paragraph(summary: pd.DataFrame, cfg: TrainConfig) -> str:
    end = summary["end"]
    p_real, p_fake = np.exp(-end["d_ir_real"]), 1 - np.exp(-end["d_ir_fake"])
    joint_note = (" Both at once are possible because the joint D_I sees the feature map: real pairs and G_I's pairs "
                  "carry the teacher's map, the set M the student's. It tells them apart by the map rather than the "
                  "image, so D_I wins easily and teaches G_I little."
                  if step_config(cfg).joint_disc and "g_adv_ir" in end and np.exp(-end["g_adv_ir"]) > 0.9
                  and np.exp(-end["d_ir_fake"]) > 0.9 else "")
    return (f"**Discriminators.** D_I's real-pair term {moves(summary, 'd_ir_real', 3)} and its fake term "
            f"{moves(summary, 'd_ir_fake', 3)}: in its own step it calls real pairs real with probability about "
            f"{p_real:.2f} and the pairs of M together (the three parts of Eq. 5, mixed with the pool of past "
            f"fakes) real with about {p_fake:.2f}; the backbone's term above measures only the student's "
            "current pairs, so the two probabilities need not agree." + joint_note
            + (f" D_R's terms end at {end['d_rgb_real']:.2f} / {end['d_rgb_fake']:.2f} (real pairs called real "
               f"with about {np.exp(-end['d_rgb_real']):.2f}, fakes real with about "
               f"{1 - np.exp(-end['d_rgb_fake']):.2f}): with no feature map to lean on, it has to judge G_R's "
               "RGB images themselves." if "d_rgb_real" in end else ""))


def loss_story(summary: pd.DataFrame, cfg: TrainConfig, num_classes: int) -> str:
    """The paragraphs under the loss curves, one per part of the step that logged terms: the backbone's ReID
    terms (always), its TS terms, the generators and the discriminators; ``summary``: ``loss_summary``'s table
    (``start`` and ``end`` per term); ``num_classes``: the training identities."""
    text = [_reid_paragraph(summary, cfg, num_classes)]
    ts_cols = [c for c in summary.index if c.startswith("ts_")]
    if ts_cols:
        text.append(_ts_paragraph(summary, cfg, ts_cols))
    if "g_adv_ir" in summary.index:
        text.append(_generator_paragraph(summary))
    if "d_ir_real" in summary.index:
        text.append(_discriminator_paragraph(summary, cfg))
    return "\n\n".join(text)


# --- testing and the checks --------------------------------------------------------------------------------------

def results_header(results: Mapping[str, Any]) -> str:
    """The caption of the results table: data set, variant, epochs and gallery draws."""
    return (f"**{results['dataset']}**, {VARIANT_NAMES[results['variant']]}, {_plural(results['epochs'], 'epoch')}, "
            f"{results['trials']} gallery draws (percent; this run: mean ± std over the draws)")


def results_table(results: Mapping[str, Any]) -> pd.DataFrame:
    """Per setting: this run (mean ± std over the draws), the untrained backbone where tested, and chance."""
    rows = {}
    for k, m in results["metrics"].items():
        rows[f"{setting_label(k)} · this run"] = {n: f"{v:.1f} ± {results['metrics_std'][k][n]:.1f}"
                                                  for n, v in m.items()}
        if k in results["untrained"]:
            untrained = results["untrained"][k]
            rows[f"{setting_label(k)} · untrained backbone"] = {n: f"{v:.1f}" for n, v in untrained.items()}
        rows[f"{setting_label(k)} · chance"] = {n: f"{v:.1f}" for n, v in results["chance"][k].items()}
    return pd.DataFrame(rows).T


def results_text(results: Mapping[str, Any], key: str, synthetic: bool) -> str:
    """Setting ``key``'s Rank-1 and mAP against chance and the untrained backbone, the spread of the draws and
    the paper's numbers for scale (``synthetic``: the run is on the stand-in, so not comparable)."""
    m, c, u = results["metrics"][key], results["chance"][key], results["untrained"][key]
    return (f"In {setting_label(key)}, Rank-1 is **{m['R1']:.1f} %**, {m['R1'] / c['R1']:.1f}× chance "
            f"({c['R1']:.1f} %) and {m['R1'] - u['R1']:+.1f} points from the untrained backbone ({u['R1']:.1f} %); "
            f"mAP is **{m['mAP']:.1f} %** against {c['mAP']:.1f} % by chance and {u['mAP']:.1f} % untrained. Rank-1 "
            f"varies by {results['metrics_std'][key]['R1']:.1f} points (std) between the {results['trials']} gallery "
            "draws alone. For scale, the paper's full model reaches 49.8 / 47.4 on SYSU-MM01 (Table I); "
            + ("this run is on the synthetic stand-in, so the two are not comparable." if synthetic else
               "this run is on SYSU-MM01."))


def floor_lines(results: Mapping[str, Any], key: str, r1_floor_factor: float, map_floor: float) -> list[str]:
    """The two checks in words: Rank-1 against ``r1_floor_factor`` × chance (in points and in standard
    deviations of the draws), mAP against ``map_floor``."""
    m, c, u = results["metrics"][key], results["chance"][key], results["untrained"][key]
    r1, chance_r1 = m["R1"], c["R1"]
    floor_r1 = r1_floor_factor * chance_r1
    return [f"Rank-1 floor: {r1_floor_factor} × chance {chance_r1:.1f} % = **{floor_r1:.1f} %**; measured "
            f"**{r1:.1f} %** ({r1 / chance_r1:.2f}× chance, {r1 - floor_r1:+.1f} points from the floor, "
            f"{(r1 - floor_r1) / max(results['metrics_std'][key]['R1'], 1e-9):+.1f} standard deviations of the draws).",
            f"mAP floor: **{map_floor:.1f} %**; measured **{m['mAP']:.1f} %** ({m['mAP'] - map_floor:+.1f} points; "
            f"chance {c['mAP']:.1f} %, untrained {u['mAP']:.1f} %)."]


def inside(value: float, lo: float, hi: float) -> str:
    """``"within"`` [lo, hi], ``"above"`` or ``"below"`` it."""
    return "within" if lo <= value <= hi else "above" if value > hi else "below"


def committed_ablation(path: str | Path = ABLATION_FILE) -> pd.DataFrame | None:
    """The committed ablation's runs (one row per variant and seed), or ``None`` without the file."""
    return load_ablation(path) if resolve_path(path).is_file() else None


def committed_range_text(results: Mapping[str, Any], key: str, cfg: TrainConfig, ablation: pd.DataFrame) -> str:
    """Where the run's Rank-1 (× chance) and mAP lie against the committed ablation's seeds of its variant
    (within, above or below their range), and whether its preset trains the same settings as theirs;
    ``""`` when the ablation has no run of this variant."""
    seeds = ablation[ablation["variant"] == cfg.variant]
    if not len(seeds):
        return ""
    m, c = results["metrics"][key], results["chance"][key]
    differ = [k for k in cfg.diff(resolve_config(REFERENCE_PRESET)) if changes_what_is_trained(k)]
    ratio, maps = seeds["all_single.R1"] / seeds["chance_R1"], seeds["all_single.mAP"]
    where_r1 = inside(m["R1"] / c["R1"], ratio.min(), ratio.max())
    where_map = inside(m["mAP"], maps.min(), maps.max())
    return (f"For comparison, the committed ablation (`{ABLATION_FILE}`) trained `{REFERENCE_PRESET}` with the "
            f"same variant and seeds {', '.join(map(str, sorted(seeds['seed'])))}: Rank-1 {ratio.min():.1f}-"
            f"{ratio.max():.1f}× chance, mAP {maps.min():.1f}-{maps.max():.1f} %; "
            "this run lies " + (f"{where_r1} those ranges in both. " if where_r1 == where_map else
                                f"{where_r1} that range in Rank-1 and {where_map} it in mAP. ")
            + (f"Its preset differs from that one in {len(differ)} trained setting(s) ({', '.join(differ[:6])}"
               + (", ..." if len(differ) > 6 else "") + "), so the two need not agree." if differ else
               "Its preset trains the same settings." if where_r1 == where_map == "within" else
               "Its preset trains the same settings: a run outside the seeds' range means an unusual draw, or a "
               "stand-in or recipe that changed since those results were made (`make ablation` remakes them).")
            + " A seed does not fix a run exactly: float sums differ across CPUs, thread counts and GPUs, so the "
              "same seed on another machine is another draw from the seeds' distribution.")


def checks_text(results: Mapping[str, Any], key: str, cfg: TrainConfig, r1_floor_factor: float, map_floor: float,
                ablation: pd.DataFrame | None = None) -> str:
    """:func:`floor_lines`, then :func:`committed_range_text` where ``ablation`` has this variant, as paragraphs."""
    lines = floor_lines(results, key, r1_floor_factor, map_floor)
    seeds_text = committed_range_text(results, key, cfg, ablation) if ablation is not None else ""
    return "\n\n".join(lines + ([seeds_text] if seeds_text else []))


# --- the checkpoint and running it again -------------------------------------------------------------------------

def checkpoint_content(ckpt: Mapping[str, Any]) -> pd.DataFrame:
    """What each entry of a loaded ``checkpoint.pt`` holds, in words (a ``content`` column)."""
    def n_values(sd: Mapping[str, Any]) -> int:
        return sum(t.numel() for t in sd.values())

    content = {
        "student": (f"FE_S + LE_S + classifier: {len(ckpt['student'])} tensors, "
                    f"{n_values(ckpt['student']) / 1e6:.1f} M values"),
        "cyclegan": (f"G_I, G_R, D_I, D_R: {len(ckpt['cyclegan'])} tensors, "
                     f"{n_values(ckpt['cyclegan']) / 1e6:.2f} M values"
                     if ckpt.get("cyclegan") is not None else "— (no GAN in this variant)"),
        "optimizers": "Adam states of " + ", ".join({"b": "O_B", "g": "O_G", "d": "O_D"}[k]
                                                    for k in ckpt["optimizers"]),
        "scheduler": (f"O_B's lr schedule after {ckpt['scheduler']['last_epoch']} epoch(s), "
                      f"lr {ckpt['scheduler']['_last_lr']}"),
        "guard": "the non-finite guard's GradScaler states: " + ", ".join(ckpt["guard"]),
        "progress": ", ".join(f"{k} {v}" for k, v in ckpt["progress"].items() if k not in ("epoch_sums",)),
        "rng": f"{len(ckpt['rng'])} process(es): " + ", ".join(ckpt["rng"][0]) + " generator states",
        "meta": f"{len(ckpt['meta'])} settings that change what is trained (compared on resume)",
    }
    return pd.DataFrame({"content": content})


def checkpoint_files_text(checkpoint_bytes: int, backbone_bytes: int) -> str:
    """The sizes of ``checkpoint.pt`` and ``backbone.pt`` in MB."""
    return (f"`checkpoint.pt`: {checkpoint_bytes / 2**20:.0f} MB; "
            f"`backbone.pt` (what testing loads): {backbone_bytes / 2**20:.0f} MB.")


def rerun_commands(preset: str, overrides: Mapping[str, Any] | None, run_dir: str | Path) -> list[str]:
    """The commands that run this run again: papermill on the notebook, the command line, torchrun on 4 GPUs,
    and ``evaluate`` on the finished folder."""
    sets = dict(overrides or {})

    def plain(v: Any) -> str:
        return v if isinstance(v, str) else json.dumps(v).replace(" ", "")

    yaml_sets = ", ".join(f"{k}: {plain(v)}" for k, v in sets.items())
    cli_sets = " ".join(f"{k}={plain(v)}" for k, v in sets.items())
    set_flag = f" --set {cli_sets}" if sets else ""
    return [f"papermill notebooks/04_train.ipynb runs/{Path(run_dir).name}.ipynb -p preset {preset}"
            + (f" -y '{{overrides: {{{yaml_sets}}}}}'" if sets else ""),
            f"python -m tsgan_lib train -f {preset}{set_flag}",
            f"torchrun --nproc_per_node 4 -m tsgan_lib train -f {preset}{set_flag}",
            f"python -m tsgan_lib evaluate {run_dir}"]
