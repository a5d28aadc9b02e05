"""The full TS-GAN training run: Algorithm 1 over epochs, in a resumable run folder.

:func:`train` takes a :class:`~tsgan_lib.train.config.TrainConfig` and leaves in
its run folder (``cfg.run_dir``; the names are :class:`tsgan_lib.files.RunFolder`'s)::

    config.json      the resolved configuration
    metrics.jsonl    one JSON line per logging interval ("kind": "step"), per epoch ("kind": "epoch") and probe
    teacher.pt       the frozen teacher this run uses, with its record (a copy: a resumed run never picks up another)
    checkpoint.pt    the last checkpoint (tsgan_lib.train.checkpoint): networks, optimisers, scheduler, guard, RNG states
    backbone.pt      the final student alone, for testing (tsgan_lib.files.load_backbone)
    train_info.json  what the run measured (times, speed, memory, the teacher's quality, the probes)

The epochs, checkpoints, resuming, logging and the non-finite guard are the
:class:`~tsgan_lib.train.loop.FitLoop`'s; a lock keeps a second run out of the
folder. One stop request (:mod:`tsgan_lib.train.stop`) spans the whole run:
Ctrl-C or SIGTERM stops it inside a fit loop (after a checkpoint) or at the
next boundary between phases, never silently. With ``torchrun`` each process
trains its share of every step (:mod:`tsgan_lib.train.distributed`); rank 0
writes the files. Testing the run, its loss-curve figure and RegDB's trials
are the report's (:mod:`tsgan_lib.report.runs`).
"""

from __future__ import annotations

import contextlib
import resource
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from tsgan_lib.data.config import data_tag, load_data, train_batches
from tsgan_lib.files import (NetworkRecord, RunFolder, RunLock, RunMismatch, load_weights, network_arch, save_network,
                             write_json)
from tsgan_lib.models import CycleGAN, CycleGANConfig, FrozenTeacher, build_backbone
from tsgan_lib.models.agw import build_agw_backbone
from tsgan_lib.utils import resolve_device, seed_everything

from . import distributed
from .checkpoint import describe_changes
from .config import (RunConfig, TrainConfig, changes_what_is_trained, concerns, format_diff, load_config,
                     needs_teacher, save_config, step_config)
from .distributed import Dist, unwrap, wrap
from .guard import NonFiniteGuard
from .loop import FitLoop, LoopConfig
from .probes import describe_probe, mechanism_probe, probe_steps, summarise_probes
from .schedule import build_scheduler
from .settings import without_added_defaults
from .steps import TSGANModels, make_optimizers, make_pools, train_step
from .stop import StopRequest
from .teacher import obtain_teacher


@dataclass
class RunInfo:
    """What :func:`train` returns (``train_info.json``, merged into ``results.json``)."""

    run_dir: Path
    config: TrainConfig
    device: str
    amp: str
    world_size: int
    epochs_done: int
    global_step: int
    skipped_steps: int            # updates the non-finite guard skipped
    train_seconds: float          # Algorithm 1 only, summed over sessions
    teacher_seconds: float        # pretraining the teacher (0 when loaded)
    teacher_source: str
    teacher_quality: dict         # the teacher's IR->IR retrieval on the test ids (Table III's protocol)
    resumed_from_step: int | None
    peak_memory_mb: float         # CUDA: max allocated; CPU: peak resident set size of the process
    images_per_second: float
    mechanism: dict = field(default_factory=dict)  # the probes' means (train/probes.py: grad_share, fake_ir, d_ir_acc)


AMP_NAMES = {None: "off", torch.bfloat16: "bf16", torch.float16: "fp16"}


def amp_dtype_for(amp: str, device: torch.device) -> torch.dtype | None:
    """``None`` (fp32) on the CPU or with ``amp="off"``; on CUDA bf16 where supported (``"auto"``), else fp16."""
    if device.type != "cuda" or amp == "off":
        return None
    if amp == "fp16" or (amp == "auto" and not torch.cuda.is_bf16_supported()):
        return torch.float16
    return torch.bfloat16


