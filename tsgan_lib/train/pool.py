"""A history of generated samples for the discriminators (CycleGAN's ``ImagePool``).

Shrivastava et al. (2017) and CycleGAN update a discriminator on a mix of the
newest fakes and older ones, so that it does not forget what the generator
produced a few hundred steps ago and the two do not chase each other in
circles. CycleGAN keeps the last 50 generated images per direction
(``util/image_pool.py``, ``--pool_size 50``): once the pool is full, each new
fake is, with probability 1/2, shown to D as it is; otherwise a random stored
one is shown instead and the new one takes its place.

:class:`SamplePool` does the same for *tuples* of tensors, because the joint
D_I judges (IR image, feature map) pairs: a pair enters and leaves the pool
whole. It draws from its own generator (seeded, saved with its contents in
:meth:`state_dict`, on the CPU), so a resumed run continues exactly and the
pool does not move the other random streams of a run; under DDP each rank keeps
its own pool and the checkpoint holds all of them. ``size=0`` returns the batch as it is.
"""

from __future__ import annotations

import torch
from torch import Tensor


class SamplePool:
    """The last ``size`` generated samples (tuples of tensors with a batch dimension)."""

    def __init__(self, size: int, seed: int = 0) -> None:
        if size < 0:
            raise ValueError(f"pool size must be >= 0, got {size}")
        self.size = size
        self.count = 0
        self.buffers: list[Tensor] | None = None
        self.generator = torch.Generator().manual_seed(seed)

    def query(self, *samples: Tensor) -> tuple[Tensor, ...]:
        """The batch D should see: for each sample, itself or (once the pool is
        full, with probability 1/2) a stored one, which the new sample replaces."""
        samples = tuple(t.detach() for t in samples)
        if self.size == 0:
            return samples
        n = samples[0].shape[0]
        if any(t.shape[0] != n for t in samples):
            raise ValueError(f"the tensors of a sample need one batch size, got {[t.shape[0] for t in samples]}")
        if self.buffers is None:
            self.buffers = [t.new_empty((self.size, *t.shape[1:])) for t in samples]
        elif self.buffers[0].device != samples[0].device:  # loaded from a checkpoint (kept on the CPU)
            self.buffers = [b.to(samples[0].device) for b in self.buffers]
        swap = torch.rand(n, generator=self.generator) > 0.5
        slot = torch.randint(self.size, (n,), generator=self.generator)
        out = [t.clone() for t in samples]
        for i in range(n):
            if self.count < self.size:  # filling up: store it, show it
                for buf, t in zip(self.buffers, samples):
                    buf[self.count] = t[i]
                self.count += 1
            elif swap[i]:              # show an old one, keep the new one in its place
                j = int(slot[i])
                for buf, o, t in zip(self.buffers, out, samples):
                    o[i] = buf[j]
                    buf[j] = t[i]
        return tuple(out)

    def state_dict(self) -> dict:
        buffers = [b[: self.count].cpu().clone() for b in self.buffers] if self.buffers is not None else []
        return {"size": self.size, "count": self.count, "buffers": buffers, "generator": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        if int(state["size"]) != self.size:
            raise ValueError(f"a pool of {state['size']} samples cannot be loaded into one of {self.size}")
        self.count = int(state["count"])
        self.buffers = None
        if state["buffers"]:
            self.buffers = [b.new_empty((self.size, *b.shape[1:]), device="cpu") for b in state["buffers"]]
            for buf, saved in zip(self.buffers, state["buffers"]):
                buf[: self.count] = saved.cpu()
        self.generator.set_state(state["generator"])
