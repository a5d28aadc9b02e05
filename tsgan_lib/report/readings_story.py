"""Notebook 06's sentences around the readings table (:mod:`tsgan_lib.report.readings`), generated from the numbers.

- :func:`seed_counts` -- per reading, the fewest seeds any of its rows was trained with.
- :func:`seed_texts` -- how many runs, rows and seeds the readings table holds, and which
  readings stand on too few seeds to carry a claim.
- :func:`first_reading_note` -- the caveat under the verdict before, when the first reading has
  fewer than 5 seeds ("" otherwise).
- :func:`fmap_shares` -- each loss term's share of the gradient at f_map,S, in percent, from a probe.
- :func:`live_probe_text` -- the live probe of the TS losses' reduction (mean against sum), told.
- :func:`probe_text` -- what the probes of the default full model say about the mechanism.

Each takes plain inputs (numbers, dicts, DataFrames) and returns a string or a dict.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

#: The fewest seeds a reading needs before its row carries a claim.
MIN_SEEDS = 5


def seed_counts(df: pd.DataFrame) -> dict[str, int]:
    """Reading -> the fewest distinct seeds among its rows (one row per variant) of the readings records."""
    per_row = df.groupby(["variant", "reading"])["seed"].nunique()
    return {reading: int(per_row.xs(reading, level="reading").min()) for reading in per_row.index.unique("reading")}


def seed_texts(df: pd.DataFrame) -> list[str]:
    """The runs, rows and seeds of the readings records; then, if any, the readings with fewer than
    :data:`MIN_SEEDS` seeds (shown, but carrying no claim)."""
    seeds = sorted(df["seed"].unique())
    per_row = df.groupby(["variant", "reading"])["seed"].nunique()
    texts = [f"{len(df)} runs: {per_row.size} rows × seeds {', '.join(map(str, seeds))}."]
    few = {r: n for r, n in seed_counts(df).items() if n < MIN_SEEDS}
    if few:
        texts.append("Rows on fewer than 5 seeds are shown but carry no claim: "
                     + ", ".join(f"`{r}` ({n})" for r, n in few.items()) + ".")
    return texts


def first_reading_note(n_seeds: int) -> str:
    """Under the verdict before: a first reading on fewer than :data:`MIN_SEEDS` seeds is orientation, not a claim
    (the empty string when it has enough)."""
    if n_seeds >= MIN_SEEDS:
        return ""
    return (f"The first reading stands on {n_seeds} seeds here, so its line is "
            "orientation, not a claim; the committed Table II of the first reading (4 seeds: the full model "
            "2.7 Rank-1 points behind the backbone, 95 % CI [-5.1, -0.2]) is in the repository's history.")


def fmap_shares(values: Mapping[str, float]) -> dict[str, float]:
    """Term -> percent of the gradient norm at f_map,S, from a probe's ``grad_share.fmap.<term>`` values."""
    prefix = "grad_share.fmap."
    return {k.rsplit(".", 1)[-1]: 100 * v for k, v in values.items() if k.startswith(prefix)}


def live_probe_text(live: pd.DataFrame, elements: int) -> str:
    """Sentences on the live probe: ``live`` has the terms as rows (``ts`` among them) and the reductions ``mean``
    and ``sum`` as columns (percent of the gradient at f_map,S); ``elements`` is the size of one map."""
    return (f"One map holds {elements:,} elements here (256 channels × 4 × 2 at 64×32; 165,888 for ResNet-50 at "
            f"288×144). Averaged over them, the three TS terms carry **{live.loc['ts', 'mean']:.3f} %** of the "
            f"gradient at f_map,S; summed per image as the equations write, **{live.loc['ts', 'sum']:.1f} %**. With "
            "the mean, the teacher's pull is noise beside the ID loss: the teacher would not act at all.")


def probe_text(probe: Mapping[str, float], n_runs: int, chance: float) -> str:
    """What the default full model's probes say (``probe``: means over its ``n_runs`` runs of ``ts_share``,
    ``teacher_acc`` and ``d_rejects_g``, percent; ``chance``: the chance accuracy, percent)."""
    return (f"**What the probes of the default full model say** (means over its {n_runs} runs). The "
            f"teacher-student terms carry {probe['ts_share']:.1f} % of the gradient at the student's middle map, so "
            f"the teacher does act on the student. But the frozen IR teacher recognises only "
            f"{probe['teacher_acc']:.1f} % of the generated images X_I' as their source's person (chance "
            f"{chance:.1f} %; real IR images of training identities: above 90 %): X_I' carries almost no identity, so "
            "the cross-domain term (15) pulls the student's RGB maps toward the teacher's maps of images that show "
            f"nobody in particular. And D_I rejects {probe['d_rejects_g']:.0f} % of the generator's pairs (X_I', "
            "FE_T(X_I')): it tells the generator's pairs from real ones easily and gives G_I little to learn from. "
            "The method's middle link, identity-bearing fake IR images, is missing at this scale; "
            "`docs/results/study_generator.json` measures that a larger generator trained alone for 8 epochs does "
            "not supply it either.")
