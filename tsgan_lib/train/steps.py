"""Algorithm 1, one training step of TS-GAN, as three functions.

Paper Section III.D. Per mini-batch (X_R, X_I, labels):

1. :func:`generator_step` -- X_I' = G_I(X_R); L_G (Eq. 7) = both directions'
   adversarial terms (Eq. 1) + ω L_cyc (Eq. 6); D_I, D_R frozen; O_G steps.
2. :func:`backbone_step` -- the student sees X_R, X_I and the detached X_I';
   L_Backbone = L_ReID (Eq. 8: ID 9-10, triplet 11, GAN 12) + L_TS (Eq. 16),
   the terms of :func:`backbone_terms`; D_I frozen, FE_T frozen; O_B steps.
3. :func:`discriminator_step` -- L_D (Eq. 2-5) for D_I and the same form for
   D_R; fakes and feature maps detached, mixed with a history of earlier ones
   (:func:`make_pools`, CycleGAN's pool); O_D steps.

Each returns a :class:`StepTerms`: a dict of named, weighted loss terms
(floats; their sum is that step's loss) whose ``.cache`` carries the detached
tensors the next phase reuses (fake images, feature maps), so nothing is
computed twice. :func:`train_step` runs the three in order; :func:`make_optimizers` makes
O_G, O_B and O_D, and :func:`algorithm_1` turns the step into a fit loop's step
(:class:`tsgan_lib.train.loop.FitLoop`: the notebooks' short runs; the full
trainer, with epochs, schedules and checkpoints, builds on the same steps).

The variants of the paper's Table II are config flags (:func:`table2_config`):
``use_gan=False`` drops G, D and X_I' (the "Backbone" row); the ordinary D_I
(``joint_disc=False``) sees images only, so its fake set is {X_I'} and the
backbone has no GAN term (Eq. 12 needs feature maps); ``ts.use_same_domain``
switches Eq. (13)-(14) ("singleTS" keeps Eq. 15 only); without the GAN only
Eq. (13) can be computed.

Data loaders give ImageNet-normalised images; the generators and
discriminators work in [-1, 1]; every crossing uses
:func:`tsgan_lib.models.convert.reid_to_gan` / ``gan_to_reid``. Device and
precision follow the inputs: pass ``amp_dtype`` (e.g. ``torch.bfloat16``) to
run forwards under autocast and a ``GradScaler`` (one per optimiser) for fp16.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Literal

import torch
from torch import Tensor, nn

from tsgan_lib.losses import (GANLossConfig, ReIDLossConfig, TSLossConfig, backbone_gan_loss, cycle_loss,
                              discriminator_loss, fake_set_m, generator_adversarial_loss, generator_loss,
                              id_loss, identity_loss, reid_loss, sum_terms, triplet_term, ts_cross_domain_loss,
                              ts_fake_ir_loss, ts_loss, ts_real_ir_loss)
from tsgan_lib.data.channel_aug import caj_views
from tsgan_lib.models import CycleGAN, FrozenTeacher, ReIDBackbone, discriminate_ir, gan_to_reid, reid_to_gan
from tsgan_lib.ranges import NonNegative, Positive, Range

from .pool import SamplePool
from .precision import autocast, optimise

TABLE2_VARIANTS = ("backbone", "od_single_ts", "od_all_ts", "jd_all_ts")
#: The field's baselines, rows beside Table II's: the backbone's step (no GAN, no teacher) with their own
#: network, triplet form and augmentation, which their presets set (params/*_agw.yaml, params/*_caj.yaml)
BASELINE_VARIANTS = ("agw", "caj")
HEAD_MODULES = ("bnneck.", "classifier.")  # the student's BNNeck and classifier (optim.lr_head_factor)
ROWS = TABLE2_VARIANTS + BASELINE_VARIANTS


@dataclass
class TSGANConfig:
    """What one TS-GAN step computes; defaults = the paper's full model (TS-GAN_JD^allTS)."""

    use_gan: bool = True          # G_I / G_R / D_I / D_R and X_I'; False = Table II "Backbone"
    joint_disc: bool = True       # D_I over (image, f_map) pairs (JD) or images only (OD)
    reid: ReIDLossConfig = field(default_factory=ReIDLossConfig)  # λ1, λ2, λ3, m, ε, whether X_I' is in ID/triplet
    ts: TSLossConfig = field(default_factory=TSLossConfig)        # α_c, α_s, which TS terms, their reduction
    gan: GANLossConfig = field(default_factory=GANLossConfig)     # vanilla / lsgan, ω, D_I's fake set, the pool


