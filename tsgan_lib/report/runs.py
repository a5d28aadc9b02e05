"""A run from start to results: training, its loss curves, its test; and RegDB's protocol of ten such runs.

- :func:`run` -- :func:`tsgan_lib.train.trainer.train`, then the loss-curve
  figure (``loss_curves.png``, :func:`save_loss_curves`) and the test
  (:func:`tsgan_lib.report.results.evaluate_run`: ``results.json``). What
  ``tsgan train`` and the ablation call.
- :func:`run_trials` -- RegDB: one :func:`run` per trial, each in its own run
  folder (``trial_<t>``), then the mean ± std over the trials
  (``results_trials.json``). The folder names are :class:`tsgan_lib.files.RunFolder`'s.

One stop request (:mod:`tsgan_lib.train.stop`) spans them: Ctrl-C or SIGTERM
between training and the test, or between two trials, stops there (what is
finished is kept; the same call resumes). With several processes only rank 0
draws, tests and writes.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from pathlib import Path

from tsgan_lib.data.regdb import TRIALS
from tsgan_lib.files import RunFolder, write_bytes_atomic, write_json
from tsgan_lib.train import distributed
from tsgan_lib.train.config import ConfigError, TrainConfig, resolve_config
from tsgan_lib.train.stop import StopRequest
from tsgan_lib.train.trainer import RunInfo, train

from .curves import plot_loss_curves
from .results import aggregate_trials, evaluate_run


def save_loss_curves(run_dir: str | Path, log: Callable[[str], None] = print) -> None:
    """Draw a run's loss curves (:func:`~tsgan_lib.report.curves.plot_loss_curves`) into its
    ``loss_curves.png``; a log with nothing to draw (zero epochs) is reported, not drawn."""
    import matplotlib.pyplot as plt

    folder = RunFolder(run_dir)
    try:
        fig = plot_loss_curves(folder.metrics)
    except ValueError as err:
        log(f"no loss curves: {err}")
        return
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    write_bytes_atomic(folder.curves, png.getvalue())


def run(cfg: TrainConfig, **eval_kwargs) -> tuple[RunInfo, dict]:
    """Train (or resume) ``cfg``'s run, draw its loss curves when it trained in this call, then
    test it (:func:`~tsgan_lib.report.results.evaluate_run`, ``eval_kwargs``; ``results.json``).
    Returns ``(RunInfo, results)`` (results ``{}`` on the ranks other than 0)."""
    dist = distributed.from_environment()
    with StopRequest() as stop:
        info = train(cfg)
        if dist.main and info.resumed_from_step != info.global_step:  # a finished run is left as it was
            save_loss_curves(cfg.run_dir)
        stop.check(f"after training, before the test ({RunFolder.BACKBONE} is saved)", dist, info.device)
        if not dist.main:
            return info, {}
        with stop.immediate("during the test (nothing is lost: it runs again)"):
            results, _ = evaluate_run(cfg.run_dir, device=cfg.run.device, **eval_kwargs)
    return info, results


def check_trials(trials: list[int], dataset: str) -> None:
    """Refuse trials outside RegDB's 1..10, given twice, none, or asked of another dataset."""
    if dataset != "regdb":
        raise ConfigError(f"trials {trials}: only RegDB has trials (data.dataset is {dataset!r}); "
                          "SYSU-MM01's test draws its galleries again instead (eval.trials)")
    outside, twice = [t for t in trials if t not in TRIALS], [t for t in trials if trials.count(t) > 1]
    if not trials or outside or twice:
        problem = ("no trial is given" if not trials else f"RegDB has no trial {outside[0]}" if outside
                   else f"trial {twice[0]} is given twice")
        raise ConfigError(f"trials {trials}: {problem}; expected trials among {TRIALS[0]}..{TRIALS[-1]} "
                          "(e.g. 1-10 or 1,3,5)")


def run_trials(preset: str | Path | None, overrides=(), trials: Iterable[int] = range(1, 11),
               log: Callable[[str], None] = print) -> dict:
    """RegDB's protocol: one model per trial (trained on that trial's training identities, tested on its test
    identities), each in ``<run.dir>/trial_<t>`` (resumable like any run), then the mean ± std over the trials
    (:func:`~tsgan_lib.report.results.aggregate_trials`), written to ``<run.dir>/results_trials.json`` on rank 0.
    ``preset`` and ``overrides`` as for :func:`tsgan_lib.train.config.resolve_config`. A stop request
    between two trials stops there (the finished trials are kept)."""
    base = resolve_config(preset, overrides)
    trials = list(trials)
    check_trials(trials, base.data.dataset)
    folder = RunFolder(base.run_dir)
    all_results, dist, device = [], distributed.from_environment(), "cpu"
    with StopRequest() as stop:
        for i, t in enumerate(trials):
            if i:
                stop.check(f"between RegDB trials {trials[i - 1]} and {t} (trial {trials[i - 1]} is tested)", dist,
                           device)
            cfg = base.replace(data__trial=t, run__dir=str(folder.trial(t).path))
            log(f"== RegDB trial {t}: {cfg.run_dir}")
            info, results = run(cfg)
            all_results.append(results)
            device = info.device
    if not dist.main:
        return {}
    summary = aggregate_trials(all_results)
    write_json(folder.trials_results, summary)
    return summary
