"""Training: Algorithm 1's three phases (:mod:`.steps`), the configuration
(:mod:`.config`), the one fit loop (:mod:`.loop`) with its non-finite guard
(:mod:`.guard`), the stop request shared by a run's phases (:mod:`.stop`), the
IR teacher (:mod:`.teacher`), the run (:mod:`.trainer`) and multi-GPU training
(:mod:`.distributed`)."""

from .config import (ConfigError, RunConfig, TrainConfig, format_diff, load_config, needs_teacher, resolve_config,
                     step_config)
from .loop import FitLoop, NonFiniteLossError
from .schedule import ScheduleConfig, lr_factor
from .steps import (TABLE2_VARIANTS, OptimConfig, StepTerms, TSGANConfig, TSGANModels, backbone_step,
                    discriminator_step, frozen, generator_step, make_optimizers, run_steps, table2_config, train_step)
from .stop import StopRequest, Stopped
from .teacher import (ModalityBatches, TeacherConfig, obtain_teacher, pretrain_teacher, table3_query_gallery,
                      teacher_quality)
from .trainer import RunInfo, clear_run, run, run_trials, train

__all__ = [
    "ConfigError", "RunConfig", "TrainConfig", "format_diff", "load_config", "needs_teacher", "resolve_config",
    "step_config", "FitLoop", "NonFiniteLossError", "StopRequest", "Stopped", "ScheduleConfig", "lr_factor",
    "TABLE2_VARIANTS", "OptimConfig", "StepTerms", "TSGANConfig", "TSGANModels", "backbone_step",
    "discriminator_step", "frozen", "generator_step", "make_optimizers", "run_steps", "table2_config", "train_step",
    "ModalityBatches", "TeacherConfig", "obtain_teacher", "pretrain_teacher", "table3_query_gallery",
    "teacher_quality", "RunInfo", "clear_run", "run", "run_trials", "train",
]
