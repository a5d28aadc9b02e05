"""The learning-rate schedule of the backbone optimisers, per epoch (paper Section IV.B).

"The base learning rate is 0.00035 ... The total training epoch number is
120. For the epoch step in [40, 70], we decrease the learning rate by a decay
factor 0.3", after a linear warm-up: "The initial learning rate R_start is used
for the first E_warmup epochs and will be linearly increasing from
R_start / E_warmup to R_start. We set ... E_warmup as 10."

The paper's warm-up starts at R_start / E_warmup, so its first factor follows
from E_warmup (``warmup_start=None``). The same schedule type serves the
student (O_B, the paper's numbers) and the IR teacher's pretraining (the strong
baseline's configs: warm-up from 0.01, decays by 0.1).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import torch

from tsgan_lib.ranges import AtLeast, NonNegative, Range


@dataclass
class ScheduleConfig:
    """Epochs and the per-epoch multiplier of the base learning rate (paper IV.B)."""

    epochs: Annotated[int, AtLeast(1)] = 120                       # training epochs
    warmup_epochs: Annotated[int, NonNegative] = 10                 # E_warmup: linear warm-up length
    warmup_start: Annotated[float | None, Range(0, 1, lo_open=True)] = None  # the warm-up's first factor; None = 1 / E_warmup (R_start / E_warmup)
    milestones: Annotated[tuple[int, ...], AtLeast(1)] = (40, 70)  # epochs at which the lr is multiplied by gamma
    gamma: Annotated[float, Range(0, 1, lo_open=True)] = 0.3  # the paper's decay factor (the strong baseline's is 0.1)

    def __post_init__(self) -> None:
        self.milestones = tuple(int(m) for m in self.milestones)

    @property
    def warmup_first(self) -> float:
        """The lr factor of the first warm-up epoch: ``warmup_start``, or the paper's 1 / E_warmup."""
        if self.warmup_start is not None:
            return self.warmup_start
        return 1.0 / self.warmup_epochs if self.warmup_epochs > 0 else 1.0


def lr_factor(epoch: int, warmup_epochs: int, warmup_start: float, milestones, gamma: float) -> float:
    """Multiplier of the base lr at ``epoch`` (0-based): linear warm-up from
    ``warmup_start`` to 1 over ``warmup_epochs``, then ``gamma`` per passed milestone."""
    if warmup_epochs > 0 and epoch < warmup_epochs:
        return warmup_start + (1.0 - warmup_start) * epoch / warmup_epochs
    return gamma ** sum(epoch >= m for m in milestones)


def build_scheduler(optimizer: torch.optim.Optimizer, schedule: ScheduleConfig) -> torch.optim.lr_scheduler.LambdaLR:
    """A ``LambdaLR`` stepping :func:`lr_factor` once per epoch."""
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda e: lr_factor(e, schedule.warmup_epochs, schedule.warmup_first, schedule.milestones,
                                       schedule.gamma))
