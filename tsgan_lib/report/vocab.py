"""One vocabulary for the library, the notebooks and the tables: variants, settings, metrics.

- Variants: the paper's Table II rows, as configuration names
  (:data:`tsgan_lib.train.steps.TABLE2_VARIANTS`) and as the paper prints them
  (the row labels of :data:`tsgan_lib.eval.tables.TABLE_II`).
- Settings: a SYSU-MM01 protocol setting is ``<mode>_<single|multi>[_rerank]``
  (``all_single``); a RegDB direction is ``visible->thermal`` or
  ``thermal->visible``, an LLCM one ``ir->visible`` or ``visible->ir`` (with
  ``_rerank``), the evaluation drivers' names.
- Metrics: the evaluation driver's columns, in percent.
"""

from __future__ import annotations

from tsgan_lib.eval.driver import METRICS, REGDB_DIRECTIONS
from tsgan_lib.eval.llcm import LLCM_DIRECTIONS
from tsgan_lib.eval.tables import TABLE_II, markdown_table  # noqa: F401 (the one Markdown writer)
from tsgan_lib.train.steps import BASELINE_VARIANTS, TABLE2_VARIANTS

VARIANTS = TABLE2_VARIANTS
#: "backbone" -> "Backbone", ..., "jd_all_ts" -> "TS-GAN_JD^allTS" (the paper's labels); the field's baselines
VARIANT_NAMES = {**dict(zip(TABLE2_VARIANTS, TABLE_II)), **dict(zip(BASELINE_VARIANTS, ("AGW", "CAJ")))}
METRIC_NAMES = METRICS


def setting_key(mode: str, shots: int, rerank: bool = False) -> str:
    """``("all", 1, False)`` -> ``"all_single"``; ``("indoor", 10, True)`` -> ``"indoor_multi_rerank"``."""
    return f"{mode}_{'single' if shots == 1 else 'multi'}" + ("_rerank" if rerank else "")


def setting_label(key: str) -> str:
    """``"all_single"`` -> ``"all-search, single-shot"``; RegDB keys -> ``"visible→thermal"``;
    LLCM keys -> ``"IR→visible"``."""
    rerank = key.endswith("_rerank")
    base = key.removesuffix("_rerank")
    if base in REGDB_DIRECTIONS:
        text = base.replace("->", "→")
    elif base in LLCM_DIRECTIONS:
        text = base.replace("ir", "IR").replace("->", "→")
    else:
        mode, shots = base.split("_")
        text = f"{'all-search' if mode == 'all' else 'indoor'}, {shots}-shot"
    return text + (", re-ranked" if rerank else "")
