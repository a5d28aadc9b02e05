"""Multi-GPU training with ``torch.distributed`` (DDP), launched by ``torchrun``.

``torchrun --nproc_per_node N -m tsgan_lib train -f params/X.yaml`` starts N
processes; each reads its rank from the environment torchrun sets (``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK``), joins the process group (NCCL on CUDA, gloo
on the CPU) and trains on its own GPU. Several machines join through
torchrun's rendezvous (``--nnodes``, ``--rdzv-endpoint``); nothing here changes.

Batch semantics. Every rank draws its own P identities x K (RGB, IR) pairs per
step (:class:`tsgan_lib.data.sampler.CrossModalityIdentitySampler` with
``rank``/``world_size``): the N ranks take disjoint slices of one global draw
of N x P identities, so no identity appears on two ranks in a step and the
ranks together cover the epoch once (an epoch has ceil(#RGB / (N x P x K))
steps). The global batch is N x P x K pairs. Gradients are averaged over the
ranks (DDP's all-reduce), so each update is the paper's update with an N times
larger batch; the learning rate is NOT scaled (Adam's step size does not grow
with the batch the way SGD's does; set ``optim.lr_backbone`` yourself to try
otherwise). BatchNorm is per rank, not SyncBatchNorm: each rank's student
already normalises over 3 x P x K = 96 images (the paper's batch) and the
triplet and ID losses are per rank too, so a rank sees exactly the paper's
batch statistics; synchronising BN would only add a collective per layer.

The student, G_I, G_R, D_I and D_R are each wrapped in :class:`DDPModule`; the
frozen teacher is replicated (no gradients, nothing to synchronise). Only rank
0 logs, writes checkpoints and evaluates; every rank resumes from the same
checkpoint (each with its own saved RNG state).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as torch_dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel


@dataclass(frozen=True)
class Dist:
    """This process's place in the job (a single process: rank 0 of 1)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def main(self) -> bool:
        """Rank 0: the process that logs, writes files and evaluates."""
        return self.rank == 0


def from_environment() -> Dist:
    """The ranks torchrun sets in the environment (none: a single process)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    return Dist(int(os.environ.get("RANK", "0")), world, int(os.environ.get("LOCAL_RANK", "0")))


def setup(dist: Dist, device: torch.device) -> torch.device:
    """Join the process group (once) and return this rank's device:
    ``cuda:<LOCAL_RANK>`` on CUDA (NCCL), the CPU with gloo."""
    if not dist.enabled:
        return device
    if device.type == "cuda":
        device = torch.device("cuda", dist.local_rank)
        torch.cuda.set_device(device)
    if not torch_dist.is_initialized():
        torch_dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return device


def teardown(dist: Dist) -> None:
    if dist.enabled and torch_dist.is_initialized():
        torch_dist.destroy_process_group()


class DDPModule(DistributedDataParallel):
    """DDP that behaves like the module it wraps for the code of Algorithm 1.

    - Attributes it does not have come from the wrapped module (``.joint``,
      ``.former``, ``.fmap_channels``...), so ``steps.py`` runs unchanged.
    - A module whose parameters are all frozen (D during the G and backbone
      phases: :func:`tsgan_lib.train.steps.frozen`) runs without DDP's
      gradient bookkeeping: it receives no gradients that step, and DDP would
      otherwise wait for them.
    """

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self.module, name)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        if not any(p.requires_grad for p in self.module.parameters()):
            return self.module(*args, **kwargs)
        return super().forward(*args, **kwargs)


def wrap(module: nn.Module, dist: Dist, device: torch.device) -> nn.Module:
    """``module`` in a :class:`DDPModule` when the job has several ranks."""
    if not dist.enabled:
        return module
    ids = [device.index] if device.type == "cuda" else None
    return DDPModule(module, device_ids=ids)


def unwrap(module: nn.Module) -> nn.Module:
    """The network inside a DDP wrapper (what checkpoints hold)."""
    return module.module if isinstance(module, DistributedDataParallel) else module


def all_mean(values: torch.Tensor, dist: Dist) -> torch.Tensor:
    """The mean of a tensor over the ranks (itself with one rank)."""
    if not dist.enabled:
        return values
    values = values.clone()
    torch_dist.all_reduce(values)
    return values / dist.world_size


def any_rank(flag: bool, dist: Dist, device: torch.device) -> bool:
    """True when the flag is set on any rank (every rank gets the same answer)."""
    if not dist.enabled:
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    torch_dist.all_reduce(t, op=torch_dist.ReduceOp.MAX)
    return bool(t.item())


def gather(obj: Any, dist: Dist) -> list[Any]:
    """Every rank's ``obj``, in rank order (a one-item list with one rank)."""
    if not dist.enabled:
        return [obj]
    out: list[Any] = [None] * dist.world_size
    torch_dist.all_gather_object(out, obj)
    return out


def broadcast_module(module: nn.Module, dist: Dist) -> nn.Module:
    """Give every rank rank 0's parameters and buffers. After DDP training the
    parameters agree, but each rank's BatchNorm statistics saw its own last
    batch; a network used after training (the frozen teacher) must be one."""
    if dist.enabled:
        for t in module.state_dict().values():
            torch_dist.broadcast(t, 0)
    return module


def barrier(dist: Dist) -> None:
    if dist.enabled:
        torch_dist.barrier()
