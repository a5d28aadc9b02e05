"""The mechanism probes of a run, drawn and told (:mod:`tsgan_lib.train.probes` measures them).

- :func:`read_probes` -- the ``"kind": "probe"`` lines of a run's metrics log.
- :func:`plot_mechanism` -- three panels over training: each backbone loss
  term's share of the gradient at f_map,S; whether X_I' carries identity (the
  frozen teacher's and the student's accuracy on X_I' beside real X_I and
  chance); what D_I gets right (real pairs, the parts of M, the generator's pair).
- :func:`mechanism_text` -- the sentences a notebook prints under the figure,
  generated from the numbers.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping

import pandas as pd

from .curves import read_metrics

TERM_LABELS = {"reid_id": "ID (Eq. 9)", "reid_tri": "triplet (Eq. 11)", "reid_gan": "GAN (Eq. 12)",
               "ts": "TS, all three (Eq. 13-15)"}
D_PARTS = {"real": "real pairs (X_I, FE_T(X_I))", "m_fake_ir_student_map": "M: (X_I', FE_S(X_I'))",
           "m_fake_ir_real_ir_map": "M: (X_I', FE_S(X_I))", "m_real_ir_student_map": "M: (X_I, FE_S(X_I))",
           "g_pair": "G_I's pair (X_I', FE_T(X_I'))", "fake_ir": "X_I' (ordinary D_I)"}


def read_probes(metrics: str | os.PathLike) -> pd.DataFrame:
    """The probe lines of a ``metrics.jsonl`` (or a run folder) as a DataFrame (empty without probes)."""
    return read_metrics(metrics, kind="probe")


def plot_mechanism(metrics: str | os.PathLike | pd.DataFrame, title: str | None = None):
    """The probes against the training step in three panels (two without the GAN). Returns the Figure."""
    import matplotlib.pyplot as plt

    df = metrics if isinstance(metrics, pd.DataFrame) else read_probes(metrics)
    if df.empty:
        raise ValueError("the run logged no probes (run.probes_per_epoch = 0?)")
    x = df["global_step"]
    has_gan = "fake_ir.teacher_acc" in df or "fake_ir.student_acc" in df
    fig, axes = plt.subplots(1, 3 if has_gan else 1, figsize=(15 if has_gan else 5.5, 3.6), squeeze=False)
    ax = axes[0, 0]
    for term, label in TERM_LABELS.items():
        col = f"grad_share.fmap.{term}"
        if col in df:
            ax.plot(x, 100 * df[col], marker="o", ms=3, label=label)
    ax.set_yscale("symlog", linthresh=1)
    ax.set_ylabel("share of the gradient norm at f_map,S (%)", fontsize=9)
    ax.set_title("Which loss moves the student's middle features", fontsize=10)
    if has_gan:
        ax = axes[0, 1]
        chance = 100 / math.exp(df["fake_ir.chance_ce"].iloc[0]) if "fake_ir.chance_ce" in df else None
        for col, label, style in (("fake_ir.teacher_acc_on_real_ir", "teacher on real X_I", "--"),
                                  ("fake_ir.teacher_acc", "teacher on X_I'", "-"),
                                  ("fake_ir.student_acc_on_real_ir", "student on real X_I", "--"),
                                  ("fake_ir.student_acc", "student on X_I'", "-")):
            if col in df:
                ax.plot(x, 100 * df[col], style, marker="o", ms=3, label=label)
        if chance is not None:
            ax.axhline(chance, color="r", ls=":", label="chance")
        ax.set_ylabel("identity accuracy, X_R's label (%)", fontsize=9)
        ax.set_title("Does X_I' = G_I(X_R) carry its person's identity?", fontsize=10)
        ax = axes[0, 2]
        for part, label in D_PARTS.items():
            col = f"d_ir_acc.{part}"
            if col in df:
                ax.plot(x, 100 * df[col], marker="o", ms=3, label=label)
        ax.set_ylim(-3, 103)
        ax.set_ylabel("D_I's patches judged right (%)", fontsize=9)
        ax.set_title("What the discriminator D_I tells apart", fontsize=10)
    for a in axes.flat:
        a.set_xlabel("training step", fontsize=9)
        a.grid(alpha=0.3)
        a.tick_params(labelsize=8)
        a.legend(fontsize=7.5)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def mechanism_text(summary: Mapping[str, float]) -> str:
    """Sentences about a run's probes (``train_info.json`` → ``mechanism`` → ``"run"``: means over its probes)."""
    s = summary
    out = []
    if "grad_share.fmap.reid_id" in s:
        ts = s.get("grad_share.fmap.ts")
        text = (f"Over the run, the ID loss carried {s['grad_share.fmap.reid_id']:.0%} of the gradient at the "
                f"student's middle map f_map,S and the triplet loss {s.get('grad_share.fmap.reid_tri', 0):.0%}")
        if ts is not None:
            text += (f"; the three teacher-student terms {ts:.1%}, "
                     + ("too little to move the features: the teacher does not act."
                        if ts < 0.01 else "enough to pull the features toward the teacher's."))
        else:
            text += "; this row has no teacher-student terms."
        out.append(text)
    if "fake_ir.teacher_acc" in s:
        chance = 1 / math.exp(s["fake_ir.chance_ce"]) if "fake_ir.chance_ce" in s else None
        acc, real = s["fake_ir.teacher_acc"], s.get("fake_ir.teacher_acc_on_real_ir", float("nan"))
        level = ("almost none" if chance is not None and acc < 5 * chance else
                 "some" if acc < 0.5 * real else "most")
        out.append(f"The frozen IR teacher recognised {acc:.0%} of the fake IR images X_I' as their source's person "
                   f"(real IR images of the same people: {real:.0%}"
                   + (f"; chance {chance:.1%}" if chance is not None else "") + f"): X_I' carries {level} of the "
                   "identity the teacher knows.")
    if "d_ir_acc.g_pair" in s:
        g = s["d_ir_acc.g_pair"]
        out.append(f"D_I rejected {g:.0%} of the generator's pairs (X_I', FE_T(X_I')) and accepted "
                   f"{s.get('d_ir_acc.real', float('nan')):.0%} of the real pairs"
                   + (": it wins against G_I, whose adversarial signal (Eq. 1) then fades." if g > 0.9 else "."))
    return " ".join(out)
