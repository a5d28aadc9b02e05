"""Training batches that keep a GPU fed: batched augmentation on the device, over a uint8 image cache.

The PIL/DataLoader path (:func:`~tsgan_lib.data.build_train_loader`) decodes,
resizes and augments every image in Python, every epoch. This path does the
decode and resize **once**:

1. :func:`~tsgan_lib.data.image_cache.load_image_cache` decodes and resizes
   the training records into a memory-mapped uint8 file (:mod:`tsgan_lib.data.image_cache`).
2. :class:`TensorTrainLoader` draws the batches of the existing
   :class:`~tsgan_lib.data.sampler.CrossModalityIdentitySampler` (its
   ``(i_rgb, i_ir)`` pairs), gathers their uint8 pixels (from the memory map, or
   from a copy resident on the device: ``resident=True``) and runs the strong
   baseline's training augmentation on the device, for the whole batch at once:
   zero padding (``T.Pad(pad)``), a random crop back to H x W (``T.RandomCrop``),
   a horizontal flip with probability 0.5 (``T.RandomHorizontalFlip``), then
   ``ToTensor``'s division by 255 and ImageNet ``Normalize``. For the same crop
   offset and flip, its output equals the PIL path's bit for bit on the CPU
   (``tests/test_tensor_pipeline.py``).

It yields ``(x_rgb, x_ir, labels)`` like ``build_train_loader``'s DataLoader:
float32 ``(P*K, 3, H, W)`` images and int64 labels (the training label of each
pair), here already on ``device``. Its ``sampler`` attribute and ``len()`` are
the DataLoader's. On CUDA, drawing a batch makes no host sync (every copy from
the host is pinned and non-blocking), so the CPU can queue the next training
step while the GPU runs this one.

**Randomness without RNG state.** The crop offsets and flips of batch ``step``
of epoch ``epoch`` come from a ``torch.Generator`` (on the CPU, so every device
sees the same draws) seeded from ``(seed, epoch, step)``. Batch k of epoch e is
therefore the same whether or not batches 0..k-1 were drawn, and a run resumed
with ``sampler.set_epoch(e, start_step=k)`` continues exactly; no generator
state needs saving.

The PIL/DataLoader path stays the reference and the choice for CPU runs and
small data; this one is for a GPU (and works on the CPU, for tests and CI).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from .datasets import CrossModalityTrainSet
from .image_cache import ImageCache, load_image_cache
from .records import Record
from .sampler import CrossModalityIdentitySampler
from .transforms import IMAGENET_MEAN, IMAGENET_STD, default_pad


# --- batched augmentation on the device ------------------------------------------------------------

@dataclass
class AugmentParams:
    """Per-image crop offsets into the padded image (``dy``, ``dx`` in
    ``0..2*pad``, as ``T.RandomCrop`` draws them) and flips (bool); optionally
    which images turn grey (``grey``, bool, ``T.RandomGrayscale``) and the
    random-erasing box of each image (``erase``, (n, 4) int ``top, left,
    height, width``; height 0 = not erased, ``T.RandomErasing``)."""

    dy: Tensor
    dx: Tensor
    flip: Tensor
    grey: Tensor | None = None
    erase: Tensor | None = None

    def __len__(self) -> int:
        return int(self.dy.shape[0])

    def _map(self, fn) -> "AugmentParams":
        return AugmentParams(fn(self.dy), fn(self.dx), fn(self.flip), *(None if t is None else fn(t)
                                                                       for t in (self.grey, self.erase)))

    def to(self, device: str | torch.device) -> "AugmentParams":
        return self._map(lambda t: t.to(device))

    def __getitem__(self, s) -> "AugmentParams":
        return self._map(lambda t: t[s])


ERASE_SCALE, ERASE_RATIO, ERASE_ATTEMPTS = (0.02, 0.33), (0.3, 3.3), 10  # T.RandomErasing's defaults


def draw_augment_params(n: int, pad: int, flip_p: float = 0.5, generator: torch.Generator | None = None, *,
                        grey: float = 0.0, erasing: float = 0.0, height: int = 0,
                        width: int = 0) -> AugmentParams:
    """``n`` images' crop offsets, uniform over ``0..2*pad`` like ``T.RandomCrop``
    on a ``T.Pad(pad)`` image, and flips with probability ``flip_p`` like
    ``T.RandomHorizontalFlip`` (``rand < p``). Drawn on the CPU.

    ``grey`` > 0: which images turn grey (probability ``grey``). ``erasing`` > 0:
    with that probability an image gets a box drawn as ``T.RandomErasing`` does
    (area 2-33 % of the ``height`` x ``width`` image, aspect ratio 0.3-3.3
    log-uniform, the first of 10 attempts that fits; none fits: not erased).
    The extra draws happen only when asked, so the crop and flip draws of a
    run without them do not change."""
    if pad < 0:
        raise ValueError(f"pad must be >= 0, got {pad}")
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=generator)
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=generator)
    flip = torch.rand(n, generator=generator) < flip_p
    grey_mask = torch.rand(n, generator=generator) < grey if grey > 0 else None
    erase = None
    if erasing > 0:
        if height < 1 or width < 1:
            raise ValueError("random erasing needs the image height and width")
        on = torch.rand(n, generator=generator) < erasing
        area = height * width * torch.empty(n, ERASE_ATTEMPTS).uniform_(*ERASE_SCALE, generator=generator)
        log_r = torch.empty(n, ERASE_ATTEMPTS).uniform_(math.log(ERASE_RATIO[0]), math.log(ERASE_RATIO[1]),
                                                        generator=generator)
        h = torch.sqrt(area * torch.exp(log_r)).round().long()
        w = torch.sqrt(area / torch.exp(log_r)).round().long()
        top = (torch.rand(n, ERASE_ATTEMPTS, generator=generator) * (height - h + 1).clamp(min=1)).long()
        left = (torch.rand(n, ERASE_ATTEMPTS, generator=generator) * (width - w + 1).clamp(min=1)).long()
        fits = (h < height) & (w < width) & (h > 0) & (w > 0)
        first = torch.where(fits.any(1), fits.float().argmax(1), torch.zeros(n, dtype=torch.long))
        pick = lambda t: t.gather(1, first[:, None])[:, 0]  # noqa: E731
        ok = on & fits.any(1)
        erase = torch.stack([pick(top), pick(left), torch.where(ok, pick(h), 0), torch.where(ok, pick(w), 0)], 1)
    return AugmentParams(dy, dx, flip, grey_mask, erase)


def augment_batch(images: Tensor, params: AugmentParams, pad: int, *,
                  mean: Sequence[float] | Tensor = IMAGENET_MEAN, std: Sequence[float] | Tensor = IMAGENET_STD,
                  channels_last: bool = False) -> Tensor:
    """``T.Pad(pad)`` (zeros) + crop at ``(dy, dx)`` + optional horizontal flip +
    ``ToTensor`` + ``Normalize`` for a uint8 batch ``(B, C, H, W)``, on its
    device, in one gather and three element-wise passes (no per-image loop).
    Returns float32 ``(B, C, H, W)`` (channels-last memory if asked).

    Pass ``params``, ``mean`` and ``std`` already on the device (as
    :class:`TensorTrainLoader` does) to keep the call free of host syncs: a
    CPU tensor or a Python list is copied from pageable memory, which waits
    for the GPU."""
    if images.dtype != torch.uint8 or images.dim() != 4:
        raise ValueError(f"images must be a uint8 (B, C, H, W) tensor, got {images.dtype} {tuple(images.shape)}")
    b, c, h, w = images.shape
    if len(params) != b:
        raise ValueError(f"{len(params)} augmentation parameters for {b} images")
    dev = images.device
    p = params.to(dev)
    hp, wp = h + 2 * pad, w + 2 * pad
    padded = F.pad(images, (pad, pad, pad, pad)) if pad else images       # T.Pad(pad): zero fill
    rows = p.dy[:, None] + torch.arange(h, device=dev)                    # (B, H) rows of the padded image
    cols = p.dx[:, None] + torch.arange(w, device=dev)                    # (B, W)
    cols = torch.where(p.flip[:, None], cols.flip(1), cols)               # flip after the crop
    index = (rows[:, :, None] * wp + cols[:, None, :]).view(b, 1, h * w).expand(b, c, h * w)
    out = padded.reshape(b, c, hp * wp).gather(2, index).view(b, c, h, w)
    if p.grey is not None:                                                # T.RandomGrayscale: PIL's "L"
        wide = out.to(torch.int32)
        luma = ((wide[:, 0] * 19595 + wide[:, 1] * 38470 + wide[:, 2] * 7471 + 0x8000) >> 16).to(torch.uint8)
        out = torch.where(p.grey[:, None, None, None], luma[:, None].expand_as(out), out)
    x = out.to(torch.float32).div_(255)                                   # ToTensor (in place: one buffer)
    m = torch.as_tensor(mean, dtype=torch.float32, device=dev).view(-1, 1, 1)
    sd = torch.as_tensor(std, dtype=torch.float32, device=dev).view(-1, 1, 1)
    x = x.sub_(m).div_(sd)                                                # Normalize: (x - mean) / std
    if p.erase is not None:                                               # T.RandomErasing(value=0), after Normalize
        top, left, eh, ew = p.erase.unbind(1)
        ys, xs = torch.arange(h, device=dev), torch.arange(w, device=dev)
        in_rows = (ys[None] >= top[:, None]) & (ys[None] < (top + eh)[:, None])
        in_cols = (xs[None] >= left[:, None]) & (xs[None] < (left + ew)[:, None])
        x = x.masked_fill((in_rows[:, :, None] & in_cols[:, None, :])[:, None], 0.0)
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


def batch_seed(seed: int, epoch: int, step: int) -> int:
    """The 64-bit generator seed of batch ``step`` of ``epoch``."""
    return int(np.random.SeedSequence([int(seed), int(epoch), int(step), 0x7E5]).generate_state(1, np.uint64)[0])


# --- the loader --------------------------------------------------------------------------------------

class TensorTrainLoader:
    """``(x_rgb, x_ir, labels)`` batches of a :class:`CrossModalityIdentitySampler`,
    augmented on ``device`` from an :class:`ImageCache` whose rows are
    ``rgb_records + ir_records`` (the index spaces of
    :class:`CrossModalityTrainSet`'s ``.rgb`` / ``.ir``).

    ``len()`` is the batches per epoch (the DataLoader's, ``drop_last``);
    iterating yields the sampler's current epoch from its ``start_step`` (call
    ``sampler.set_epoch`` or :meth:`set_epoch` each epoch, as with the
    DataLoader). ``resident=True`` copies all the pixels to ``device`` once;
    otherwise each batch is gathered from the memory map (into pinned memory
    when ``device`` is CUDA) and copied without blocking.
    """

    def __init__(self, cache: ImageCache, rgb_pids: Sequence[int], ir_pids: Sequence[int],
                 sampler: CrossModalityIdentitySampler, *, pad: int, flip_p: float = 0.5,
                 device: str | torch.device = "cpu", resident: bool = False, seed: int | None = None,
                 channels_last: bool = False, grey: float = 0.0, erasing: float = 0.0) -> None:
        if len(cache) != len(rgb_pids) + len(ir_pids):
            raise ValueError(f"the cache {cache.path} has {len(cache)} images, expected "
                             f"{len(rgb_pids)} RGB + {len(ir_pids)} IR")
        self.cache = cache
        self.rgb_pids = np.asarray(rgb_pids, dtype=np.int64)
        self.ir_pids = np.asarray(ir_pids, dtype=np.int64)
        self.num_rgb = len(rgb_pids)
        self.sampler = sampler
        self.batch_size = sampler.P * sampler.K
        self.pad, self.flip_p = int(pad), float(flip_p)
        self.grey, self.erasing = float(grey), float(erasing)
        self.device = torch.device(device)
        self.resident = bool(resident)
        self.seed = sampler.seed if seed is None else int(seed)
        self.channels_last = channels_last
        self.height, self.width = cache.height, cache.width
        self.images = cache.to(self.device) if resident else cache.images
        self._cuda = self.device.type == "cuda"
        self._mean = torch.tensor(IMAGENET_MEAN, dtype=torch.float32).to(self.device)
        self._std = torch.tensor(IMAGENET_STD, dtype=torch.float32).to(self.device)

    def _to_device(self, t: Tensor) -> Tensor:
        """CPU -> device without a host sync (pinned memory, non-blocking copy;
        the caching host allocator keeps the buffer until the copy is done)."""
        return t.pin_memory().to(self.device, non_blocking=True) if self._cuda else t

    def __len__(self) -> int:
        return self.sampler.steps_per_epoch

    def set_epoch(self, epoch: int, start_step: int = 0) -> None:
        self.sampler.set_epoch(epoch, start_step)

    def augment_params(self, epoch: int, step: int) -> tuple[AugmentParams, AugmentParams]:
        """The (RGB, IR) augmentation of batch ``step`` of ``epoch``."""
        g = torch.Generator().manual_seed(batch_seed(self.seed, epoch, step))
        both = draw_augment_params(2 * self.batch_size, self.pad, self.flip_p, g, grey=self.grey,
                                   erasing=self.erasing, height=self.height, width=self.width)
        return both[: self.batch_size], both[self.batch_size:]

    def _gather(self, rows: np.ndarray) -> Tensor:
        """The uint8 pixels of cache rows ``rows`` on the device: gathered there
        (resident), or gathered from the memory map into pinned memory and
        copied without blocking (CUDA), or gathered on the CPU."""
        idx = torch.from_numpy(rows)
        if self.resident:
            return self.images.index_select(0, self._to_device(idx))
        if self._cuda:
            buf = torch.empty((len(rows), 3, self.height, self.width), dtype=torch.uint8, pin_memory=True)
            torch.index_select(self.images, 0, idx, out=buf)
            return buf.to(self.device, non_blocking=True)
        return self.images.index_select(0, idx)

    def make_batch(self, pairs: Sequence[tuple[int, int]], epoch: int, step: int) -> tuple[Tensor, Tensor, Tensor]:
        """The batch of ``pairs`` (``(i_rgb, i_ir)``), augmented as batch
        ``step`` of ``epoch``."""
        i_rgb = np.fromiter((a for a, _ in pairs), dtype=np.int64, count=len(pairs))
        i_ir = np.fromiter((b for _, b in pairs), dtype=np.int64, count=len(pairs))
        labels = self.rgb_pids[i_rgb]
        bad = np.flatnonzero(labels != self.ir_pids[i_ir])
        if bad.size:
            k = int(bad[0])
            raise ValueError(f"pair ({i_rgb[k]}, {i_ir[k]}) mixes identities {labels[k]} and {self.ir_pids[i_ir[k]]}")
        if len(pairs) != self.batch_size:
            raise ValueError(f"a batch holds {self.batch_size} pairs, got {len(pairs)}")
        u8 = self._gather(np.concatenate([i_rgb, self.num_rgb + i_ir]))
        p_rgb, p_ir = self.augment_params(epoch, step)
        # the draws of both halves in one int64 tensor (one copy to the device)
        packed = self._to_device(torch.stack([torch.cat([p_rgb.dy, p_ir.dy]), torch.cat([p_rgb.dx, p_ir.dx]),
                                              torch.cat([p_rgb.flip, p_ir.flip]).long()]))
        grey, erase = (None if a is None else self._to_device(torch.cat([a, b]))  # the optional draws: a copy each
                       for a, b in ((p_rgb.grey, p_ir.grey), (p_rgb.erase, p_ir.erase)))
        params = AugmentParams(packed[0], packed[1], packed[2].bool(), grey, erase)
        x = augment_batch(u8, params, self.pad, mean=self._mean, std=self._std, channels_last=self.channels_last)
        y = self._to_device(torch.from_numpy(labels))
        return x[: self.batch_size], x[self.batch_size:], y

    def batch_at(self, epoch: int, step: int) -> tuple[Tensor, Tensor, Tensor]:
        """Batch ``step`` of ``epoch``, drawn directly (random access)."""
        return self.make_batch(self.sampler.batches(epoch)[step], epoch, step)

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor, Tensor]]:
        epoch, start = self.sampler.epoch, self.sampler.start_step
        batches = self.sampler.batches(epoch)
        for step in range(start, len(batches)):
            yield self.make_batch(batches[step], epoch, step)


def build_tensor_train_loader(records: Sequence[Record], *, P: int = 8, K: int = 4, height: int = 288,
                              width: int = 144, pad: int | None = None, seed: int = 0,
                              device: str | torch.device = "auto", resident: bool = False,
                              cache_dir: str | os.PathLike | None = None, cache_path: str | os.PathLike | None = None,
                              rebuild: bool = False, verify: bool = False, workers: int | None = None,
                              flip_p: float = 0.5, channels_last: bool = False, rank: int = 0,
                              world_size: int = 1, grey: float = 0.0, erasing: float = 0.0) -> TensorTrainLoader:
    """The tensor-path twin of :func:`~tsgan_lib.data.build_train_loader`: the
    same sampler (same ``seed``, so the same ``(i_rgb, i_ir)`` pairs), the same
    shapes, dtypes and labels, the same augmentation distribution, batches on
    ``device`` (``"auto"``: CUDA when available). The cache is built on first
    use (see :func:`load_image_cache`). ``rank`` / ``world_size``: this
    process's share of each step under DDP (the sampler's), with its own
    augmentation draws (rank 0 draws what a single process would). ``grey``,
    ``erasing``: the optional augmentations of
    :func:`~tsgan_lib.data.transforms.build_transform`, the same distributions."""
    from ..utils import resolve_device

    ds = CrossModalityTrainSet(records)
    pad = default_pad(width) if pad is None else int(pad)
    if pad < 0:
        raise ValueError(f"pad must be a non-negative number of pixels (or None for default_pad), got {pad}")
    cache = load_image_cache(ds.rgb + ds.ir, height, width, cache_dir=cache_dir, path=cache_path,
                             rebuild=rebuild, verify=verify, workers=workers)
    sampler = CrossModalityIdentitySampler(ds.rgb_pids, ds.ir_pids, P=P, K=K, seed=seed, rank=rank,
                                           world_size=world_size)
    return TensorTrainLoader(cache, ds.rgb_pids, ds.ir_pids, sampler, pad=pad, flip_p=flip_p,
                             device=resolve_device(device), resident=resident, seed=seed + 1_000_003 * rank,
                             grey=grey, erasing=erasing,
                             channels_last=channels_last)
