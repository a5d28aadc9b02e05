"""The sizes of the networks of Fig. 3, as one component of a run's configuration.

The student ReID backbone and the IR teacher share ``depth`` (their layer-3
maps must have the same shape for the teacher-student losses and the joint
D_I); the generators and discriminators keep their own configs
(:class:`~tsgan_lib.models.generator.GeneratorConfig`,
:class:`~tsgan_lib.models.discriminator.DiscriminatorConfig`), whose defaults
are CycleGAN's (docs/interpretations.md, 5).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Literal

from tsgan_lib.ranges import OneOf

from .discriminator import DiscriminatorConfig
from .generator import GeneratorConfig

DEPTHS = (18, 34, 50)


@dataclass
class ModelConfig:
    """Student and teacher backbones, G_I / G_R, D_I / D_R."""

    depth: Annotated[int, OneOf(*DEPTHS)] = 50  # ResNet depth of the student and the teacher (paper IV.B: ResNet-50)
    pretrained: bool = True    # ImageNet initialisation of both (paper IV.B)
    arch: Literal["resnet", "agw"] = "resnet"  # the student's network: the strong baseline's ResNet (paper) or AGW's (non-local blocks, GeM)
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)              # G_I and G_R
    discriminator: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)  # D_I and D_R
