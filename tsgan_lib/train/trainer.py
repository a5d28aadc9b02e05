"""The full TS-GAN training run (Algorithm 1 over epochs), resumable.

:func:`train` takes a :class:`~tsgan_lib.train.config.TrainConfig` and a run
folder (``cfg.run_dir``) and leaves in it::

    config.json      the resolved configuration
    metrics.jsonl    one JSON line per logging interval ("kind": "step") and per epoch ("kind": "epoch")
    teacher.pt       the frozen teacher this run uses (a copy: resuming never picks up another one)
    teacher_checkpoint.pt  only while the teacher is being pretrained (resumable; deleted once teacher.pt exists)
    checkpoint.pt    the last checkpoint: networks, optimisers, scheduler, scalers, sampler, RNG states
    backbone.pt      the final student alone, for testing (tsgan_lib.train.load_backbone)
    loss_curves.png  the loss terms over training

Started again on the same folder it resumes from ``checkpoint.pt`` (written
atomically at every epoch end, every ``checkpoint_every`` steps, and when the
run is interrupted), so an interrupted run loses at most the step in flight.
Ctrl-C (SIGINT, also the Jupyter "interrupt" button) is caught: the current
step finishes, a checkpoint is written, then ``KeyboardInterrupt`` is raised;
a second Ctrl-C stops at once. With ``workers=0`` a resumed run continues
bit-for-bit as the uninterrupted one would have (tests/test_trainer.py).

One step is :func:`tsgan_lib.train.steps.train_step` (G, backbone, D). Loss
terms stay on the device as tensors and are summed; the host synchronises
once per ``log_every`` steps, when the log line and the progress bar are
written. On CUDA the step runs under autocast (bf16 when supported, else
fp16 with one GradScaler per optimiser) with channels_last tensors.
"""

from __future__ import annotations

import json
import math
import os
import resource
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from tsgan_lib.data import build_train_loader, load_dataset
from tsgan_lib.losses import GANLossConfig, ReIDLossConfig, TSLossConfig
from tsgan_lib.models import (CycleGAN, CycleGANConfig, DiscriminatorConfig, FrozenTeacher, GeneratorConfig,
                              ReIDBackbone, build_backbone)
from tsgan_lib.utils import resolve_device, resolve_path, seed_everything

from .checkpoint import (StopRequest, describe_changes, load_weights, rng_state, save_atomic, save_backbone,
                         set_rng_state, write_text_atomic)
from .config import LEGACY_PAD, RUNTIME_FIELDS, TrainConfig, format_diff, load_config, save_config
from .steps import OptimConfig, TSGANConfig, TSGANModels, make_optimizers, table2_config, train_step
from .teacher import (ModalityBatches, TeacherConfig, load_teacher, lr_factor, pretrain_teacher, save_teacher,
                      teacher_config_dict)

CHECKPOINT_FILE = "checkpoint.pt"
METRICS_FILE = "metrics.jsonl"
CONFIG_FILE = "config.json"
TEACHER_FILE = "teacher.pt"
TEACHER_CHECKPOINT_FILE = "teacher_checkpoint.pt"  # a teacher pretraining in progress
CURVES_FILE = "loss_curves.png"
RUN_FILES = (CHECKPOINT_FILE, TEACHER_CHECKPOINT_FILE, METRICS_FILE, CONFIG_FILE, TEACHER_FILE, "backbone.pt",
             CURVES_FILE, "results.json", "train_info.json")


# ---- configuration -> objects ----------------------------------------------------------------
def step_config(cfg: TrainConfig) -> TSGANConfig:
    """The Table II variant of ``cfg.variant`` with ``cfg``'s loss weights."""
    base = table2_config(cfg.variant)
    return TSGANConfig(
        use_gan=base.use_gan, joint_disc=base.joint_disc, fake_ir_in_reid=base.fake_ir_in_reid,
        reid=ReIDLossConfig(lambda_id=cfg.lambda1, lambda_tri=cfg.lambda2, lambda_gan=cfg.lambda3,
                            margin=cfg.margin, label_smoothing=cfg.label_smoothing),
        ts=TSLossConfig(alpha_c=cfg.alpha_c, alpha_s=cfg.alpha_s, use_cross_domain=base.ts.use_cross_domain,
                        use_same_domain=base.ts.use_same_domain),
        gan=GANLossConfig(mode=cfg.gan_mode, omega=cfg.omega))


