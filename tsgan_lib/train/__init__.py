"""Training: Algorithm 1's three phases (:mod:`.steps`) and the IR teacher's
pretraining (:mod:`.teacher`)."""

from .steps import (TABLE2_VARIANTS, OptimConfig, StepTerms, TSGANConfig, TSGANModels, backbone_step,
                    discriminator_step, frozen, generator_step, make_optimizers, run_steps, table2_config, train_step)
from .teacher import (ModalityBatches, TeacherConfig, load_or_pretrain_teacher, load_teacher, lr_factor,
                      pretrain_teacher, save_teacher, table3_query_gallery, teacher_config_dict)

__all__ = [
    "TABLE2_VARIANTS", "OptimConfig", "StepTerms", "TSGANConfig", "TSGANModels", "backbone_step", "discriminator_step",
    "frozen", "generator_step", "make_optimizers", "run_steps", "table2_config", "train_step",
    "ModalityBatches", "TeacherConfig", "load_or_pretrain_teacher", "load_teacher", "lr_factor", "pretrain_teacher",
    "save_teacher", "table3_query_gallery", "teacher_config_dict",
]
