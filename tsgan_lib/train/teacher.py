"""The IR teacher: its recipe, its pretraining, its quality, and the one way to get it (paper III.C, Table III).

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
- :func:`teacher_quality` -- IR->IR retrieval on the test identities (the
  paper's Table III row "SYSU-IR / SYSU-IR": R1 98.0, mAP 97.4), recorded with
  the teacher and reported wherever it is used.
- :func:`obtain_teacher` -- what the trainer and the notebooks call: the run's
  own copy, else the shared ``teacher.path`` when its record fits this run,
  else a new pretraining (saved to both).
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import torch

from tsgan_lib.data.config import DataConfig
from tsgan_lib.data.records import Record
from tsgan_lib.files import NetworkRecord, load_network, network_arch, save_network
from tsgan_lib.losses import ReIDLossConfig, id_loss, sum_terms, triplet_loss
from tsgan_lib.models import ReIDBackbone, build_backbone
from tsgan_lib.ranges import AtLeast, FilePath, NonNegative, Positive

from .distributed import Dist, broadcast_module, unwrap, wrap
from .guard import NonFiniteGuard
from .loop import FitLoop
from .schedule import ScheduleConfig, build_scheduler
from .settings import flatten
from .steps import OptimConfig, _autocast, _optimise

if TYPE_CHECKING:
    from .config import TrainConfig

TEACHER_FILE = "teacher.pt"
TEACHER_CHECKPOINT_FILE = "teacher_checkpoint.pt"


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
        return {k: list(v) if isinstance(v, tuple) else v for k, v in flatten(d).items()}


class ModalityBatches:
    """One modality's side of a cross-modality loader: ``(x_rgb, x_ir, labels)``
    batches -> ``(x, labels)`` with ``x`` the ``"ir"`` (or ``"rgb"``) images.

    A P x K pair loader's side is exactly a strong-baseline P x K batch of that
    modality. ``set_epoch(epoch, start_step)`` is forwarded to the loader's sampler."""

    def __init__(self, loader: Iterable, modality: str) -> None:
        if modality not in ("rgb", "ir"):
            raise ValueError(f"modality must be 'rgb' or 'ir', got {modality!r}")
        self.loader, self.modality = loader, modality

    def __len__(self) -> int:
        return len(self.loader)

    def set_epoch(self, epoch: int, start_step: int = 0) -> None:
        """Forwarded to the sampler; ``start_step`` skips that many batches
        (resuming mid-epoch), which needs a sampler that supports it."""
        target = self.loader if hasattr(self.loader, "set_epoch") else getattr(self.loader, "sampler", None)
        if hasattr(target, "set_epoch"):
            target.set_epoch(epoch, start_step) if start_step else target.set_epoch(epoch)
        elif start_step:
            raise ValueError("resuming mid-epoch needs a loader whose sampler has set_epoch(epoch, start_step) "
                             "(tsgan_lib.data.build_train_loader's)")

    def __iter__(self):
        for x_rgb, x_ir, labels, *_ in self.loader:
            yield (x_ir if self.modality == "ir" else x_rgb), labels


class _Replay:
    """A plain list of batches as epochs (resuming skips the first ``start_step`` batches)."""

    def __init__(self, batches: Iterable) -> None:
        self.batches, self.start = batches, 0

    def __len__(self) -> int:
        return len(self.batches)

    def set_epoch(self, epoch: int, start_step: int = 0) -> None:
        self.start = start_step

    def __iter__(self):
        return itertools.islice(iter(self.batches), self.start, None)


