"""The IR teacher's former encoder FE_T, frozen (paper Section III.C, Fig. 3 blue box).

The teacher is a :class:`~tsgan_lib.models.backbone.ReIDBackbone` pretrained on
IR training images only (see :mod:`tsgan_lib.train.teacher`). During TS-GAN
training only its former encoder FE_T (conv1 .. layer3) is used, and it never
learns:

- every parameter has ``requires_grad=False``, so no optimiser can move it and
  ``backward`` never fills its ``.grad``;
- it is always in eval mode: ``.train()`` is a no-op, so BatchNorm uses (and
  never updates) its running statistics;
- it is *not registered* as a sub-module: a student or a container module that
  holds a :class:`FrozenTeacher` does not list the teacher's tensors in its
  ``parameters()`` or ``state_dict()``, so the student's checkpoint stays the
  student's. ``.to(device)`` still moves it.

Gradients do flow *through* FE_T to its input when the input requires grad:
the generator G_I is trained through D_I(X_I', FE_T(X_I')) in Eq. (1) (joint
discriminator, docs/interpretations.md, 1). When the input does not require grad
(X_I, or a detached X_I'), no graph is built at all.
"""

from __future__ import annotations

import copy
from typing import Callable

import torch
from torch import Tensor, nn

from .backbone import ReIDBackbone


class FrozenTeacher(nn.Module):
    """FE_T: a frozen, always-eval copy of a backbone's former encoder.

    Args:
        backbone: a trained IR backbone; it is deep-copied, and its
            ``.former`` is FE_T (the rest serves :meth:`logits` only).
    """

    def __init__(self, backbone: ReIDBackbone) -> None:
        super().__init__()
        net = copy.deepcopy(backbone)
        net.requires_grad_(False)
        net.eval()
        # object.__setattr__ bypasses nn.Module registration: no parameters(), no state_dict()
        object.__setattr__(self, "_net", net)
        object.__setattr__(self, "_former", net.former)
        self.fmap_channels = backbone.fmap_channels
        self.depth = backbone.depth
        super().train(False)

    @property
    def former(self) -> nn.Module:
        """The frozen FE_T module itself (read-only use: inspection, plots)."""
        return self._former

    def train(self, mode: bool = True) -> "FrozenTeacher":
        """Ignored: the teacher stays in eval mode whatever the caller asks."""
        return self

    def _apply(self, fn: Callable, recurse: bool = True) -> "FrozenTeacher":
        # .to(device) / .half() / .cpu() reach the hidden module too
        self._net._apply(fn)
        return super()._apply(fn, recurse)

    def forward(self, x: Tensor) -> Tensor:
        """f_map,T = FE_T(x) for ImageNet-normalised IR images ``x``."""
        self._net.eval()
        return self._former(x)

    @torch.no_grad()
    def logits(self, x: Tensor) -> Tensor:
        """The whole teacher's identity logits for ``x``: not used by training, only by
        the probes that ask whether an image carries an identity the teacher knows
        (:mod:`tsgan_lib.train.probes`: the teacher classifies X_I' as X_R's person?)."""
        self._net.eval()
        return self._net(x)["logits"]
