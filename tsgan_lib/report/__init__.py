"""Reporting: a run from start to results and RegDB's trials (:mod:`.runs`), a run's test
and ``results.json`` (:mod:`.results`), one run under every protocol choice
(:mod:`.choices`, ``tsgan evaluate --choices``), the training curves (:mod:`.curves`), the
ablation driver and its verdict (:mod:`.ablation`) and the readings (:mod:`.readings`),
the notebooks' figures by subject (:mod:`.diagram`, :mod:`.data_figures`, :mod:`.maps`,
:mod:`.distances`, :mod:`.rerank_figure`, :mod:`.mechanism`) and query explorer
(:mod:`.explorer`), searching your own images (:mod:`.search`), the comparison with AGW and
CAJ (:mod:`.comparison`), the sentences and tables each notebook states from its numbers
(:mod:`.data_story` 00, :mod:`.teacher_story` 01, :mod:`.gan_story` 02-03, :mod:`.train_story`
04, :mod:`.eval_story` 05, :mod:`.readings_story` 06), and the one vocabulary of variants,
settings and metrics (:mod:`.vocab`)."""

from .curves import loss_summary, plot_loss_curves, read_metrics
from .results import aggregate_trials, evaluate_run, load_results
from .vocab import METRIC_NAMES, VARIANT_NAMES, VARIANTS, setting_key, setting_label

__all__ = ["loss_summary", "plot_loss_curves", "read_metrics", "aggregate_trials", "evaluate_run", "load_results", "METRIC_NAMES",
           "VARIANT_NAMES", "VARIANTS", "setting_key", "setting_label"]