def clear_run(run_dir: str | Path) -> None:
    """Delete the files a run writes in ``run_dir`` (not the folder's other files)."""
    for path in RunFolder(run_dir).run_files():
        path.unlink(missing_ok=True)


def _check_resumable(cfg: TrainConfig, run_dir: Path) -> None:
    """Refuse early (before the teacher phase) to resume a run made with other settings, or one
    already trained beyond ``schedule.epochs`` (it would be reported as a shorter run)."""
    folder = RunFolder(run_dir)
    saved = load_config(folder.config)
    differ = {k: v for k, v in cfg.diff(saved).items() if changes_what_is_trained(k) and concerns(cfg, k)}
    restart = "use another run folder (run.dir), or run.resume=false to start this one over"
    if differ:
        raise RunMismatch(f"{run_dir} holds a run with other settings ({describe_changes(differ)}); resuming would "
                          f"mix two runs: {restart}")
    if cfg.schedule.epochs < saved.schedule.epochs:
        done = load_weights(folder.checkpoint)["progress"]
        if (done["epoch"], done["step_in_epoch"]) > (cfg.schedule.epochs, 0):
            raise RunMismatch(f"{run_dir} holds a run trained past epoch {cfg.schedule.epochs} (epoch "
                              f"{done['epoch'] + (done['step_in_epoch'] > 0)} of {saved.schedule.epochs}); "
                              f"schedule.epochs={cfg.schedule.epochs} would report it as a shorter run: give "
                              f"schedule.epochs={saved.schedule.epochs}, or {restart}")


def build_models(cfg: TrainConfig, num_classes: int, teacher: torch.nn.Module | None,
                 device: torch.device, amp_dtype: torch.dtype | None = None) -> TSGANModels:
    """Student (and the CycleGAN, D_I joint or ordinary) for ``cfg.variant``, seeded by ``run.seed``;
    on CUDA channels-last, the frozen teacher in bf16 when the run computes in bf16."""
    seed_everything(cfg.run.seed)  # the same initial weights whether the teacher was loaded or trained first
    s = step_config(cfg)
    build = build_agw_backbone if cfg.model.arch == "agw" else build_backbone
    student = build(num_classes, cfg.model.depth, cfg.model.pretrained)
    frozen_teacher = FrozenTeacher(teacher) if teacher is not None else None
    gan = CycleGAN(student.fmap_channels, CycleGANConfig(cfg.model.generator, cfg.model.discriminator,
                                                         joint_disc=s.joint_disc)) if s.use_gan else None
    fmt = torch.channels_last if (device.type == "cuda" and cfg.run.channels_last) else torch.contiguous_format
    for m in (student, gan):
        if m is not None:
            m.to(device=device, memory_format=fmt)
    if frozen_teacher is not None:
        frozen_teacher.to(device=device, memory_format=fmt, dtype=torch.bfloat16 if amp_dtype == torch.bfloat16
                          else torch.float32)
    return TSGANModels(student, frozen_teacher, gan)


class _Replicas:
    """The CycleGAN's four networks, each in DDP, as ``steps.py`` reads them."""

    def __init__(self, gan: CycleGAN, dist: Dist, device: torch.device) -> None:
        self.gen_ir, self.gen_rgb = wrap(gan.gen_ir, dist, device), wrap(gan.gen_rgb, dist, device)
        self.disc_ir, self.disc_rgb = wrap(gan.disc_ir, dist, device), wrap(gan.disc_rgb, dist, device)
        self.joint = gan.joint


class _Group(dict):
    """Several optimisers as one checkpoint component."""

    def state_dict(self) -> dict:
        return {k: o.state_dict() for k, o in self.items()}

    def load_state_dict(self, state: dict) -> None:
        for k, o in self.items():
            o.load_state_dict(state[k])


