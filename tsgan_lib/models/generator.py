"""CycleGAN generators G_I (RGB -> IR) and G_R (IR -> RGB) (paper Section III.A, Fig. 3 green box).

The paper does not describe its generators (docs/interpretations.md, 5); we use
CycleGAN's ResNet generator, written here from its description:

    reflect-pad, 7x7 conv (ngf) -> n_down x [3x3 stride-2 conv, channels x2]
    -> n_blocks x residual block (two 3x3 convs, reflect padding)
    -> n_down x [3x3 transposed conv, stride 2, channels /2]
    -> reflect-pad, 7x7 conv (3 channels) -> tanh

Every conv is followed by InstanceNorm and ReLU except the last. Images live
in [-1, 1] (the tanh range); :mod:`tsgan_lib.models.convert` converts to and
from the ReID networks' ImageNet-normalised input. The CycleGAN default is
ngf=64 with 9 blocks at 256x256; the CPU demos use ngf=16-32 and 2-3 blocks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from torch import Tensor, nn

from tsgan_lib.ranges import AtLeast, NonNegative, OneOf


@dataclass
class GeneratorConfig:
    """Width and depth of a ResNet generator (CycleGAN's defaults)."""

    ngf: Annotated[int, AtLeast(1)] = 64  # channels after the first conv
    n_blocks: Annotated[int, NonNegative] = 9  # residual blocks at the bottleneck resolution
    n_down: Annotated[int, NonNegative] = 2  # stride-2 downsamplings (and as many upsamplings)
    in_channels: Annotated[int, OneOf(3)] = 3  # the images have 3 channels, IR ones too
    out_channels: Annotated[int, OneOf(3)] = 3  # SYSU-MM01 stores IR as 3 identical channels


def _norm(channels: int) -> nn.Module:
    # InstanceNorm without affine parameters, so the convs before it keep a bias
    return nn.InstanceNorm2d(channels, affine=False)


class ResidualBlock(nn.Module):
    """x + [pad, conv3x3, IN, ReLU, pad, conv3x3, IN](x)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), _norm(channels), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), _norm(channels),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.body(x)


class ResnetGenerator(nn.Module):
    """An image-to-image translator in [-1, 1]; ``H`` and ``W`` must be
    divisible by ``2**n_down``."""

    def __init__(self, cfg: GeneratorConfig | None = None) -> None:
        super().__init__()
        cfg = cfg or GeneratorConfig()
        self.cfg = cfg
        ch = cfg.ngf
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(cfg.in_channels, ch, 7), _norm(ch), nn.ReLU(True)]
        for _ in range(cfg.n_down):
            layers += [nn.Conv2d(ch, ch * 2, 3, stride=2, padding=1), _norm(ch * 2), nn.ReLU(True)]
            ch *= 2
        layers += [ResidualBlock(ch) for _ in range(cfg.n_blocks)]
        for _ in range(cfg.n_down):
            layers += [nn.ConvTranspose2d(ch, ch // 2, 3, stride=2, padding=1, output_padding=1),
                       _norm(ch // 2), nn.ReLU(True)]
            ch //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ch, cfg.out_channels, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.normal_(m.weight, 0.0, 0.02)   # CycleGAN's init
                nn.init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tensor:
        factor = 2 ** self.cfg.n_down
        if x.shape[-2] % factor or x.shape[-1] % factor:
            raise ValueError(f"image size {tuple(x.shape[-2:])} must be divisible by {factor} "
                             f"(n_down={self.cfg.n_down})")
        return self.net(x)
