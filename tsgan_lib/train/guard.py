"""The non-finite guard: a step whose loss or gradients are NaN/Inf changes nothing.

A GAN can produce a NaN at 3 a.m. in hour 5 of a run. Here each optimiser of
Algorithm 1 (O_G, O_B, O_D, or the teacher's) steps through a
:class:`GuardScaler`, PyTorch's ``GradScaler`` mechanism: gradients are
checked for NaN/Inf after the backward pass, and an optimiser whose gradients
are not finite skips its update (its parameters and Adam moments stay as they
were). A non-finite loss gives non-finite gradients, so it is caught the same
way. ``steps.py`` already calls ``scaler.scale(loss).backward()``,
``scaler.step(optimizer)``, ``scaler.update()``; nothing there changes.

- fp16 autocast: the usual dynamic loss scaling (its occasional skipped steps
  while the scale settles are counted too).
- fp32 / bf16: the scale stays exactly 1, so the arithmetic is bit-identical
  to stepping the optimiser directly.

With fused Adam (CUDA) the skip happens on the device, without a host
synchronisation; otherwise ``GradScaler`` reads one flag per optimiser. The
training loop (:mod:`tsgan_lib.train.loop`) counts skipped steps, logs them
and stops the run after ``run.max_nonfinite`` in a row.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch


class GuardScaler(torch.amp.GradScaler):
    """A GradScaler that records whether its optimiser's gradients were finite
    this step; with ``dynamic=False`` the scale stays 1."""

    def __init__(self, device: str, dynamic: bool) -> None:
        super().__init__(device, init_scale=2.0 ** 16 if dynamic else 1.0,
                         growth_interval=2000 if dynamic else 2 ** 30)
        self.dynamic = dynamic
        self.found: torch.Tensor | None = None  # non-zero when a step of this optimiser was skipped since reset

    def step(self, optimizer: torch.optim.Optimizer, *args, **kwargs):
        state = self._per_optimizer_states[id(optimizer)]
        if state["stage"].name == "READY":
            self.unscale_(optimizer)
        found = sum(state["found_inf_per_device"].values(), torch.zeros(()))
        self.found = found if self.found is None else self.found + found
        return super().step(optimizer, *args, **kwargs)

    def update(self, new_scale: float | torch.Tensor | None = None) -> None:
        super().update(new_scale if self.dynamic else 1.0)


class NonFiniteGuard:
    """One :class:`GuardScaler` per optimiser (``scalers``, as ``train_step``
    takes them) and the per-step "was anything skipped?" flag."""

    def __init__(self, optimizer_names, device: torch.device, amp_dtype: torch.dtype | None) -> None:
        self.scalers = {name: GuardScaler(device.type, dynamic=amp_dtype == torch.float16) for name in optimizer_names}

    def skipped(self) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """``(1.0 if any optimiser skipped its update since the last call else
        0.0, {optimiser: flag})``, device tensors (no host synchronisation); resets."""
        flags = {}
        for name, s in self.scalers.items():
            flags[name] = (s.found > 0).float() if s.found is not None else torch.zeros(())
            s.found = None
        device = next((f.device for f in flags.values()), torch.device("cpu"))
        flags = {k: v.to(device) for k, v in flags.items()}
        return torch.stack(list(flags.values())).amax() if flags else torch.zeros(()), flags

    def state_dict(self) -> dict:
        return {name: s.state_dict() for name, s in self.scalers.items()}

    def load_state_dict(self, state: Mapping) -> None:
        for name, s in self.scalers.items():
            if name in state and state[name]:
                s.load_state_dict(state[name])
