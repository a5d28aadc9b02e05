"""Training: Algorithm 1's three phases (:mod:`.steps`, with their precision in
:mod:`.precision`), the configuration (:mod:`.config`), the one fit loop
(:mod:`.loop`) with its hooks (:mod:`.hooks`, :mod:`.checkpoint`) and its
non-finite guard (:mod:`.guard`), the stop request shared by a run's phases
(:mod:`.stop`), the IR teacher (:mod:`.teacher`), the run (:mod:`.trainer`),
the mechanism probes (:mod:`.probes`) and multi-GPU training (:mod:`.distributed`)."""

from .config import (ConfigError, RunConfig, TrainConfig, format_diff, load_config, needs_teacher, resolve_config,
                     step_config)
from .hooks import NonFiniteLossError
from .loop import FitLoop, LoopConfig
from .schedule import ScheduleConfig, lr_factor
from .steps import (TABLE2_VARIANTS, OptimConfig, StepTerms, TSGANConfig, TSGANModels, algorithm_1, backbone_step,
                    discriminator_step, frozen, generator_step, make_optimizers, table2_config, train_step)
from .stop import StopRequest, Stopped
from .teacher import TeacherConfig, obtain_teacher, pretrain_teacher
from .trainer import RunInfo, clear_run, train

__all__ = [
    "ConfigError", "RunConfig", "TrainConfig", "format_diff", "load_config", "needs_teacher", "resolve_config",
    "step_config", "FitLoop", "LoopConfig", "NonFiniteLossError", "StopRequest", "Stopped", "ScheduleConfig",
    "lr_factor", "TABLE2_VARIANTS", "OptimConfig", "StepTerms", "TSGANConfig", "TSGANModels", "algorithm_1",
    "backbone_step", "discriminator_step", "frozen", "generator_step", "make_optimizers", "table2_config",
    "train_step", "TeacherConfig", "obtain_teacher", "pretrain_teacher", "RunInfo", "clear_run", "train",
]