@dataclass
class Environment:
    """Where a run executes: this process's rank, its device, the precision."""

    dist: Dist
    device: torch.device
    amp_dtype: torch.dtype | None
    channels_last: bool

    @classmethod
    def setup(cls, run: RunConfig) -> Environment:
        """torchrun's rank (or a single process), the device (CUDA: cuDNN autotuning, peak-memory
        counter reset; CPU: ``run.threads``), bf16/fp16 autocast on CUDA."""
        dist = distributed.from_environment()
        device = distributed.setup(dist, resolve_device(run.device))
        if device.type == "cpu" and run.threads > 0:
            torch.set_num_threads(run.threads)
        if device.type == "cuda":
            torch.backends.cudnn.benchmark = True
            torch.cuda.reset_peak_memory_stats(device)
        return cls(dist, device, amp_dtype_for(run.amp, device), device.type == "cuda" and run.channels_last)

    def to_device(self, batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        fmt = torch.channels_last if self.channels_last else torch.contiguous_format
        x_rgb, x_ir = (x.to(self.device, non_blocking=True, memory_format=fmt) for x in batch[:2])
        return x_rgb, x_ir, batch[2].to(self.device, non_blocking=True)

    def replicate(self, models: TSGANModels) -> TSGANModels:
        """The networks as ``train_step`` uses them: in DDP wrappers with several ranks."""
        if not self.dist.enabled:
            return models
        gan = _Replicas(models.cyclegan, self.dist, self.device) if models.cyclegan is not None else None
        return TSGANModels(wrap(models.student, self.dist, self.device), models.teacher, gan)


def train(cfg: TrainConfig, *, log: Callable[[str], None] = print,
          on_step: Callable[[int, dict], None] | None = None) -> RunInfo:
    """Run (or resume) Algorithm 1 for ``schedule.epochs`` epochs in ``cfg.run_dir``.

    ``on_step(global_step, info)`` is called after every step (``info``: ``epoch``,
    ``step``, and the logged values at logging steps). A finished run returns at once.
    """
    env = Environment.setup(cfg.run)
    log = log if env.dist.main else _silent
    with StopRequest() as stop, _run_folder(cfg, env, log):
        dataset = load_data(cfg.data, check=True, progress=cfg.run.progress)
        teacher = _teacher_phase(cfg, dataset, env, log)            # FE_T, pretrained once (Section III.C)
        stop.check("between the teacher phase and Algorithm 1 (the teacher is saved)", env.dist, env.device)
        models = build_models(cfg, dataset.num_train_ids, teacher.model, env.device, env.amp_dtype)
        optimizers = _Group(make_optimizers(models, cfg.optim))     # O_G, O_B, O_D
        scheduler = build_scheduler(optimizers["b"], cfg.schedule)  # warm-up, x0.3 at the milestones (O_B)
        guard = NonFiniteGuard(optimizers, env.device, env.amp_dtype)
        if env.dist.enabled:
            seed_everything(cfg.run.seed * 1000 + env.dist.rank)   # each rank its own augmentations
        batches = train_batches(cfg.data, dataset, seed=cfg.run.seed, device=env.device, dist=env.dist)
        nets, s_cfg = env.replicate(models), step_config(cfg)
        pools = _Group(make_pools(s_cfg, seed=cfg.run.seed * 1000 + env.dist.rank))  # D's history of fakes
        last: dict = {}

        def algorithm_1(batch) -> dict[str, torch.Tensor]:
            """One step: G (Eq. 7), then the backbone (Eq. 8 + 16), then D (Eq. 2-5), each with its optimiser."""
            x_rgb, x_ir, labels = env.to_device(batch)
            terms = train_step(nets, optimizers.get("g"), optimizers["b"], optimizers.get("d"), x_rgb, x_ir, labels,
                               s_cfg, pools=pools, amp_dtype=env.amp_dtype, scalers=guard.scalers, as_float=False)
            last.update(batch=(x_rgb, x_ir, labels), cache=terms.cache)
            return terms

        loop = _fit_loop(cfg, env, algorithm_1, batches, guard, lambda: optimizers["b"].param_groups[0]["lr"], log)
        loop.register(student=models.student, optimizers=optimizers, scheduler=scheduler, teacher_phase=teacher)
        if models.cyclegan is not None:
            loop.register(cyclegan=models.cyclegan)
        if pools:
            loop.register_per_rank(pools=pools)
        loop.add_callback("before_epoch", lambda _: [m.train() for m in (models.student, models.cyclegan) if m])
        loop.add_callback("after_epoch", lambda _, means: scheduler.step())
        loop.add_callback("after_epoch", lambda lp, means: log(f"epoch {lp.state.epoch + 1}/{cfg.schedule.epochs}: "
                                                               + ", ".join(f"{k} {v:.3f}" for k, v in means.items())))
        if env.dist.main and cfg.run.probes_per_epoch > 0:
            loop.add_callback("after_step", _prober(models, s_cfg, env, last, len(batches), cfg.run.probes_per_epoch,
                                                    log))
        if on_step is not None:
            loop.add_callback("after_step", lambda lp, info: on_step(lp.state.global_step, info))
        state = loop.fit()
        info = RunInfo(run_dir=cfg.run_dir, config=cfg, device=str(env.device), amp=AMP_NAMES[env.amp_dtype],
                       world_size=env.dist.world_size, epochs_done=state.epoch, global_step=state.global_step,
                       skipped_steps=state.skipped, train_seconds=state.seconds, teacher_seconds=teacher.seconds,
                       teacher_source=teacher.source, teacher_quality=teacher.quality,
                       resumed_from_step=state.resumed_from, peak_memory_mb=_peak_memory_mb(env.device),
                       images_per_second=state.global_step * loop.config.images_per_step / max(state.seconds, 1e-9),
                       mechanism=summarise_probes(RunFolder(cfg.run_dir).metrics) if env.dist.main else {})
        if env.dist.main and state.resumed_from != state.global_step:  # a finished run is left as it was
            _finish(cfg, models, info)
    return info


def _prober(models: TSGANModels, s_cfg, env: Environment, last: dict, steps_per_epoch: int, per_epoch: int,
            log: Callable[[str], None]) -> Callable:
    """A ``step_end`` callback: :func:`~tsgan_lib.train.probes.mechanism_probe` on the
    step's batch after the chosen steps of each epoch, logged as a "probe" line
    (the networks unwrapped from DDP: the probe runs on rank 0 alone)."""
    when = probe_steps(steps_per_epoch, per_epoch)

    def probe(lp: FitLoop, info: dict) -> None:
        if lp.state.step_in_epoch not in when:
            return
        values = mechanism_probe(models, *last["batch"], s_cfg, last["cache"], env.amp_dtype)
        lp.write({"kind": "probe", "epoch": info["epoch"], "step": lp.state.step_in_epoch,
                  "global_step": lp.state.global_step, **values})
        if lp.state.step_in_epoch == steps_per_epoch:
            log("  probe: " + describe_probe(values))

    return probe


@dataclass
class _Teacher:
    """The outcome of the teacher phase; a checkpoint component, so a resumed run
    reports where its teacher came from and what pretraining it cost, not
    merely that it reloaded its own copy."""

    model: torch.nn.Module | None
    source: str = "none (not needed by this variant)"
    seconds: float = 0.0
    quality: dict = field(default_factory=dict)

    def state_dict(self) -> dict:
        return {"source": self.source, "seconds": self.seconds}

    def load_state_dict(self, state: dict) -> None:
        self.source, self.seconds = state["source"], float(state["seconds"])


def _teacher_phase(cfg: TrainConfig, dataset, env: Environment, log: Callable[[str], None]) -> _Teacher:
    if not needs_teacher(cfg):
        return _Teacher(None)
    model, record, source, seconds = obtain_teacher(
        cfg.teacher, cfg.data, cfg.model, dataset, env.device, seed=cfg.run.seed, run_dir=cfg.run_dir,
        amp_dtype=env.amp_dtype, channels_last=cfg.run.channels_last, max_nonfinite=cfg.run.max_nonfinite,
        progress=cfg.run.progress, dist=env.dist, log=log)
    return _Teacher(model, source, seconds, record.quality)


@contextlib.contextmanager
def _run_folder(cfg: TrainConfig, env: Environment, log: Callable[[str], None]):
    """The folder held for this run (rank 0 takes the lock, checks a resume, writes
    config.json and generates a stand-in once); the other ranks wait for it."""
    with RunLock(cfg.run_dir, log) if env.dist.main else contextlib.nullcontext():
        if env.dist.main:
            _prepare_folder(cfg, cfg.run_dir, log)
            cfg.data.resolved_root  # noqa: B018 (generates the stand-in, once, before the other ranks read it)
        distributed.barrier(env.dist)
        seed_everything(cfg.run.seed)
        yield


def _fit_loop(cfg: TrainConfig, env: Environment, step, batches, guard: NonFiniteGuard, lr,
              log: Callable[[str], None]) -> FitLoop:
    run, folder = cfg.run, RunFolder(cfg.run_dir)
    settings = LoopConfig(epochs=cfg.schedule.epochs, images_per_step=2 * cfg.data.P * cfg.data.K * env.dist.world_size,
                          log_every=run.log_every, checkpoint_every=run.checkpoint_every,
                          max_nonfinite=run.max_nonfinite, progress=run.progress,
                          show=("reid_id", "reid_tri", "g_cyc", "d_ir_real"), checkpoint_path=folder.checkpoint,
                          metrics_path=folder.metrics)
    return FitLoop("TS-GAN", step, batches, settings, device=env.device, meta=_trained_settings(cfg), guard=guard,
                   lr=lr, dist=env.dist, log=log)


def _trained_settings(cfg: TrainConfig) -> dict:
    return without_added_defaults({k: v for k, v in cfg.flat().items() if changes_what_is_trained(k)},
                                  TrainConfig().flat())


def _prepare_folder(cfg: TrainConfig, run_dir: Path, log: Callable[[str], None]) -> None:
    for stale in run_dir.glob(".*.tmp*"):  # a write interrupted by a kill (the file it replaces is intact)
        stale.unlink()
    folder = RunFolder(run_dir)
    if not cfg.run.resume and any(p.exists() for p in (folder.checkpoint, folder.teacher_checkpoint)):
        log(f"run.resume=false: clearing the previous run in {run_dir}")
        clear_run(run_dir)
    if folder.checkpoint.exists() and folder.config.exists():
        _check_resumable(cfg, run_dir)
    save_config(cfg, folder.config)
    log(f"run folder: {run_dir}")
    log(f"settings that differ from the paper's:\n{format_diff(cfg)}")


def _finish(cfg: TrainConfig, models: TSGANModels, info: RunInfo) -> None:
    """The backbone alone for testing, and ``train_info.json``."""
    student = unwrap(models.student)
    folder = RunFolder(info.run_dir)
    settings = {"height": cfg.data.height, "width": cfg.data.width, "pad": cfg.data.crop_pad, "variant": cfg.variant,
                "seed": cfg.run.seed, "epochs": info.epochs_done, "preset": cfg.preset}
    save_network(folder.backbone, student, NetworkRecord("backbone", network_arch(student), settings,
                                                          data_tag(cfg.data)))
    d = asdict(info)
    d.pop("config")
    write_json(folder.train_info, {k: str(v) if isinstance(v, Path) else round(v, 3)
                                   if isinstance(v, float) else v for k, v in d.items()})


def _peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _silent(msg: str) -> None:
    pass
