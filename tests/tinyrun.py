"""The tiny training configuration the run tests share: a 24-identity stand-in,
64x32 images, ResNet-18 from scratch, a 4-channel generator; a whole run takes
seconds on a CPU and goes through the real code path of notebook 04 and the CLI."""

from __future__ import annotations

from pathlib import Path

from tsgan_lib.train import TrainConfig, resolve_config

TINY = {"data.synthetic.num_ids": 24, "data.height": 64, "data.width": 32, "data.P": 4, "data.K": 2,
        "model.depth": 18, "model.pretrained": False, "model.generator.ngf": 4, "model.generator.n_blocks": 1,
        "model.discriminator.ndf": 8, "schedule.epochs": 2, "optim.lr_backbone": 1e-3, "schedule.warmup_epochs": 1,
        "schedule.warmup_start": 0.1,
        "schedule.milestones": [1], "teacher.schedule.epochs": 1, "teacher.lr": 1e-3,
        "teacher.schedule.warmup_epochs": 0, "teacher.schedule.milestones": [], "run.threads": 2,
        "run.log_every": 3, "run.progress": False, "eval.trials": 2}


def tiny_settings(tmp: Path, name: str, **overrides) -> dict:
    """The tiny settings for a run in ``tmp/name`` (teacher shared in ``tmp/teacher.pt``);
    ``overrides`` by dotted name with ``__`` for the dots."""
    return {**TINY, "teacher.path": str(tmp / "teacher.pt"), "run.dir": str(tmp / name),
            **{k.replace("__", "."): v for k, v in overrides.items()}}


def tiny(tmp: Path, name: str, **overrides) -> TrainConfig:
    return resolve_config(None, tiny_settings(Path(tmp), name, **overrides))


def quiet(msg: str) -> None:
    pass
