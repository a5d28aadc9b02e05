"""The fit loop's default hooks: everything around the step that is not the step.

A :class:`Hook` (fast-reid's ``HookBase``) is called at fixed points of
:meth:`tsgan_lib.train.loop.FitLoop.fit`: ``before_fit``, ``before_epoch``,
``before_step``, ``after_step(info)``, ``on_log(record)`` (an interval's means
were computed: one host synchronisation), ``after_epoch(means)`` and
``after_fit`` (always, even when the fit raises). The loop builds its default
hooks itself (``FitLoop.build_hooks``); the ones here are:

- :class:`ProgressBar` -- a tqdm bar per epoch, the logged terms, images/s and
  the skipped steps beside it (rank 0);
- :class:`MetricsLog` -- the metrics log (``metrics.jsonl``): a "step" line per
  logging interval, an "epoch" line per epoch (rank 0); trimmed on resuming to
  the checkpoint's step. :func:`log_records` reads it back;
- :class:`NonFiniteReport` -- the non-finite guard's report: after
  ``max_nonfinite`` steps in a row whose updates the guard skipped, a
  checkpoint of the last good state and :class:`NonFiniteLossError` naming the
  loss terms (checked at logging steps);
- :class:`StopOnRequest` -- Ctrl-C or SIGTERM (:mod:`tsgan_lib.train.stop`):
  the step in flight finishes, a checkpoint is written, then
  :class:`~tsgan_lib.train.stop.Stopped`; several processes agree on the
  request at logging steps;
- :class:`Callback` -- a function added with ``FitLoop.add_callback`` (minGPT's
  ``add_callback``), for one event.

Resuming and checkpoints are hooks too (:mod:`tsgan_lib.train.checkpoint`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tsgan_lib.errors import DIVERGED, TsganUserError
from tsgan_lib.files import write_text_atomic

from .distributed import Dist, any_rank
from .stop import Stopped

EVENTS = ("before_fit", "before_epoch", "before_step", "after_step", "on_log", "after_epoch", "after_fit")


class NonFiniteLossError(FloatingPointError, TsganUserError):
    """The run stopped after too many steps in a row with non-finite losses or gradients."""

    exit_code = DIVERGED


class Hook:
    """Work done at fixed points of a fit (each method is a no-op here). ``loop`` is the
    :class:`~tsgan_lib.train.loop.FitLoop`."""

    def before_fit(self, loop) -> None: ...

    def before_epoch(self, loop) -> None: ...

    def before_step(self, loop) -> None: ...

    def after_step(self, loop, info: dict) -> None: ...

    def on_log(self, loop, record: dict) -> None: ...

    def after_epoch(self, loop, means: dict) -> None: ...

    def after_fit(self, loop) -> None: ...


class Callback(Hook):
    """A function for one event: ``fn(loop)``, ``fn(loop, info)``, ``fn(loop, record)`` or ``fn(loop, means)``."""

    def __init__(self, event: str, fn: Callable) -> None:
        if event not in EVENTS:
            raise ValueError(f"unknown loop event {event!r}: expected one of {', '.join(EVENTS)}")
        setattr(self, event, fn)


class ProgressBar(Hook):
    """One tqdm bar per epoch (rank 0, unless switched off): the step count, and at logging steps the
    terms in ``show`` (default: the step's first four), images/s and the steps skipped so far."""

    def __init__(self, show: tuple[str, ...] = (), enabled: bool = True) -> None:
        self.show, self.enabled, self.bar = show, enabled, None

    def before_epoch(self, loop) -> None:
        from tqdm import tqdm  # the text bar: a saved notebook (papermill) keeps its last state; a widget kept "0%"

        self.bar = tqdm(total=len(loop.batches), initial=loop.state.step_in_epoch, unit="step", leave=True,
                        desc=f"{loop.name} {loop.epoch + 1}/{loop.config.epochs}", disable=not self.enabled,
                        dynamic_ncols=True, mininterval=1.0)

    def after_step(self, loop, info: dict) -> None:
        self.bar.update(1)

    def on_log(self, loop, record: dict) -> None:
        if self.bar is None:
            return
        terms = [k for k in record if k not in STEP_FIELDS]
        shown = {k: f"{record[k]:.3g}" for k in (self.show or terms[:4]) if k in record}
        shown["img/s"] = f"{record['img_per_s']:.0f}"
        if loop.state.skipped:
            shown["skipped"] = str(loop.state.skipped)
        self.bar.set_postfix(shown, refresh=False)

    def after_epoch(self, loop, means: dict) -> None:
        self.after_fit(loop)

    def after_fit(self, loop) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


#: The fields of a "step" record that are not loss terms.
STEP_FIELDS = ("kind", "epoch", "step", "global_step", "lr", "img_per_s", "skipped", "nonfinite")


class MetricsLog(Hook):
    """The metrics log, one JSON line per record, written by rank 0: a "step" line per logging
    interval, an "epoch" line per epoch (the epoch's means, its steps, seconds and images/s), and
    whatever else the loop's :meth:`write` is given (the trainer's "probe" lines). Lines written
    after the checkpoint a run resumes from (and a line torn by a kill) are dropped on resuming."""

    def __init__(self, path: str | Path | None, dist: Dist = Dist()) -> None:
        self.path = Path(path) if path is not None else None
        self.dist = dist

    def write(self, record: dict) -> None:
        """Append one record (rank 0)."""
        if self.path is not None and self.dist.main:
            with open(self.path, "a") as f:
                f.write(json.dumps(record) + "\n")

    def before_fit(self, loop) -> None:
        if self.path is not None and self.dist.main and self.path.is_file():
            keep = [r for r in log_records(self.path) if r.get("global_step", 0) <= loop.state.global_step]
            write_text_atomic(self.path, "".join(json.dumps(r) + "\n" for r in keep))

    def on_log(self, loop, record: dict) -> None:
        self.write(record)

    def after_epoch(self, loop, means: dict) -> None:
        s = loop.state
        self.write({"kind": "epoch", "epoch": loop.epoch, "global_step": s.global_step, "lr": loop.current_lr(),
                    "steps": s.step_in_epoch, "seconds": s.epoch_seconds,
                    "img_per_s": s.step_in_epoch * loop.config.images_per_step / max(s.epoch_seconds, 1e-9), **means})


def log_records(path: str | Path) -> list[dict]:
    """The records of a metrics log; a line torn by a kill in mid-write is skipped."""
    records = []
    for line in Path(path).read_text().splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


class NonFiniteReport(Hook):
    """After ``max_nonfinite`` steps in a row whose updates the guard skipped: a checkpoint of the
    last good weights, then :class:`NonFiniteLossError` naming the non-finite terms."""

    def __init__(self, max_nonfinite: int) -> None:
        self.max_nonfinite = max_nonfinite

    def on_log(self, loop, record: dict) -> None:
        if loop.skipped_in_a_row < self.max_nonfinite:
            return
        loop.save_checkpoint()
        terms = ", ".join(record.get("nonfinite", {})) or "none, only gradients"
        raise NonFiniteLossError(
            f"{loop.name}: {loop.skipped_in_a_row} steps in a row had non-finite losses or gradients (at epoch "
            f"{loop.epoch + 1}, step {loop.state.step_in_epoch}; non-finite terms: {terms}). Their updates were "
            f"skipped, so {loop.config.checkpoint_path} holds the last good weights. Lower the learning rates, try "
            "run.amp=bf16 or off, or look at the data of these steps.")


class StopOnRequest(Hook):
    """A stop request (Ctrl-C, SIGTERM) ends the fit after the step in flight: the interval is
    logged, a checkpoint written, :class:`~tsgan_lib.train.stop.Stopped` raised. With several
    processes the ranks agree on it at logging steps, and stop there together."""

    def after_step(self, loop, info: dict) -> None:
        logged = "global_step" in info
        if logged:
            loop.stop.requested = any_rank(loop.stop.requested, loop.dist, loop.device)
        if not loop.stop.requested or (loop.dist.enabled and not logged):
            return
        loop.flush()
        loop.save_checkpoint()
        path = loop.config.checkpoint_path
        saved = f"checkpoint written ({path})" if path else "no checkpoint file was asked for"
        raise Stopped(f"in {loop.name} epoch {loop.epoch + 1}, step {loop.state.step_in_epoch}: {saved}",
                      loop.stop.signame)
