"""Testing a trained run and writing ``results.json``.

:func:`evaluate_run` loads a run folder's ``backbone.pt`` (the student alone:
the GAN and the teacher play no part at test time), extracts the test
features (V, the GAP vector) and evaluates the dataset's protocol:

- SYSU-MM01: every mode x shots setting of ``cfg.eval`` over its trials
  (keys ``all_single``, ``indoor_single``, ... with ``_rerank`` when asked);
- RegDB: both directions, ``visible_to_thermal`` and ``thermal_to_visible``,
  on this run's trial (one model per trial; :func:`aggregate_trials` gives the
  mean ± std over trials that RegDB reports);
- LLCM: both directions, ``ir->visible`` and ``visible->ir`` (with ``_rerank``
  when asked), each over ``cfg.eval.trials`` gallery draws
  (:mod:`tsgan_lib.eval.llcm`).

``results.json``::

    {"dataset", "variant", "metrics": {setting: {"R1", "R10", "R20", "mAP", "mINP"}},
     "metrics_std": {...}, "chance": {setting: {"R1", ..., "mINP"}}, "chance_R1", "untrained": {setting: {...}},
     "teacher_quality": {...}, "train_seconds", "eval_seconds", ..., "config": {...}}

All metrics in percent, means (and standard deviations) over the gallery
draws. ``chance`` is what a random ranking scores (exact expectations);
``chance_R1`` its all-search (or first setting's) Rank-1; ``untrained`` is the same
backbone at its initialisation, the floor a trained run must clear.
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np
import pandas as pd
import torch

from tsgan_lib.data import ImageDataset, build_transform
from tsgan_lib.data.config import load_data
from tsgan_lib.eval.chance import chance_levels
from tsgan_lib.eval.driver import evaluate_regdb_model, evaluate_sysu_model
from tsgan_lib.eval.features import extract_features
from tsgan_lib.eval.llcm import LLCM_DIRECTIONS, evaluate_llcm_model, llcm_query_gallery
from tsgan_lib.eval.protocol import labels, sysu_query_gallery
from tsgan_lib.errors import MissingFileError
from tsgan_lib.files import RunFolder, load_backbone, read_json, write_json
from tsgan_lib.models import ReIDBackbone, build_backbone
from tsgan_lib.models.agw import build_agw_backbone
from tsgan_lib.train.config import TrainConfig, load_config
from tsgan_lib.utils import resolve_device, resolve_path, seed_everything

from .vocab import METRIC_NAMES, REGDB_DIRECTIONS, VARIANT_NAMES, setting_key

def metrics_by_setting(df: pd.DataFrame) -> tuple[dict, dict]:
    """Means and standard deviations over trials of a per-trial DataFrame, keyed by setting."""
    means, stds = {}, {}
    for key, g in df.groupby("setting", sort=False):
        means[key] = {m: round(float(g[m].mean()), 4) for m in METRIC_NAMES}
        stds[key] = {m: round(float(g[m].std(ddof=1)) if len(g) > 1 else 0.0, 4) for m in METRIC_NAMES}
    return means, stds


#: ``eval.feature`` -> the backbone's output it names: V before the BNNeck, or after it.
FEATURE_KEYS = {"pool": "feat", "bn": "bn_feat"}


def feature_options(cfg: TrainConfig) -> dict:
    """The feature extraction a run's test uses (``eval.feature``, ``eval.flip``, ``eval.normalize``)."""
    return {"feature_key": FEATURE_KEYS[cfg.eval.feature], "flip": cfg.eval.flip, "normalize": cfg.eval.normalize}


def _sysu_frame(model: ReIDBackbone, dataset, cfg: TrainConfig, device, *, modes, shots, trials, rerank) -> pd.DataFrame:
    df = evaluate_sysu_model(
        model, dataset, height=cfg.data.height, width=cfg.data.width, batch_size=cfg.eval.batch_size, device=device,
        modes=tuple(modes), shots=tuple(shots), trials=range(trials), rerank=(False, True) if rerank else (False,),
        rand_perm=resolve_path(cfg.eval.rand_perm) if cfg.eval.rand_perm else None, draw=cfg.eval.draw,
        **feature_options(cfg))
    df.insert(0, "setting", [setting_key(m, int(s), bool(r)) for m, s, r in zip(df["mode"], df["shots"], df["rerank"])])
    return df


def _regdb_frame(model: ReIDBackbone, dataset, cfg: TrainConfig, device, *, rerank) -> pd.DataFrame:
    df = evaluate_regdb_model(model, dataset, height=cfg.data.height, width=cfg.data.width,
                              batch_size=cfg.eval.batch_size, device=device, rerank=(False, True) if rerank else (False,),
                              trial=dataset.trial, **feature_options(cfg))
    df.insert(0, "setting", [d + ("_rerank" if r else "") for d, r in zip(df["direction"], df["rerank"])])
    return df


