"""The one conversion between the GAN's image range and the ReID networks' input.

The generators end in ``tanh`` and the discriminators judge images in
[-1, 1]; the backbone, the teacher and the data loaders use ImageNet-normalised
tensors ``(x01 - mean) / std`` with ``x01`` in [0, 1] (docs/interpretations.md, 5).
Every crossing between the two worlds goes through these two functions::

    x01 = (x_gan + 1) / 2         x_reid = (x01 - mean) / std
    x01 = x_reid * std + mean     x_gan  = 2 * x01 - 1

Both are differentiable, so G_I is trained through the teacher and the
student networks that read its output.
"""

from __future__ import annotations

import functools

import torch
from torch import Tensor

from tsgan_lib.data.transforms import IMAGENET_MEAN, IMAGENET_STD


def _stats(x: Tensor) -> tuple[Tensor, Tensor]:
    return _stats_for(x.dtype, x.device, x.dim())


@functools.lru_cache(maxsize=32)
def _stats_for(dtype: torch.dtype, device: torch.device, ndim: int) -> tuple[Tensor, Tensor]:
    """The mean and std as broadcastable tensors, made once per (dtype, device,
    rank): building them from Python numbers on every call copies host memory
    to the GPU, several times per training step."""
    shape = (1, -1, 1, 1) if ndim == 4 else (-1, 1, 1)
    mean = torch.as_tensor(IMAGENET_MEAN, dtype=dtype, device=device).view(shape)
    std = torch.as_tensor(IMAGENET_STD, dtype=dtype, device=device).view(shape)
    return mean, std


def gan_to_reid(x: Tensor) -> Tensor:
    """[-1, 1] GAN images (B, 3, H, W) or (3, H, W) -> ImageNet-normalised."""
    mean, std = _stats(x)
    return ((x + 1.0) * 0.5 - mean) / std


def reid_to_gan(x: Tensor) -> Tensor:
    """ImageNet-normalised images -> [-1, 1] GAN range (inverse of :func:`gan_to_reid`)."""
    mean, std = _stats(x)
    return (x * std + mean) * 2.0 - 1.0


def reid_to_unit(x: Tensor) -> Tensor:
    """ImageNet-normalised images -> [0, 1], clamped (for display)."""
    mean, std = _stats(x)
    return (x * std + mean).clamp(0.0, 1.0)
