"""A fit's checkpoint: written at every epoch end (and every ``checkpoint_every`` steps), read back to resume exactly.

The checkpoint (:func:`save_checkpoint`, atomic through
:func:`tsgan_lib.files.save_atomic`, rank 0) holds the loop's registered
components (networks, optimisers, scheduler, guard: each its
``state_dict``), the position and the partial epoch sums (``progress``), every
process's RNG states (``rng``) and every process's own components
(``per_rank``, registered with ``FitLoop.register_per_rank``: each DDP rank's
history of fakes, its sample pools), the per-step history of short runs and
``meta``: the settings that decide what is trained.

:func:`resume` restores all of it, so a fit started again on the same file
continues to the same weights an uninterrupted one reaches (bit for bit on
the CPU); a checkpoint made with other ``meta`` is refused, naming each
setting that differs. Two hooks of the fit loop use them: :class:`Resume`
(before the fit) and :class:`Checkpointer` (at epoch ends and every
``checkpoint_every`` steps).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import torch

from tsgan_lib.files import RunMismatch, load_weights, save_atomic

from .distributed import gather
from .hooks import Hook


@dataclass
class LoopState:
    """Where a fit is (the checkpoint's ``progress``): finished epochs, steps of the current one, totals."""

    epoch: int = 0            # epochs finished
    step_in_epoch: int = 0    # steps of the current epoch done
    global_step: int = 0
    seconds: float = 0.0      # wall time inside the epochs (steps, data loading, logging), over all sessions
    skipped: int = 0          # steps whose update the non-finite guard skipped
    epoch_sums: dict = field(default_factory=dict)  # partial sums of the current epoch (resuming mid-epoch)
    epoch_count: int = 0
    epoch_seconds: float = 0.0
    resumed_from: int | None = None

    def next_epoch(self) -> LoopState:
        """The position at the start of the next epoch (the totals kept)."""
        return replace(self, epoch=self.epoch + 1, step_in_epoch=0, epoch_sums={}, epoch_count=0, epoch_seconds=0.0)


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


def save_checkpoint(loop, state=None) -> None:
    """Write ``loop``'s checkpoint at position ``state`` (default: where it is) on rank 0; every
    rank's RNG states and per-rank components are gathered first (a collective: every rank calls this)."""
    rngs = gather(rng_state(), loop.dist)
    per_rank = gather({name: obj.state_dict() for name, obj in loop.rank_components.items()}, loop.dist)
    path = loop.config.checkpoint_path
    if path is None or not loop.dist.main:
        return
    progress = asdict(state or loop.state)
    progress.pop("resumed_from")
    payload = {name: obj.state_dict() for name, obj in loop.components.items()}
    payload.update(progress=progress, rng=rngs, per_rank=per_rank, history=loop.history, meta=loop.meta)
    save_atomic(payload, path)


def resume(loop) -> None:
    """Restore ``loop`` from its checkpoint when the file exists (refused when its ``meta`` differs);
    each rank gets its own per-rank components back when the job has as many processes as the writer."""
    path = loop.config.checkpoint_path
    if path is None or not path.exists():
        return
    ckpt = load_weights(path, loop.device, remedy=f"Restore it from a copy, or delete it to start the {loop.name} "
                        "training over from its first epoch (no older checkpoint is kept)")
    saved = ckpt.get("meta", {})
    differ = {k: (saved.get(k), v) for k, v in loop.meta.items() if saved.get(k) != v}
    if differ:
        raise RunMismatch(f"{path} holds {loop.config.mismatch} ({describe_changes(differ)}); resuming would mix "
                          f"two runs: {loop.config.restart_hint}")
    for name, obj in loop.components.items():
        if ckpt.get(name) is not None:
            obj.load_state_dict(ckpt[name])
    rngs = ckpt["rng"] if isinstance(ckpt["rng"], list) else [ckpt["rng"]]
    per_rank = ckpt.get("per_rank") or [{}]
    if len(rngs) == loop.dist.world_size:
        set_rng_state(rngs[loop.dist.rank])
    else:
        loop.log(f"{path} was written by {len(rngs)} process(es), this job has {loop.dist.world_size}: "
                 "the weights resume exactly, the random streams and the histories of fakes do not")
    mine = per_rank[loop.dist.rank] if len(per_rank) == loop.dist.world_size else {}
    for name, obj in loop.rank_components.items():
        if mine.get(name) is not None:
            obj.load_state_dict(mine[name])
    loop.history = list(ckpt.get("history", []))
    progress = dict(ckpt["progress"])
    loop.state = LoopState(**{k: v for k, v in progress.items() if k in LoopState.__dataclass_fields__})
    loop.state.resumed_from = loop.state.global_step
    s = loop.state
    if s.epoch >= loop.config.epochs:
        loop.log(f"{loop.name}: {path} holds a finished run ({s.epoch} epochs, {s.global_step} steps): nothing to train")
    else:
        loop.log(f"{loop.name}: resuming from {path} after {s.global_step} steps (epoch {s.epoch + 1}, step "
                 f"{s.step_in_epoch} of {len(loop.batches)})")


class Resume(Hook):
    """Before the fit: restore the loop from its checkpoint, when there is one."""

    def before_fit(self, loop) -> None:
        resume(loop)


class Checkpointer(Hook):
    """A checkpoint at every epoch end (after the epoch's callbacks: it holds the scheduler's
    step) and every ``every`` steps inside an epoch (0: never)."""

    def __init__(self, every: int = 0) -> None:
        self.every = every

    def after_step(self, loop, info: dict) -> None:
        end_of_epoch = loop.state.step_in_epoch == len(loop.batches)
        if self.every and loop.state.global_step % self.every == 0 and not end_of_epoch:
            loop.flush()
            loop.save_checkpoint()

    def after_epoch(self, loop, means: dict) -> None:
        loop.save_checkpoint(loop.state.next_epoch())
