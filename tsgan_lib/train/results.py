"""Testing a trained run with the SYSU-MM01 protocol and writing ``results.json``.

:func:`evaluate_run` loads a run folder's ``backbone.pt`` (the student
alone: the GAN and the teacher play no part at test time), extracts the test
features (V, the GAP vector) and evaluates the protocol's settings over the
trials. ``results.json``::

    {"dataset": ..., "variant": ..., "metrics": {"all_single": {"R1", "R10", "R20", "mAP", "mINP"}, ...},
     "metrics_std": {...}, "chance_R1": ..., "chance": {"all_single": ...}, "untrained": {"all_single": {...}},
     "train_seconds": ..., "teacher_seconds": ..., "eval_seconds": ..., ...}

All metrics in percent, means (and standard deviations) over the trials.
``chance_R1`` is the all-search single-shot Rank-1 of a random ranking;
``untrained`` is the same backbone at its initialisation (before any
training), the floor a run must clear.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from tsgan_lib.data import load_dataset
from tsgan_lib.eval.driver import evaluate_sysu_model
from tsgan_lib.eval.metrics import chance_rank1
from tsgan_lib.eval.protocol import labels, sysu_query_gallery
from tsgan_lib.models import ReIDBackbone, build_backbone
from tsgan_lib.utils import resolve_device, resolve_path, seed_everything

from .checkpoint import load_backbone, write_text_atomic
from .config import TrainConfig, load_config

METRIC_NAMES = ("R1", "R10", "R20", "mAP", "mINP")
RESULTS_FILE = "results.json"
TRAIN_INFO_FILE = "train_info.json"


def setting_key(mode: str, shots: int, rerank: bool = False) -> str:
    """``("all", 1, False)`` -> ``"all_single"``; ``("indoor", 10, True)`` -> ``"indoor_multi_rerank"``."""
    return f"{mode}_{'single' if shots == 1 else 'multi'}" + ("_rerank" if rerank else "")


def metrics_by_setting(df: pd.DataFrame) -> tuple[dict, dict]:
    """Means and standard deviations over trials of the driver's DataFrame,
    keyed by :func:`setting_key`."""
    means, stds = {}, {}
    for (mode, shots, rr), g in df.groupby(["mode", "shots", "rerank"], sort=False):
        key = setting_key(mode, int(shots), bool(rr))
        means[key] = {m: round(float(g[m].mean()), 4) for m in METRIC_NAMES}
        stds[key] = {m: round(float(g[m].std(ddof=1)) if len(g) > 1 else 0.0, 4) for m in METRIC_NAMES}
    return means, stds


def chance_by_setting(test_records, modes, shots, trials: int, rand_perm=None) -> dict[str, float]:
    """Expected Rank-1 (percent) of a random ranking per setting, averaged over the trials."""
    out = {}
    for mode in modes:
        for s in shots:
            vals = []
            for t in range(trials):
                q, g = sysu_query_gallery(test_records, mode, s, t, rand_perm)
                (qp, qc), (gp, gc) = labels(q), labels(g)
                vals.append(chance_rank1(qp, gp, qc, gc))
            out[setting_key(mode, s)] = round(100.0 * float(np.mean(vals)), 4)
    return out


def evaluate_backbone(model: ReIDBackbone, dataset, cfg: TrainConfig, *, modes=None, shots=None, trials=None,
                      rerank=None, device: str | torch.device = "auto") -> pd.DataFrame:
    """The driver's per-trial DataFrame for ``model`` on ``dataset.test`` with
    ``cfg``'s image size and evaluation settings (each overridable)."""
    rr = cfg.eval_rerank if rerank is None else rerank
    return evaluate_sysu_model(
        model, dataset, height=cfg.height, width=cfg.width, batch_size=cfg.eval_batch_size, device=device,
        modes=tuple(modes or cfg.eval_modes), shots=tuple(shots or cfg.eval_shots),
        trials=range(cfg.eval_trials if trials is None else trials), rerank=(False, True) if rr else (False,),
        rand_perm=resolve_path(cfg.eval_rand_perm) if cfg.eval_rand_perm else None)


