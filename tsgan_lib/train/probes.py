"""What TS-GAN's mechanism does during a run, measured on training batches.

The paper's claim rests on three effects: the teacher pulls the student's
middle features together across modalities (Eq. 13-16), the generated IR
images X_I' carry their source's identity (so the pairs (X_R, X_I') teach
something), and the joint discriminator keeps improving the generator.
Whether each one acts is measured, not assumed. :func:`mechanism_probe`
returns, for one batch:

- **gradient shares** (``grad_share.fmap.<term>``, ``grad_share.params.<term>``):
  each weighted loss term of the backbone step, its gradient's norm at the
  student's middle map f_map,S and at the student's parameters, as a share of
  the sum over the terms (``...ts`` sums the three TS terms); and
  ``grad_share.fmap_reid.<input>``: which inputs (X_R, X_I, X_I') the ID and
  triplet gradient at f_map comes through (shares of its squared norm);
- **X_I''s identity** (``fake_ir.*``): the frozen teacher's and the student's
  classification accuracy on X_I' = G_I(X_R) with X_R's labels, beside theirs
  on the real X_I (the teacher classifies real IR training images almost
  perfectly); the student's cross-entropy on X_I' (against chance, ln N);
  the mean colour spread of X_I' and of X_I (IR is grey: 0);
- **D_I's judgements** (``d_ir_acc.*``): the share of patches D_I gets right
  on its real pairs, on each part of the fake set M (Eq. 5), and on the
  generator's pair (X_I', FE_T(X_I')) that Eq. (1) trains G_I with.

A probe changes nothing: no optimiser steps, the student's BatchNorm
statistics and the random state are restored, so a run with probes trains
the same weights as one without. The trainer runs ``run.probes_per_epoch``
probes per epoch and logs them as ``"kind": "probe"`` lines of
``metrics.jsonl``; :func:`summarise_probes` averages them for
``train_info.json``.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Mapping
from pathlib import Path

import torch
from torch import Tensor

from tsgan_lib.losses import fake_set_m
from tsgan_lib.models import gan_to_reid, reid_to_gan

from .precision import autocast
from .steps import TSGANConfig, TSGANModels, _check, backbone_terms, frozen

#: The TS terms of Eq. (16), by name.
TS_TERMS = ("ts_cd", "ts_real_ir", "ts_fake_ir")
#: The name prefixes of the probes' values.
PROBE_PREFIXES = ("grad_share.", "grad_norm.", "fake_ir.", "d_ir_acc.")


@contextlib.contextmanager
def unchanged(*modules: torch.nn.Module | None) -> Iterator[None]:
    """Restore the modules' buffers (BatchNorm running statistics) and the torch
    random state on exit: a probe leaves the run exactly as it found it."""
    saved = [(b, b.detach().clone()) for m in modules if m is not None for b in m.buffers()]
    rng = torch.get_rng_state()
    try:
        yield
    finally:
        with torch.no_grad():
            for buf, value in saved:
                buf.copy_(value)
        torch.set_rng_state(rng)


def _accuracy(logits: Tensor, labels: Tensor) -> float:
    return float((logits.argmax(dim=1) == labels).float().mean())


def _norm(tensors) -> float:
    return math.sqrt(sum(float(t.float().pow(2).sum()) for t in tensors if t is not None))


def gradient_shares(models: TSGANModels, x_rgb: Tensor, x_ir: Tensor, labels: Tensor, cfg: TSGANConfig,
                    cache: dict[str, Tensor], amp_dtype: torch.dtype | None = None) -> tuple[dict, dict]:
    """Each backbone term's share of the gradient at f_map,S and at the student's
    parameters (one backward pass per term). ``cache`` is completed in place as
    :func:`~tsgan_lib.train.steps.backbone_terms` completes it (X_I', FE_T(X_I')).
    Returns ``(shares, out)``: ``out`` holds backbone_terms' tensors, detached."""
    params = [p for p in models.student.parameters() if p.requires_grad]
    with frozen(models.cyclegan.disc_ir if cfg.use_gan else None), autocast(x_rgb, amp_dtype):
        terms, out = backbone_terms(models, x_rgb, x_ir, labels, cfg, cache)
    fmap, b = out["fmap"], x_rgb.shape[0]
    at_fmap, at_params, reid_grad = {}, {}, None
    names = list(terms)
    for i, name in enumerate(names):
        grads = torch.autograd.grad(terms[name].float(), [fmap, *params], retain_graph=i < len(names) - 1,
                                    allow_unused=True)
        at_fmap[name] = _norm(grads[:1])
        at_params[name] = _norm(grads[1:])
        if name in ("reid_id", "reid_tri") and grads[0] is not None:
            reid_grad = grads[0].float() if reid_grad is None else reid_grad + grads[0].float()
    shares: dict[str, float] = {}
    for where, norms in (("fmap", at_fmap), ("params", at_params)):
        total = sum(norms.values()) or 1.0
        shares.update({f"grad_share.{where}.{k}": v / total for k, v in norms.items()})
        if any(k in norms for k in TS_TERMS):
            shares[f"grad_share.{where}.ts"] = sum(norms.get(k, 0.0) for k in TS_TERMS) / total
        shares[f"grad_norm.{where}"] = total
    if reid_grad is not None:
        sq = [float(part.pow(2).sum()) for part in reid_grad.split(b)]
        shares.update({f"grad_share.fmap_reid.{out['inputs'][j]}": v / (sum(sq) or 1.0) for j, v in enumerate(sq)})
    return shares, {k: (v.detach() if isinstance(v, Tensor) else v) for k, v in out.items()}