def needs_teacher(cfg: TrainConfig) -> bool:
    s = step_config(cfg)
    return s.ts.use_cross_domain or s.ts.use_same_domain or (s.use_gan and s.joint_disc)


def amp_dtype_for(cfg: TrainConfig, device: torch.device) -> torch.dtype | None:
    """``None`` (fp32) on the CPU or with ``amp="off"``; on CUDA bf16 where
    supported (``"auto"``), else fp16."""
    if device.type != "cuda" or cfg.amp == "off":
        return None
    if cfg.amp == "fp16":
        return torch.float16
    if cfg.amp == "bf16" or torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float16


def teacher_recipe(cfg: TrainConfig) -> TeacherConfig:
    return TeacherConfig(depth=cfg.depth, pretrained=cfg.pretrained, epochs=cfg.teacher_epochs, lr=cfg.teacher_lr,
                         weight_decay=cfg.weight_decay, warmup_epochs=cfg.teacher_warmup_epochs,
                         milestones=cfg.teacher_milestones, gamma=cfg.teacher_gamma, margin=cfg.margin,
                         label_smoothing=cfg.label_smoothing)


def data_tag(cfg: TrainConfig) -> dict[str, Any]:
    """What identifies the training data (a teacher trained on other data
    could have seen this split's test identities)."""
    if cfg.data_root is None:
        return {"data": "synthetic", "num_ids": cfg.num_ids, "data_seed": cfg.data_seed}
    return {"data": str(resolve_path(cfg.data_root))}


def train_loader(cfg: TrainConfig, dataset, device: torch.device):
    """The paired P x K loader of this run (the teacher phase and Algorithm 1 share its recipe)."""
    return build_train_loader(dataset.train, P=cfg.P, K=cfg.K, height=cfg.height, width=cfg.width,
                              pad=cfg.crop_pad, workers=cfg.workers, seed=cfg.seed, pin_memory=device.type == "cuda")


def teacher_mismatch(config: dict, cfg: TrainConfig, num_classes: int) -> str | None:
    """Why a saved teacher does not fit this run (``None`` if it does)."""
    want = {"depth": cfg.depth, "num_classes": num_classes, "height": cfg.height, "width": cfg.width, **data_tag(cfg)}
    for key, value in want.items():
        if key in config and config[key] != value:
            return f"{key}={config[key]!r}, this run needs {value!r}"
    if "data" not in config:
        return "it does not record which data it was trained on"
    pad = config.get("pad", LEGACY_PAD)
    if pad != cfg.crop_pad:
        return f"crop padding {pad!r} px, this run needs {cfg.crop_pad}"
    return None


# ---- the run ---------------------------------------------------------------------------------
@dataclass
class RunInfo:
    """What :func:`train` returns (also the first fields of ``results.json``)."""

    run_dir: Path
    config: TrainConfig
    device: str
    amp: str
    epochs_done: int
    global_step: int
    train_seconds: float          # Algorithm 1 only, summed over sessions
    teacher_seconds: float        # pretraining the teacher (0 when loaded)
    teacher_source: str
    resumed_from_step: int | None
    peak_memory_mb: float         # CUDA: max allocated; CPU: peak resident set size of the process
    images_per_second: float


def _peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _truncate_log(path: Path, global_step: int) -> None:
    """Drop log lines written after the checkpoint a run resumes from."""
    if not path.is_file():
        return
    keep = [line for line in path.read_text().splitlines()
            if line.strip() and json.loads(line).get("global_step", 0) <= global_step]
    write_text_atomic(path, "".join(line + "\n" for line in keep))


def clear_run(run_dir: str | os.PathLike) -> None:
    """Delete the files :func:`train` writes in ``run_dir`` (not the folder's other files)."""
    run_dir = Path(run_dir)
    for name in RUN_FILES:
        if (run_dir / name).exists():
            (run_dir / name).unlink()


