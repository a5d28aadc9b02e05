"""Models, one module per box of the paper's Fig. 3.

- :mod:`.backbone`      -- the student ReID backbone: FE_S (``.former``), LE_S
  (``.latter``), GAP -> V, BNNeck, classifier -> F (red box).
- :mod:`.teacher`       -- FE_T, the frozen IR teacher's former encoder (blue box).
- :mod:`.generator`     -- G_I (RGB -> IR) and G_R (IR -> RGB) (green box).
- :mod:`.discriminator` -- D_I, the joint discriminator over (image, feature map)
  pairs, its ordinary variant, and D_R (green box).
- :mod:`.cyclegan`      -- G_I, G_R, D_I, D_R in one container (the green box).
- :mod:`.convert`       -- the one conversion between GAN range [-1, 1] and
  ImageNet-normalised ReID input.

Beside the paper's boxes, the field's baseline AGW on the same backbone:

- :mod:`.agw`           -- non-local blocks in FE, GeM pooling: :class:`AGWBackbone`.
"""

from .agw import AGWBackbone, GeMPooling, NonLocalBlock, build_agw_backbone, insert_non_local
from .backbone import (BackboneOutput, PretrainedWeightsError, ReIDBackbone, build_backbone,
                       load_imagenet_state_dict, map_trunk_keys, set_last_stride_one, weights_cache_path)
from .cyclegan import CycleGAN, CycleGANConfig, build_cyclegan_from_config
from .convert import gan_to_reid, reid_to_gan, reid_to_unit
from .discriminator import (DiscriminatorConfig, JointDiscriminator, PatchDiscriminator, build_disc_ir,
                            discriminate_ir)
from .generator import GeneratorConfig, ResnetGenerator
from .teacher import FrozenTeacher

__all__ = [
    "BackboneOutput", "PretrainedWeightsError", "ReIDBackbone", "build_backbone", "load_imagenet_state_dict",
    "set_last_stride_one", "weights_cache_path", "map_trunk_keys",
    "AGWBackbone", "GeMPooling", "NonLocalBlock", "build_agw_backbone", "insert_non_local",
    "CycleGAN", "CycleGANConfig", "build_cyclegan_from_config",
    "gan_to_reid", "reid_to_gan", "reid_to_unit",
    "DiscriminatorConfig", "JointDiscriminator", "PatchDiscriminator", "build_disc_ir", "discriminate_ir",
    "GeneratorConfig", "ResnetGenerator",
    "FrozenTeacher",
]
