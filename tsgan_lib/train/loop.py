"""One fit loop for every training in the project: the IR teacher's pretraining, Algorithm 1, the notebooks' short runs.

A :class:`FitLoop` runs a step function ``step(batch) -> {name: 0-d tensor}``
over epochs of batches. :meth:`FitLoop.fit` reads as the loop it is: for each
epoch, for each step, the ``before_step`` hooks, the step, its bookkeeping,
the ``after_step`` hooks. Everything else hangs off it as hooks
(:mod:`tsgan_lib.train.hooks`, fast-reid's hooks and ``build_hooks``), built
in this order by :meth:`FitLoop.build_hooks`:

1. resuming (:class:`~tsgan_lib.train.checkpoint.Resume`): started again on
   the same checkpoint, the loop restores its components, RNG states,
   position and partial sums, and continues to the same weights an
   uninterrupted run reaches (bit for bit on the CPU);
2. the progress bar; 3. the metrics log (``metrics.jsonl``: a line per
   ``log_every`` steps and per epoch); 4. the non-finite guard's report (after
   ``max_nonfinite`` skipped steps in a row, a checkpoint and
   :class:`~tsgan_lib.train.hooks.NonFiniteLossError`);
5. the callbacks added with :meth:`FitLoop.add_callback` (minGPT's pattern:
   the trainer's scheduler step and probes, the models' train mode);
6. the stop request (Ctrl-C, SIGTERM: the step finishes, a checkpoint, then
   :class:`~tsgan_lib.train.stop.Stopped`); 7. checkpoints
   (:class:`~tsgan_lib.train.checkpoint.Checkpointer`: at every epoch end and
   every ``checkpoint_every`` steps).

The step's bookkeeping is the loop's own: the non-finite guard's verdict
(:mod:`tsgan_lib.train.guard`), the interval's sums kept on the device, and,
every ``log_every`` steps and at an epoch's end, one host synchronisation
that turns them into a "step" record for the ``on_log`` hooks. With several
processes (:mod:`tsgan_lib.train.distributed`) the records are averaged over
the ranks and only rank 0 writes. How the loop runs is a :class:`LoopConfig`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .checkpoint import Checkpointer, LoopState, Resume, save_checkpoint
from .distributed import Dist, all_mean
from .guard import NonFiniteGuard
from .hooks import Callback, Hook, MetricsLog, NonFiniteReport, ProgressBar, StopOnRequest
from .stop import StopRequest


@dataclass
class LoopConfig:
    """How a fit loop runs (what it trains is its step's business); a path ``None`` writes no file."""

    epochs: int = 1
    images_per_step: int = 0          # images one step consumes over all processes (images/s in the log)
    log_every: int = 10               # steps per logging interval: one host synchronisation, one log line
    checkpoint_every: int = 0         # also checkpoint every N steps inside an epoch; 0 = at epoch ends only
    max_nonfinite: int = 20           # stop after this many steps in a row whose updates the guard skipped
    history: bool = False             # keep one record per step in FitLoop.history (short runs)
    progress: bool = True             # a progress bar per epoch (rank 0)
    show: tuple[str, ...] = ()        # the terms the bar shows; () = the step's first four
    checkpoint_path: str | Path | None = None  # resumed from when it exists, written at epoch ends
    metrics_path: str | Path | None = None     # the metrics log (metrics.jsonl)
    mismatch: str = "a run with other settings"  # what a checkpoint made with other ``meta`` holds
    restart_hint: str = "use another run folder, or start this one over"  # what to do about it

    def __post_init__(self) -> None:
        for name in ("checkpoint_path", "metrics_path"):
            if getattr(self, name) is not None:
                setattr(self, name, Path(getattr(self, name)))


class FitLoop:
    """Run ``step(batch) -> {name: 0-d tensor}`` over ``config.epochs`` epochs of ``batches``.

    ``batches``: iterable with ``set_epoch(epoch, start_step)`` and ``__len__``
    (steps per epoch), e.g. :class:`~tsgan_lib.data.batches.EpochBatches`.
    ``meta``: plain values saved with the checkpoint and compared on resume.
    ``guard``: the step's :class:`~tsgan_lib.train.guard.NonFiniteGuard`.
    ``lr``: the learning rate to log. Objects with ``state_dict`` join the
    checkpoint through :meth:`register`; functions join the loop through
    :meth:`add_callback`.
    """

    def __init__(self, name: str, step: Callable[[Any], Mapping[str, torch.Tensor]], batches, config: LoopConfig, *,
                 device: torch.device, meta: Mapping | None = None, guard: NonFiniteGuard | None = None,
                 lr: Callable[[], float] | None = None, dist: Dist = Dist(),
                 log: Callable[[str], None] = print) -> None:
        self.name, self.step_fn, self.batches, self.config = name, step, batches, config
        self.device, self.meta, self.guard, self.lr = device, dict(meta or {}), guard, lr
        self.dist, self.log = dist, log
        self.components: dict[str, Any] = {"guard": guard} if guard is not None else {}
        self.rank_components: dict[str, Any] = {}  # state that differs between DDP ranks (register_per_rank)
        self.callbacks: list[Hook] = []
        self.hooks: list[Hook] = []  # built when the fit starts (build_hooks)
        self.metrics = MetricsLog(config.metrics_path, dist)
        self.state = LoopState()
        self.history: list[dict] = []
        self.epoch = self.state.epoch
        self.skipped_in_a_row = 0  # steps in a row whose updates the guard skipped, as of the last log line
        self._window: dict[str, torch.Tensor] = {}
        self._bad: dict[str, torch.Tensor] = {}
        self._window_n = 0
        self._window_rows: list[torch.Tensor] = []
        self._consecutive = torch.zeros((), device=device)
        self._skipped_window = torch.zeros((), device=device)
        self._t_window = self._t_last = time.perf_counter()

    # ---- wiring -----------------------------------------------------------------------------------
    def register(self, **components: Any) -> FitLoop:
        """Objects with ``state_dict`` / ``load_state_dict`` saved in the checkpoint under their names."""
        self.components.update(components)
        return self

    def register_per_rank(self, **components: Any) -> FitLoop:
        """Like :meth:`register`, for state that differs between DDP ranks (each
        rank's history of fakes): every rank's state is gathered into the checkpoint
        and each rank gets its own back on resuming."""
        self.rank_components.update(components)
        return self

    def add_callback(self, event: str, fn: Callable) -> FitLoop:
        """Call ``fn`` at ``event`` (a :class:`~tsgan_lib.train.hooks.Hook` method's name), after
        the logging hooks and before the stop request and the checkpoint."""
        self.callbacks.append(Callback(event, fn))
        return self

    def build_hooks(self) -> list[Hook]:
        """The hooks in calling order (the module docstring's list)."""
        c = self.config
        return [Resume(), ProgressBar(c.show, c.progress and self.dist.main), self.metrics,
                NonFiniteReport(c.max_nonfinite), *self.callbacks, StopOnRequest(), Checkpointer(c.checkpoint_every)]

    def trigger(self, event: str, *args: Any) -> None:
        for hook in self.hooks:
            getattr(hook, event)(self, *args)

    # ---- the loop ---------------------------------------------------------------------------------
    def fit(self) -> LoopState:
        """Run (or resume) to ``config.epochs`` epochs; returns the final :class:`LoopState`."""
        self.hooks = self.build_hooks()
        with StopRequest() as self.stop:
            try:
                self.trigger("before_fit")                                # resume; trim the log to the checkpoint
                for epoch in range(self.state.epoch, self.config.epochs):
                    self.start_epoch(epoch)                               # the batches' position, the epoch's sums
                    self.trigger("before_epoch")                          # train mode, a progress bar
                    for batch in self.batches:
                        self.trigger("before_step")
                        info = self.end_step(self.step_fn(batch))         # the guard's verdict, sums, a log line
                        self.trigger("after_step", info)                  # bar, callbacks, stop request, checkpoint
                    self.trigger("after_epoch", self.epoch_means())       # epoch line, scheduler, checkpoint
                    self.state = self.state.next_epoch()
            finally:
                self.trigger("after_fit")
        return self.state

    # ---- a step's bookkeeping ---------------------------------------------------------------------
    def start_epoch(self, epoch: int) -> None:
        """Position the batches (a resumed epoch skips its done steps) and start the epoch's sums."""
        self.epoch = epoch
        if self.state.step_in_epoch == 0:
            self.state.epoch_sums, self.state.epoch_count, self.state.epoch_seconds = {}, 0, 0.0
        self.batches.set_epoch(epoch, self.state.step_in_epoch)
        self._t_window = self._t_last = time.perf_counter()

    def end_step(self, terms: Mapping[str, torch.Tensor]) -> dict:
        """After a step: the guard's verdict, the interval's sums, the position, the time; at a
        logging step (every ``log_every`` steps, and the epoch's last) the interval's record.
        Returns ``info`` for the ``after_step`` hooks: ``epoch``, ``step`` (and the record)."""
        skipped = None
        if self.guard is not None:
            skipped, _ = self.guard.skipped()
            self._skipped_window = self._skipped_window + skipped
            self._consecutive = (self._consecutive + 1) * skipped
        self._accumulate(terms, skipped)
        self.state.step_in_epoch += 1
        self.state.global_step += 1
        info: dict[str, Any] = {"epoch": self.epoch, "step": self.state.step_in_epoch}
        if self.state.global_step % self.config.log_every == 0 or self.state.step_in_epoch == len(self.batches):
            info.update(self.flush())
        now = time.perf_counter()
        self.state.seconds += now - self._t_last
        self.state.epoch_seconds += now - self._t_last
        self._t_last = now
        return info

    def _accumulate(self, terms: Mapping[str, torch.Tensor], skipped: torch.Tensor | None) -> None:
        """Add a step's terms to the interval's sums on the device; a step the
        guard skipped adds nothing but is remembered per term when non-finite."""
        for k, v in terms.items():
            v = v.detach().float()
            bad = (~torch.isfinite(v)).float()
            kept = v if skipped is None else torch.where(skipped > 0, torch.zeros_like(v), v)
            self._window[k] = self._window[k] + kept if k in self._window else kept
            self._bad[k] = self._bad[k] + bad if k in self._bad else bad
        self._window_n += 1
        if self.config.history:
            self._window_rows.append(torch.stack([v.detach().float() for v in terms.values()]))

    def flush(self) -> dict | None:
        """The interval's means in one host synchronisation (averaged over the ranks): a "step"
        record, handed to the ``on_log`` hooks; ``None`` when the interval is empty."""
        if self._window_n == 0:
            return None
        names = list(self._window)
        packed = all_mean(torch.stack([self._window[k] for k in names] + [self._bad[k] for k in names]
                                      + [self._skipped_window, self._consecutive]), self.dist)
        values = packed.tolist()
        n = len(names)
        sums, bad = values[:n], values[n:2 * n]
        skipped, self.skipped_in_a_row = int(round(values[-2])), int(round(values[-1]))
        n_ok = max(self._window_n - skipped, 1)
        lr = self.current_lr()
        rec = {"kind": "step", "epoch": self.epoch, "step": self.state.step_in_epoch,
               "global_step": self.state.global_step, "lr": lr,
               "img_per_s": self._window_n * self.config.images_per_step
               / max(time.perf_counter() - self._t_window, 1e-9), **{k: s / n_ok for k, s in zip(names, sums)}}
        if skipped:
            rec["skipped"] = skipped
            rec["nonfinite"] = {k: int(round(b)) for k, b in zip(names, bad) if b}
        if self.config.history:
            first = self.state.global_step - self._window_n
            for i, row in enumerate(torch.stack(self._window_rows).tolist()):
                self.history.append({"epoch": self.epoch, "step": first + i, **dict(zip(names, row)), "lr": lr})
        self.state.skipped += skipped
        for k, s in zip(names, sums):
            self.state.epoch_sums[k] = self.state.epoch_sums.get(k, 0.0) + s
        self.state.epoch_count += self._window_n - skipped
        self._window, self._bad, self._window_n, self._window_rows = {}, {}, 0, []
        self._skipped_window = torch.zeros((), device=self.device)
        self._t_window = time.perf_counter()
        self.trigger("on_log", rec)
        return rec

    def epoch_means(self) -> dict[str, float]:
        """The epoch's mean of each term (steps the guard skipped left out)."""
        n = max(self.state.epoch_count, 1)
        return {k: v / n for k, v in self.state.epoch_sums.items()}

    # ---- what hooks and callbacks use -------------------------------------------------------------
    def current_lr(self) -> float | None:
        return self.lr() if self.lr is not None else None

    def write(self, record: dict) -> None:
        """Append one record (a JSON line) to the metrics log (rank 0); callbacks
        log their own kinds of line with it (the trainer's probes)."""
        self.metrics.write(record)

    def save_checkpoint(self, state: LoopState | None = None) -> None:
        """Write the checkpoint at ``state`` (default: the current position); every rank calls it."""
        save_checkpoint(self, state)