def _check_resumable(saved: TrainConfig, cfg: TrainConfig, run_dir: Path) -> None:
    differ = {k: v for k, v in cfg.diff(saved).items() if k not in RUNTIME_FIELDS}
    if differ:
        raise ValueError(f"{run_dir} holds a run with other settings ({describe_changes(differ)}); "
                         "resuming would mix two runs. "
                         "Use another run_dir, or resume=False to start this one over.")


def load_or_train_teacher(cfg: TrainConfig, dataset, device: torch.device, run_dir: Path,
                          log: Callable[[str], None] = print) -> tuple[ReIDBackbone, str, float]:
    """The teacher phase. Order: the run's own copy (a resumed run);
    ``cfg.teacher_path`` when it fits this run (depth, image size, data);
    else pretrain one with :func:`teacher_recipe` (saved to ``teacher_path``
    when that file does not exist yet). Returns ``(backbone, source, seconds
    spent pretraining)``; the run keeps a copy in ``run_dir/teacher.pt``."""
    own = run_dir / TEACHER_FILE
    if own.is_file():
        model, _ = load_teacher(own, device)
        return model, f"{own} (this run's copy)", 0.0
    shared = resolve_path(cfg.teacher_path) if cfg.teacher_path else None
    why = "no teacher_path given"
    if shared is not None and shared.is_file():
        model, config = load_teacher(shared, device)
        why = teacher_mismatch(config, cfg, dataset.num_train_ids)
        if why is None:
            shutil.copyfile(shared, own)
            return model, str(shared), 0.0
        why = f"{shared} does not fit ({why})"
    elif shared is not None:
        why = f"{shared} does not exist"
    recipe = teacher_recipe(cfg)
    log(f"teacher phase: {why}; pretraining an IR teacher ({recipe.epochs} epochs, depth {recipe.depth})")
    t0 = time.perf_counter()
    loader = train_loader(cfg, dataset, device)
    partial = run_dir / TEACHER_CHECKPOINT_FILE
    model, history = pretrain_teacher(ModalityBatches(loader, "ir"), dataset.num_train_ids, recipe, device,
                                      checkpoint_path=partial, amp_dtype=amp_dtype_for(cfg, device),
                                      channels_last=device.type == "cuda" and cfg.channels_last, log=log)
    seconds = time.perf_counter() - t0
    extra = {"modality": "ir", "height": cfg.height, "width": cfg.width, "pad": cfg.crop_pad, **data_tag(cfg),
             **teacher_config_dict(recipe), "final_id_loss": history[-1]["id"] if history else None}
    save_teacher(own, model, extra)
    partial.unlink(missing_ok=True)
    if shared is not None and not shared.exists():
        save_teacher(shared, model, extra)
        log(f"teacher saved to {shared} for later runs")
    log(f"teacher phase: {seconds:.0f} s")
    return model, "pretrained in this run", seconds


def build_models(cfg: TrainConfig, num_classes: int, teacher_backbone: ReIDBackbone | None,
                 device: torch.device) -> TSGANModels:
    """Student (and CycleGAN with D_I joint or ordinary) for ``cfg.variant``, seeded by ``cfg.seed``."""
    seed_everything(cfg.seed)  # the same initial weights whether the teacher was loaded or trained first
    s = step_config(cfg)
    student = build_backbone(num_classes, cfg.depth, cfg.pretrained)
    teacher = FrozenTeacher(teacher_backbone) if teacher_backbone is not None else None
    gan = None
    if s.use_gan:
        gan = CycleGAN(student.fmap_channels, CycleGANConfig(GeneratorConfig(ngf=cfg.ngf, n_blocks=cfg.n_blocks),
                                                             DiscriminatorConfig(ndf=cfg.ndf), joint_disc=s.joint_disc))
    fmt = torch.channels_last if (device.type == "cuda" and cfg.channels_last) else torch.contiguous_format
    for m in (student, teacher, gan):
        if m is not None:
            m.to(device=device, memory_format=fmt)
    return TSGANModels(student, teacher, gan)


