"""The cross-modality identity sampler: P identities x K (RGB, IR) pairs.

Every batch holds P identities, and for each K RGB and K IR images drawn with
replacement (the paper: 8 x 4 pairs, 64 images). An epoch is
``ceil(#RGB images / (P*K))`` steps, so each RGB training image is seen about
once per epoch (docs/interpretations.md, 10). Identities are visited through shuffled
passes over all identities, so each appears about equally often.

The sampler yields ``(i_rgb, i_ir)`` index pairs for
:class:`~tsgan_lib.data.datasets.CrossModalityTrainSet`; a ``DataLoader`` with
``batch_size=P*K`` turns P*K consecutive pairs into one batch. It runs in the
main process, so DataLoader workers change nothing. It is reproducible: the
draws of epoch ``e`` depend only on ``(seed, e)``; :meth:`state_dict` /
:meth:`load_state_dict` carry the epoch (and the batches of it already
done, ``start_step``) for resuming.

Several processes (DDP, ``rank`` / ``world_size``): every process draws the
same global batches of ``world_size x P`` identities (same seed) and takes its
own slice of P, so no identity is on two processes in one step and together
they cover the epoch once; an epoch has ``ceil(#RGB / (world_size x P x K))``
steps. With one process this is the plain sampler.

Bad parameters (``P < 2``, ``K < 1``) raise :class:`ValueError`; training data
with fewer than ``P`` identities that have both modalities raises
:class:`~tsgan_lib.data.records.DatasetError` (a ``ValueError``) naming ``P``
and the count.
"""

from __future__ import annotations

import math
import warnings
from collections import defaultdict
from typing import Iterator, Sequence

import numpy as np
from torch.utils.data import Sampler

from .records import DatasetError


class CrossModalityIdentitySampler(Sampler):
    def __init__(self, rgb_pids: Sequence[int], ir_pids: Sequence[int], P: int = 8, K: int = 4, seed: int = 0,
                 rank: int = 0, world_size: int = 1):
        if P < 2 or K < 1:
            raise ValueError(f"P must be >= 2 (the triplet loss needs negatives) and K >= 1; got P={P}, K={K}")
        if not 0 <= rank < world_size:
            raise ValueError(f"rank must be in 0..world_size-1, got rank={rank}, world_size={world_size}")
        self.P, self.K, self.seed = P, K, seed
        self.rank, self.world_size = rank, world_size
        self.rgb_by_pid: dict[int, list[int]] = defaultdict(list)
        self.ir_by_pid: dict[int, list[int]] = defaultdict(list)
        for i, p in enumerate(rgb_pids):
            self.rgb_by_pid[int(p)].append(i)
        for i, p in enumerate(ir_pids):
            self.ir_by_pid[int(p)].append(i)
        both = sorted(set(self.rgb_by_pid) & set(self.ir_by_pid))
        dropped = len(set(self.rgb_by_pid) | set(self.ir_by_pid)) - len(both)
        if dropped:
            warnings.warn(f"CrossModalityIdentitySampler: {dropped} identities lack one modality and are skipped")
        if len(both) < P * world_size:
            on = f" on each of {world_size} processes" if world_size > 1 else ""
            raise DatasetError(f"P={P} identities per batch{on}, but only {len(both)} identities have both RGB and IR "
                               f"images: expected at least P={P * world_size} such identities (lower P or train on "
                               "more identities)")
        self.pids = both
        self.num_rgb = len(rgb_pids)
        self.epoch = 0
        self.start_step = 0  # batches of the current epoch to skip (resuming mid-epoch)

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(self.num_rgb / (self.world_size * self.P * self.K))

    def __len__(self) -> int:
        return self.steps_per_epoch * self.P * self.K

    def set_epoch(self, epoch: int, start_step: int = 0) -> None:
        """Select the epoch whose batches the next iteration yields; skip its
        first ``start_step`` batches (a run resumed mid-epoch)."""
        if not 0 <= start_step <= self.steps_per_epoch:
            raise ValueError(f"start_step must be in 0..{self.steps_per_epoch}, got {start_step}")
        self.epoch, self.start_step = int(epoch), int(start_step)

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "seed": self.seed, "start_step": self.start_step}

    def load_state_dict(self, state: dict) -> None:
        self.epoch, self.seed = int(state["epoch"]), int(state["seed"])
        self.start_step = int(state.get("start_step", 0))

    def batches(self, epoch: int | None = None) -> list[list[tuple[int, int]]]:
        """All batches of an epoch (this process's share) as lists of ``(i_rgb, i_ir)`` pairs."""
        rng = np.random.default_rng([self.seed, self.epoch if epoch is None else epoch])
        order: list[int] = []
        out = []
        n = self.world_size * self.P  # identities of one global draw
        for _ in range(self.steps_per_epoch):
            if len(order) < n:
                order += rng.permutation(self.pids).tolist()
            chosen, order = order[:n], order[n:]
            if len(set(chosen)) < n:  # a pass boundary repeated an id: redraw distinct ids
                chosen = rng.choice(self.pids, n, replace=False).tolist()
            batch = []
            for pid in chosen:
                rgb = rng.choice(self.rgb_by_pid[pid], self.K, replace=True)
                ir = rng.choice(self.ir_by_pid[pid], self.K, replace=True)
                batch += [(int(a), int(b)) for a, b in zip(rgb, ir)]
            share = self.P * self.K
            out.append(batch[self.rank * share:(self.rank + 1) * share])
        return out

    def __iter__(self) -> Iterator[tuple[int, int]]:
        for batch in self.batches()[self.start_step:]:
            yield from batch
