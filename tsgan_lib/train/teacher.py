"""The IR teacher: its recipe, its pretraining, and the one way to get it (paper III.C).

"We pretrain a baseline model using Resnet50 on the IR images of SYSU-MM01
training set by the triplet loss and identification classification loss.
After pretraining, we fix its weights." The recipe is the strong baseline's
(ref. [34], docs/interpretations.md, 8): P identities x K IR images per batch, Adam,
linear warm-up then step decay, label-smoothed ID loss (Eq. 9-10) on the
logits F plus batch-hard triplet loss (Eq. 11) on V. During TS-GAN training
only the frozen former encoder FE_T is used (:class:`tsgan_lib.models.FrozenTeacher`).

- :class:`TeacherConfig` -- the recipe (a component of the run's configuration).
- :func:`pretrain_teacher` -- the recipe through :class:`tsgan_lib.train.loop.FitLoop`
  (resumable, guarded against non-finite losses, like Algorithm 1).
- :func:`obtain_teacher` -- what the trainer and the notebooks call: the run's
  own copy, else the shared ``teacher.path`` when its record fits this run,
  else a new pretraining (saved to both), its quality measured by Table III's
  protocol (:func:`tsgan_lib.eval.single_modality.teacher_quality`: the paper's
  "SYSU-IR / SYSU-IR" row, R1 98.0, mAP 97.4), recorded with the teacher and
  reported wherever it is used.

Each function takes the components it needs (the recipe, the data, the
model), not a whole run's configuration.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import torch

from tsgan_lib.data.batches import EpochBatches
from tsgan_lib.data.config import DataConfig, data_tag, train_batches
from tsgan_lib.eval.single_modality import teacher_quality
from tsgan_lib.files import NetworkRecord, RunFolder, load_network, network_arch, save_network
from tsgan_lib.losses import ReIDLossConfig, id_loss, sum_terms, triplet_term
from tsgan_lib.models import ReIDBackbone, build_backbone
from tsgan_lib.models.config import ModelConfig
from tsgan_lib.ranges import AtLeast, FilePath, NonNegative, Positive
from tsgan_lib.utils import resolve_path

from .distributed import Dist, broadcast_module, unwrap, wrap
from .guard import NonFiniteGuard
from .loop import FitLoop, LoopConfig
from .precision import autocast, optimise
from .schedule import ScheduleConfig, build_scheduler
from .settings import flatten, without_added_defaults
from .steps import OptimConfig


@dataclass
class TeacherConfig:
    """The strong baseline's recipe [34] for the IR teacher (its depth is the student's: ``model.depth``)."""

    path: Annotated[str | None, FilePath] = None  # a teacher file shared by runs: used when its record fits, written when absent
    P: Annotated[int, AtLeast(2, why="the triplet loss needs negatives")] = DataConfig.P  # identities per teacher batch: its own, so one teacher fits runs of any batch shape
    K: Annotated[int, AtLeast(1)] = DataConfig.K  # IR images per identity in a teacher batch
    lr: Annotated[float, Positive] = OptimConfig.lr_backbone  # Adam base rate: the strong baseline's, as the student's O_B
    weight_decay: Annotated[float, NonNegative] = OptimConfig.weight_decay   # on weights and biases alike
    schedule: ScheduleConfig = field(default_factory=lambda: ScheduleConfig(gamma=0.1, warmup_start=0.01))  # [34]
    loss: ReIDLossConfig = field(default_factory=lambda: ReIDLossConfig(lambda_id=1.0))  # [34]: ID + triplet, 1:1

    def recipe(self) -> dict:
        """The settings that determine the trained teacher, flat (``schedule.epochs``...)."""
        d = dataclasses.asdict(self)
        for k in ("path", "P", "K"):  # where it is kept; its batch shape is recorded with the data settings
            d.pop(k)
        d["loss"].pop("lambda_gan")  # the teacher has no GAN term
        return recorded_recipe({k: list(v) if isinstance(v, tuple) else v for k, v in flatten(d).items()})


def recorded_recipe(recipe: dict) -> dict:
    """A teacher's recipe as records hold it: without the settings added after teachers were recorded while
    they hold their defaults (:func:`~tsgan_lib.train.settings.without_added_defaults`)."""
    return without_added_defaults(recipe, flatten(dataclasses.asdict(TeacherConfig())), prefix="teacher.")


def pretrain_teacher(batches: Iterable, num_classes: int, cfg: TeacherConfig, device: torch.device, *, depth: int,
                     pretrained: bool = False, model: ReIDBackbone | None = None,
                     checkpoint_path: str | Path | None = None, amp_dtype: torch.dtype | None = None,
                     channels_last: bool = False, max_nonfinite: int = 20, progress: bool = False,
                     on_epoch_end: Callable[[int, list[dict]], None] | None = None, dist: Dist = Dist(),
                     log: Callable[[str], None] = print) -> tuple[ReIDBackbone, list[dict]]:
    """Train a strong-baseline backbone on single-modality batches.

    ``batches`` yields ``(images, pids, ...)`` (ImageNet-normalised; pids in
    ``0..num_classes-1``), e.g. one side of the run's pair loader
    (:class:`~tsgan_lib.data.batches.EpochBatches` with ``modality="ir"``); a
    plain list works too. Returns the model (eval mode) and one
    record per step: ``epoch, step, id, tri, total, acc, lr`` (``id``/``tri``
    weighted). With ``checkpoint_path`` the pretraining is resumable (the
    loop's checkpoint at every epoch end and on Ctrl-C); a checkpoint made
    with another recipe is refused. ``amp_dtype`` (CUDA) runs under autocast.
    """
    model = (model or build_backbone(num_classes, depth, pretrained)).to(device)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=fmt)
    net = wrap(model, dist, device)
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=cfg.lr,
                                 weight_decay=cfg.weight_decay, fused=device.type == "cuda")
    scheduler = build_scheduler(optimizer, cfg.schedule)
    guard = NonFiniteGuard(["teacher"], device, amp_dtype)
    loss_cfg = cfg.loss

    def step(batch) -> dict[str, torch.Tensor]:
        images = batch[0].to(device, non_blocking=True, memory_format=fmt)
        pids = batch[1].to(device, non_blocking=True)
        with autocast(images, amp_dtype):
            out = net(images)
            terms = {"id": loss_cfg.lambda_id * id_loss(out["logits"].float(), pids, loss_cfg.label_smoothing),
                     "tri": loss_cfg.lambda_tri * triplet_term(out["feat"].float(), pids, loss_cfg.triplet,
                                                                loss_cfg.margin)}
            loss = sum_terms(terms)
        optimizer.zero_grad(set_to_none=True)
        optimise(loss, optimizer, guard.scalers["teacher"])
        acc = (out["logits"].argmax(1) == pids).float().mean()
        return {"id": terms["id"].detach(), "tri": terms["tri"].detach(), "total": loss.detach(), "acc": acc}

    if not hasattr(batches, "set_epoch"):
        batches = EpochBatches(batches)
    settings = LoopConfig(epochs=cfg.schedule.epochs, log_every=max(len(batches), 1), max_nonfinite=max_nonfinite,
                          history=True, progress=progress, checkpoint_path=checkpoint_path,
                          mismatch="a teacher pretraining with another recipe",
                          restart_hint="delete that file to start this one over")
    loop = FitLoop("teacher", step, batches, settings, device=device, guard=guard, dist=dist, log=log,
                   meta={**cfg.recipe(), "num_classes": num_classes, "depth": depth},
                   lr=lambda: optimizer.param_groups[0]["lr"])
    loop.register(model=model, optimizer=optimizer, scheduler=scheduler)
    loop.add_callback("before_epoch", lambda _: model.train())
    loop.add_callback("after_epoch", lambda _, means: scheduler.step())
    if on_epoch_end is not None:
        loop.add_callback("after_epoch", lambda lp, means: on_epoch_end(lp.state.epoch, lp.history))
    loop.fit()
    return broadcast_module(unwrap(model), dist).eval(), loop.history


def teacher_requirements(teacher: TeacherConfig, data: DataConfig, model: ModelConfig, num_classes: int) -> dict:
    """What a teacher file's record must say to fit a run with this recipe, data and model
    (see :meth:`NetworkRecord.mismatch`)."""
    return {"arch__depth": model.depth, "arch__num_classes": num_classes, "settings__height": data.height,
            "settings__width": data.width, "settings__pad": data.crop_pad,
            "settings__grey": data.grey, "settings__erasing": data.erasing,
            "settings__P": teacher.P, "settings__K": teacher.K,
            "settings__pretrained": model.pretrained, "settings__recipe": teacher.recipe(),
            "data": data_tag(data)}


def teacher_record(teacher: TeacherConfig, data: DataConfig, model: ModelConfig, net: ReIDBackbone, quality: dict,
                   history: Sequence[dict] = (), seconds: float | None = None) -> NetworkRecord:
    """The record saved with a teacher ``net``: what it is, the settings and data it was
    trained with (those :func:`teacher_requirements` checks) and its measured quality."""
    required = teacher_requirements(teacher, data, model, net.num_classes)
    final = history[-1] if history else {}
    extra = {"final_id_loss": final.get("id"), "final_train_acc": final.get("acc")}
    if seconds is not None:
        extra["pretrain_seconds"] = round(seconds, 1)
    return NetworkRecord("teacher", network_arch(net),
                         settings={k.split("__", 1)[1]: v for k, v in required.items() if k.startswith("settings__")},
                         data=required["data"], quality={**quality, **extra})


def obtain_teacher(teacher: TeacherConfig, data: DataConfig, model: ModelConfig, dataset, device: torch.device, *,
                   seed: int = 0, run_dir: str | Path | None = None, amp_dtype: torch.dtype | None = None,
                   channels_last: bool = True, max_nonfinite: int = 20, progress: bool = False, dist: Dist = Dist(),
                   log: Callable[[str], None] = print) -> tuple[ReIDBackbone, NetworkRecord, str, float]:
    """The teacher phase: the one way the trainer and the notebooks get FE_T.

    In order: the run's own copy (``run_dir/teacher.pt``: a resumed run never
    picks up another teacher); ``teacher.path`` when its record fits this
    run (depth, classes, image size, padding, recipe, data); else pretrain
    one with the recipe ``teacher`` on IR batches drawn with ``seed`` from this
    run's pair loader in the teacher's own batch shape (``teacher.P`` x
    ``teacher.K``; resumable from ``teacher_checkpoint.pt``; channels-last
    on CUDA when ``channels_last``), measure its IR->IR retrieval, save it in the
    run folder and at ``teacher.path`` if that file does not exist yet.
    Returns ``(backbone in eval mode, its record, where it came from, seconds
    spent pretraining)``.
    """
    own = RunFolder(run_dir).teacher if run_dir is not None else None
    if own is not None and own.is_file():
        net, record = load_network(own, device, kind="teacher")
        return net, record, f"{own} (this run's copy)", 0.0
    required = teacher_requirements(teacher, data, model, dataset.num_train_ids)
    shared = resolve_path(teacher.path) if teacher.path else None
    why = "no teacher.path given"
    if shared is not None and shared.is_file():
        net, record = load_network(shared, device, kind="teacher")
        if isinstance(record.settings.get("recipe"), dict):  # recorded before or after a setting was added
            record.settings["recipe"] = recorded_recipe(record.settings["recipe"])
        why = record.mismatch(**required)
        if why is None:
            if own is not None and dist.main:
                save_network(own, net, record)
            return net, record, str(shared), 0.0
        why = f"{shared} does not fit ({why})"
    elif shared is not None:
        why = f"{shared} does not exist"
    log(f"teacher phase: {why}; pretraining an IR teacher (ResNet-{model.depth}, {teacher.schedule.epochs} epochs)")
    t0 = time.perf_counter()
    partial = RunFolder((own if own is not None else shared).parent) if own is not None or shared is not None else None
    shape = dataclasses.replace(data, P=teacher.P, K=teacher.K)  # the teacher's batches, not the run's
    loader = train_batches(shape, dataset, seed=seed, device=device, dist=dist)
    net, history = pretrain_teacher(
        EpochBatches(loader, modality="ir"), dataset.num_train_ids, teacher, device, depth=model.depth,
        pretrained=model.pretrained, amp_dtype=amp_dtype, channels_last=device.type == "cuda" and channels_last,
        checkpoint_path=partial.teacher_checkpoint if partial else None, max_nonfinite=max_nonfinite,
        progress=progress, dist=dist, log=log)
    seconds = time.perf_counter() - t0
    quality = teacher_quality(net, dataset, height=data.height, width=data.width, device=device)
    record = teacher_record(teacher, data, model, net, quality, history, seconds)
    if dist.main:
        for path in (own, shared if shared is not None and not shared.exists() else None):
            if path is not None:
                save_network(path, net, record)
        if partial is not None:
            partial.teacher_checkpoint.unlink(missing_ok=True)
    log(f"teacher phase: {seconds:.0f} s; IR->IR R1 {quality['ir_R1']:.1f}%, mAP {quality['ir_mAP']:.1f}% "
        "(paper, Table III: 98.0 / 97.4)")
    return net, record, "pretrained in this run", seconds