def dataset_label(cfg: TrainConfig, dataset) -> str:
    if cfg.data_root is None:
        return (f"synthetic SYSU-MM01 stand-in ({cfg.num_ids} ids, data_seed {cfg.data_seed}, "
                f"{dataset.num_train_ids} training ids)")
    return f"SYSU-MM01 ({resolve_path(cfg.data_root)})"


def untrained_backbone(cfg: TrainConfig, num_classes: int) -> ReIDBackbone:
    """The student as :func:`tsgan_lib.train.trainer.build_models` initialises it (same seed)."""
    seed_everything(cfg.seed)
    return build_backbone(num_classes, cfg.depth, cfg.pretrained)


def evaluate_run(run_dir: str | os.PathLike, *, device: str | torch.device = "auto", untrained: bool = True,
                 write: bool = True, dataset=None, **overrides: Any) -> tuple[dict, pd.DataFrame]:
    """Evaluate ``run_dir``'s ``backbone.pt`` with its configuration's
    protocol settings (``overrides``: ``modes``, ``shots``, ``trials``,
    ``rerank``). ``untrained``: also evaluate the initial backbone (all-search
    single-shot only). ``write``: save ``results.json`` in the run folder.
    Returns ``(results dict, the per-trial DataFrame)``."""
    run_dir = resolve_path(run_dir)
    cfg = load_config(run_dir / "config.json")
    device = resolve_device(device)
    t0 = time.perf_counter()
    dataset = dataset or load_dataset(cfg.data_root, num_ids=cfg.num_ids, seed=cfg.data_seed)
    model, info = load_backbone(run_dir, device)
    df = evaluate_backbone(model, dataset, cfg, device=device, **overrides)
    means, stds = metrics_by_setting(df)
    modes = sorted(set(df["mode"]), key=["all", "indoor"].index)
    shots = sorted(set(int(s) for s in df["shots"]))
    trials = int(df["trial"].nunique())
    rand_perm = resolve_path(cfg.eval_rand_perm) if cfg.eval_rand_perm else None
    chance = chance_by_setting(dataset.test, modes, shots, trials, rand_perm)
    results: dict[str, Any] = {
        "dataset": dataset_label(cfg, dataset), "variant": cfg.variant, "run_dir": str(run_dir),
        "epochs": info.get("epochs"), "trials": trials, "metrics": means, "metrics_std": stds,
        "chance_R1": chance.get("all_single", next(iter(chance.values()))), "chance": chance,
    }
    if untrained:
        init = untrained_backbone(cfg, dataset.num_train_ids)
        df0 = evaluate_backbone(init, dataset, cfg, modes=("all",), shots=(1,), rerank=False,
                                trials=trials, device=device)
        results["untrained"] = metrics_by_setting(df0)[0]
    results["eval_seconds"] = round(time.perf_counter() - t0, 2)
    info_file = run_dir / TRAIN_INFO_FILE
    if info_file.is_file():
        results.update({k: v for k, v in json.loads(info_file.read_text()).items() if k not in results})
    results["config"] = cfg.to_dict()
    if write:
        write_text_atomic(run_dir / RESULTS_FILE, json.dumps(results, indent=2) + "\n")
    return results, df


def write_train_info(info, path: str | os.PathLike) -> None:
    """The :class:`~tsgan_lib.train.trainer.RunInfo` of a run, as JSON (merged into results.json)."""
    d = dataclasses.asdict(info)
    d.pop("config", None)
    d = {k: (str(v) if isinstance(v, Path) else round(v, 3) if isinstance(v, float) else v) for k, v in d.items()}
    write_text_atomic(path, json.dumps(d, indent=2) + "\n")


def load_results(run_dir: str | os.PathLike) -> dict:
    path = resolve_path(run_dir) / RESULTS_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no {RESULTS_FILE} in {path.parent}: run the training (notebook 04) first")
    return json.loads(path.read_text())