def fake_ir_identity(models: TSGANModels, x_ir: Tensor, labels: Tensor, cache: Mapping[str, Tensor],
                     student_logits: Tensor | None = None) -> dict[str, float]:
    """Does X_I' = G_I(X_R) carry X_R's identity? The frozen teacher's and the
    student's accuracy on X_I' (X_R's labels) beside theirs on X_I.
    ``student_logits``: the student's logits on [X_R; X_I; X_I'] (training
    mode); without them, the teacher's side and the colour spread only."""
    b = x_ir.shape[0]
    out: dict[str, float] = {}
    x_fake = cache["x_ir_fake"].to(x_ir.dtype)
    with torch.no_grad():
        if models.teacher is not None:
            out["fake_ir.teacher_acc"] = _accuracy(models.teacher.logits(gan_to_reid(x_fake)).float(), labels)
            out["fake_ir.teacher_acc_on_real_ir"] = _accuracy(models.teacher.logits(x_ir).float(), labels)
        if student_logits is not None:
            rgb, real, fake = student_logits.float().split(b)[:3]
            out["fake_ir.student_acc"] = _accuracy(fake, labels)
            out["fake_ir.student_acc_on_real_ir"] = _accuracy(real, labels)
            out["fake_ir.student_acc_on_rgb"] = _accuracy(rgb, labels)
            out["fake_ir.student_ce"] = float(torch.nn.functional.cross_entropy(fake, labels))
            out["fake_ir.chance_ce"] = math.log(fake.shape[1])
        # colour spread, in [0, 1]: max minus min channel per pixel (a grey image: 0)
        spread = lambda x: float((x.amax(dim=1) - x.amin(dim=1)).float().mean() / 2)  # noqa: E731 ([-1, 1] images)
        out["fake_ir.chroma"] = spread(x_fake)
        out["fake_ir.chroma_real_ir"] = spread(reid_to_gan(x_ir))
    return out


def discriminator_accuracy(models: TSGANModels, x_ir: Tensor, cache: Mapping[str, Tensor], maps: Mapping,
                           cfg: TSGANConfig) -> dict[str, float]:
    """The share of D_I's patches judged right: real pairs as real; each part of
    M (Eq. 5), and the generator's pair (X_I', FE_T(X_I')), as fake."""
    gan = models.cyclegan
    threshold = 0.0 if cfg.gan.mode == "vanilla" else 0.5  # logit 0 = probability 1/2; LSGAN's midpoint
    real = lambda logits: float((logits.float() > threshold).float().mean())  # noqa: E731
    fake = lambda logits: 1.0 - real(logits)  # noqa: E731
    x_ir_g, x_fake = reid_to_gan(x_ir), cache["x_ir_fake"].to(x_ir.dtype)
    with torch.no_grad():
        if not cfg.joint_disc:
            return {"d_ir_acc.real": real(gan.disc_ir(x_ir_g)), "d_ir_acc.fake_ir": fake(gan.disc_ir(x_fake))}
        out = {"d_ir_acc.real": real(gan.disc_ir(x_ir_g, maps["fmap_t_ir"]))}
        x_m, f_m = fake_set_m(x_ir_g, x_fake, maps["fmap_s_ir"], maps["fmap_s_ir_fake"])
        parts = gan.disc_ir(x_m, f_m).split(x_ir.shape[0])
        for name, logits in zip(("m_fake_ir_student_map", "m_fake_ir_real_ir_map", "m_real_ir_student_map"), parts):
            out[f"d_ir_acc.{name}"] = fake(logits)
        t_fake = cache.get("fmap_t_ir_fake")
        if t_fake is None:
            t_fake = models.teacher(gan_to_reid(x_fake))
        out["d_ir_acc.g_pair"] = fake(gan.disc_ir(x_fake, t_fake.to(x_fake.dtype)))
    return out