def table2_config(variant: str) -> TSGANConfig:
    """The rows of the paper's Table II as configs (paper defaults otherwise):
    ``"backbone"`` (no GAN, no TS), ``"od_single_ts"`` (ordinary D_I, Eq. 15
    only), ``"od_all_ts"`` (ordinary D_I, Eq. 13-15), ``"jd_all_ts"`` (joint
    D_I, Eq. 13-15: the full model). The field's baselines (``"agw"``, ``"caj"``) train
    the backbone's step; what makes them AGW or CAJ is in their settings."""
    if variant == "backbone" or variant in BASELINE_VARIANTS:
        return TSGANConfig(use_gan=False, ts=TSLossConfig(use_cross_domain=False, use_same_domain=False))
    if variant == "od_single_ts":
        return TSGANConfig(joint_disc=False, ts=TSLossConfig(use_same_domain=False))
    if variant == "od_all_ts":
        return TSGANConfig(joint_disc=False)
    if variant == "jd_all_ts":
        return TSGANConfig()
    raise ValueError(f"unknown variant {variant!r}; choose from {ROWS}")


@dataclass
class TSGANModels:
    """The networks of Fig. 3. ``teacher`` is needed for the TS losses and the
    joint D_I; ``cyclegan`` unless ``use_gan=False``."""

    student: ReIDBackbone
    teacher: FrozenTeacher | None = None
    cyclegan: CycleGAN | None = None


class StepTerms(dict):
    """Named, weighted loss terms (floats) of one phase; ``sum(values())`` is
    the phase's loss. ``.cache`` holds detached tensors for the next phase."""

    def __init__(self, terms: Mapping[str, float], cache: Mapping[str, Tensor] | None = None) -> None:
        super().__init__(terms)
        self.cache: dict[str, Tensor] = dict(cache or {})


def _values(terms: Mapping[str, Tensor], as_float: bool) -> dict:
    """Python floats (one host sync per term), or detached 0-d tensors that
    stay on the device (the trainer sums them and syncs once per log interval)."""
    return {k: float(v.detach()) if as_float else v.detach() for k, v in terms.items()}


@contextlib.contextmanager
def frozen(*modules: nn.Module | None) -> Iterator[None]:
    """Temporarily set ``requires_grad=False`` on the modules' parameters
    (D frozen during the G and backbone steps), restoring the flags after."""
    params = [p for m in modules if m is not None for p in m.parameters()]
    flags = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(params, flags):
            p.requires_grad_(flag)


def _check(models: TSGANModels, cfg: TSGANConfig) -> None:
    if cfg.use_gan:
        if models.cyclegan is None:
            raise ValueError("cfg.use_gan=True needs models.cyclegan")
        if models.cyclegan.joint != cfg.joint_disc:
            raise ValueError(f"cfg.joint_disc={cfg.joint_disc} but the CycleGAN's D_I has "
                             f"joint={models.cyclegan.joint}")
        if cfg.joint_disc and models.teacher is None:
            raise ValueError("the joint D_I's real pairs use the teacher's maps: models.teacher is needed")
    if (cfg.ts.use_cross_domain or cfg.ts.use_same_domain) and models.teacher is None:
        raise ValueError("the TS losses need models.teacher (or switch cfg.ts.use_* off)")
    if not cfg.use_gan and cfg.ts.use_cross_domain:
        raise ValueError("Eq. (15) needs X_I' = G_I(X_R): cfg.use_gan=False requires cfg.ts.use_cross_domain=False")


