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
"""

from __future__ import annotations

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

    def set_epoch(self, epoch: int) -> None:
        sampler = getattr(self.loader, "sampler", None)
        if hasattr(sampler, "set_epoch"):
            sampler.set_epoch(epoch)

    def __iter__(self):
        for x_rgb, x_ir, labels, *_ in self.loader:
            yield (x_ir if self.modality == "ir" else x_rgb), labels


def pretrain_teacher(loader: Iterable, num_classes: int, cfg: TeacherConfig, device: torch.device,
                     model: ReIDBackbone | None = None,
                     on_epoch_end: Callable[[int, list[dict]], None] | None = None) -> tuple[ReIDBackbone, list[dict]]:
    """Train a strong-baseline backbone on single-modality batches.

    ``loader`` yields ``(images, pids, ...)`` with ImageNet-normalised images
    and pids in ``0..num_classes-1`` (an identity-balanced P x K loader, e.g.
    :class:`ModalityBatches` over :func:`tsgan_lib.data.build_train_loader`);
    its ``set_epoch(epoch)`` is called when it has one.
    Returns the model (eval mode) and a per-step history of dicts with keys
    ``epoch, step, id, tri, total, acc, lr`` (``id``/``tri`` already weighted).
    """
    model = (model or build_backbone(num_classes, cfg.depth, cfg.pretrained)).to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda e: lr_factor(e, cfg.warmup_epochs, cfg.warmup_start, cfg.milestones, cfg.gamma))
    history: list[dict] = []
    step = 0
    for epoch in range(cfg.epochs):
        model.train()
        if hasattr(loader, "set_epoch"):
            loader.set_epoch(epoch)
        for batch in loader:
            images, pids = batch[0].to(device), batch[1].to(device)
            out = model(images)
            terms = {"id": cfg.lambda_id * id_loss(out["logits"], pids, cfg.label_smoothing),
                     "tri": cfg.lambda_tri * triplet_loss(out["feat"], pids, cfg.margin)}
            loss = sum_terms(terms)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            acc = (out["logits"].argmax(1) == pids).float().mean()
            history.append({"epoch": epoch, "step": step, "id": float(terms["id"].detach()),
                            "tri": float(terms["tri"].detach()), "total": float(loss.detach()),
                            "acc": float(acc), "lr": optimizer.param_groups[0]["lr"]})
            if not math.isfinite(history[-1]["total"]):
                raise FloatingPointError(f"non-finite teacher loss at epoch {epoch}, step {step}: {history[-1]}")
            step += 1
        scheduler.step()
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
    batches, save it there and return it. Returns ``(model, config)``;
    ``config["trained_here"]`` says which happened."""
    path = Path(path)
    if path.is_file():
        model, config = load_teacher(path, device)
        return model, {**config, "trained_here": False}
    model, _ = pretrain_teacher(make_loader(), num_classes, cfg, device)
    save_teacher(path, model, {"modality": "ir", **teacher_config_dict(cfg), **(extra or {})})
    model, config = load_teacher(path, device)
    return model, {**config, "trained_here": True}
