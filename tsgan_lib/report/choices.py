"""One trained run under every protocol choice that moves published numbers (``tsgan evaluate RUN --choices``).

Cross-modality ReID papers report Rank-1 and mAP "on SYSU-MM01, all-search,
single-shot", yet their numbers rest on choices their papers rarely state
(docs/protocol.md): which gallery images each of the 10 draws takes (the
official ``rand_perm_cam.mat``, or ``random.seed(trial)`` + ``random.choice``
as AGW, CAJ and DEEN draw them), which feature is tested (V before the BNNeck,
the paper's, or the BN feature after it), whether features are L2-normalised
(the peers rank by cosine similarity), whether each image's feature is averaged
with its mirror's (CAJ, DEEN), and whether the ranking is re-ranked.
:func:`protocol_choices` evaluates one run under every combination, so a
number can be lined up with any paper's; the features are extracted once per
(feature, flip) and every other choice only changes the ranking.

Model selection is not among the choices: a run is tested at its last epoch.
"""

from __future__ import annotations

import itertools
import os

import pandas as pd
import torch

from tsgan_lib.data.config import load_data
from tsgan_lib.eval.driver import evaluate_regdb_features, evaluate_sysu_features
from tsgan_lib.eval.features import extract_features
from tsgan_lib.eval.llcm import evaluate_llcm_features
from tsgan_lib.files import RunFolder, load_backbone
from tsgan_lib.train.config import TrainConfig, load_config
from tsgan_lib.utils import resolve_device, resolve_path

from .results import FEATURE_KEYS

#: The protocol choices and their values; the first value of each is the paper's protocol.
CHOICES = {"draw": ("official", "peers"), "feature": ("pool", "bn"), "normalize": (False, True),
           "flip": (False, True), "rerank": (False, True)}
#: The setting each dataset's table reports.
REPORTED = {"sysu": "all-search, single-shot", "regdb": "visible->thermal", "llcm": "ir->visible"}


def _records(cfg: TrainConfig, dataset) -> list:
    if cfg.data.dataset == "regdb":
        return list(dataset.test_visible) + list(dataset.test_thermal)
    return list(dataset.test)


def _evaluate(cfg: TrainConfig, dataset, records: list, feats: torch.Tensor, draw: str, trials: int,
              device) -> pd.DataFrame:
    """Per-trial rows of the reported setting, without and with re-ranking."""
    if cfg.data.dataset == "regdb":
        n = len(dataset.test_visible)
        df = evaluate_regdb_features(dataset.test_visible, feats[:n], dataset.test_thermal, feats[n:],
                                     rerank=(False, True), trial=dataset.trial, device=device)
        return df[df["direction"] == "visible->thermal"]
    if cfg.data.dataset == "llcm":
        return evaluate_llcm_features(records, feats, directions=("ir->visible",), trials=range(trials),
                                      rerank=(False, True), device=device)
    rand_perm = resolve_path(cfg.eval.rand_perm) if cfg.eval.rand_perm else None
    return evaluate_sysu_features(records, feats, modes=("all",), shots=(1,), trials=range(trials),
                                  rerank=(False, True), rand_perm=rand_perm, draw=draw, device=device)


def protocol_choices(run_dir: str | os.PathLike, *, trials: int | None = None,
                     device: str | torch.device = "auto") -> pd.DataFrame:
    """One row per combination of :data:`CHOICES` (the draw only on SYSU-MM01): the
    reported setting's R1, mAP and mINP (means over the gallery draws), and R1 and
    mAP minus the paper's protocol (the first row)."""
    run_dir = resolve_path(run_dir)
    cfg = load_config(RunFolder(run_dir).config)
    device = resolve_device(device)
    dataset = load_data(cfg.data)
    model, _ = load_backbone(run_dir, device)
    records = _records(cfg, dataset)
    trials = cfg.eval.trials if trials is None else trials
    from tsgan_lib.data import ImageDataset, build_transform

    images = ImageDataset(records, build_transform(False, cfg.data.height, cfg.data.width))
    draws = CHOICES["draw"] if cfg.data.dataset == "sysu" else ("n/a",)
    rows = []
    for feature, flip in itertools.product(CHOICES["feature"], CHOICES["flip"]):
        feats = extract_features(model, images, batch_size=cfg.eval.batch_size, device=device, flip=flip,
                                 feature_key=FEATURE_KEYS[feature])
        for normalize, draw in itertools.product(CHOICES["normalize"], draws):
            f = torch.nn.functional.normalize(feats, dim=1) if normalize else feats
            df = _evaluate(cfg, dataset, records, f, draw, trials, device)
            for rerank, g in df.groupby("rerank", sort=True):
                rows.append({"draw": draw, "feature": feature, "normalize": normalize, "flip": flip,
                             "rerank": bool(rerank), "R1": g["R1"].mean(), "mAP": g["mAP"].mean(),
                             "mINP": g["mINP"].mean()})
    out = pd.DataFrame(rows)
    order = [c for c in CHOICES if c in out]
    out = out.sort_values(order, key=lambda col: col.map(lambda v: CHOICES[col.name].index(v)
                                                         if v in CHOICES[col.name] else 0)).reset_index(drop=True)
    paper = out.iloc[0]
    out["ΔR1"], out["ΔmAP"] = out["R1"] - paper["R1"], out["mAP"] - paper["mAP"]
    out.attrs.update(setting=REPORTED[cfg.data.dataset], trials=trials if cfg.data.dataset != "regdb" else 1,
                     dataset=cfg.data.dataset)
    return out


def format_choices(table: pd.DataFrame) -> str:
    """The table as plain text for the terminal, the paper's protocol first and marked."""
    lines = [f"{table.attrs.get('setting', '')}: one run under every protocol choice (percent; mean over "
             f"{table.attrs.get('trials', '?')} gallery draw(s); Δ against the paper's protocol, the first row)",
             f"  {'draw':<9} {'feature':<8} {'L2-norm':<8} {'flip':<6} {'rerank':<7} "
             f"{'R1':>6} {'mAP':>6} {'mINP':>6} {'ΔR1':>6} {'ΔmAP':>6}"]
    for i, r in table.iterrows():
        yes = lambda b: "yes" if b else "no"  # noqa: E731
        lines.append(f"{'*' if i == 0 else ' '} {r['draw']:<9} {r['feature']:<8} {yes(r['normalize']):<8} "
                     f"{yes(r['flip']):<6} {yes(r['rerank']):<7} {r['R1']:6.1f} {r['mAP']:6.1f} {r['mINP']:6.1f} "
                     f"{r['ΔR1']:+6.1f} {r['ΔmAP']:+6.1f}")
    lines.append("  * the paper's protocol (official draws, V before the BNNeck, Euclidean, no flip, no re-ranking)")
    return "\n".join(lines)
