"""Notebook 01's sentences and helpers: the IR teacher's pretraining and its single-modality test (Table III).

- :func:`teacher_curves` -- a pretraining history drawn as two panels: the
  losses of Eq. 9-11 and the ID accuracy on the batch.
- :func:`first_last` -- a history column's mean over the first and the last
  tenth of its steps (does the loss fall?).
- :func:`single_modality_levels` -- Table III's query and gallery of one modality
  and a random ranking's levels on them (notebook 04's teacher uses it too).
- :func:`single_modality_chance` -- Table III's query and gallery sizes and the
  chance levels of a random ranking, per direction (IR→IR, RGB→RGB).
- :func:`table3_ours` -- the rows of Table III that a run measured, in the
  shape :func:`tsgan_lib.eval.tables.compare_with_paper` takes.
- :func:`teacher_verdict` -- what the teacher's IR→IR Rank-1 means beside the
  paper's teacher, its training budget and the RGB baseline's result.
"""

from __future__ import annotations

from typing import Mapping

import pandas as pd

from ..eval.chance import chance_levels
from ..eval.single_modality import table3_query_gallery
from ..eval.tables import TABLE_III
from .curves import Panel, training_curves

DIRECTIONS = (("IR→IR", "ir"), ("RGB→RGB", "rgb"))


def teacher_curves(hist: pd.DataFrame, name: str):
    """The pretraining ``hist`` (one row per step: ``id``, ``tri``, ``total``, ``acc``) as two panels; the Figure."""
    return training_curves(hist, [Panel(f"{name}: losses (Eq. 9-11)", ["id", "tri", "total"], "loss"),
                                  Panel(f"{name}: ID accuracy on the batch", ["acc"], "accuracy", ylim=(0, 1.05))])


def first_last(hist: pd.DataFrame, col: str = "total") -> tuple[float, float]:
    """The mean of ``hist[col]`` over the first and over the last tenth of the rows (at least one row each)."""
    tenth = max(len(hist) // 10, 1)
    return float(hist[col].iloc[:tenth].mean()), float(hist[col].iloc[-tenth:].mean())


def single_modality_levels(test_records, modality: str) -> tuple[list, list, dict[str, float]]:
    """Table III's query and gallery of one ``modality`` and what a random ranking scores on them
    (each metric of :func:`~tsgan_lib.eval.chance.chance_levels`, in percent)."""
    query, gallery = table3_query_gallery(test_records, modality)
    levels = chance_levels([r.pid for r in query], [r.pid for r in gallery])
    return query, gallery, {k: 100 * v for k, v in levels.items() if k != "num_valid"}


def single_modality_chance(test_records) -> dict[str, dict[str, float]]:
    """Per direction of Table III: ``queries``, ``gallery`` and the ``chance R1`` / ``chance mAP`` in percent."""
    out = {}
    for name, modality in DIRECTIONS:
        query, gallery, levels = single_modality_levels(test_records, modality)
        out[name] = {"queries": len(query), "gallery": len(gallery), "chance R1": levels["R1"],
                     "chance mAP": levels["mAP"]}
    return out


def table3_ours(results: Mapping[str, Mapping[str, float]], *, synthetic: bool, depth: int,
                epochs: int) -> dict[str, dict]:
    """Our rows of Table III (``results``: direction -> ``R1``, ``R10``, ``mAP``, ...) named by data and budget."""
    src = "synthetic" if synthetic else "SYSU"
    return {f"Ours ({mod}, {src}, ResNet-{depth}, {epochs} ep.)":
            {"Trainset": f"{src}-{mod}", "Testset": f"{src}-{mod}", **{k: results[name][k] for k in ("R1", "R10", "mAP")}}
            for name, mod in (("IR→IR", "IR"), ("RGB→RGB", "RGB")) if name in results}


def teacher_verdict(results: Mapping[str, Mapping[str, float]], chance: Mapping[str, Mapping[str, float]], *,
                    n_test: int, depth: int, pretrained: bool, epochs: int, steps: int, seconds: float,
                    height: int, width: int, synthetic: bool) -> str:
    """What the teacher's IR→IR result means: beside chance and the paper's teacher (Table III), why it is
    weaker (the budget; the data, when the RGB baseline trained alike does much better) and what follows."""
    paper_r1, paper_map = TABLE_III["Baseline (IR)"][2], TABLE_III["Baseline (IR)"][4]
    paper_rgb = TABLE_III["Baseline (RGB)"][2]
    r1, mean_ap = results["IR→IR"]["R1"], results["IR→IR"]["mAP"]
    c_r1 = chance["IR→IR"]["chance R1"]
    if r1 >= 90:
        verdict = ("close to the paper's teacher: the argument that IR retrieval is easy enough to trust a teacher "
                   "holds here")
    elif r1 >= 0.5 * paper_r1:
        verdict = ("well above chance but clearly below the paper's near-perfect teacher: it knows a good deal about "
                   "IR identities, and also gets many of them wrong")
    else:
        verdict = "far from the paper's near-perfect teacher: it has learnt something about IR identities, not much more"
    budget = (f"One reason is the budget: this teacher is a ResNet-{depth} trained from "
              f"{'ImageNet' if pretrained else 'random'} weights for {epochs} epochs ({steps} steps, "
              f"{seconds / 60:.1f} CPU minutes) at {height}×{width}, the paper's an "
              "ImageNet-pretrained ResNet-50 trained for 120 epochs at 288×144 on a GPU.")
    data_note = ""
    if "RGB→RGB" in results:
        rgb_r1 = results["RGB→RGB"]["R1"]
        if rgb_r1 - r1 > 15:
            data_note = (f" The other is the data: the RGB baseline, trained with exactly the same budget, reaches "
                         f"**{rgb_r1:.1f}%** RGB→RGB, so on this {'stand-in' if synthetic else 'data'} IR "
                         "identities are much harder to tell apart than RGB ones (no colour; for the NIR stand-in "
                         "also dark, noisy backgrounds and the illuminator's fall-off, notebook 00), whereas the "
                         f"paper's two baselines on SYSU-MM01 are within about a point of each other ({paper_r1} and "
                         f"{paper_rgb}).")
        else:
            data_note = (f" The RGB baseline trained with the same budget reaches {rgb_r1:.1f}% RGB→RGB, so here IR "
                         f"identities are about as easy to tell apart as RGB ones, as in the paper ({paper_r1} and "
                         f"{paper_rgb}).")
    return (f"Our IR teacher finds the right person first for **{r1:.1f}%** of IR queries (mAP **{mean_ap:.1f}%**) "
            f"among {n_test} test identities: {r1 / c_r1:.0f}× the chance level of {c_r1:.1f}%, against "
            f"**{paper_r1}%** (mAP {paper_map}%) for the paper's teacher. It is {verdict}. {budget}{data_note} "
            "Notebooks 02-04 use this teacher to show how TS-GAN works; they cannot show how much a near-perfect "
            "teacher would help.")
