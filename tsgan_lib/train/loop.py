"""One fit loop for every training in the project: the IR teacher's pretraining and Algorithm 1.

A :class:`FitLoop` runs a step function over epochs of batches and owns
everything around it, so the callers read like their algorithms:

- **epochs and the sampler position**: ``batches.set_epoch(epoch, start_step)``;
- **checkpoints**, atomic (:func:`tsgan_lib.files.save_atomic`), at every epoch
  end, every ``checkpoint_every`` steps and on a stop request: the registered
  components' states (networks, optimisers, scheduler, guard), every RNG
  state, the position, the partial epoch sums and ``meta`` (the settings);
- **resuming**: started again with the same checkpoint path, the loop restores
  all of it and continues where it stopped, to the same weights an
  uninterrupted run reaches (bit for bit on the CPU); a checkpoint made with
  other ``meta`` is refused, naming the settings that differ;
- **the stop request** (:mod:`tsgan_lib.train.stop`, shared with the phases
  around the loop): Ctrl-C (SIGINT, Jupyter's interrupt) or SIGTERM finishes
  the step in flight, writes a checkpoint, then raises
  :class:`~tsgan_lib.train.stop.Stopped` (a ``KeyboardInterrupt``); a second
  one stops at once;
- **the metrics log** (``metrics.jsonl``: a line per ``log_every`` steps and
  per epoch) and the **progress bar**; loss values stay on the device and the
  host synchronises once per logging interval;
- **the non-finite guard** (:mod:`tsgan_lib.train.guard`): skipped steps are
  counted in the log and the bar, and after ``max_nonfinite`` in a row the
  run stops with a checkpoint of the last good state and a message naming
  the loss terms (checked at logging steps);
- **several processes** (DDP, :mod:`tsgan_lib.train.distributed`): only rank 0
  writes; the ranks agree on a stop request at logging steps.

Callbacks hang off the loop (minGPT's pattern): ``add_callback(event, fn)``
with events ``"epoch_start"`` (``fn(loop)``), ``"step_end"`` (``fn(loop,
info)``), ``"epoch_end"`` (``fn(loop, means)``, before the epoch's
checkpoint: the place for ``scheduler.step()``).
"""

from __future__ import annotations

import json
import random
import time
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tsgan_lib.errors import DIVERGED, TsganUserError
from tsgan_lib.files import RunMismatch, load_weights, save_atomic, write_text_atomic

from .distributed import Dist, all_mean, any_rank, gather
from .guard import NonFiniteGuard
from .stop import StopRequest, Stopped  # noqa: F401 (StopRequest: its historical home)


class NonFiniteLossError(FloatingPointError, TsganUserError):
    """The run stopped after too many steps in a row with non-finite losses or gradients."""

    exit_code = DIVERGED


