"""One training run's settings: :class:`TrainConfig`, presets in ``params/``.

Defaults are the paper's (Section IV.B, PAPER_NOTES section 4): ResNet-50
from ImageNet, 288x144 images, 8 identities x 4 (RGB, IR) pairs, 120 epochs,
Adam 3.5e-4 with weight decay 5e-4, linear warm-up over 10 epochs, x0.3 at
epochs 40 and 70, λ1=3, λ2=1, λ3=0.1, m=0.3, α_s=0.003, α_c=0.006, ω=10, and
the CycleGAN's generator and PatchGAN at their usual size (ngf=64, 9 blocks,
ndf=64) with Adam 2e-4, betas (0.5, 0.999). Where the paper is silent the
choices are PAPER_NOTES section 5's and are fields here: the GAN learning rate
is constant (the paper gives no GAN schedule), the teacher recipe is the
strong baseline's.

A preset is a YAML file of field values (``params/<name>.yaml``): the same
file serves ``papermill notebooks/04_train.ipynb out.ipynb -f params/X.yaml``
(papermill sets the notebook's parameters) and :func:`load_preset` (the
library reads it). Unknown keys are an error that names the file.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tsgan_lib.data.transforms import default_pad
from tsgan_lib.utils import REPO_ROOT, resolve_path

from .steps import TABLE2_VARIANTS

PARAMS_DIR = REPO_ROOT / "params"
LEGACY_PAD = 10  # the crop padding of configs and teachers saved before `pad` existed (10 px at any size)
AMP_CHOICES = ("auto", "bf16", "fp16", "off")

# Fields that do not change what is trained: they may differ when a run resumes.
RUNTIME_FIELDS = frozenset({"device", "amp", "channels_last", "workers", "threads", "log_every",
                            "checkpoint_every", "epochs", "run_dir", "resume", "teacher_path", "progress",
                            "eval_modes", "eval_shots", "eval_trials", "eval_rerank", "eval_batch_size", "eval_rand_perm",
                            "params"})


@dataclass
class TrainConfig:
    """Everything one run of Algorithm 1 needs (the paper's values by default)."""

    # data
    data_root: str | None = None      # SYSU-MM01 folder; None = the synthetic stand-in
    num_ids: int = 160                # synthetic stand-in: identities (ignored with data_root)
    data_seed: int = 0                # synthetic stand-in: generator seed (the data, not the training)
    height: int = 288                 # input height (PAPER_NOTES 5.6)
    width: int = 144                  # input width
    P: int = 8                        # identities per batch
    K: int = 4                        # (RGB, IR) pairs per identity
    pad: int | None = None            # random-crop padding in px; None = 10 px at 144 wide, scaled to width
    workers: int = 0                  # DataLoader worker processes
    # model
    variant: str = "jd_all_ts"        # Table II row: backbone | od_single_ts | od_all_ts | jd_all_ts
    depth: int = 50                   # ResNet depth of student and teacher
    pretrained: bool = True           # ImageNet initialisation of the student (and a fallback teacher)
    ngf: int = 64                     # generator width (CycleGAN: 64)
    n_blocks: int = 9                 # generator residual blocks (CycleGAN: 9)
    ndf: int = 64                     # discriminator width (CycleGAN: 64)
    gan_mode: str = "vanilla"         # "vanilla" (the paper's log-likelihood) or "lsgan"
    # losses (Eq. 7, 8, 16)
    lambda1: float = 3.0              # λ1, ID loss
    lambda2: float = 1.0              # λ2, triplet loss
    lambda3: float = 0.1              # λ3, the backbone's GAN loss
    margin: float = 0.3               # m, triplet margin
    label_smoothing: float = 0.1      # ε of Eq. (10)
    alpha_s: float = 0.003            # α_s, same-domain TS losses (13)+(14)
    alpha_c: float = 0.006            # α_c, cross-domain TS loss (15)
    omega: float = 10.0               # ω, cycle loss
    # schedule
    epochs: int = 120
    lr: float = 3.5e-4                # O_B, Adam
    weight_decay: float = 5e-4
    warmup_epochs: int = 10           # linear warm-up from lr * warmup_start
    warmup_start: float = 0.1
    milestones: tuple[int, ...] = (40, 70)
    gamma: float = 0.3                # the paper's decay factor
    lr_gan: float = 2e-4              # O_G and O_D, Adam, constant
    beta1_gan: float = 0.5
    beta2_gan: float = 0.999
    # teacher (FE_T): loaded from teacher_path, or pretrained there with this recipe
    teacher_path: str = "runs/teacher/teacher.pt"
    teacher_epochs: int = 120
    teacher_lr: float = 3.5e-4
    teacher_warmup_epochs: int = 10
    teacher_milestones: tuple[int, ...] = (40, 70)
    teacher_gamma: float = 0.1        # the strong baseline's decay
    # run
    run_dir: str = "runs/demo"
    device: str = "auto"              # "auto", "cpu", "cuda"
    amp: str = "auto"                 # CUDA: "auto" = bf16 if supported else fp16 (+ GradScaler); CPU: off
    channels_last: bool = True        # CUDA only
    threads: int = 0                  # CPU threads for torch; 0 = torch's default
    seed: int = 0
    log_every: int = 10               # steps per metrics-log line (and host sync)
    checkpoint_every: int = 0         # also checkpoint every N steps inside an epoch; 0 = at epoch ends only
    resume: bool = True               # continue from run_dir's checkpoint when there is one
    progress: bool = True             # tqdm bars
    # evaluation written to results.json
    eval_modes: tuple[str, ...] = ("all", "indoor")
    eval_shots: tuple[int, ...] = (1,)
    eval_trials: int = 10
    eval_rerank: bool = False
    eval_batch_size: int = 128
    eval_rand_perm: str | None = None  # the official rand_perm_cam.mat (exact SYSU galleries); None = seeded draws
    params: str | None = None         # the preset this config came from (a record; see load_preset)

    def __post_init__(self) -> None:
        self.milestones = tuple(int(m) for m in self.milestones)
        self.teacher_milestones = tuple(int(m) for m in self.teacher_milestones)
        self.eval_modes = tuple(self.eval_modes)
        self.eval_shots = tuple(int(s) for s in self.eval_shots)
        self.validate()

    def validate(self) -> None:
        """Raise ``ValueError`` naming the field when a value is out of range."""
        def bad(name: str, expected: str) -> ValueError:
            return ValueError(f"TrainConfig.{name}={getattr(self, name)!r}: expected {expected}")
        if self.variant not in TABLE2_VARIANTS:
            raise bad("variant", f"one of {TABLE2_VARIANTS}")
        if self.depth not in (18, 34, 50):
            raise bad("depth", "18, 34 or 50")
        if self.amp not in AMP_CHOICES:
            raise bad("amp", f"one of {AMP_CHOICES}")
        if self.gan_mode not in ("vanilla", "lsgan"):
            raise bad("gan_mode", "'vanilla' or 'lsgan'")
        for name in ("height", "width", "P", "K", "log_every", "eval_batch_size"):
            if int(getattr(self, name)) < 1:
                raise bad(name, "a positive integer")
        if self.height % 16 or self.width % 16:
            raise ValueError(f"TrainConfig.height x width = {self.height}x{self.width}: expected multiples of 16 "
                             "(the joint discriminator aligns the image with the stride-16 feature map)")
        if self.pad is not None and int(self.pad) < 0:
            raise bad("pad", "None (10 px at 144 wide, scaled to the width) or a non-negative number of pixels")
        if self.P < 2:
            raise bad("P", "at least 2 (the triplet loss needs negatives)")
        for name in ("epochs", "teacher_epochs", "workers", "threads", "checkpoint_every", "warmup_epochs",
                     "teacher_warmup_epochs", "eval_trials"):
            if int(getattr(self, name)) < 0:
                raise bad(name, "a non-negative integer")
        if not set(self.eval_modes) <= {"all", "indoor"}:
            raise bad("eval_modes", "a subset of ('all', 'indoor')")
        if not set(self.eval_shots) <= {1, 10}:
            raise bad("eval_shots", "a subset of (1, 10)")

    # ---- conversions -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values (tuples as lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, values: dict[str, Any], source: str = "the values") -> TrainConfig:
        """Build from a mapping; unknown keys raise ``ValueError`` naming ``source``."""
        _check_field_names(values, source)
        return cls(**values)

    def replace(self, **changes: Any) -> TrainConfig:
        return self.from_dict({**self.to_dict(), **changes}, "replace()")

    def diff(self, other: TrainConfig | None = None) -> dict[str, tuple[Any, Any]]:
        """``{field: (other's value, this value)}`` where they differ
        (``other`` defaults to ``TrainConfig()``, the paper's settings)."""
        a, b = (other or TrainConfig()).to_dict(), self.to_dict()
        return {k: (a[k], b[k]) for k in b if a[k] != b[k]}

    @property
    def crop_pad(self) -> int:
        """The random-crop padding this run uses (``pad``, or the paper's scaled to ``width``)."""
        return default_pad(self.width) if self.pad is None else int(self.pad)

    @property
    def resolved_run_dir(self) -> Path:
        return resolve_path(self.run_dir)


def _check_field_names(values: dict[str, Any], source: str) -> None:
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ValueError(f"{source}: unknown TrainConfig field(s) {unknown}; known fields: {sorted(names)}")


def preset_path(name: str | os.PathLike) -> Path:
    """``"sysu_jd_all_ts"`` -> ``params/sysu_jd_all_ts.yaml``; a path (absolute,
    or relative to the repository root) is used as given."""
    text = str(name)
    if os.sep in text or "/" in text or text.endswith((".yaml", ".yml")):
        return resolve_path(text)
    return PARAMS_DIR / f"{text}.yaml"


def read_preset(name: str | os.PathLike) -> dict[str, Any]:
    """The field values of a preset file (a flat YAML mapping)."""
    import yaml

    path = preset_path(name)
    if not path.is_file():
        known = sorted(p.stem for p in PARAMS_DIR.glob("*.yaml")) if PARAMS_DIR.is_dir() else []
        raise FileNotFoundError(f"preset {name!r}: no file {path}; presets in {PARAMS_DIR}: {known}")
    values = yaml.safe_load(path.read_text()) or {}
    if not isinstance(values, dict):
        raise ValueError(f"{path}: expected a mapping of TrainConfig fields, got {type(values).__name__}")
    _check_field_names(values, str(path))
    return values


def load_preset(name: str | os.PathLike, **overrides: Any) -> TrainConfig:
    """``TrainConfig`` from the paper defaults, then the preset, then ``overrides``."""
    values = {**read_preset(name), **overrides, "params": str(name)}
    return TrainConfig.from_dict(values, str(preset_path(name)))


def config_from_namespace(namespace: dict[str, Any]) -> TrainConfig:
    """The notebook's rule, applied to its variables (``globals()``).

    Precedence: a variable named like a :class:`TrainConfig` field whose value
    is not ``None`` (the parameters cell, ``-p name value``, every key of a
    ``-f file.yaml``) > the preset named by ``namespace["params"]`` > the
    paper's defaults. Other variables are ignored.
    """
    preset = namespace.get("params")
    values: dict[str, Any] = dict(read_preset(preset)) if preset else {}
    for f in dataclasses.fields(TrainConfig):
        if f.name in namespace and namespace[f.name] is not None and f.name != "params":
            values[f.name] = namespace[f.name]
    if preset:
        values["params"] = str(preset)
    return TrainConfig.from_dict(values, f"preset {preset!r} + notebook parameters" if preset else "notebook parameters")


def save_config(cfg: TrainConfig, path: str | os.PathLike) -> Path:
    from .checkpoint import write_text_atomic

    return write_text_atomic(path, json.dumps(cfg.to_dict(), indent=2) + "\n")


def load_config(path: str | os.PathLike) -> TrainConfig:
    """A saved ``config.json``. One written before ``pad`` existed used 10 px
    whatever the input size, so it reads as ``pad=10`` (and does not resume
    as a run with the scaled default)."""
    path = Path(path)
    values = json.loads(path.read_text())
    values.setdefault("pad", LEGACY_PAD)
    return TrainConfig.from_dict(values, str(path))


def format_diff(cfg: TrainConfig, other: TrainConfig | None = None) -> str:
    """One line per field that differs from ``other`` (default: the paper's settings)."""
    rows = cfg.diff(other)
    if not rows:
        return "  (none: the paper's settings)"
    width = max(map(len, rows))
    return "\n".join(f"  {k:<{width}} = {b!r}  (paper: {a!r})" for k, (a, b) in rows.items())