def _llcm_frame(model: ReIDBackbone, dataset, cfg: TrainConfig, device, *, directions, trials, rerank) -> pd.DataFrame:
    df = evaluate_llcm_model(model, dataset, height=cfg.data.height, width=cfg.data.width,
                             batch_size=cfg.eval.batch_size, device=device, directions=tuple(directions),
                             trials=range(trials), rerank=(False, True) if rerank else (False,),
                             **feature_options(cfg))
    df.insert(0, "setting", [d + ("_rerank" if r else "") for d, r in zip(df["direction"], df["rerank"])])
    return df


def evaluate_backbone(model: ReIDBackbone, dataset, cfg: TrainConfig, *, modes=None, shots=None, trials=None,
                      rerank=None, directions=None, device: str | torch.device = "auto") -> pd.DataFrame:
    """Per-trial results (one row per setting and gallery draw, column ``setting``)
    of ``model`` on ``dataset``'s test split with ``cfg``'s protocol settings (each overridable;
    ``directions``: LLCM's, default both)."""
    rerank = cfg.eval.rerank if rerank is None else rerank
    if cfg.data.dataset == "regdb":
        return _regdb_frame(model, dataset, cfg, device, rerank=rerank)
    if cfg.data.dataset == "llcm":
        return _llcm_frame(model, dataset, cfg, device, directions=directions or LLCM_DIRECTIONS,
                           trials=cfg.eval.trials if trials is None else trials, rerank=rerank)
    return _sysu_frame(model, dataset, cfg, device, modes=modes or cfg.eval.modes, shots=shots or cfg.eval.shots,
                       trials=cfg.eval.trials if trials is None else trials, rerank=rerank)


def chance_by_setting(cfg: TrainConfig, dataset, settings, trials: int) -> dict[str, dict[str, float]]:
    """What a random ranking scores (percent) per setting: R1, R10, R20, mAP, mINP
    (exact expectations, :func:`tsgan_lib.eval.chance.chance_levels`), averaged over the draws."""
    def pct(levels: dict) -> dict[str, float]:
        return {m: round(100.0 * float(levels[m]), 4) for m in METRIC_NAMES}

    if cfg.data.dataset == "regdb":
        vis, th = list(dataset.test_visible), list(dataset.test_thermal)
        return {key: pct(chance_levels([r.pid for r in q], [r.pid for r in g]))
                for key, (q, g) in zip(REGDB_DIRECTIONS, ((vis, th), (th, vis)))}
    rand_perm = resolve_path(cfg.eval.rand_perm) if cfg.eval.rand_perm else None
    out = {}
    for key in dict.fromkeys(k.removesuffix("_rerank") for k in settings):
        levels = []
        for t in range(trials):
            if cfg.data.dataset == "llcm":
                q, g = llcm_query_gallery(dataset, key, t)
            else:
                mode, shot = key.split("_")
                q, g = sysu_query_gallery(dataset.test, mode, 1 if shot == "single" else 10, t, rand_perm,
                                          draw=cfg.eval.draw)
            (qp, qc), (gp, gc) = labels(q), labels(g)
            levels.append(pct(chance_levels(qp, gp, qc, gc, rule="same_camera" if cfg.data.dataset == "llcm"
                                            else "location")))
        out[key] = {m: round(float(np.mean([lv[m] for lv in levels])), 4) for m in METRIC_NAMES}
    return out


def untrained_backbone(cfg: TrainConfig, num_classes: int) -> ReIDBackbone:
    """The student as the trainer initialises it (same seed)."""
    seed_everything(cfg.run.seed)
    build = build_agw_backbone if cfg.model.arch == "agw" else build_backbone
    return build(num_classes, cfg.model.depth, cfg.model.pretrained)


def dataset_label(cfg: TrainConfig, dataset) -> str:
    name = {"sysu": "SYSU-MM01", "regdb": "RegDB", "llcm": "LLCM"}[cfg.data.dataset]
    trial = f", trial {cfg.data.trial}" if cfg.data.dataset == "regdb" else ""
    if cfg.data.root is None:
        sensor = f", {cfg.data.synthetic.ir_sensor} IR cameras" if cfg.data.dataset == "sysu" else ""
        return f"synthetic {name} stand-in ({dataset.num_train_ids} training ids{sensor}{trial})"
    return f"{name} ({resolve_path(cfg.data.root)}{trial})"


