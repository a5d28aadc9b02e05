"""The RGB-IR image generation module as one container (paper Section III.A, Fig. 3 green box).

:class:`CycleGAN` holds G_I (RGB -> IR), G_R (IR -> RGB), D_I (joint or
ordinary) and D_R, so the whole module is saved, moved and counted in one
call, and the two optimisers O_G / O_D of Algorithm 1 get their parameter
groups from :meth:`CycleGAN.generator_parameters` /
:meth:`CycleGAN.discriminator_parameters`. It is saved and read like every
network of the project, by :func:`tsgan_lib.files.save_network` /
:func:`~tsgan_lib.files.load_network` (notebook 02 -> 03), which rebuild it
from :meth:`CycleGAN.config_dict`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, field

from torch import nn

from .discriminator import DiscriminatorConfig, PatchDiscriminator, build_disc_ir
from .generator import GeneratorConfig, ResnetGenerator


@dataclass
class CycleGANConfig:
    """Generators, discriminators and the kind of D_I."""

    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    discriminator: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)
    joint_disc: bool = True  # D_I joint over (image, f_map) (TS-GAN_JD) or image only (TS-GAN_OD)


class CycleGAN(nn.Module):
    """G_I, G_R, D_I, D_R. ``fmap_channels``: the backbone's layer-3 channels
    (the joint D_I reads feature maps of that width)."""

    def __init__(self, fmap_channels: int, cfg: CycleGANConfig | None = None) -> None:
        super().__init__()
        cfg = cfg or CycleGANConfig()
        self.cfg = cfg
        self._fmap_channels = fmap_channels
        self.gen_ir = ResnetGenerator(cfg.generator)    # G_I: RGB -> IR
        self.gen_rgb = ResnetGenerator(cfg.generator)   # G_R: IR -> RGB
        self.disc_ir = build_disc_ir(cfg.joint_disc, fmap_channels, cfg.discriminator)  # D_I
        self.disc_rgb = PatchDiscriminator(cfg=cfg.discriminator)                       # D_R

    @property
    def joint(self) -> bool:
        return bool(getattr(self.disc_ir, "joint", False))

    @property
    def fmap_channels(self) -> int:
        return self._fmap_channels

    def config_dict(self) -> dict:
        """Plain values that rebuild this module with :func:`build_cyclegan_from_config`."""
        return {"fmap_channels": self._fmap_channels, "joint_disc": self.cfg.joint_disc,
                "generator": asdict(self.cfg.generator), "discriminator": asdict(self.cfg.discriminator)}

    def generator_parameters(self) -> Iterator[nn.Parameter]:
        """Parameters of G_I and G_R (optimiser O_G)."""
        yield from self.gen_ir.parameters()
        yield from self.gen_rgb.parameters()

    def discriminator_parameters(self) -> Iterator[nn.Parameter]:
        """Parameters of D_I and D_R (optimiser O_D)."""
        yield from self.disc_ir.parameters()
        yield from self.disc_rgb.parameters()


def build_cyclegan_from_config(config: dict) -> CycleGAN:
    """Rebuild a :class:`CycleGAN` from :meth:`CycleGAN.config_dict` (random weights)."""
    disc = {"norm_affine": True, **config["discriminator"]}  # saved before the setting: the affine reading
    cfg = CycleGANConfig(generator=GeneratorConfig(**config["generator"]),
                         discriminator=DiscriminatorConfig(**disc),
                         joint_disc=bool(config["joint_disc"]))
    return CycleGAN(int(config["fmap_channels"]), cfg)
