"""Training: Algorithm 1's three phases (:mod:`.steps`), the IR teacher's
pretraining (:mod:`.teacher`), the full resumable run (:mod:`.config`,
:mod:`.trainer`, :mod:`.checkpoint`) and its test (:mod:`.results`)."""

from .steps import (TABLE2_VARIANTS, OptimConfig, StepTerms, TSGANConfig, TSGANModels, backbone_step,
                    discriminator_step, frozen, generator_step, make_optimizers, run_steps, table2_config, train_step)
from .teacher import (ModalityBatches, TeacherConfig, load_or_pretrain_teacher, load_teacher, lr_factor,
                      pretrain_teacher, save_teacher, table3_query_gallery, teacher_config_dict)
from .checkpoint import load_backbone, load_weights, save_atomic, save_backbone
from .config import TrainConfig, format_diff, load_config, load_preset, config_from_namespace, read_preset
from .curves import plot_loss_curves, read_metrics
from .results import evaluate_run, load_results, setting_key
from .trainer import RunInfo, clear_run, run, step_config, train

__all__ = [
    "load_backbone", "load_weights", "save_atomic", "save_backbone", "TrainConfig", "format_diff", "load_config",
    "load_preset", "config_from_namespace", "read_preset", "plot_loss_curves", "read_metrics", "evaluate_run",
    "load_results", "setting_key", "RunInfo", "clear_run", "run", "step_config", "train",
    "TABLE2_VARIANTS", "OptimConfig", "StepTerms", "TSGANConfig", "TSGANModels", "backbone_step", "discriminator_step",
    "frozen", "generator_step", "make_optimizers", "run_steps", "table2_config", "train_step",
    "ModalityBatches", "TeacherConfig", "load_or_pretrain_teacher", "load_teacher", "lr_factor", "pretrain_teacher",
    "save_teacher", "table3_query_gallery", "teacher_config_dict",
]