def generator_step(models: TSGANModels, opt_g: torch.optim.Optimizer, x_rgb: Tensor, x_ir: Tensor,
                   cfg: TSGANConfig, *, amp_dtype: torch.dtype | None = None,
                   scaler: torch.amp.GradScaler | None = None, as_float: bool = True) -> StepTerms:
    """Algorithm 1, lines 1-2: update G_I and G_R with L_G (Eq. 7).

    ``x_rgb``, ``x_ir``: ImageNet-normalised batches (B, 3, H, W). The joint
    D_I judges (X_I', FE_T(X_I')) (docs/interpretations.md, 1); the gradient reaches G_I
    through D_I and the frozen FE_T. Cache: ``x_ir_fake`` = G_I(X_R) and
    ``x_rgb_fake`` = G_R(X_I), detached, in [-1, 1]; with the joint D_I also
    ``fmap_t_ir_fake`` = FE_T(X_I'), detached (the backbone phase's TS target).
    """
    _check(models, cfg)
    gan = models.cyclegan
    opt_g.zero_grad(set_to_none=True)
    with frozen(gan.disc_ir, gan.disc_rgb), autocast(x_rgb, amp_dtype):
        x_rgb_g, x_ir_g = reid_to_gan(x_rgb), reid_to_gan(x_ir)
        x_ir_fake = gan.gen_ir(x_rgb_g)           # X_I' = G_I(X_R)
        x_rgb_rec = gan.gen_rgb(x_ir_fake)        # G_R(G_I(X_R))
        x_rgb_fake = gan.gen_rgb(x_ir_g)          # G_R(X_I)
        x_ir_rec = gan.gen_ir(x_rgb_fake)         # G_I(G_R(X_I))
        fmap_t_fake = models.teacher(gan_to_reid(x_ir_fake)) if cfg.joint_disc else None
        adv_ir = generator_adversarial_loss(discriminate_ir(gan.disc_ir, x_ir_fake, fmap_t_fake), cfg.gan.mode)
        adv_rgb = generator_adversarial_loss(gan.disc_rgb(x_rgb_fake), cfg.gan.mode)
        terms = generator_loss(adv_ir, cycle_loss(x_rgb_g, x_rgb_rec, x_ir_g, x_ir_rec), adv_rgb, cfg.gan.omega)
        if cfg.gan.identity > 0:  # CycleGAN's λ_idt, scaled by ω as CycleGAN scales it
            terms["g_idt"] = cfg.gan.identity * cfg.gan.omega * identity_loss(x_rgb_g, gan.gen_rgb(x_rgb_g), x_ir_g,
                                                                                gan.gen_ir(x_ir_g))
        loss = sum_terms(terms)
    optimise(loss, opt_g, scaler)
    cache = {"x_ir_fake": x_ir_fake.detach(), "x_rgb_fake": x_rgb_fake.detach()}
    if fmap_t_fake is not None:  # FE_T(X_I'): the backbone phase's target for Eq. (14)-(15), not computed twice
        cache["fmap_t_ir_fake"] = fmap_t_fake.detach()
    return StepTerms(_values(terms, as_float), cache)