def train(cfg: TrainConfig, *, on_step: Callable[[int, dict], None] | None = None,
          log: Callable[[str], None] = print) -> RunInfo:
    """Run (or resume) Algorithm 1 for ``cfg.epochs`` epochs in ``cfg.run_dir``.

    ``on_step(global_step, info)`` is called after every step (``info`` holds
    ``epoch`` and ``step``; loss values only at logging steps), e.g. to stop a
    run early. Returns a :class:`RunInfo`; a run already finished returns at
    once.
    """
    from tqdm.auto import tqdm

    run_dir = cfg.resolved_run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    ckpt_path = run_dir / CHECKPOINT_FILE
    if not cfg.resume and any((run_dir / name).exists() for name in (CHECKPOINT_FILE, TEACHER_CHECKPOINT_FILE)):
        log(f"resume=False: clearing the previous run in {run_dir}")
        clear_run(run_dir)
    if ckpt_path.exists():
        _check_resumable(load_config(run_dir / CONFIG_FILE), cfg, run_dir)
    save_config(cfg, run_dir / CONFIG_FILE)
    log(f"run_dir: {run_dir}\nsettings that differ from the paper's:\n{format_diff(cfg)}")

    device = resolve_device(cfg.device)
    if device.type == "cpu" and cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    amp_dtype = amp_dtype_for(cfg, device)
    amp_name = {None: "off", torch.bfloat16: "bf16", torch.float16: "fp16"}[amp_dtype]
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.cuda.reset_peak_memory_stats(device)
    seed_everything(cfg.seed)

    dataset = load_dataset(cfg.data_root, num_ids=cfg.num_ids, seed=cfg.data_seed)
    teacher_backbone, teacher_source, teacher_seconds = None, "none (not needed by this variant)", 0.0
    if needs_teacher(cfg):
        teacher_backbone, teacher_source, teacher_seconds = load_or_train_teacher(cfg, dataset, device, run_dir, log)
    models = build_models(cfg, dataset.num_train_ids, teacher_backbone, device)
    optimizers = make_optimizers(models, OptimConfig(lr_backbone=cfg.lr, weight_decay=cfg.weight_decay,
                                                     lr_gan=cfg.lr_gan, betas_gan=(cfg.beta1_gan, cfg.beta2_gan)))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizers["b"], lambda e: lr_factor(e, cfg.warmup_epochs, cfg.warmup_start, cfg.milestones, cfg.gamma))
    scalers = ({k: torch.amp.GradScaler("cuda") for k in optimizers} if amp_dtype == torch.float16 else {})
    loader = train_loader(cfg, dataset, device)
    sampler = loader.sampler
    steps_per_epoch = sampler.steps_per_epoch
    s_cfg = step_config(cfg)

    state = {"epoch": 0, "step_in_epoch": 0, "global_step": 0, "train_seconds": 0.0,
             "epoch_sums": {}, "epoch_count": 0, "epoch_seconds": 0.0}
    resumed_from = None
    if ckpt_path.exists():
        ckpt = load_weights(ckpt_path, device)
        models.student.load_state_dict(ckpt["student"])
        if models.cyclegan is not None:
            models.cyclegan.load_state_dict(ckpt["cyclegan"])
        for k, opt in optimizers.items():
            opt.load_state_dict(ckpt["optimizers"][k])
        scheduler.load_state_dict(ckpt["scheduler"])
        for k, sc in scalers.items():
            if k in ckpt.get("scalers", {}):
                sc.load_state_dict(ckpt["scalers"][k])
        sampler.load_state_dict(ckpt["sampler"])
        set_rng_state(ckpt["rng"])
        state.update(ckpt["progress"])
        resumed_from = state["global_step"]
        _truncate_log(run_dir / METRICS_FILE, resumed_from)
        log(f"resuming from {ckpt_path}: epoch {state['epoch'] + 1}, step {state['step_in_epoch']} of "
            f"{steps_per_epoch} (global step {resumed_from})")

    def checkpoint(epoch: int, step_in_epoch: int, epoch_sums: dict, epoch_count: int, epoch_seconds: float) -> None:
        sums = {k: float(v) for k, v in epoch_sums.items()}
        if not all(math.isfinite(v) for v in sums.values()):
            raise FloatingPointError(f"non-finite loss terms before the checkpoint at epoch {epoch + 1}, "
                                     f"step {step_in_epoch}: {sums}; the previous checkpoint is kept")
        save_atomic({
            "student": models.student.state_dict(),
            "cyclegan": models.cyclegan.state_dict() if models.cyclegan is not None else None,
            "optimizers": {k: o.state_dict() for k, o in optimizers.items()},
            "scheduler": scheduler.state_dict(),
            "scalers": {k: s.state_dict() for k, s in scalers.items()},
            "sampler": {**sampler.state_dict(), "epoch": epoch, "start_step": step_in_epoch},
            "rng": rng_state(),
            "progress": {"epoch": epoch, "step_in_epoch": step_in_epoch, "global_step": state["global_step"],
                         "train_seconds": state["train_seconds"], "epoch_sums": sums, "epoch_count": epoch_count,
                         "epoch_seconds": epoch_seconds},
            "config": cfg.to_dict(),
        }, ckpt_path)

    log_file = open(run_dir / METRICS_FILE, "a")

    def write_log(record: dict) -> None:
        log_file.write(json.dumps(record) + "\n")
        log_file.flush()

    channels_last = device.type == "cuda" and cfg.channels_last
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    images_per_step = 2 * cfg.P * cfg.K
    stop = StopRequest()
    try:
        with stop:
            for epoch in range(state["epoch"], cfg.epochs):
                start = state["step_in_epoch"] if epoch == state["epoch"] else 0
                sampler.set_epoch(epoch, start)
                models.student.train()
                if models.cyclegan is not None:
                    models.cyclegan.train()
                if epoch == state["epoch"] and start > 0:
                    epoch_sums = {k: torch.tensor(v, device=device) for k, v in state["epoch_sums"].items()}
                    epoch_count, epoch_seconds = state["epoch_count"], state["epoch_seconds"]
                else:
                    epoch_sums, epoch_count, epoch_seconds = {}, 0, 0.0
                window: dict[str, torch.Tensor] = {}
                window_n, t_window = 0, time.perf_counter()
                t_epoch = t_last = time.perf_counter()
                lr_b = optimizers["b"].param_groups[0]["lr"]
                bar = tqdm(total=steps_per_epoch, initial=start, desc=f"epoch {epoch + 1}/{cfg.epochs}",
                           unit="step", disable=not cfg.progress, leave=True, dynamic_ncols=True)
                step_in_epoch = start

                def flush_window() -> dict | None:
                    nonlocal window, window_n, t_window
                    if window_n == 0:
                        return None
                    now = time.perf_counter()
                    means = {k: float(v) / window_n for k, v in window.items()}  # one host sync
                    rec = {"kind": "step", "epoch": epoch, "step": step_in_epoch, "global_step": state["global_step"],
                           "lr": lr_b, "img_per_s": window_n * images_per_step / max(now - t_window, 1e-9), **means}
                    bad = {k: v for k, v in means.items() if not math.isfinite(v)}
                    if bad:
                        raise FloatingPointError(f"non-finite loss at epoch {epoch + 1}, step {step_in_epoch}: {bad}; "
                                                 f"the last good checkpoint is {ckpt_path}")
                    write_log(rec)
                    window, window_n, t_window = {}, 0, now
                    return rec

                try:
                    for x_rgb, x_ir, labels in loader:
                        x_rgb = x_rgb.to(device, non_blocking=True, memory_format=fmt)
                        x_ir = x_ir.to(device, non_blocking=True, memory_format=fmt)
                        labels = labels.to(device, non_blocking=True)
                        terms = train_step(models, optimizers.get("g"), optimizers["b"], optimizers.get("d"), x_rgb,
                                           x_ir, labels, s_cfg, amp_dtype=amp_dtype, scalers=scalers, as_float=False)
                        for k, v in terms.items():
                            window[k] = window[k] + v if k in window else v.float()
                            epoch_sums[k] = epoch_sums[k] + v if k in epoch_sums else v.float()
                        window_n += 1
                        epoch_count += 1
                        step_in_epoch += 1
                        state["global_step"] += 1
                        bar.update(1)
                        info: dict[str, Any] = {"epoch": epoch, "step": step_in_epoch}
                        if state["global_step"] % cfg.log_every == 0 or step_in_epoch == steps_per_epoch:
                            rec = flush_window()
                            info.update(rec)
                            main = {k: rec[k] for k in ("reid_id", "reid_tri", "g_cyc", "d_ir_real") if k in rec}
                            bar.set_postfix({**{k: f"{v:.3g}" for k, v in main.items()},
                                             "img/s": f"{rec['img_per_s']:.0f}"}, refresh=False)
                        now = time.perf_counter()  # wall time of the step, data loading and logging included
                        elapsed, t_last = now - t_last, now
                        state["train_seconds"] += elapsed
                        epoch_seconds += elapsed
                        if on_step is not None:
                            on_step(state["global_step"], info)
                        if stop.requested:
                            flush_window()
                            checkpoint(epoch, step_in_epoch, epoch_sums, epoch_count, epoch_seconds)
                            log(f"\ninterrupted: checkpoint written at epoch {epoch + 1}, step {step_in_epoch} "
                                f"({ckpt_path}); run again with the same run_dir to resume")
                            raise KeyboardInterrupt
                        if (cfg.checkpoint_every and state["global_step"] % cfg.checkpoint_every == 0
                                and step_in_epoch < steps_per_epoch):
                            checkpoint(epoch, step_in_epoch, epoch_sums, epoch_count, epoch_seconds)
                finally:
                    bar.close()
                scheduler.step()
                means = {k: float(v) / max(epoch_count, 1) for k, v in epoch_sums.items()}
                wall = time.perf_counter() - t_epoch
                write_log({"kind": "epoch", "epoch": epoch, "global_step": state["global_step"], "lr": lr_b,
                           "steps": epoch_count, "seconds": epoch_seconds,
                           "img_per_s": epoch_count * images_per_step / max(epoch_seconds, 1e-9), **means})
                state["epoch"], state["step_in_epoch"] = epoch + 1, 0
                checkpoint(epoch + 1, 0, {}, 0, 0.0)
                log(f"epoch {epoch + 1}/{cfg.epochs}: " + ", ".join(f"{k} {v:.3f}" for k, v in means.items())
                    + f" | {wall:.0f} s")
    finally:
        log_file.close()

    backbone_info = {"height": cfg.height, "width": cfg.width, "variant": cfg.variant, "seed": cfg.seed,
                     "epochs": state["epoch"], **data_tag(cfg)}
    save_backbone(run_dir / "backbone.pt", models.student, backbone_info)
    try:
        from .curves import plot_loss_curves

        fig = plot_loss_curves(run_dir / METRICS_FILE)
        fig.savefig(run_dir / CURVES_FILE, dpi=110, bbox_inches="tight")
        import matplotlib.pyplot as plt

        plt.close(fig)
    except ValueError as err:  # nothing logged (epochs=0)
        log(f"no loss curves: {err}")
    info = RunInfo(run_dir=run_dir, config=cfg, device=str(device), amp=amp_name, epochs_done=state["epoch"],
                   global_step=state["global_step"], train_seconds=state["train_seconds"],
                   teacher_seconds=teacher_seconds, teacher_source=teacher_source, resumed_from_step=resumed_from,
                   peak_memory_mb=_peak_memory_mb(device),
                   images_per_second=state["global_step"] * images_per_step / max(state["train_seconds"], 1e-9))
    from .results import write_train_info

    write_train_info(info, run_dir / "train_info.json")
    return info


def run(cfg: TrainConfig, **eval_kwargs: Any) -> tuple[RunInfo, dict]:
    """:func:`train`, then :func:`tsgan_lib.train.results.evaluate_run` (writes
    ``results.json``). Returns ``(RunInfo, results)``."""
    from .results import evaluate_run

    info = train(cfg)
    results, _ = evaluate_run(cfg.run_dir, device=cfg.device, **eval_kwargs)
    return info, results