def pretrain_teacher(batches: Iterable, num_classes: int, cfg: TeacherConfig, device: torch.device, *, depth: int,
                     pretrained: bool = False, model: ReIDBackbone | None = None,
                     checkpoint_path: str | Path | None = None, amp_dtype: torch.dtype | None = None,
                     channels_last: bool = False, max_nonfinite: int = 20, progress: bool = False,
                     on_epoch_end: Callable[[int, list[dict]], None] | None = None, dist: Dist = Dist(),
                     log: Callable[[str], None] = print) -> tuple[ReIDBackbone, list[dict]]:
    """Train a strong-baseline backbone on single-modality batches.

    ``batches`` yields ``(images, pids, ...)`` (ImageNet-normalised; pids in
    ``0..num_classes-1``), e.g. :class:`ModalityBatches` over the run's pair
    loader; a plain list works too. Returns the model (eval mode) and one
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
        with _autocast(images, amp_dtype):
            out = net(images)
            terms = {"id": loss_cfg.lambda_id * id_loss(out["logits"].float(), pids, loss_cfg.label_smoothing),
                     "tri": loss_cfg.lambda_tri * triplet_loss(out["feat"].float(), pids, loss_cfg.margin)}
            loss = sum_terms(terms)
        optimizer.zero_grad(set_to_none=True)
        _optimise(loss, optimizer, guard.scalers["teacher"])
        acc = (out["logits"].argmax(1) == pids).float().mean()
        return {"id": terms["id"].detach(), "tri": terms["tri"].detach(), "total": loss.detach(), "acc": acc}

    if not hasattr(batches, "set_epoch"):
        batches = _Replay(batches)
    loop = FitLoop("teacher", step, batches, epochs=cfg.schedule.epochs, images_per_step=0, device=device,
                   checkpoint_path=checkpoint_path, meta={**cfg.recipe(), "num_classes": num_classes, "depth": depth},
                   log_every=max(len(batches), 1), guard=guard, max_nonfinite=max_nonfinite, history=True,
                   progress=progress, lr=lambda: optimizer.param_groups[0]["lr"], dist=dist, log=log,
                   mismatch="a teacher pretraining with another recipe",
                   restart_hint="delete that file to start this one over")
    loop.register(model=model, optimizer=optimizer, scheduler=scheduler)
    loop.add_callback("epoch_start", lambda _: model.train())
    loop.add_callback("epoch_end", lambda _, means: scheduler.step())
    if on_epoch_end is not None:
        loop.add_callback("epoch_end", lambda lp, means: on_epoch_end(lp.state.epoch, lp.history))
    loop.fit()
    return broadcast_module(unwrap(model), dist).eval(), loop.history


def table3_query_gallery(records: Sequence[Record], modality: str) -> tuple[list[Record], list[Record]]:
    """A single-modality query/gallery split for Table III-style retrieval.

    Among the test ``records`` of one ``modality`` (``"ir"`` or ``"rgb"``):
    the first image (by path) of every (identity, camera) is a query; every
    other image of that modality is the gallery. The paper does not state its
    single-modality protocol; this one has no camera filtering (RegDB-style
    ranking), so every query has at least one true match whenever its
    identity has more than one image.
    """
    own = sorted((r for r in records if r.modality == modality), key=lambda r: r.path)
    if not own:
        raise ValueError(f"no {modality!r} records to split")
    seen: set[tuple[int, int]] = set()
    query, gallery = [], []
    for r in own:
        if (r.pid, r.camid) in seen:
            gallery.append(r)
        else:
            seen.add((r.pid, r.camid))
            query.append(r)
    return query, gallery


def evaluation_records(dataset) -> list[Record]:
    """A dataset's test images (SYSU-MM01's ``test``; RegDB's two test lists)."""
    if hasattr(dataset, "test"):
        return list(dataset.test)
    return list(dataset.test_visible) + list(dataset.test_thermal)


def teacher_quality(model: ReIDBackbone, dataset, *, height: int, width: int, device: torch.device,
                    modality: str = "ir", batch_size: int = 128) -> dict:
    """Single-modality retrieval on the test identities (Table III's
    protocol, :func:`table3_query_gallery`): R1, R10, R20, mAP, mINP in percent."""
    from tsgan_lib.data import ImageDataset, build_transform
    from tsgan_lib.eval.driver import evaluate_features
    from tsgan_lib.eval.features import extract_features

    query, gallery = table3_query_gallery(evaluation_records(dataset), modality)
    tf = build_transform(False, height, width)
    feats = extract_features(model, ImageDataset(query + gallery, tf), batch_size=batch_size, device=device)
    res = evaluate_features(feats[:len(query)], feats[len(query):], [r.pid for r in query],
                            [r.pid for r in gallery], device=device)
    return {f"{modality}_{k}": round(float(v), 2) for k, v in res.items() if k != "num_valid"}


def teacher_requirements(cfg: TrainConfig, num_classes: int) -> dict:
    """What a teacher file's record must say to fit a run (see :meth:`NetworkRecord.mismatch`)."""
    from tsgan_lib.data.config import data_tag

    return {"arch__depth": cfg.model.depth, "arch__num_classes": num_classes, "settings__height": cfg.data.height,
            "settings__width": cfg.data.width, "settings__pad": cfg.data.crop_pad,
            "settings__grey": cfg.data.grey, "settings__erasing": cfg.data.erasing,
            "settings__P": cfg.teacher.P, "settings__K": cfg.teacher.K,
            "settings__pretrained": cfg.model.pretrained, "settings__recipe": cfg.teacher.recipe(),
            "data": data_tag(cfg.data)}