def backbone_terms(models: TSGANModels, x_rgb: Tensor, x_ir: Tensor, labels: Tensor, cfg: TSGANConfig,
                   cache: dict[str, Tensor]) -> tuple[dict[str, Tensor], dict[str, Tensor]]:
    """L_ReID + L_TS (Eq. 8, 16) as named weighted terms, with the graph to the student.

    The student runs once on [X_R; X_I; X_I'] (one BN batch); the ID and
    triplet terms see X_R and X_I, and X_I' too with ``cfg.reid.on_fake_ir``
    (X_I'[i] then carries X_R[i]'s identity). With ``cfg.reid.channel_aug`` (CAJ) X_R and X_I
    become CAJ's views and a channel-exchanged X_R joins them (:func:`~tsgan_lib.data.channel_aug.caj_views`);
    the triplet term has the form ``cfg.reid.triplet``. ``cache`` (updated in place)
    gives ``x_ir_fake`` (else G_I(X_R) is computed without grad) and
    ``fmap_t_ir_fake``. Returns ``(terms, out)``: ``out`` holds the student's
    concatenated map ``fmap`` and ``logits``, the per-input maps ``fmap_s_*``
    and the teacher's ``fmap_t_*`` targets. Call it inside :func:`frozen` (D_I)
    and the run's autocast; :func:`backbone_step` and the probes
    (:mod:`tsgan_lib.train.probes`) share it.
    """
    student, teacher, gan = models.student, models.teacher, models.cyclegan
    b = x_rgb.shape[0]
    if cfg.use_gan and "x_ir_fake" not in cache:
        with torch.no_grad():
            cache["x_ir_fake"] = gan.gen_ir(reid_to_gan(x_rgb)).detach()
    x_ir_fake_reid = gan_to_reid(cache["x_ir_fake"].to(x_rgb.dtype)) if cfg.use_gan else None

    x_rgb_strong = None
    if cfg.reid.channel_aug:  # CAJ's views: X_R weak (erasing), X_R strong (channel exchange), X_I (erasing, grey)
        x_rgb, x_rgb_strong, x_ir = caj_views(x_rgb, x_ir)
    parts = {"rgb": x_rgb, "ir": x_ir, "ir_fake": x_ir_fake_reid, "rgb_strong": x_rgb_strong}
    parts = {name: x for name, x in parts.items() if x is not None}
    out = dict(student(torch.cat(list(parts.values()))))
    out["inputs"] = list(parts)
    fmaps = out["fmap"].split(b)
    out["fmap_s_rgb"], out["fmap_s_ir"] = fmaps[0], fmaps[1]
    out["fmap_s_ir_fake"] = fmaps[2] if cfg.use_gan else None
    seen = [i for i, name in enumerate(parts) if name != "ir_fake" or cfg.reid.on_fake_ir]
    rows = torch.cat([torch.arange(i * b, (i + 1) * b, device=labels.device) for i in seen])
    y = labels.repeat(len(seen))
    loss_id = id_loss(out["logits"][rows], y, cfg.reid.label_smoothing)
    loss_tri = triplet_term(out["feat"][rows], y, cfg.reid.triplet, cfg.reid.margin)

    loss_gan = None
    if cfg.use_gan and cfg.joint_disc:  # Eq. (12): the student's maps in M should look real to D_I
        x_m, f_m = fake_set_m(reid_to_gan(x_ir), cache["x_ir_fake"].to(x_rgb.dtype), out["fmap_s_ir"],
                              out["fmap_s_ir_fake"])
        loss_gan = backbone_gan_loss(gan.disc_ir(x_m, f_m), cfg.gan.mode)
    terms = reid_loss(loss_id, loss_tri, loss_gan, cfg.reid)

    # Eq. (13)-(16): teacher maps are targets, computed without a graph
    out["fmap_t_ir"] = out["fmap_t_ir_fake"] = None
    with torch.no_grad():
        if cfg.ts.use_same_domain or (cfg.use_gan and cfg.joint_disc):
            out["fmap_t_ir"] = teacher(x_ir)
        if cfg.use_gan and (cfg.ts.use_same_domain or cfg.ts.use_cross_domain):
            if cache.get("fmap_t_ir_fake") is None:
                cache["fmap_t_ir_fake"] = teacher(x_ir_fake_reid)
            out["fmap_t_ir_fake"] = cache["fmap_t_ir_fake"]
    red = cfg.ts.reduction
    cd = (ts_cross_domain_loss(out["fmap_t_ir_fake"], out["fmap_s_rgb"], red)
          if cfg.use_gan and cfg.ts.use_cross_domain else None)
    real = ts_real_ir_loss(out["fmap_t_ir"], out["fmap_s_ir"], red) if cfg.ts.use_same_domain else None
    fake = (ts_fake_ir_loss(out["fmap_t_ir_fake"], out["fmap_s_ir_fake"], red)
            if cfg.use_gan and cfg.ts.use_same_domain else None)
    terms.update(ts_loss(cd, real, fake, cfg.ts))
    return terms, out