def rng_state() -> dict[str, Any]:
    """The Python, NumPy and torch RNG states as weights-only-loadable values."""
    version, internal, gauss = random.getstate()
    np_name, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state()
    state = {
        "python": {"version": version, "internal": torch.tensor(internal, dtype=torch.int64), "gauss": gauss},
        "numpy": {"name": np_name, "keys": torch.from_numpy(np_keys.astype(np.int64)), "pos": int(np_pos),
                  "has_gauss": int(np_has_gauss), "gauss": float(np_gauss)},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` captured (CUDA states when both sides have CUDA)."""
    py = state["python"]
    random.setstate((py["version"], tuple(int(v) for v in py["internal"].tolist()), py["gauss"]))
    n = state["numpy"]
    np.random.set_state((n["name"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
    torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])


def describe_changes(differ: Mapping[str, tuple[Any, Any]]) -> str:
    """``{"lr": (0.001, 0.002)}`` -> ``"lr: 0.001 -> 0.002"``."""
    return ", ".join(f"{k}: {a!r} -> {b!r}" for k, (a, b) in differ.items())


@dataclass
class LoopState:
    """Where a fit is: finished epochs, steps of the current one, totals."""

    epoch: int = 0            # epochs finished
    step_in_epoch: int = 0    # steps of the current epoch done
    global_step: int = 0
    seconds: float = 0.0      # wall time inside the epochs (steps, data loading, logging), over all sessions
    skipped: int = 0          # steps whose update the non-finite guard skipped
    epoch_sums: dict = field(default_factory=dict)  # partial sums of the current epoch (resuming mid-epoch)
    epoch_count: int = 0
    epoch_seconds: float = 0.0
    resumed_from: int | None = None


class FitLoop:
    """Run ``step(batch) -> {name: 0-d tensor}`` over ``epochs`` epochs of ``batches``.

    ``batches``: iterable with ``set_epoch(epoch, start_step)`` and
    ``__len__`` (steps per epoch). ``images_per_step``: for images/s.
    ``checkpoint_path`` / ``metrics_path``: ``None`` = no file. ``meta``:
    plain values saved with the checkpoint and compared on resume.
    ``history=True`` keeps one record per step in :attr:`history` (the
    teacher's short runs); the metrics log holds one per interval either way.
    ``show``: the terms the progress bar shows (default: the first four).
    """

    def __init__(self, name: str, step: Callable[[Any], Mapping[str, torch.Tensor]], batches, *, epochs: int,
                 images_per_step: int, device: torch.device, checkpoint_path: str | Path | None = None,
                 metrics_path: str | Path | None = None, meta: Mapping | None = None, log_every: int = 10,
                 checkpoint_every: int = 0, progress: bool = True, guard: NonFiniteGuard | None = None,
                 max_nonfinite: int = 20, history: bool = False, lr: Callable[[], float] | None = None,
                 show: tuple[str, ...] = (), dist: Dist = Dist(), mismatch: str = "a run with other settings",
                 restart_hint: str = "use another run folder, or start this one over",
                 log: Callable[[str], None] = print) -> None:
        self.name, self.step_fn, self.batches, self.epochs = name, step, batches, epochs
        self.images_per_step, self.device, self.meta = images_per_step, device, dict(meta or {})
        self.checkpoint_path = Path(checkpoint_path) if checkpoint_path is not None else None
        self.metrics_path = Path(metrics_path) if metrics_path is not None else None
        self.log_every, self.checkpoint_every, self.progress = log_every, checkpoint_every, progress
        self.guard, self.max_nonfinite, self.keep_history, self.lr = guard, max_nonfinite, history, lr
        self.dist, self.mismatch, self.restart_hint, self.log = dist, mismatch, restart_hint, log
        self.show = show
        self.components: dict[str, Any] = {"guard": guard} if guard is not None else {}
        self.rank_components: dict[str, Any] = {}
        self.callbacks: dict[str, list[Callable]] = defaultdict(list)
        self.state = LoopState()
        self.history: list[dict] = []
        self._window: dict[str, torch.Tensor] = {}
        self._bad: dict[str, torch.Tensor] = {}
        self._window_n = 0
        self._window_rows: list[torch.Tensor] = []
        self._consecutive = torch.zeros((), device=device)
        self._skipped_window = torch.zeros((), device=device)

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
        if event not in ("epoch_start", "step_end", "epoch_end"):
            raise ValueError(f"unknown loop event {event!r}: expected epoch_start, step_end or epoch_end")
        self.callbacks[event].append(fn)
        return self

    def _trigger(self, event: str, *args: Any) -> None:
        for fn in self.callbacks[event]:
            fn(self, *args)

    # ---- checkpoints ------------------------------------------------------------------------------
    def save_checkpoint(self) -> None:
        """Write the checkpoint (rank 0; every rank's RNG state is gathered)."""
        rngs = gather(rng_state(), self.dist)
        per_rank = gather({name: obj.state_dict() for name, obj in self.rank_components.items()}, self.dist)
        if self.checkpoint_path is None or not self.dist.main:
            return
        state = asdict(self.state)
        state.pop("resumed_from")
        payload = {name: obj.state_dict() for name, obj in self.components.items()}
        payload.update(progress=state, rng=rngs, per_rank=per_rank, history=self.history, meta=self.meta)
        save_atomic(payload, self.checkpoint_path)

    def _resume(self) -> None:
        path = self.checkpoint_path
        if path is None or not path.exists():
            if self.metrics_path is not None and self.dist.main:
                _truncate_log(self.metrics_path, 0)  # lines of a session killed before its first checkpoint
            return
        ckpt = load_weights(path, self.device, remedy=f"Restore it from a copy, or delete it to start the {self.name} "
                            "training over from its first epoch (no older checkpoint is kept)")
        saved = ckpt.get("meta", {})
        differ = {k: (saved.get(k), v) for k, v in self.meta.items() if saved.get(k) != v}
        if differ:
            raise RunMismatch(f"{path} holds {self.mismatch} ({describe_changes(differ)}); resuming would mix "
                              f"two runs: {self.restart_hint}")
        for name, obj in self.components.items():
            if ckpt.get(name) is not None:
                obj.load_state_dict(ckpt[name])
        rngs = ckpt["rng"] if isinstance(ckpt["rng"], list) else [ckpt["rng"]]
        per_rank = ckpt.get("per_rank") or [{}]
        if len(rngs) == self.dist.world_size:
            set_rng_state(rngs[self.dist.rank])
        else:
            self.log(f"{path} was written by {len(rngs)} process(es), this job has {self.dist.world_size}: "
                     "the weights resume exactly, the random streams and the histories of fakes do not")
        mine = per_rank[self.dist.rank] if len(per_rank) == self.dist.world_size else {}
        for name, obj in self.rank_components.items():
            if mine.get(name) is not None:
                obj.load_state_dict(mine[name])
        self.history = list(ckpt.get("history", []))
        progress = dict(ckpt["progress"])
        self.state = LoopState(**{k: v for k, v in progress.items() if k in LoopState.__dataclass_fields__})
        self.state.resumed_from = self.state.global_step
        if self.metrics_path is not None and self.dist.main:
            _truncate_log(self.metrics_path, self.state.global_step)
        if self.state.epoch >= self.epochs:
            self.log(f"{self.name}: {path} holds a finished run ({self.state.epoch} epochs, {self.state.global_step} "
                     "steps): nothing to train")
        else:
            self.log(f"{self.name}: resuming from {path} after {self.state.global_step} steps (epoch "
                     f"{self.state.epoch + 1}, step {self.state.step_in_epoch} of {len(self.batches)})")

    # ---- logging ----------------------------------------------------------------------------------
    def write(self, record: dict) -> None:
        """Append one record (a JSON line) to the metrics log (rank 0); callbacks
        log their own kinds of line with it (the trainer's probes)."""
        if self.metrics_path is not None and self.dist.main:
            with open(self.metrics_path, "a") as f:
                f.write(json.dumps(record) + "\n")

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
        if self.keep_history:
            self._window_rows.append(torch.stack([v.detach().float() for v in terms.values()]))

    def _flush(self, epoch: int, t_window: float) -> dict | None:
        """One host synchronisation: the interval's means to the log (and the history)."""
        if self._window_n == 0:
            return None
        names = list(self._window)
        packed = all_mean(torch.stack([self._window[k] for k in names] + [self._bad[k] for k in names]
                                      + [self._skipped_window, self._consecutive]), self.dist)
        values = packed.tolist()
        n = len(names)
        sums, bad = values[:n], values[n:2 * n]
        skipped, consecutive = int(round(values[-2])), int(round(values[-1]))
        n_ok = max(self._window_n - skipped, 1)
        now = time.perf_counter()
        lr = self.lr() if self.lr is not None else None
        rec = {"kind": "step", "epoch": epoch, "step": self.state.step_in_epoch, "global_step": self.state.global_step,
               "lr": lr, "img_per_s": self._window_n * self.images_per_step / max(now - t_window, 1e-9),
               **{k: s / n_ok for k, s in zip(names, sums)}}
        if skipped:
            rec["skipped"] = skipped
            rec["nonfinite"] = {k: int(round(b)) for k, b in zip(names, bad) if b}
        if self.keep_history:
            first = self.state.global_step - self._window_n
            for i, row in enumerate(torch.stack(self._window_rows).tolist()):
                self.history.append({"epoch": epoch, "step": first + i, **dict(zip(names, row)), "lr": lr})
        self.state.skipped += skipped
        for k, s in zip(names, sums):
            self.state.epoch_sums[k] = self.state.epoch_sums.get(k, 0.0) + s
        self.state.epoch_count += self._window_n - skipped
        self.write(rec)
        self._window, self._bad, self._window_n, self._window_rows = {}, {}, 0, []
        self._skipped_window = torch.zeros((), device=self.device)
        if consecutive >= self.max_nonfinite:
            self.save_checkpoint()
            raise NonFiniteLossError(
                f"{self.name}: {consecutive} steps in a row had non-finite losses or gradients (at epoch {epoch + 1}, "
                f"step {self.state.step_in_epoch}; non-finite terms: {', '.join(k for k, b in zip(names, bad) if b) or 'none, only gradients'}). "
                f"Their updates were skipped, so {self.checkpoint_path} holds the last good weights. Lower the "
                "learning rates, try run.amp=bf16 or off, or look at the data of these steps.")
        return rec

    # ---- the loop ---------------------------------------------------------------------------------
    def fit(self) -> LoopState:
        """Run (or resume) to ``epochs`` epochs; returns the final :class:`LoopState`."""
        from tqdm.auto import tqdm

        self._resume()
        steps_per_epoch = len(self.batches)
        with StopRequest() as stop:
            for epoch in range(self.state.epoch, self.epochs):
                start = self.state.step_in_epoch
                if start == 0:
                    self.state.epoch_sums, self.state.epoch_count, self.state.epoch_seconds = {}, 0, 0.0
                self.batches.set_epoch(epoch, start)
                self._trigger("epoch_start")
                bar = tqdm(total=steps_per_epoch, initial=start, desc=f"{self.name} {epoch + 1}/{self.epochs}",
                           unit="step", disable=not (self.progress and self.dist.main), leave=True,
                           dynamic_ncols=True)
                t_window = t_last = time.perf_counter()
                try:
                    for batch in self.batches:
                        terms = self.step_fn(batch)
                        skipped = None
                        if self.guard is not None:
                            skipped, _ = self.guard.skipped()
                            self._skipped_window = self._skipped_window + skipped
                            self._consecutive = (self._consecutive + 1) * skipped
                        self._accumulate(terms, skipped)
                        self.state.step_in_epoch += 1
                        self.state.global_step += 1
                        bar.update(1)
                        info: dict[str, Any] = {"epoch": epoch, "step": self.state.step_in_epoch}
                        end_of_epoch = self.state.step_in_epoch == steps_per_epoch
                        if self.state.global_step % self.log_every == 0 or end_of_epoch:
                            rec = self._flush(epoch, t_window)
                            t_window = time.perf_counter()
                            info.update(rec)
                            shown = {k: f"{rec[k]:.3g}" for k in (self.show or list(terms)[:4]) if k in rec}
                            shown["img/s"] = f"{rec['img_per_s']:.0f}"
                            if self.state.skipped:
                                shown["skipped"] = str(self.state.skipped)
                            bar.set_postfix(shown, refresh=False)
                            if any_rank(stop.requested, self.dist, self.device):
                                stop.requested = True
                        now = time.perf_counter()
                        self.state.seconds += now - t_last
                        self.state.epoch_seconds += now - t_last
                        t_last = now
                        self._trigger("step_end", info)
                        if stop.requested and (not self.dist.enabled or "global_step" in info):
                            self._flush(epoch, t_window)
                            self.save_checkpoint()
                            saved = (f"checkpoint written ({self.checkpoint_path})" if self.checkpoint_path
                                     else "no checkpoint file was asked for")
                            raise Stopped(f"in {self.name} epoch {epoch + 1}, step {self.state.step_in_epoch}: {saved}",
                                          stop.signame)
                        if (self.checkpoint_every and self.state.global_step % self.checkpoint_every == 0
                                and not end_of_epoch):
                            self._flush(epoch, t_window)
                            t_window = time.perf_counter()
                            self.save_checkpoint()
                finally:
                    bar.close()
                n = max(self.state.epoch_count, 1)
                means = {k: v / n for k, v in self.state.epoch_sums.items()}
                lr = self.lr() if self.lr is not None else None
                self._trigger("epoch_end", means)
                steps = self.state.step_in_epoch
                record = {"kind": "epoch", "epoch": epoch, "global_step": self.state.global_step, "lr": lr,
                          "steps": steps, "seconds": self.state.epoch_seconds,
                          "img_per_s": steps * self.images_per_step / max(self.state.epoch_seconds, 1e-9), **means}
                self.write(record)
                self.state.epoch, self.state.step_in_epoch = epoch + 1, 0
                self.state.epoch_sums, self.state.epoch_count, self.state.epoch_seconds = {}, 0, 0.0
                self.save_checkpoint()
        return self.state


def log_records(path: Path) -> list[dict]:
    """The records of a metrics log; a line torn by a kill in mid-write is skipped."""
    records = []
    for line in path.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


def _truncate_log(path: Path, global_step: int) -> None:
    """Drop log lines written after the checkpoint a run resumes from (and a torn one)."""
    if not path.is_file():
        return
    keep = [r for r in log_records(path) if r.get("global_step", 0) <= global_step]
    write_text_atomic(path, "".join(json.dumps(r) + "\n" for r in keep))

