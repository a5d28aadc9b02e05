"""Pretraining the IR teacher, and its checkpoint (paper Section III.C, Table III).

"We pretrain a baseline model using Resnet50 on the IR images of SYSU-MM01
training set by the triplet loss and identification classification loss.
After pretraining, we fix its weights." The recipe is the strong baseline's
(ref. [34], PAPER_NOTES 5.8): P identities x K images per batch, Adam
(lr 3.5e-4, weight decay 5e-4), linear warm-up, step decay, label-smoothed ID
loss (Eq. 9-10) on the logits F plus batch-hard triplet loss (Eq. 11) on V.
The same function trains an RGB-only baseline for the other row of Table III.

A checkpoint is ``{"state_dict": ..., "config": {...}}`` written with
``torch.save``; the config holds plain numbers and strings only, so
:func:`load_teacher` reads it with ``weights_only=True``. During TS-GAN
training only the frozen former encoder is used
(:class:`tsgan_lib.models.FrozenTeacher`). :func:`table3_query_gallery` is
the single-modality query/gallery split used to check the teacher (Table III).

Pretraining is resumable: given ``checkpoint_path``, :func:`pretrain_teacher`
writes its full state there at every epoch end and on Ctrl-C, and picks it
up when called again (tests/test_steps_teacher.py checks that an interrupted
pretraining ends with the same weights as an uninterrupted one).
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from tsgan_lib.data.records import Record
from tsgan_lib.losses import id_loss, sum_terms, triplet_loss
from tsgan_lib.models import ReIDBackbone, build_backbone

from .checkpoint import (StopRequest, describe_changes, load_weights, rng_state, save_atomic,
                         set_rng_state)
from .steps import _autocast, _optimise


@dataclass
class TeacherConfig:
    """The strong-baseline recipe (paper-scale defaults; the CPU notebooks shrink them)."""

    depth: int = 50                 # ResNet depth (paper: 50)
    pretrained: bool = True         # ImageNet initialisation (paper: yes)
    epochs: int = 120               # training epochs
    lr: float = 3.5e-4              # Adam base learning rate
    weight_decay: float = 5e-4      # on weights and biases alike
    warmup_epochs: int = 10         # linear warm-up length
    warmup_start: float = 0.1       # warm-up starts at lr * warmup_start
    milestones: tuple[int, ...] = (40, 70)  # epochs where the lr is multiplied by gamma
    gamma: float = 0.1              # strong baseline's decay factor
    lambda_id: float = 1.0          # weight of the ID loss (Eq. 9)
    lambda_tri: float = 1.0         # weight of the triplet loss (Eq. 11)
    margin: float = 0.3             # triplet margin m
    label_smoothing: float = 0.1    # ε of Eq. (10)


def lr_factor(epoch: int, warmup_epochs: int, warmup_start: float, milestones: Iterable[int], gamma: float) -> float:
    """Multiplier of the base lr at ``epoch`` (0-based): linear warm-up from
    ``warmup_start`` to 1 over ``warmup_epochs``, then ``gamma`` per passed milestone."""
    if warmup_epochs > 0 and epoch < warmup_epochs:
        return warmup_start + (1.0 - warmup_start) * epoch / warmup_epochs
    return gamma ** sum(epoch >= m for m in milestones)


class ModalityBatches:
    """One modality's side of a cross-modality loader: ``(x_rgb, x_ir, labels)``
    batches -> ``(x, labels)`` with ``x`` the ``"ir"`` (or ``"rgb"``) images.

    :func:`tsgan_lib.data.build_train_loader` batches are P identities x K
    pairs, so one side is exactly a strong-baseline P x K batch of that
    modality (an epoch is ``ceil(#RGB / (P*K))`` steps). ``set_epoch`` is
    forwarded to the loader's sampler."""

    def __init__(self, loader: Iterable, modality: str) -> None:
        if modality not in ("rgb", "ir"):
            raise ValueError(f"modality must be 'rgb' or 'ir', got {modality!r}")
        self.loader, self.modality = loader, modality

    def __len__(self) -> int:
        return len(self.loader)

    def set_epoch(self, epoch: int, start_step: int = 0) -> None:
        """Forwarded to the sampler; ``start_step`` skips that many batches
        (resuming mid-epoch), which needs a sampler that supports it."""
        sampler = getattr(self.loader, "sampler", None)
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(epoch, start_step) if start_step else sampler.set_epoch(epoch)
        elif start_step:
            raise ValueError("resuming mid-epoch needs a loader whose sampler has set_epoch(epoch, start_step) "
                             "(tsgan_lib.data.build_train_loader's)")

    def __iter__(self):
        for x_rgb, x_ir, labels, *_ in self.loader:
            yield (x_ir if self.modality == "ir" else x_rgb), labels


def pretrain_teacher(loader: Iterable, num_classes: int, cfg: TeacherConfig, device: torch.device,
                     model: ReIDBackbone | None = None,
                     on_epoch_end: Callable[[int, list[dict]], None] | None = None, *,
                     checkpoint_path: str | os.PathLike | None = None, amp_dtype: torch.dtype | None = None,
                     channels_last: bool = False,
                     log: Callable[[str], None] = print) -> tuple[ReIDBackbone, list[dict]]:
    """Train a strong-baseline backbone on single-modality batches.

    ``loader`` yields ``(images, pids, ...)`` with ImageNet-normalised images
    and pids in ``0..num_classes-1`` (an identity-balanced P x K loader, e.g.
    :class:`ModalityBatches` over :func:`tsgan_lib.data.build_train_loader`);
    its ``set_epoch(epoch)`` is called when it has one.
    Returns the model (eval mode) and a per-step history of dicts with keys
    ``epoch, step, id, tri, total, acc, lr`` (``id``/``tri`` already weighted).

    Long pretraining (120 epochs of ResNet-50 on SYSU-MM01) must survive an
    interruption. With ``checkpoint_path`` the model, optimiser, scheduler,
    scaler, history, loader position and RNG states are written there
    atomically at every epoch end and when Ctrl-C arrives (the step in flight
    finishes first, then ``KeyboardInterrupt`` is raised); called again with
    the same path and recipe, pretraining resumes where it stopped. A loader
    with ``set_epoch(epoch, start_step)`` (``ModalityBatches``) skips the
    batches already done without loading them; any other loader is skipped
    through. A checkpoint from another recipe is refused.

    ``amp_dtype`` (``torch.bfloat16``/``torch.float16``, CUDA) runs the step
    under autocast, fp16 with a GradScaler. Loss values stay on the device
    during an epoch; the host synchronises once per epoch to fill the history.
    """
    model = (model or build_backbone(num_classes, cfg.depth, cfg.pretrained)).to(device)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    if channels_last:
        model = model.to(memory_format=fmt)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda e: lr_factor(e, cfg.warmup_epochs, cfg.warmup_start, cfg.milestones, cfg.gamma))
    scaler = torch.amp.GradScaler(device.type) if amp_dtype == torch.float16 else None
    recipe = teacher_config_dict(cfg)
    history: list[dict] = []
    epoch0, start0, step = 0, 0, 0
    ckpt_path = Path(checkpoint_path) if checkpoint_path is not None else None
    if ckpt_path is not None and ckpt_path.exists():
        ckpt = load_weights(ckpt_path, device)
        differ = {k: (ckpt["recipe"].get(k), v) for k, v in recipe.items() if ckpt["recipe"].get(k) != v}
        if ckpt["num_classes"] != num_classes:
            differ["num_classes"] = (ckpt["num_classes"], num_classes)
        if differ:
            raise ValueError(f"{ckpt_path} holds a teacher pretraining with another recipe "
                             f"({describe_changes(differ)}); "
                             "delete that file to start this one over")
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        if scaler is not None and ckpt.get("scaler"):
            scaler.load_state_dict(ckpt["scaler"])
        set_rng_state(ckpt["rng"])
        history = list(ckpt["history"])
        epoch0, start0, step = (int(ckpt["progress"][k]) for k in ("epoch", "step_in_epoch", "step"))
        log(f"teacher: resuming from {ckpt_path} at epoch {epoch0 + 1}, step {start0}")

    pending: list[tuple[int, int, float, torch.Tensor]] = []

    def flush() -> None:
        """Move the epoch's device-side loss values into ``history`` (one host sync)."""
        if not pending:
            return
        values = torch.stack([v for *_, v in pending]).tolist()
        for (epoch, i, lr, _), (l_id, l_tri, total, acc) in zip(pending, values):
            row = {"epoch": epoch, "step": i, "id": l_id, "tri": l_tri, "total": total, "acc": acc, "lr": lr}
            if not math.isfinite(total):
                raise FloatingPointError(f"non-finite teacher loss at epoch {epoch}, step {i}: {row}")
            history.append(row)
        pending.clear()

    def save(epoch: int, step_in_epoch: int) -> None:
        flush()
        save_atomic({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                     "scheduler": scheduler.state_dict(), "scaler": scaler.state_dict() if scaler else None,
                     "rng": rng_state(), "history": history, "recipe": recipe, "num_classes": num_classes,
                     "progress": {"epoch": epoch, "step_in_epoch": step_in_epoch, "step": step}}, ckpt_path)

    with StopRequest() if ckpt_path is not None else contextlib.nullcontext() as stop:
        for epoch in range(epoch0, cfg.epochs):
            model.train()
            start = start0 if epoch == epoch0 else 0
            if hasattr(loader, "set_epoch"):
                loader.set_epoch(epoch, start) if start else loader.set_epoch(epoch)
                batches = iter(loader)
            else:
                batches = itertools.islice(loader, start, None)
            step_in_epoch = start
            for batch in batches:
                images = batch[0].to(device, non_blocking=True, memory_format=fmt)
                pids = batch[1].to(device, non_blocking=True)
                with _autocast(images, amp_dtype):
                    out = model(images)
                    terms = {"id": cfg.lambda_id * id_loss(out["logits"].float(), pids, cfg.label_smoothing),
                             "tri": cfg.lambda_tri * triplet_loss(out["feat"].float(), pids, cfg.margin)}
                    loss = sum_terms(terms)
                optimizer.zero_grad(set_to_none=True)
                _optimise(loss, optimizer, scaler)
                acc = (out["logits"].argmax(1) == pids).float().mean()
                pending.append((epoch, step, optimizer.param_groups[0]["lr"],
                                torch.stack([terms["id"].detach(), terms["tri"].detach(), loss.detach(), acc]).float()))
                step += 1
                step_in_epoch += 1
                if stop is not None and stop.requested:
                    save(epoch, step_in_epoch)
                    log(f"\nteacher: interrupted; checkpoint written at epoch {epoch + 1}, step {step_in_epoch} "
                        f"({ckpt_path}); run again to resume")
                    raise KeyboardInterrupt
            scheduler.step()
            flush()
            if ckpt_path is not None:
                save(epoch + 1, 0)
            if on_epoch_end is not None:
                on_epoch_end(epoch, history)
    model.eval()
    return model, history


def save_teacher(path: str | os.PathLike, model: ReIDBackbone, extra: dict | None = None) -> Path:
    """Write ``{"state_dict", "config"}``; ``extra`` (plain values: modality,
    image size, epochs, ...) is stored in ``config`` too. Returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    config = {"depth": model.depth, "num_classes": model.num_classes, "saved_at": time.strftime("%Y-%m-%d %H:%M:%S")}
    config.update(extra or {})
    torch.save({"state_dict": model.state_dict(), "config": config}, path)
    return path


def load_teacher(path: str | os.PathLike, device: torch.device | str = "cpu") -> tuple[ReIDBackbone, dict]:
    """Rebuild the backbone from a :func:`save_teacher` checkpoint (read with
    ``weights_only=True``); returns ``(model in eval mode, config dict)``."""
    ckpt = torch.load(Path(path), map_location=device, weights_only=True)
    config = ckpt["config"]
    model = build_backbone(int(config["num_classes"]), int(config["depth"]), pretrained=False)
    model.load_state_dict(ckpt["state_dict"])
    return model.to(device).eval(), config


def teacher_config_dict(cfg: TeacherConfig) -> dict:
    """``cfg`` as plain values (tuples as lists) for a checkpoint's config."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(cfg).items()}


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


def load_or_pretrain_teacher(path: str | os.PathLike, make_loader: Callable[[], Iterable], num_classes: int,
                             cfg: TeacherConfig, device: torch.device,
                             extra: dict | None = None) -> tuple[ReIDBackbone, dict]:
    """The teacher checkpoint at ``path`` when it exists (notebook 01 writes
    it); otherwise pretrain a teacher with ``cfg`` on ``make_loader()``'s IR
    batches, save it there and return it (an interrupted pretraining resumes
    from ``<name>.partial.pt`` beside it). Returns ``(model, config)``;
    ``config["trained_here"]`` says which happened."""
    path = Path(path)
    if path.is_file():
        model, config = load_teacher(path, device)
        return model, {**config, "trained_here": False}
    partial = path.with_name(path.stem + ".partial.pt")  # resumable pretraining (see pretrain_teacher)
    model, _ = pretrain_teacher(make_loader(), num_classes, cfg, device, checkpoint_path=partial)
    save_teacher(path, model, {"modality": "ir", **teacher_config_dict(cfg), **(extra or {})})
    partial.unlink(missing_ok=True)
    model, config = load_teacher(path, device)
    return model, {**config, "trained_here": True}