def backbone_step(models: TSGANModels, opt_b: torch.optim.Optimizer, x_rgb: Tensor, x_ir: Tensor, labels: Tensor,
                  cfg: TSGANConfig, *, cache: Mapping[str, Tensor] | None = None,
                  amp_dtype: torch.dtype | None = None, scaler: torch.amp.GradScaler | None = None,
                  as_float: bool = True) -> StepTerms:
    """Algorithm 1, lines 3-4: update the student with L_ReID + L_TS (Eq. 8, 16).

    ``labels`` (B,): the identity of each (X_R[i], X_I[i]) pair. The terms are
    :func:`backbone_terms`'; D_I and FE_T are frozen. ``cache["x_ir_fake"]``
    (from :func:`generator_step`) is reused. Cache out: the detached student
    maps ``fmap_s_ir``, ``fmap_s_ir_fake`` and teacher map ``fmap_t_ir`` for D_I.
    """
    _check(models, cfg)
    cache = dict(cache or {})
    opt_b.zero_grad(set_to_none=True)
    with frozen(models.cyclegan.disc_ir if cfg.use_gan else None), autocast(x_rgb, amp_dtype):
        terms, out = backbone_terms(models, x_rgb, x_ir, labels, cfg, cache)
        loss = sum_terms(terms)
    optimise(loss, opt_b, scaler)
    for name in ("fmap_s_ir", "fmap_s_ir_fake", "fmap_t_ir"):
        if out[name] is not None:
            cache[name] = out[name].detach()
    return StepTerms(_values(terms, as_float), cache)


def discriminator_step(models: TSGANModels, opt_d: torch.optim.Optimizer, x_rgb: Tensor, x_ir: Tensor,
                       cfg: TSGANConfig, *, cache: Mapping[str, Tensor] | None = None,
                       pools: Mapping[str, SamplePool] | None = None, amp_dtype: torch.dtype | None = None,
                       scaler: torch.amp.GradScaler | None = None, as_float: bool = True) -> StepTerms:
    """Algorithm 1, lines 5-7: update D_I (Eq. 2-5) and D_R.

    Joint D_I: real = (X_I, FE_T(X_I)), fake = the set M of Eq. (5) with the
    student's maps, and with ``cfg.gan.fake_set="paper+teacher_fake"`` also
    (X_I', FE_T(X_I')). Ordinary D_I: real = X_I, fake = X_I'. D_R: real =
    X_R, fake = G_R(X_I). Everything D sees is detached; ``pools``
    (:func:`make_pools`: ``"d_ir"``, ``"d_rgb"``) mix the fakes with earlier
    ones as CycleGAN does. Missing cache entries are recomputed without grad
    (student maps in eval mode, so its BN statistics are not updated twice).
    """
    _check(models, cfg)
    if not cfg.use_gan:
        raise ValueError("discriminator_step needs cfg.use_gan=True")
    cache = dict(cache or {})
    pools = pools or {}
    gan, teacher, student = models.cyclegan, models.teacher, models.student
    x_rgb_g, x_ir_g = reid_to_gan(x_rgb), reid_to_gan(x_ir)
    with torch.no_grad(), autocast(x_rgb, amp_dtype):
        if "x_ir_fake" not in cache:
            cache["x_ir_fake"] = gan.gen_ir(x_rgb_g)
        if "x_rgb_fake" not in cache:
            cache["x_rgb_fake"] = gan.gen_rgb(x_ir_g)
        if cfg.joint_disc:
            if "fmap_t_ir" not in cache:
                cache["fmap_t_ir"] = teacher(x_ir)
            if "fmap_s_ir" not in cache or "fmap_s_ir_fake" not in cache:
                was_training = student.training
                student.eval()
                cache["fmap_s_ir"] = student.former(x_ir)
                cache["fmap_s_ir_fake"] = student.former(gan_to_reid(cache["x_ir_fake"].to(x_rgb.dtype)))
                student.train(was_training)
            if cfg.gan.fake_set == "paper+teacher_fake" and "fmap_t_ir_fake" not in cache:
                cache["fmap_t_ir_fake"] = teacher(gan_to_reid(cache["x_ir_fake"].to(x_rgb.dtype)))
    x_ir_fake = cache["x_ir_fake"].detach().to(x_rgb.dtype)
    x_rgb_fake = cache["x_rgb_fake"].detach().to(x_rgb.dtype)

    opt_d.zero_grad(set_to_none=True)
    with autocast(x_rgb, amp_dtype):
        if cfg.joint_disc:
            logits_real = gan.disc_ir(x_ir_g, cache["fmap_t_ir"].detach())
            x_m, f_m = discriminator_fakes(x_ir_g, x_ir_fake, cache, cfg)
            if "d_ir" in pools:
                x_m, f_m = pools["d_ir"].query(x_m, f_m)
            logits_fake = gan.disc_ir(x_m, f_m)
        else:
            fakes = pools["d_ir"].query(x_ir_fake)[0] if "d_ir" in pools else x_ir_fake
            logits_real, logits_fake = gan.disc_ir(x_ir_g), gan.disc_ir(fakes)
        terms = discriminator_loss(logits_real, logits_fake, cfg.gan.mode, prefix="d_ir")
        rgb_fakes = pools["d_rgb"].query(x_rgb_fake)[0] if "d_rgb" in pools else x_rgb_fake
        terms.update(discriminator_loss(gan.disc_rgb(x_rgb_g), gan.disc_rgb(rgb_fakes), cfg.gan.mode, prefix="d_rgb"))
        loss = sum_terms(terms)
    optimise(loss, opt_d, scaler)
    return StepTerms(_values(terms, as_float), cache)


