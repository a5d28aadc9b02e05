"""The ReID backbone: the "strong baseline" of the paper's ref. [34].

Paper, Section III.B and Fig. 3 (red box)::

    x --FE (conv1 .. layer3)--> f_map --LE (layer4)--> GAP --> V --BNNeck--> bn_feat --FC--> F

- **FE**, the *former encoder* (``.former``): torchvision ResNet's conv1, bn1,
  relu, maxpool, layer1, layer2, layer3. Its output is the middle-layer feature
  map ``f_map`` that the teacher-student losses (13)-(15) and the joint
  discriminator D_I look at (1024 channels for ResNet-50, 256 for 18/34).
- **LE**, the *latter encoder* (``.latter``): layer4 with its stride set to 1
  ("last stride 1"), so layer4 keeps layer3's resolution.
- **V** (``"feat"``): global average pooling of LE's output (2048-d for
  ResNet-50, 512-d for 18/34). The triplet loss (11) and the test feature use it.
- **BNNeck** (``"bn_feat"``): a BatchNorm1d whose bias is frozen at zero, then a
  bias-free linear classifier giving the logits **F** (``"logits"``) for the
  label-smoothed ID loss (9)-(10).

The trunk is torchvision's own ResNet (never a hand-copied one); the
sub-module names inside ``.former`` keep torchvision's names, so
``former.layer3.0.conv1.weight`` is torchvision's ``layer3.0.conv1.weight``.
:meth:`ReIDBackbone.load_trunk_state_dict` maps a torchvision state_dict onto
the trunk (used for the ImageNet weights and the parity test).
"""

from __future__ import annotations

import os
from collections import OrderedDict
from pathlib import Path
from typing import TypedDict

import torch
from torch import Tensor, nn
from torchvision.models import resnet as tv_resnet

from tsgan_lib.errors import MissingFileError

#: depth -> (torchvision constructor, ImageNet weights enum member)
RESNETS = {
    18: (tv_resnet.resnet18, tv_resnet.ResNet18_Weights.IMAGENET1K_V1),
    34: (tv_resnet.resnet34, tv_resnet.ResNet34_Weights.IMAGENET1K_V1),
    50: (tv_resnet.resnet50, tv_resnet.ResNet50_Weights.IMAGENET1K_V1),
}
FORMER_NAMES = ("conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3")


class PretrainedWeightsError(MissingFileError):
    """ImageNet weights were asked for but are neither cached nor downloadable."""


class BackboneOutput(TypedDict):
    """Named outputs of :meth:`ReIDBackbone.forward` (paper symbol in brackets)."""

    fmap: Tensor      # [f_map]  FE output, (B, C3, H/16, W/16)
    feat: Tensor      # [V]      GAP of LE output, (B, feat_dim); the test feature
    bn_feat: Tensor   # BNNeck output, (B, feat_dim)
    logits: Tensor    # [F]      classifier output, (B, num_classes)


def map_trunk_keys(tv_state_dict: dict[str, Tensor]) -> dict[str, Tensor]:
    """A torchvision ResNet state_dict with the trunk's names: conv1 .. layer3
    under ``former.``, layer4 under ``latter.``; ``fc.*`` left out."""
    mapped = {}
    for key, value in tv_state_dict.items():
        head = key.split(".", 1)[0]
        if head in FORMER_NAMES:
            mapped["former." + key] = value
        elif head == "layer4":
            mapped["latter." + key.split(".", 1)[1]] = value
    return mapped


def set_last_stride_one(resnet: tv_resnet.ResNet) -> None:
    """Set every stride-2 convolution of ``layer4``'s first block (the 3x3 conv
    or conv1 of a BasicBlock, and the downsample 1x1 conv) to stride 1."""
    for m in resnet.layer4[0].modules():
        if isinstance(m, nn.Conv2d) and m.stride == (2, 2):
            m.stride = (1, 1)


def weights_cache_path(depth: int) -> Path:
    """Where torchvision's ImageNet file for ResNet-``depth`` is looked for:
    ``$TORCH_HOME/hub/checkpoints/<file>`` (``~/.cache/torch`` by default)."""
    url = RESNETS[depth][1].url
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(url)