def evaluate_run(run_dir: str | os.PathLike, *, device: str | torch.device = "auto", untrained: bool = True,
                 write: bool = True, dataset=None, **overrides: Any) -> tuple[dict, pd.DataFrame]:
    """Evaluate ``run_dir``'s ``backbone.pt`` with its configuration's protocol
    (``overrides``: ``modes``, ``shots``, ``trials``, ``rerank``). ``untrained``:
    also the initial backbone (first setting only). ``write``: save
    ``results.json`` in the run folder. Returns ``(results, per-trial DataFrame)``."""
    run_dir = resolve_path(run_dir)
    if not run_dir.is_dir():
        raise MissingFileError(f"no run folder {run_dir}: expected a folder written by `tsgan train` "
                               "(config.json, backbone.pt)")
    folder = RunFolder(run_dir)
    cfg = load_config(folder.config)
    cfg.replace(**{f"eval__{k}": v for k, v in overrides.items() if k in ("modes", "shots", "trials", "rerank")})
    device = resolve_device(device)
    t0 = time.perf_counter()
    dataset = dataset or load_data(cfg.data)
    model, record = load_backbone(run_dir, device)
    df = evaluate_backbone(model, dataset, cfg, device=device, **overrides)
    means, stds = metrics_by_setting(df)
    trials = 1 if cfg.data.dataset == "regdb" else int(df["trial"].nunique())  # RegDB: the run's one split
    chance = chance_by_setting(cfg, dataset, means, trials)
    first = next(iter(means))
    results: dict[str, Any] = {
        "dataset": dataset_label(cfg, dataset), "variant": cfg.variant, "run_dir": str(run_dir),
        "epochs": record.settings.get("epochs"), "trials": trials, "metrics": means, "metrics_std": stds,
        "chance": chance, "chance_R1": chance[first.removesuffix("_rerank")]["R1"],
    }
    if untrained:
        init = untrained_backbone(cfg, dataset.num_train_ids)
        kw = {"regdb": {}, "llcm": {"directions": (first.removesuffix("_rerank"),), "trials": trials}}.get(
            cfg.data.dataset, {"modes": (first.split("_")[0],), "shots": (1,), "trials": trials})
        df0 = evaluate_backbone(init, dataset, cfg, rerank=False, device=device, **kw)
        results["untrained"] = {k: v for k, v in metrics_by_setting(df0)[0].items() if k == first}
    results["eval_seconds"] = round(time.perf_counter() - t0, 2)
    if folder.train_info.is_file():
        results.update({k: v for k, v in read_json(folder.train_info).items() if k not in results})
    results["config"] = cfg.to_dict()
    if write:
        save_results(run_dir, results)
    return results, df


def save_results(run_dir: str | os.PathLike, results: dict) -> None:
    """Write ``results.json`` in the run folder (a :class:`~tsgan_lib.files.FileWriteError` names the file)."""
    write_json(RunFolder(resolve_path(run_dir)).results, results)


def load_results(run_dir: str | os.PathLike) -> dict:
    """A run's ``results.json`` (clear errors for a missing or invalid file)."""
    return read_json(RunFolder(resolve_path(run_dir)).results,
                     f"the {RunFolder.RESULTS} that evaluate_run writes (train and evaluate the run first)")


def aggregate_trials(results: list[dict]) -> dict:
    """RegDB's reported figure: mean ± std over the trials' runs, per setting and metric."""
    if not results:
        raise ValueError("no trial results to aggregate")
    keys = results[0]["metrics"]
    out = {"trials": [r.get("config", {}).get("data", {}).get("trial") for r in results], "metrics": {},
           "metrics_std": {}}
    for key in keys:
        for m in METRIC_NAMES:
            vals = [r["metrics"][key][m] for r in results]
            out["metrics"].setdefault(key, {})[m] = round(float(np.mean(vals)), 4)
            out["metrics_std"].setdefault(key, {})[m] = round(float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0, 4)
    return out





def load_run(run_dir: str | os.PathLike, device: str | torch.device = "auto") -> dict:
    """A trained run ready to study: ``{"dir", "cfg", "dataset", "test", "feats", "label"}``, its configuration,
    data, the test records and the backbone's features of every test image (extracted once, on ``device``)."""
    run_dir, device = resolve_path(run_dir), resolve_device(device)
    cfg = load_config(RunFolder(run_dir).config)
    dataset = load_data(cfg.data)
    model, record = load_backbone(run_dir, device)
    test = list(dataset.test)
    feats = extract_features(model, ImageDataset(test, build_transform(False, cfg.data.height, cfg.data.width)),
                             device=device)
    label = f"{run_dir.name} ({VARIANT_NAMES[cfg.variant]}, {record.settings.get('epochs')} epochs)"
    return {"dir": run_dir, "cfg": cfg, "dataset": dataset, "test": test, "feats": feats, "label": label}