def discriminator_fakes(x_ir: Tensor, x_ir_fake: Tensor, cache: Mapping[str, Tensor],
                        cfg: TSGANConfig) -> tuple[Tensor, Tensor]:
    """The joint D_I's fake pairs: M of Eq. (5) (:func:`~tsgan_lib.losses.gan.fake_set_m`),
    then, with ``fake_set="paper+teacher_fake"``, the generator's own pairs
    (X_I', FE_T(X_I')) (not the paper's; docs/interpretations.md, 1). Images in [-1, 1]."""
    x_m, f_m = fake_set_m(x_ir, x_ir_fake, cache["fmap_s_ir"].detach(), cache["fmap_s_ir_fake"].detach())
    if cfg.gan.fake_set == "paper+teacher_fake":
        x_m = torch.cat([x_m, x_ir_fake])
        f_m = torch.cat([f_m, cache["fmap_t_ir_fake"].detach().to(f_m.dtype)])
    return x_m, f_m


def make_pools(cfg: TSGANConfig, seed: int = 0) -> dict[str, SamplePool]:
    """The discriminators' histories of generated samples (``cfg.gan.pool_size``;
    none without the GAN or with size 0): ``{"d_ir", "d_rgb"}``."""
    if not cfg.use_gan or cfg.gan.pool_size == 0:
        return {}
    return {"d_ir": SamplePool(cfg.gan.pool_size, seed), "d_rgb": SamplePool(cfg.gan.pool_size, seed + 1)}


def train_step(models: TSGANModels, opt_g: torch.optim.Optimizer | None, opt_b: torch.optim.Optimizer,
               opt_d: torch.optim.Optimizer | None, x_rgb: Tensor, x_ir: Tensor, labels: Tensor, cfg: TSGANConfig,
               *, pools: Mapping[str, SamplePool] | None = None, amp_dtype: torch.dtype | None = None,
               scalers: Mapping[str, torch.amp.GradScaler] | None = None,
               as_float: bool = True) -> StepTerms:
    """One full step of Algorithm 1 (G, then backbone, then D); returns all
    terms in one flat dict (``.cache``: the step's detached tensors, which the
    probes reuse). ``pools``: :func:`make_pools`. ``scalers``: optional
    ``{"g", "b", "d"}`` GradScalers. ``as_float=False``: values are detached
    device tensors (no host sync)."""
    scalers = scalers or {}
    kw = {"amp_dtype": amp_dtype, "as_float": as_float}
    if not cfg.use_gan:
        return backbone_step(models, opt_b, x_rgb, x_ir, labels, cfg, scaler=scalers.get("b"), **kw)
    g = generator_step(models, opt_g, x_rgb, x_ir, cfg, scaler=scalers.get("g"), **kw)
    b = backbone_step(models, opt_b, x_rgb, x_ir, labels, cfg, cache=g.cache, scaler=scalers.get("b"), **kw)
    d = discriminator_step(models, opt_d, x_rgb, x_ir, cfg, cache={**g.cache, **b.cache}, pools=pools,
                           scaler=scalers.get("d"), **kw)
    return StepTerms({**g, **b, **d}, d.cache)