def teacher_record(cfg: TrainConfig, model: ReIDBackbone, quality: dict, history: Sequence[dict] = (),
                   seconds: float | None = None) -> NetworkRecord:
    """The record saved with a teacher: what it is, the settings and data it was
    trained with (those :func:`teacher_requirements` checks) and its measured quality."""
    required = teacher_requirements(cfg, model.num_classes)
    final = history[-1] if history else {}
    extra = {"final_id_loss": final.get("id"), "final_train_acc": final.get("acc")}
    if seconds is not None:
        extra["pretrain_seconds"] = round(seconds, 1)
    return NetworkRecord("teacher", network_arch(model),
                         settings={k.split("__", 1)[1]: v for k, v in required.items() if k.startswith("settings__")},
                         data=required["data"], quality={**quality, **extra})


def obtain_teacher(cfg: TrainConfig, dataset, device: torch.device, *, run_dir: str | Path | None = None,
                   amp_dtype: torch.dtype | None = None, dist: Dist = Dist(),
                   log: Callable[[str], None] = print) -> tuple[ReIDBackbone, NetworkRecord, str, float]:
    """The teacher phase: the one way the trainer and the notebooks get FE_T.

    In order: the run's own copy (``run_dir/teacher.pt``: a resumed run never
    picks up another teacher); ``cfg.teacher.path`` when its record fits this
    run (depth, classes, image size, padding, recipe, data); else pretrain
    one with ``cfg.teacher`` on this run's IR batches (resumable from
    ``teacher_checkpoint.pt``), measure its IR->IR retrieval, save it in the
    run folder and at ``cfg.teacher.path`` if that file does not exist yet.
    Returns ``(backbone in eval mode, its record, where it came from, seconds
    spent pretraining)``.
    """
    from tsgan_lib.data.config import train_batches
    from tsgan_lib.utils import resolve_path

    run_dir = Path(run_dir) if run_dir is not None else None
    own = run_dir / TEACHER_FILE if run_dir is not None else None
    if own is not None and own.is_file():
        model, record = load_network(own, device, kind="teacher")
        return model, record, f"{own} (this run's copy)", 0.0
    required = teacher_requirements(cfg, dataset.num_train_ids)
    shared = resolve_path(cfg.teacher.path) if cfg.teacher.path else None
    why = "no teacher.path given"
    if shared is not None and shared.is_file():
        model, record = load_network(shared, device, kind="teacher")
        why = record.mismatch(**required)
        if why is None:
            if own is not None and dist.main:
                save_network(own, model, record)
            return model, record, str(shared), 0.0
        why = f"{shared} does not fit ({why})"
    elif shared is not None:
        why = f"{shared} does not exist"
    schedule = cfg.teacher.schedule
    log(f"teacher phase: {why}; pretraining an IR teacher (ResNet-{cfg.model.depth}, {schedule.epochs} epochs)")
    t0 = time.perf_counter()
    partial = (own.parent if own is not None else shared.parent if shared is not None else None)
    shape = dataclasses.replace(cfg.data, P=cfg.teacher.P, K=cfg.teacher.K)  # the teacher's batches, not the run's
    loader = train_batches(shape, dataset, seed=cfg.run.seed, device=device, dist=dist)
    model, history = pretrain_teacher(
        ModalityBatches(loader, "ir"), dataset.num_train_ids, cfg.teacher, device, depth=cfg.model.depth,
        pretrained=cfg.model.pretrained, amp_dtype=amp_dtype, channels_last=device.type == "cuda"
        and cfg.run.channels_last, checkpoint_path=partial / TEACHER_CHECKPOINT_FILE if partial else None,
        max_nonfinite=cfg.run.max_nonfinite, progress=cfg.run.progress, dist=dist, log=log)
    seconds = time.perf_counter() - t0
    quality = teacher_quality(model, dataset, height=cfg.data.height, width=cfg.data.width, device=device)
    record = teacher_record(cfg, model, quality, history, seconds)
    if dist.main:
        for path in (own, shared if shared is not None and not shared.exists() else None):
            if path is not None:
                save_network(path, model, record)
        if partial is not None:
            (partial / TEACHER_CHECKPOINT_FILE).unlink(missing_ok=True)
    log(f"teacher phase: {seconds:.0f} s; IR->IR R1 {quality['ir_R1']:.1f}%, mAP {quality['ir_mAP']:.1f}% "
        "(paper, Table III: 98.0 / 97.4)")
    return model, record, "pretrained in this run", seconds
