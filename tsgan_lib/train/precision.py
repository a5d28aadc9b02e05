"""A step's precision and its one update: autocast around the forwards, then backward and the optimiser step.

Both are shared by every training step of the project (Algorithm 1's three
phases in :mod:`tsgan_lib.train.steps`, the teacher's pretraining in
:mod:`tsgan_lib.train.teacher`) and by the probes that replay a step's
forward (:mod:`tsgan_lib.train.probes`):

- :func:`autocast` -- the forwards under ``torch.autocast`` in ``amp_dtype``
  (bf16 or fp16 on CUDA), or as they are (``None``: fp32);
- :func:`optimise` -- ``loss.backward()`` then ``optimizer.step()``, through a
  ``GradScaler`` when one is given (fp16; the non-finite guard's scalers,
  :mod:`tsgan_lib.train.guard`, skip an update whose gradients are not finite).
"""

from __future__ import annotations

import contextlib

import torch
from torch import Tensor


def autocast(x: Tensor, amp_dtype: torch.dtype | None):
    """``torch.autocast`` on ``x``'s device in ``amp_dtype``; a null context for ``None`` (fp32)."""
    if amp_dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=x.device.type, dtype=amp_dtype)


def optimise(loss: Tensor, optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler | None) -> None:
    """One update of ``optimizer`` from ``loss``: backward and step, scaled by ``scaler`` when given."""
    if scaler is None:
        loss.backward()
        optimizer.step()
    else:
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