@dataclass
class OptimConfig:
    """The three optimisers of Algorithm 1: O_B (paper: Adam, lr 3.5e-4, weight
    decay 5e-4) and O_G / O_D (docs/interpretations.md, 5: Adam, lr 2e-4, betas (0.5, 0.999))."""

    lr_backbone: Annotated[float, Positive] = 3.5e-4                    # O_B base learning rate (paper IV.B)
    weight_decay: Annotated[float, NonNegative] = 5e-4  # O_B, on weights and biases alike (paper IV.B)
    backbone: Literal["adam", "sgd"] = "adam"  # O_B's kind (paper IV.B: Adam; AGW and CAJ: SGD, Nesterov momentum)
    momentum: Annotated[float, Range(0, 1, hi_open=True)] = 0.9  # O_B with backbone=sgd (AGW's train.py: 0.9)
    lr_head_factor: Annotated[float, Positive] = 1.0  # O_B's lr for the BNNeck and the classifier, times lr_backbone (AGW: 10)
    lr_gan: Annotated[float, Positive] = 2e-4                           # O_G and O_D, constant (CycleGAN's)
    betas_gan: Annotated[tuple[float, float], Range(0, 1, hi_open=True)] = (0.5, 0.999)  # O_G and O_D (CycleGAN's)
    fused: bool | None = None                      # fused Adam kernels; None = on CUDA only (same maths)


def backbone_optimizer(student: nn.Module, cfg: OptimConfig, fused: bool = False) -> torch.optim.Optimizer:
    """O_B: Adam (the paper) or SGD with Nesterov momentum (AGW, CAJ), weight decay on every parameter; the
    BNNeck and the classifier at ``lr_head_factor`` x ``lr_backbone`` (AGW: 0.1 against 0.01), in a second group."""
    named = [(name, p) for name, p in student.named_parameters() if p.requires_grad]
    groups = [{"params": [p for _, p in named]}]  # one group at factor 1, as checkpoints made before the setting hold
    if cfg.lr_head_factor != 1.0:
        groups = [{"params": [p for name, p in named if not name.startswith(HEAD_MODULES)]},
                  {"params": [p for name, p in named if name.startswith(HEAD_MODULES)],
                   "lr": cfg.lr_backbone * cfg.lr_head_factor}]
    if cfg.backbone == "sgd":
        return torch.optim.SGD(groups, lr=cfg.lr_backbone, momentum=cfg.momentum, nesterov=True,
                               weight_decay=cfg.weight_decay)
    return torch.optim.Adam(groups, lr=cfg.lr_backbone, weight_decay=cfg.weight_decay, fused=fused)


def make_optimizers(models: TSGANModels, cfg: OptimConfig | None = None) -> dict[str, torch.optim.Optimizer]:
    """``{"b": O_B[, "g": O_G, "d": O_D]}`` for the student and the CycleGAN.
    The teacher has no trainable parameters and is in none of them."""
    cfg = cfg or OptimConfig()
    params = [p for p in models.student.parameters() if p.requires_grad]
    fused = cfg.fused if cfg.fused is not None else params[0].is_cuda
    opts = {"b": backbone_optimizer(models.student, cfg, fused)}
    if models.cyclegan is not None:
        gan = {"lr": cfg.lr_gan, "betas": cfg.betas_gan, "fused": fused}
        opts["g"] = torch.optim.Adam(models.cyclegan.generator_parameters(), **gan)
        opts["d"] = torch.optim.Adam(models.cyclegan.discriminator_parameters(), **gan)
    return opts


def algorithm_1(models: TSGANModels, optimizers: Mapping[str, torch.optim.Optimizer], cfg: TSGANConfig,
                device: torch.device, *, amp_dtype: torch.dtype | None = None) -> Callable[[Sequence], StepTerms]:
    """Algorithm 1 as a fit loop's step: ``step(batch)`` moves a batch ``(x_rgb, x_ir, labels, ...)``
    to ``device`` and runs :func:`train_step` with ``optimizers`` (:func:`make_optimizers`) and
    the discriminators' pools (:func:`make_pools`). The networks are put in training mode."""
    models.student.train()
    if models.cyclegan is not None:
        models.cyclegan.train()
    pools = make_pools(cfg)

    def step(batch: Sequence) -> StepTerms:
        x_rgb, x_ir, labels = (t.to(device) for t in batch[:3])
        return train_step(models, optimizers.get("g"), optimizers["b"], optimizers.get("d"), x_rgb, x_ir, labels,
                          cfg, pools=pools, amp_dtype=amp_dtype, as_float=False)

    return step