def mechanism_probe(models: TSGANModels, x_rgb: Tensor, x_ir: Tensor, labels: Tensor, cfg: TSGANConfig,
                    cache: Mapping[str, Tensor] | None = None,
                    amp_dtype: torch.dtype | None = None) -> dict[str, float]:
    """All the probes on one batch (``cache``: a step's ``.cache`` with
    ``x_ir_fake`` and the teacher's maps; recomputed when absent). Changes
    nothing (see :func:`unchanged`)."""
    _check(models, cfg)
    cache = dict(cache or {})
    with unchanged(models.student):
        out, maps = gradient_shares(models, x_rgb, x_ir, labels, cfg, cache, amp_dtype)
        if cfg.use_gan:
            with autocast(x_rgb, amp_dtype):
                out.update(fake_ir_identity(models, x_ir, labels, cache, maps["logits"]))
                out.update(discriminator_accuracy(models, x_ir, cache, maps, cfg))
    return out


def probe_steps(steps_per_epoch: int, per_epoch: int) -> set[int]:
    """The steps of an epoch (1-based) after which the probes run: ``per_epoch``
    of them, evenly spaced, the last at the epoch's end."""
    if per_epoch <= 0 or steps_per_epoch <= 0:
        return set()
    n = min(per_epoch, steps_per_epoch)
    return {round((i + 1) * steps_per_epoch / n) for i in range(n)}


def summarise_probes(metrics_path: str | Path) -> dict:
    """``{"run": {name: mean over the run's probes}, "last_epoch": {name: mean over
    the last epoch's}, "count": n}`` from a run's ``metrics.jsonl`` (empty without probes)."""
    from .hooks import log_records

    path = Path(metrics_path)
    records = [r for r in log_records(path) if r.get("kind") == "probe"] if path.is_file() else []
    if not records:
        return {}
    last = max(r["epoch"] for r in records)

    def means(rows: list[dict]) -> dict[str, float]:
        keys = sorted({k for r in rows for k in r if k.startswith(PROBE_PREFIXES)})
        return {k: round(sum(r[k] for r in rows if k in r) / sum(k in r for r in rows), 6) for k in keys}

    return {"count": len(records), "run": means(records),
            "last_epoch": means([r for r in records if r["epoch"] == last])}


def describe_probe(values: Mapping[str, float]) -> str:
    """One line for a training log: what the probe's main values say."""
    parts = []
    if "grad_share.fmap.ts" in values:
        parts.append(f"TS terms {values['grad_share.fmap.ts']:.1%} of the gradient at f_map")
    if "grad_share.fmap_reid.ir_fake" in values:
        parts.append(f"X_I' {values['grad_share.fmap_reid.ir_fake']:.0%} of the ID+triplet gradient there")
    if "fake_ir.teacher_acc" in values:
        parts.append(f"teacher right on {values['fake_ir.teacher_acc']:.0%} of X_I' "
                     f"({values['fake_ir.teacher_acc_on_real_ir']:.0%} of X_I)")
    if "fake_ir.student_acc" in values:
        parts.append(f"student on {values['fake_ir.student_acc']:.0%} of X_I'")
    if "d_ir_acc.g_pair" in values:
        parts.append(f"D_I rejects {values['d_ir_acc.g_pair']:.0%} of (X_I', FE_T(X_I'))")
    return "; ".join(parts) or "no probe values"
