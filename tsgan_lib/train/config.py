"""One training run's settings: :class:`TrainConfig`, composed of the components' own configs.

Every default is stated once, in the component that owns it, with the
paper's value and section::

    TrainConfig
      variant    Table II row (steps.TABLE2_VARIANTS) or a baseline of the field (steps.BASELINE_VARIANTS)
      data       DataConfig        tsgan_lib/data/config.py     dataset, stand-in, 288x144, P=8 x K=4
      model      ModelConfig       tsgan_lib/models/config.py   ResNet-50 ImageNet; generator / discriminator
      reid       ReIDLossConfig    tsgan_lib/losses/reid.py     λ1=3, λ2=1, λ3=0.1, m=0.3, ε=0.1 (Eq. 8-11)
      ts         TSLossConfig      tsgan_lib/losses/teacher_student.py   α_c=0.006, α_s=0.003 (Eq. 16)
      gan        GANLossConfig     tsgan_lib/losses/gan.py      vanilla GAN, ω=10 (Eq. 7)
      optim      OptimConfig       tsgan_lib/train/steps.py     O_B Adam 3.5e-4, wd 5e-4; O_G/O_D Adam 2e-4
      schedule   ScheduleConfig    tsgan_lib/train/schedule.py  120 epochs, warm-up 10, x0.3 at 40 and 70
      teacher    TeacherConfig     tsgan_lib/train/teacher.py   the strong baseline's recipe on IR images
      run        RunConfig         here                         folder, device, precision, logging
      eval       EvalConfig        tsgan_lib/eval/config.py     the SYSU-MM01 protocol's settings

Settings are named by their dotted path (``ts.alpha_c``; the generic machinery
is :mod:`tsgan_lib.train.settings`). One function,
:func:`resolve_config`, builds a config from the defaults, a preset (a YAML
file in ``params/``, which may name a ``base:`` preset and carry only what
differs) and overrides; the notebook's parameters cell, the command line
(``--set ts.alpha_c=0.01``) and the Python API all go through it. An unknown
name, a value of the wrong type or an impossible value is a
:class:`ConfigError` that names the setting and what was expected (and, for a
misspelt name, the closest valid ones).

The path of α_c: ``ts: {alpha_c: 0.01}`` in a YAML preset (or ``ts.alpha_c``
anywhere else) -> :func:`resolve_config` -> ``TrainConfig.ts`` (a
``TSLossConfig``) -> :func:`step_config` -> ``train_step`` ->
``backbone_step`` -> ``ts_loss(..., cfg.ts)`` (Eq. 16).
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from tsgan_lib.data.config import DataConfig
from tsgan_lib.data.transforms import LEGACY_PAD
from tsgan_lib.eval.config import EvalConfig
from tsgan_lib.files import read_json, write_json
from tsgan_lib.losses import GANLossConfig, ReIDLossConfig, TSLossConfig
from tsgan_lib.models.config import ModelConfig
from tsgan_lib.ranges import AtLeast, Between, FilePath, NonNegative, OneOf
from tsgan_lib.utils import REPO_ROOT, resolve_path

from .schedule import ScheduleConfig
from .settings import ConfigError, check_ranges, closest, coerce, describe, field_types, flatten, plain, path_settings
from .steps import BASELINE_VARIANTS, ROWS, OptimConfig, TSGANConfig, table2_config
from .teacher import TeacherConfig

PARAMS_DIR = REPO_ROOT / "params"


@dataclass
class RunConfig:
    """Where a run lives and how it executes (none of it changes what is trained, except ``seed``)."""

    dir: Annotated[str | None, FilePath] = None  # the run folder; None = runs/<preset name> (runs/train without a preset)
    seed: Annotated[int, Between(0, 2**32 - 1)] = 0  # training seed: initial weights, batches, augmentations
    device: str = "auto"       # "auto" (CUDA when present), "cpu", "cuda", "cuda:N"
    amp: Literal["auto", "bf16", "fp16", "off"] = "auto"  # CUDA mixed precision: auto = bf16 where supported, else fp16
    channels_last: bool = True  # CUDA: channels-last tensors for the convolutions
    threads: Annotated[int, NonNegative] = 0           # CPU threads for torch; 0 = torch's default
    log_every: Annotated[int, AtLeast(1)] = 10        # steps per metrics-log line (and host synchronisation)
    checkpoint_every: Annotated[int, NonNegative] = 0  # also checkpoint every N steps inside an epoch; 0 = at epoch ends only
    max_nonfinite: Annotated[int, AtLeast(1)] = 20  # stop after this many steps in a row whose losses or gradients are not finite
    resume: bool = True        # continue from the run folder's checkpoint when there is one
    progress: bool = True      # tqdm progress bars
    probes_per_epoch: Annotated[int, NonNegative] = 2  # mechanism probes per epoch (gradient shares, X_I' identity, D_I; train/probes.py); 0 = off


@dataclass
class TrainConfig:
    """Everything one run of Algorithm 1 needs; every default is the paper's (see the module docstring)."""

    variant: Annotated[str, OneOf(*ROWS, why="Table II's rows and the field's baselines")] = "jd_all_ts"  # Table II row (jd_all_ts: the full model) or a baseline (agw, caj)
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    reid: ReIDLossConfig = field(default_factory=ReIDLossConfig)
    ts: TSLossConfig = field(default_factory=TSLossConfig)
    gan: GANLossConfig = field(default_factory=GANLossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    teacher: TeacherConfig = field(default_factory=TeacherConfig)
    run: RunConfig = field(default_factory=RunConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    preset: str | None = None  # the preset this config came from (a record, set by resolve_config)

    # ---- derived values ------------------------------------------------------------------------
    @property
    def run_dir(self) -> Path:
        """The run folder, resolved against the repository root."""
        name = Path(self.preset).stem if self.preset else "train"
        return resolve_path(self.run.dir or f"runs/{name}")

    def to_dict(self) -> dict[str, Any]:
        """Nested plain values (tuples as lists), as written to ``config.json``."""
        return plain(dataclasses.asdict(self))

    def flat(self) -> dict[str, Any]:
        """``{dotted name: plain value}`` for every setting."""
        return flatten(self.to_dict())

    def replace(self, **overrides: Any) -> TrainConfig:
        """A copy with overrides by dotted name, passed as keywords with ``__``
        for the dots (``cfg.replace(ts__alpha_c=0.01)``) or as a mapping."""
        return resolve_config(None, {**self.flat(), **{k.replace("__", "."): v for k, v in overrides.items()}})

    def diff(self, other: TrainConfig | None = None) -> dict[str, tuple[Any, Any]]:
        """``{name: (other's value, this value)}`` where they differ (``other``:
        the paper's settings, ``TrainConfig()``); the ``preset`` record is skipped."""
        a, b = (other or TrainConfig()).flat(), self.flat()
        return {k: (a.get(k), v) for k, v in b.items() if a.get(k) != v and k != "preset"}


def step_config(cfg: TrainConfig) -> TSGANConfig:
    """What ``train_step`` computes: the Table II row of ``cfg.variant`` with
    ``cfg``'s loss settings. The row switches off what it lacks (the GAN, the
    joint D_I, Eq. 13-14 or 15); ``ts.use_*`` may switch off more."""
    row = table2_config(cfg.variant)
    ts = dataclasses.replace(cfg.ts, use_cross_domain=row.ts.use_cross_domain and cfg.ts.use_cross_domain,
                             use_same_domain=row.ts.use_same_domain and cfg.ts.use_same_domain)
    return dataclasses.replace(row, reid=cfg.reid, ts=ts, gan=cfg.gan)


def needs_teacher(cfg: TrainConfig) -> bool:
    """FE_T is needed by the TS losses and by the joint D_I's real pairs."""
    s = step_config(cfg)
    return s.ts.use_cross_domain or s.ts.use_same_domain or (s.use_gan and s.joint_disc)


# ---- names and types ------------------------------------------------------------------------------
FIELD_TYPES = field_types(TrainConfig)
#: The settings that name a file or folder (``FilePath`` beside their defaults): ``run.dir``, ``data.root``...
PATH_SETTINGS = path_settings(TrainConfig)

# Settings of the flat configuration of the first layout (config.json of runs made before the
# composed one): old name -> new name. Used to load old runs and to suggest new names.
LEGACY_NAMES = {
    "data_root": "data.root", "num_ids": "data.synthetic.num_ids", "data_seed": "data.synthetic.seed",
    "height": "data.height", "width": "data.width", "P": "data.P", "K": "data.K", "pad": "data.pad",
    "workers": "data.workers", "depth": "model.depth", "pretrained": "model.pretrained",
    "ngf": "model.generator.ngf", "n_blocks": "model.generator.n_blocks", "ndf": "model.discriminator.ndf",
    "gan_mode": "gan.mode", "lambda1": "reid.lambda_id", "lambda2": "reid.lambda_tri", "lambda3": "reid.lambda_gan",
    "margin": "reid.margin", "label_smoothing": "reid.label_smoothing", "alpha_s": "ts.alpha_s",
    "alpha_c": "ts.alpha_c", "omega": "gan.omega", "epochs": "schedule.epochs", "lr": "optim.lr_backbone",
    "weight_decay": "optim.weight_decay", "warmup_epochs": "schedule.warmup_epochs",
    "warmup_start": "schedule.warmup_start", "milestones": "schedule.milestones", "gamma": "schedule.gamma",
    "lr_gan": "optim.lr_gan", "teacher_path": "teacher.path", "teacher_epochs": "teacher.schedule.epochs",
    "teacher_lr": "teacher.lr", "teacher_warmup_epochs": "teacher.schedule.warmup_epochs",
    "teacher_milestones": "teacher.schedule.milestones", "teacher_gamma": "teacher.schedule.gamma",
    "run_dir": "run.dir", "device": "run.device", "amp": "run.amp", "channels_last": "run.channels_last",
    "threads": "run.threads", "seed": "run.seed", "log_every": "run.log_every",
    "checkpoint_every": "run.checkpoint_every", "resume": "run.resume", "progress": "run.progress",
    "eval_modes": "eval.modes", "eval_shots": "eval.shots", "eval_trials": "eval.trials",
    "eval_rerank": "eval.rerank", "eval_batch_size": "eval.batch_size", "eval_rand_perm": "eval.rand_perm",
    "params": "preset", "variant": "variant",
}


def closest_names(name: str, n: int = 3) -> list[str]:
    """Valid setting names closest to a misspelt or old one (old flat names map to their new place)."""
    return [LEGACY_NAMES[name]] if name in LEGACY_NAMES else closest(name, FIELD_TYPES, n)


def _unknown(name: str, source: str) -> ConfigError:
    near = closest_names(name)
    hint = f"; did you mean {', '.join(near)}?" if near else ""
    return ConfigError(f"{source}: unknown setting {name!r}{hint} (settings are named by their dotted path, "
                       f"e.g. ts.alpha_c; `python -m tsgan_lib train --list` prints them all)")


# ---- building a config --------------------------------------------------------------------------
def _build(default: Any, values: Mapping[str, Any], prefix: str = "") -> Any:
    """``default`` (a config instance) with the ``values`` under ``prefix`` applied,
    nested components built from their parent's defaults (the teacher's schedule
    keeps its own gamma)."""
    changes = {}
    for f in dataclasses.fields(default):
        current = getattr(default, f.name)
        if dataclasses.is_dataclass(current):
            changes[f.name] = _build(current, values, f"{prefix}{f.name}.")
        elif f"{prefix}{f.name}" in values:
            changes[f.name] = values[f"{prefix}{f.name}"]
    return dataclasses.replace(default, **changes)


def _merge(values: dict[str, Any], updates: Mapping[str, Any], source: str) -> None:
    for name, value in flatten(updates).items():
        if name not in FIELD_TYPES:
            raise _unknown(name, source)
        values[name] = coerce(name, value, FIELD_TYPES[name], source)


def preset_path(name: str | os.PathLike, relative_to: Path = PARAMS_DIR) -> Path:
    """``"sysu_jd_all_ts"`` -> ``params/sysu_jd_all_ts.yaml``; a path (absolute,
    or relative to the repository root) is used as given."""
    text = str(name)
    if os.sep in text or "/" in text or text.endswith((".yaml", ".yml")):
        if not os.path.isabs(text) and (relative_to / text).is_file():
            return relative_to / text
        return resolve_path(text)
    return PARAMS_DIR / f"{text}.yaml"


def read_preset(name: str | os.PathLike, _seen: tuple[Path, ...] = ()) -> list[tuple[Path, dict]]:
    """A preset and its ``base:`` chain, base first: ``[(path, flat settings), ...]``."""
    import yaml

    path = preset_path(name, _seen[-1].parent if _seen else PARAMS_DIR)
    if not path.is_file():
        known = sorted(p.stem for p in PARAMS_DIR.glob("*.yaml")) if PARAMS_DIR.is_dir() else []
        near = difflib.get_close_matches(Path(str(name)).stem, known, n=3)
        raise ConfigError(f"preset {str(name)!r}: no file {path}" + (f"; did you mean {', '.join(near)}?" if near else "")
                          + f" (presets in {PARAMS_DIR}: {', '.join(known)})")
    if path in _seen:
        raise ConfigError(f"{path}: its base chain loops ({' -> '.join(p.name for p in _seen)} -> {path.name})")
    try:
        values = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{path} is not valid YAML: {err}") from err
    if not isinstance(values, dict):
        raise ConfigError(f"{path}: expected a mapping of settings, got {type(values).__name__}")
    base = values.pop("base", None)
    chain = read_preset(base, (*_seen, path)) if base else []
    return [*chain, (path, values)]


def parse_overrides(items: Iterable[str]) -> dict[str, str]:
    """``["ts.alpha_c=0.01", ...]`` (a command line's) -> ``{"ts.alpha_c": "0.01"}``; an item
    without ``=`` and a setting given twice (which would keep only the last) are refused."""
    pairs: dict[str, str] = {}
    for item in items:
        name, eq, value = str(item).partition("=")
        name, value = name.strip(), value.strip()
        if not eq:
            raise ConfigError(f"override {item!r}: expected name=value, e.g. ts.alpha_c=0.01")
        if name in pairs:
            raise ConfigError(f"overrides: {name} is given twice ({name}={pairs[name]}, then {name}={value}): "
                              "give it once")
        pairs[name] = value
    return pairs


def resolve_config(preset: str | os.PathLike | None = None,
                   overrides: Mapping[str, Any] | Iterable[str] | None = None) -> TrainConfig:
    """The one way to build a :class:`TrainConfig`: the paper's defaults, then
    the preset's ``base:`` chain and the preset, then ``overrides`` (a mapping
    of dotted names, or ``"name=value"`` strings from a command line). Raises
    :class:`ConfigError` naming the setting for an unknown name, a wrong type
    or an impossible value."""
    values: dict[str, Any] = {}
    if preset is not None:
        for path, settings in read_preset(preset):
            _merge(values, settings, str(path))
    if overrides:
        if not isinstance(overrides, Mapping):
            overrides = parse_overrides(overrides)
        _merge(values, overrides, "overrides")
    if preset is not None and "preset" not in (overrides or {}):
        values["preset"] = Path(str(preset)).stem if preset_path(preset).parent == PARAMS_DIR else str(preset)
    cfg = _build(TrainConfig(), values)
    validate(cfg)
    return cfg


#: What makes a baseline row that baseline (its other settings, the optimiser and schedule, may follow the data)
BASELINE_SETTINGS = {
    "agw": {"model.arch": "agw", "reid.triplet": "wrt", "reid.channel_aug": False},
    "caj": {"model.arch": "agw", "reid.triplet": "squared_difference", "reid.channel_aug": True},
}
assert set(BASELINE_SETTINGS) == set(BASELINE_VARIANTS)


def validate(cfg: TrainConfig) -> None:
    """Raise :class:`ConfigError` naming the setting when a value is impossible: first
    each setting against the range its component states beside its default
    (:func:`~tsgan_lib.train.settings.check_ranges`), then the rules that tie
    settings together."""
    def bad(name: str, value: Any, expected: str) -> ConfigError:
        return ConfigError(f"{name}={value!r}: expected {expected}")

    check_ranges(cfg)
    for name in ("synthetic", "synthetic_regdb", "synthetic_llcm"):
        try:
            getattr(cfg.data, name).validate()
        except ValueError as err:
            raise ConfigError(f"data.{name}.{err}") from err
    for name, sched in (("schedule", cfg.schedule), ("teacher.schedule", cfg.teacher.schedule)):
        late = [m for m in sched.milestones if not m < sched.epochs]
        if late:
            inside = f"epochs in 1..{sched.epochs - 1}" if sched.epochs > 1 else "no milestones"
            raise bad(f"{name}.milestones", list(sched.milestones),
                      f"{inside} ({name}.epochs={sched.epochs}): a decay at {late} would never happen")
        if sched.warmup_epochs > sched.epochs:
            raise bad(f"{name}.warmup_epochs", sched.warmup_epochs,
                      f"at most {name}.epochs={sched.epochs}: the warm-up happens inside the run")
    if cfg.teacher.loss.channel_aug:
        raise bad("teacher.loss.channel_aug", True, "False: the teacher trains on IR images alone, CAJ's views need "
                  "visible ones (reid.channel_aug is the student's)")
    flat = cfg.flat()
    for setting, value in BASELINE_SETTINGS.get(cfg.variant, {}).items():
        if flat[setting] != value:
            raise bad(setting, flat[setting], f"{value!r}: variant {cfg.variant!r} names that baseline, whose "
                      f"{setting} is {value!r} (its presets set it: params/synthetic_{cfg.variant}.yaml)")
    if not re.fullmatch(r"auto|cpu|cuda(:[0-9]+)?", cfg.run.device):
        raise bad("run.device", cfg.run.device, "'auto', 'cpu', 'cuda' or 'cuda:N'")


# ---- run folders --------------------------------------------------------------------------------
# Settings that do not change what is trained: they may differ when a run resumes.
RUNTIME_SETTINGS = ("run.dir", "run.device", "run.amp", "run.channels_last", "run.threads", "run.log_every",
                    "run.checkpoint_every", "run.max_nonfinite", "run.resume", "run.progress", "run.probes_per_epoch",
                    "data.workers",
                    "data.verify", "data.pipeline", "data.resident", "schedule.epochs", "teacher.path", "eval.", "preset")


def changes_what_is_trained(name: str) -> bool:
    return not any(name == s or (s.endswith(".") and name.startswith(s)) for s in RUNTIME_SETTINGS)


#: The stand-in generators' settings, by the dataset layout that uses them.
STAND_IN_SETTINGS = {"data.synthetic.": "sysu", "data.synthetic_regdb.": "regdb", "data.synthetic_llcm.": "llcm"}


def concerns(cfg: TrainConfig, name: str) -> bool:
    """Whether setting ``name`` can matter to ``cfg``'s run: a stand-in's generator settings matter only to
    runs on that stand-in (not to another layout's, nor to a run on a dataset folder)."""
    for prefix, dataset in STAND_IN_SETTINGS.items():
        if name.startswith(prefix):
            return cfg.data.root is None and cfg.data.dataset == dataset
    return True


def changes_the_results(name: str) -> bool:
    """What a finished run's numbers depend on: what is trained, for how long, and how it is tested."""
    return changes_what_is_trained(name) or name == "schedule.epochs" or (
        name.startswith("eval.") and name != "eval.batch_size")


def save_config(cfg: TrainConfig, path: str | os.PathLike) -> Path:
    return write_json(path, cfg.to_dict())


def _from_legacy(values: dict[str, Any]) -> dict[str, Any]:
    """A config.json of the first (flat) layout as dotted settings."""
    values = dict(values)
    values.setdefault("pad", LEGACY_PAD)  # written before `pad` existed: 10 px whatever the input size
    out = {}
    for old, new in LEGACY_NAMES.items():
        if old in values:
            out[new] = values.pop(old)
    if "beta1_gan" in values or "beta2_gan" in values:
        out["optim.betas_gan"] = (values.pop("beta1_gan", 0.5), values.pop("beta2_gan", 0.999))
    # the first layout's teacher shared the student's weight decay, margin and label smoothing
    for shared, teacher in (("optim.weight_decay", "teacher.weight_decay"), ("reid.margin", "teacher.loss.margin"),
                            ("reid.label_smoothing", "teacher.loss.label_smoothing")):
        if shared in out:
            out[teacher] = out[shared]
    if values:
        raise ConfigError(f"settings {sorted(values)} of the first layout have no place in the current one")
    return out


def load_config(path: str | os.PathLike) -> TrainConfig:
    """A run's ``config.json``, of the current layout or of the first (flat)
    one, which is converted (its old names map to their new places)."""
    path = Path(path)
    values = read_json(path, "a run's config.json (written by tsgan_lib.train)")
    if not isinstance(values, dict):
        raise ConfigError(f"{path}: expected a mapping of settings")
    flat = flatten(values)
    legacy = "lambda1" in values or ("data" not in values and "run_dir" in values)
    try:
        settings = _from_legacy(values) if legacy else flat
        cfg = resolve_config(None, {k: v for k, v in settings.items() if k != "preset"})
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from err
    return dataclasses.replace(cfg, preset=settings.get("preset"))


def format_diff(cfg: TrainConfig, other: TrainConfig | None = None) -> str:
    """One line per setting that differs from ``other`` (default: the paper's settings)."""
    rows = cfg.diff(other)
    label = "paper" if other is None else "other"
    if not rows:
        return f"  (none: the {label}'s settings)"
    width = max(map(len, rows))
    return "\n".join(f"  {k:<{width}} = {b!r}  ({label}: {a!r})" for k, (a, b) in rows.items())


def describe_settings(cfg: TrainConfig | None = None) -> str:
    """Every setting, its value in ``cfg`` (default: the paper's) and its meaning, one line each."""
    return "\n".join(describe(cfg or TrainConfig()))


def check_notebook_parameters(namespace: Mapping[str, Any], declared: Iterable[str]) -> None:
    """Refuse a value papermill injected under a name the notebook does not declare.

    papermill only warns ("Passed unknown parameter") and defines the variable
    anyway, so ``-p epochs 8`` would be silently ignored. Called right after the
    parameters cell with ``globals()`` and the declared names; modules,
    functions and IPython's own names are not parameters."""
    import types as _types

    ipython = {"In", "Out", "get_ipython", "exit", "quit", "open"}
    declared = set(declared)
    stray = sorted(k for k, v in namespace.items() if not k.startswith("_") and k not in ipython | declared
                   and not isinstance(v, _types.ModuleType) and not callable(v))
    if stray:
        hint = closest_names(stray[0])
        example = f"-y '{{overrides: {{{hint[0]}: ...}}}}'" if hint else "-y '{overrides: {ts.alpha_c: 0.01}}'"
        raise ConfigError(f"unknown notebook parameter(s) {stray} (papermill passes them with a warning only): this "
                          f"notebook's parameters are {sorted(declared)}; a training setting goes in `overrides`, "
                          f"e.g. {example}")
