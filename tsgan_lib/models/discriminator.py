"""Discriminators: D_R (ordinary PatchGAN on RGB) and D_I, the *joint*
discriminator over (IR image, layer-3 feature map) pairs (paper Section III.A).

**PatchGAN** (CycleGAN's 70x70 discriminator, written from its description):
a 4x4 stride-2 conv without norm, ``n_layers - 1`` more stride-2 convs with
InstanceNorm and LeakyReLU(0.2), one stride-1 conv, and a 1-channel stride-1
conv. As in CycleGAN's code the InstanceNorms have no learnt scale and shift
and the convolutions before them keep their bias (``norm_affine=False``, the
default; ``True`` is the suite's first reading: affine norms, bias-free convs).
The output is a map of logits, one per image patch. It serves as D_R and
as the *ordinary* D_I of the paper's Table II rows "TS-GAN_OD" (image only).

**Joint discriminator** (docs/interpretations.md, 1). D_I(x, f) scores an IR
image x together with a ReID feature map f of shape (C3, H/16, W/16)::

    x (3, H, W) --image branch: 4 x [4x4 conv, stride 2]--> (c_img, H/16, W/16) --+
                                                                                 +--concat--> head
    f (C3, H/16, W/16) --feature branch: 1x1 conv--> (c_feat, H/16, W/16) -------+    --> logits (1, H/16, W/16)

The image branch reaches the feature map's resolution (the ResNet's layer-3
stride 16) so the two are concatenated position by position; the head is two
3x3 convs. Real pairs are (X_I, teacher map); the fake set M of Eq. (5)
holds the student's maps (:func:`tsgan_lib.losses.gan.fake_set_m`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from tsgan_lib.ranges import AtLeast, OneOf


@dataclass
class DiscriminatorConfig:
    """Widths of the discriminators (CycleGAN's PatchGAN defaults)."""

    ndf: Annotated[int, AtLeast(1)] = 64  # channels of the first conv
    n_layers: Annotated[int, AtLeast(1)] = 3  # stride-2 convs of the PatchGAN (3 -> 70x70 receptive field)
    fmap_stride: Annotated[int, OneOf(16)] = 16  # joint D: the feature map's stride w.r.t. the image (ResNet layer3)
    feat_channels: Annotated[int, AtLeast(1)] = 64  # joint D: the feature map is reduced to this many channels
    norm_affine: bool = False  # InstanceNorm with learnt scale/shift, convs without bias; CycleGAN: no affine, bias kept


def _conv_block(c_in: int, c_out: int, stride: int, norm: bool, affine: bool = False) -> list[nn.Module]:
    """A 4x4 conv (+ InstanceNorm) + LeakyReLU(0.2). CycleGAN's convs keep their bias
    before a non-affine InstanceNorm (``use_bias`` derived from the norm); an
    affine norm's shift makes the bias redundant."""
    layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, 4, stride=stride, padding=1, bias=not (norm and affine))]
    if norm:
        layers.append(nn.InstanceNorm2d(c_out, affine=affine))
    layers.append(nn.LeakyReLU(0.2, True))
    return layers


def _init(module: nn.Module) -> None:
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


class PatchDiscriminator(nn.Module):
    """Ordinary PatchGAN D(x) -> patch logits (B, 1, h, w). Used as D_R and as
    the ordinary D_I (Table II, "OD")."""

    joint = False

    def __init__(self, in_channels: int = 3, cfg: DiscriminatorConfig | None = None) -> None:
        super().__init__()
        cfg = cfg or DiscriminatorConfig()
        ch = cfg.ndf
        layers = _conv_block(in_channels, ch, 2, norm=False)
        for i in range(1, cfg.n_layers):
            nxt = cfg.ndf * min(2 ** i, 8)
            layers += _conv_block(ch, nxt, 2, norm=True, affine=cfg.norm_affine)
            ch = nxt
        nxt = cfg.ndf * min(2 ** cfg.n_layers, 8)
        layers += _conv_block(ch, nxt, 1, norm=True, affine=cfg.norm_affine)
        layers.append(nn.Conv2d(nxt, 1, 4, stride=1, padding=1))
        self.net = nn.Sequential(*layers)
        _init(self)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class JointDiscriminator(nn.Module):
    """Joint D_I(x, f) over (IR image in [-1, 1], layer-3 feature map) pairs.

    Args:
        fmap_channels: channels C3 of the feature map (256 for ResNet-18/34,
            1024 for ResNet-50).
    """

    joint = True

    def __init__(self, fmap_channels: int, in_channels: int = 3, cfg: DiscriminatorConfig | None = None) -> None:
        super().__init__()
        cfg = cfg or DiscriminatorConfig()
        if cfg.fmap_stride < 2 or cfg.fmap_stride & (cfg.fmap_stride - 1):
            raise ValueError(f"fmap_stride must be a power of 2 (>= 2), got {cfg.fmap_stride}")
        n_down = cfg.fmap_stride.bit_length() - 1  # stride-2 convs to reach the map's grid
        ch = cfg.ndf
        img = _conv_block(in_channels, ch, 2, norm=False)
        for i in range(1, n_down):
            nxt = cfg.ndf * min(2 ** i, 8)
            img += _conv_block(ch, nxt, 2, norm=True, affine=cfg.norm_affine)
            ch = nxt
        self.image_branch = nn.Sequential(*img)
        self.feature_branch = nn.Sequential(nn.Conv2d(fmap_channels, cfg.feat_channels, 1),
                                            nn.LeakyReLU(0.2, True))
        joint_ch = ch + cfg.feat_channels
        self.head = nn.Sequential(
            nn.Conv2d(joint_ch, joint_ch, 3, padding=1, bias=not cfg.norm_affine),
            nn.InstanceNorm2d(joint_ch, affine=cfg.norm_affine),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(joint_ch, 1, 3, padding=1),
        )
        self.fmap_channels = fmap_channels
        _init(self)

    def forward(self, x: Tensor, fmap: Tensor) -> Tensor:
        """Patch logits (B, 1, H/16, W/16) for the pairs (x[b], fmap[b])."""
        h_img = self.image_branch(x)
        if h_img.shape[-2:] != fmap.shape[-2:]:
            # odd sizes: bring the image branch onto the map's grid
            h_img = F.adaptive_avg_pool2d(h_img, fmap.shape[-2:])
        h = torch.cat([h_img, self.feature_branch(fmap)], dim=1)
        return self.head(h)


def build_disc_ir(joint: bool, fmap_channels: int, cfg: DiscriminatorConfig | None = None) -> nn.Module:
    """D_I: the joint discriminator (``joint=True``, the paper's TS-GAN_JD) or an
    ordinary PatchGAN on IR images (TS-GAN_OD of Table II)."""
    return JointDiscriminator(fmap_channels, cfg=cfg) if joint else PatchDiscriminator(cfg=cfg)


def discriminate_ir(disc_ir: nn.Module, x: Tensor, fmap: Tensor | None) -> Tensor:
    """D_I's logits for IR images ``x`` (and maps ``fmap`` when D_I is joint;
    an ordinary D_I ignores the map)."""
    if getattr(disc_ir, "joint", False):
        if fmap is None:
            raise ValueError("the joint discriminator D_I needs a feature map with each image")
        return disc_ir(x, fmap)
    return disc_ir(x)