def load_imagenet_state_dict(depth: int, allow_download: bool = True) -> dict[str, Tensor]:
    """torchvision's ImageNet state_dict for ResNet-``depth``.

    Read from the torch hub cache when present; otherwise downloaded when
    ``allow_download`` (and the network allows). Raises
    :class:`PretrainedWeightsError` naming the exact file to provide.
    """
    if depth not in RESNETS:
        raise ValueError(f"depth must be one of {sorted(RESNETS)}, got {depth}")
    url = RESNETS[depth][1].url
    path = weights_cache_path(depth)
    hint = (f"ImageNet weights for ResNet-{depth} are not available. Download\n  {url}\n"
            f"and put the file at exactly\n  {path}\n(set TORCH_HOME to use another cache folder), "
            f"or build the backbone with pretrained=False.")
    if not path.is_file():
        if not allow_download:
            raise PretrainedWeightsError(hint)
        try:
            return torch.hub.load_state_dict_from_url(url, model_dir=str(path.parent), progress=False,
                                                      map_location="cpu", weights_only=True)
        except Exception as err:  # no network, proxy, HTTP error: all mean "not available"
            raise PretrainedWeightsError(f"{hint}\n(download failed: {err})") from err
    return torch.load(path, map_location="cpu", weights_only=True)


class ReIDBackbone(nn.Module):
    """Strong-baseline ReID network split as the paper's FE + LE.

    Args:
        num_classes: number of training identities (classifier width).
        depth: 18, 34 or 50 (the paper: 50).
        pretrained: load torchvision's ImageNet weights into the trunk
            (see :func:`load_imagenet_state_dict`); ``False`` = random init.
        last_stride_one: the strong baseline's last-stride trick (default on).
    """

    def __init__(self, num_classes: int, depth: int = 50, pretrained: bool = False,
                 last_stride_one: bool = True, allow_download: bool = True) -> None:
        super().__init__()
        if depth not in RESNETS:
            raise ValueError(f"depth must be one of {sorted(RESNETS)}, got {depth}")
        if num_classes < 1:
            raise ValueError(f"num_classes must be >= 1, got {num_classes}")
        resnet = RESNETS[depth][0](weights=None)
        if last_stride_one:
            set_last_stride_one(resnet)
        self.depth = depth
        self.num_classes = num_classes
        self.fmap_channels = 256 * type(resnet.layer3[0]).expansion  # f_map channels: 256 or 1024
        self.feat_dim = resnet.fc.in_features  # V: 512 or 2048
        # FE: keeps torchvision's names (former.conv1, former.layer3, ...)
        self.former = nn.Sequential(OrderedDict((name, getattr(resnet, name)) for name in FORMER_NAMES))
        # LE: layer4, last stride 1
        self.latter = resnet.layer4
        self.gap = nn.AdaptiveAvgPool2d(1)
        # BNNeck: BN whose shift is fixed at 0 (strong baseline), bias-free classifier
        self.bnneck = nn.BatchNorm1d(self.feat_dim)
        self.bnneck.bias.requires_grad_(False)
        self.classifier = nn.Linear(self.feat_dim, num_classes, bias=False)
        nn.init.ones_(self.bnneck.weight)
        nn.init.zeros_(self.bnneck.bias)
        nn.init.normal_(self.classifier.weight, std=0.001)
        if pretrained:
            self.load_trunk_state_dict(load_imagenet_state_dict(depth, allow_download))

    def load_trunk_state_dict(self, tv_state_dict: dict[str, Tensor]) -> None:
        """Load a torchvision ResNet state_dict into FE + LE (``fc.*`` ignored).
        Strict on the trunk: every FE/LE tensor must be provided."""
        self.trunk().load_state_dict(map_trunk_keys(tv_state_dict), strict=True)

    def trunk(self) -> nn.ModuleDict:
        """FE and LE as one module whose keys are ``former.*`` and ``latter.*``."""
        return nn.ModuleDict({"former": self.former, "latter": self.latter})

    def forward_latter(self, fmap: Tensor) -> dict[str, Tensor]:
        """LE -> GAP -> V -> BNNeck -> F, from a feature map ``f_map``."""
        feat = self.gap(self.latter(fmap)).flatten(1)
        bn_feat = self.bnneck(feat)
        return {"feat": feat, "bn_feat": bn_feat, "logits": self.classifier(bn_feat)}

    def forward(self, x: Tensor) -> BackboneOutput:
        """``x``: ImageNet-normalised images (B, 3, H, W). Returns
        ``{"fmap", "feat", "bn_feat", "logits"}`` (see :class:`BackboneOutput`)."""
        fmap = self.former(x)
        return BackboneOutput(fmap=fmap, **self.forward_latter(fmap))


def build_backbone(num_classes: int, depth: int = 50, pretrained: bool = False,
                   allow_download: bool = True) -> ReIDBackbone:
    """The paper's backbone: ResNet-``depth`` with last stride 1, GAP, BNNeck."""
    return ReIDBackbone(num_classes=num_classes, depth=depth, pretrained=pretrained,
                        allow_download=allow_download)
