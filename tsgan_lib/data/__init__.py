"""Data: records, the SYSU-MM01, RegDB and LLCM readers, the synthetic stand-ins,
transforms, datasets, the cross-modality identity sampler and the batches a fit
loop drives (:mod:`.batches`); the tensor pipeline (an image cache,
:mod:`.image_cache`, and augmentation on the device, :mod:`.tensor_pipeline`);
CAJ's channel augmentation (:mod:`.channel_aug`) for the baseline rows;
checking a dataset copy (:mod:`.verify`)."""

from __future__ import annotations

import os

import torch
from torch.utils.data import DataLoader

from .batches import EpochBatches
from .channel_aug import (CAJ_VIEWS, CAJTransforms, ChannelAdapGrey, ChannelAugment, ChannelExchange,
                          ChannelRandomErasing, build_caj_transforms, caj_batch, channel_augment_batch,
                          draw_channel_aug)
from .datasets import CrossModalityTrainSet, ImageDataset, read_image
from .llcm import LLCM, load_llcm
from .records import IR, RGB, DatasetError, ImageModeWarning, Record
from .regdb import RegDB, load_regdb
from .sampler import CrossModalityIdentitySampler
from .synthetic import make_synthetic_sysu, render_sensors, synthetic_sysu_root
from .synthetic_llcm import make_synthetic_llcm, synthetic_llcm_root
from .synthetic_regdb import make_synthetic_regdb, synthetic_regdb_root
from .sysu import SYSUMM01, load_sysu
from .image_cache import ImageCache, ImageCacheError, load_image_cache
from .tensor_pipeline import (AugmentParams, TensorTrainLoader, augment_batch, build_tensor_train_loader,
                              draw_augment_params)
from .transforms import IMAGENET_MEAN, IMAGENET_STD, build_transform, default_pad

__all__ = [
    "DatasetError", "ImageModeWarning", "Record", "RGB", "IR", "SYSUMM01", "load_sysu", "RegDB", "load_regdb",
    "make_synthetic_sysu", "synthetic_sysu_root", "render_sensors", "make_synthetic_regdb", "synthetic_regdb_root",
    "LLCM", "load_llcm", "make_synthetic_llcm", "synthetic_llcm_root",
    "build_transform", "default_pad", "IMAGENET_MEAN", "IMAGENET_STD",
    "ImageDataset", "CrossModalityTrainSet", "CrossModalityIdentitySampler", "read_image",
    "load_dataset", "build_train_loader", "EpochBatches",
    "build_tensor_train_loader", "TensorTrainLoader", "load_image_cache", "ImageCache", "ImageCacheError",
    "augment_batch", "draw_augment_params", "AugmentParams",
    "CAJ_VIEWS", "CAJTransforms", "ChannelAdapGrey", "ChannelAugment", "ChannelExchange", "ChannelRandomErasing",
    "build_caj_transforms", "caj_batch", "channel_augment_batch", "draw_channel_aug",
]


def load_dataset(data_root: str | os.PathLike | None = None, *, hold_out_val: bool = False,
                 **synthetic_kwargs) -> SYSUMM01:
    """SYSU-MM01 at ``data_root``, or (``None``) the synthetic stand-in,
    generated once into its cache folder (see :func:`synthetic_sysu_root`)."""
    from ..utils import resolve_path

    root = synthetic_sysu_root(**synthetic_kwargs) if data_root is None else resolve_path(data_root)
    return load_sysu(root, hold_out_val=hold_out_val)


def build_train_loader(records, *, P: int, K: int, height: int, width: int, pad: int | None = None,
                       workers: int = 0, seed: int = 0, pin_memory: bool = False, rank: int = 0,
                       world_size: int = 1, grey: float = 0.0, erasing: float = 0.0) -> DataLoader:
    """Training batches ``(x_rgb, x_ir, labels)`` of P ids x K pairs from
    training records (labels 0..N-1). ``pad``: random-crop padding in pixels
    (``None``: :func:`~tsgan_lib.data.transforms.default_pad`, scaled to the width).
    ``loader.sampler`` is the :class:`CrossModalityIdentitySampler` (call
    ``set_epoch`` each epoch). ``rank`` / ``world_size``: this process's share
    of each step's identities under DDP (see the sampler). ``grey``, ``erasing``:
    the optional augmentations of :func:`~tsgan_lib.data.transforms.build_transform`."""
    ds = CrossModalityTrainSet(records, build_transform(True, height, width, pad, grey=grey, erasing=erasing))
    sampler = CrossModalityIdentitySampler(ds.rgb_pids, ds.ir_pids, P=P, K=K, seed=seed, rank=rank,
                                           world_size=world_size)
    # A loader-owned generator: starting an epoch's iterator draws the workers'
    # base seed from it, not from the global RNG the augmentations use, so a
    # run resumed mid-epoch (workers=0) sees the same augmentations.
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(ds, batch_size=P * K, sampler=sampler, num_workers=workers, drop_last=True,
                      pin_memory=pin_memory, persistent_workers=workers > 0, generator=generator)
