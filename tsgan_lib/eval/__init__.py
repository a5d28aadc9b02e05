"""Evaluation: the official SYSU-MM01 protocol, RegDB, LLCM, k-reciprocal
re-ranking, the paper's result tables and ranked-list figures.

Modules, in the order a test run uses them:

- :mod:`~tsgan_lib.eval.protocol` -- queries, galleries, the 10 trials
  (official ``rand_perm_cam.mat`` draws or seeded ones).
- :mod:`~tsgan_lib.eval.features` -- backbone features (no grad, batched,
  optional flip-averaging / L2) and Euclidean distances (float64 for
  evaluation, as the official code).
- :mod:`~tsgan_lib.eval.metrics` -- CMC / mAP / mINP, the location rule;
  :mod:`~tsgan_lib.eval.ranking` -- the stable order they read (NumPy keys,
  or ``torch.sort`` on the GPU for CUDA tensors).
- :mod:`~tsgan_lib.eval.reference` -- the same metrics as literal per-query
  loops, for reading and for the tests.
- :mod:`~tsgan_lib.eval.chance` -- what a random ranking scores.
- :mod:`~tsgan_lib.eval.rerank` -- k-reciprocal re-ranking.
- :mod:`~tsgan_lib.eval.driver` -- every SYSU-MM01 setting x trial, and
  RegDB's two directions, as a DataFrame.
- :mod:`~tsgan_lib.eval.llcm` -- LLCM's protocol: both directions, one
  gallery image per (identity, camera) in each of 10 draws, as a DataFrame.
- :mod:`~tsgan_lib.eval.single_modality` -- Table III's protocol:
  retrieval within one modality (the IR teacher's quality).
- :mod:`~tsgan_lib.eval.gap` -- the modality gap, measured: same- and
  different-identity distances within and across the modalities.
- :mod:`~tsgan_lib.eval.tables`, :mod:`~tsgan_lib.eval.figures` -- Tables
  I-III beside ours, Fig. 4.

Units: metric functions return fractions in [0, 1]; the driver's DataFrame
and the tables are in percent.
"""

from .chance import chance_levels
from .driver import (REGDB_DIRECTIONS, evaluate_features, evaluate_regdb_features, evaluate_regdb_model,
                     evaluate_sysu_features, evaluate_sysu_model, format_summary, summarize)
from .features import EVAL_DTYPE, euclidean_distance, extract_features
from .figures import plot_ranked_lists
from .llcm import LLCM_DIRECTIONS, evaluate_llcm_features, evaluate_llcm_model, llcm_query_gallery
from .metrics import SYSU_CAMERA_LOCATION, chance_rank1, evaluate_llcm, evaluate_regdb, evaluate_sysu, \
    llcm_same_camera_rule, rank_metrics, sysu_location_rule
from .protocol import load_rand_perm, protocol_summary, sysu_query_gallery
from .reference import (average_precision_reference, cmc_reference, evaluate_reference, inp_reference,
                        rank_list_reference)
from .rerank import k_reciprocal_rerank
from .tables import TABLE_I, TABLE_II, TABLE_III, compare_with_paper, paper_table

__all__ = [
    "evaluate_sysu", "evaluate_regdb", "k_reciprocal_rerank", "rank_metrics", "sysu_location_rule",
    "SYSU_CAMERA_LOCATION", "sysu_query_gallery", "load_rand_perm", "protocol_summary",
    "extract_features", "euclidean_distance", "EVAL_DTYPE", "evaluate_sysu_features", "evaluate_sysu_model",
    "evaluate_features", "evaluate_regdb_features", "evaluate_regdb_model", "REGDB_DIRECTIONS",
    "summarize", "format_summary", "TABLE_I", "TABLE_II", "TABLE_III",
    "paper_table", "compare_with_paper", "plot_ranked_lists", "chance_rank1", "chance_levels",
    "rank_list_reference", "cmc_reference", "average_precision_reference", "inp_reference",
    "evaluate_reference", "evaluate_llcm", "llcm_same_camera_rule", "llcm_query_gallery", "LLCM_DIRECTIONS",
    "evaluate_llcm_features", "evaluate_llcm_model",
]
