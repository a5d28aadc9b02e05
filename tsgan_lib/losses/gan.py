r"""The adversarial and cycle losses: Eq. (1)-(7) and the backbone's Eq. (12).

Paper Section III.A-B; interpretation in docs/interpretations.md, 1 and 3.

**Sign convention.** The paper writes log-likelihoods that one side maximises
(D maximises Eq. 3 + 4; G_I maximises Eq. 1; the backbone maximises Eq. 12).
Here every function returns a quantity to *minimise*: the negated
log-likelihood, computed from logits with BCE, and for G and the backbone the
non-saturating form ``-log D`` (Goodfellow et al.). With ``mode="lsgan"`` the
same roles use least squares (D(real) -> 1, D(fake) -> 0), CycleGAN's default.

**Pairs.** D_I is the joint discriminator D_I(x, f). Real pairs are
(X_I, f_map^{X_I}) with f_map = FE_T, the teacher's map; the fake set M of
Eq. (5) holds the student's maps f_map,R = FE_S (docs/interpretations.md, 1).
D_R (IR -> RGB direction, "not shown for conciseness" in the paper) is an
ordinary PatchGAN with the same :func:`adversarial_loss`.

**What D_I is shown** (``GANLossConfig``). With the paper's M every real pair
carries a teacher map and every fake pair a student map, so D_I can tell them
apart by the map alone and G_I's adversarial signal on (X_I', FE_T(X_I')) fades.
``fake_set="paper+teacher_fake"`` (not the paper's) adds (X_I', FE_T(X_I')) to
D_I's fakes, so teacher maps appear on both sides and D_I must judge the image.
``pool_size`` keeps CycleGAN's history of generated samples for D
(:class:`tsgan_lib.train.pool.SamplePool`). ``identity`` is CycleGAN's λ_idt,
scaled by ω as CycleGAN scales it (0.5 there: 5 per direction with ω = 10).
CycleGAN also halves D's loss; Adam's update does not change when a loss is
multiplied by a constant (up to its ε), so the factor is left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

import torch
import torch.nn.functional as F
from torch import Tensor

from tsgan_lib.ranges import NonNegative

from .terms import LossTerms

GANMode = Literal["vanilla", "lsgan"]


FakeSet = Literal["paper", "paper+teacher_fake"]


@dataclass
class GANLossConfig:
    """The GAN loss form, the cycle weight ω of Eq. (7) and what D_I is shown (docs/interpretations.md, 1, 3-4)."""

    mode: GANMode = "vanilla"  # "vanilla" (the paper's log-likelihood) or "lsgan"
    omega: Annotated[float, NonNegative] = 10.0        # ω, weight of the cycle loss (6) in Eq. (7)
    identity: Annotated[float, NonNegative] = 0.0      # CycleGAN's λ_idt: g_idt = λ_idt·ω·(|G_R(X_R)-X_R|+|G_I(X_I)-X_I|); CycleGAN 0.5; 0 = off
    fake_set: FakeSet = "paper"  # D_I's fakes: M of Eq. 5, or M plus (X_I', FE_T(X_I')) (not the paper's)
    pool_size: Annotated[int, NonNegative] = 50  # D's history of generated samples (CycleGAN's ImagePool: 50); 0 = the current batch only


def adversarial_loss(logits: Tensor, target_real: bool, mode: GANMode = "vanilla") -> Tensor:
    r"""The GAN criterion on discriminator logits (any shape; averaged).

    vanilla: ``target_real`` -> :math:`-\mathbb{E}[\log D]`, else
    :math:`-\mathbb{E}[\log(1 - D)]`, with :math:`D = \sigma(\text{logits})`.
    lsgan: :math:`\mathbb{E}[(D - 1)^2]` or :math:`\mathbb{E}[D^2]` on the raw outputs.
    """
    logits = logits.float()
    if mode == "vanilla":
        # -log σ(l) = softplus(-l);  -log(1 - σ(l)) = softplus(l)
        return F.softplus(-logits).mean() if target_real else F.softplus(logits).mean()
    if mode == "lsgan":
        return (logits - 1.0).pow(2).mean() if target_real else logits.pow(2).mean()
    raise ValueError(f"GAN mode must be 'vanilla' or 'lsgan', got {mode!r}")


def generator_adversarial_loss(logits_fake: Tensor, mode: GANMode = "vanilla") -> Tensor:
    r"""Eq. (1): the generator's adversarial loss.

    .. math:: \mathcal{L}^{adv}_G = \mathbb{E}\left[\log D_I(X_I', f^{X_I'}_{map})\right]

    maximised by G_I; returned as :math:`-\mathbb{E}[\log D_I(\cdot)]` (non-saturating).
    ``logits_fake`` = D_I(X_I', FE_T(X_I')) for the joint D_I, D_I(X_I') for the
    ordinary one; the same function gives G_R's term from D_R(G_R(X_I)).
    """
    return adversarial_loss(logits_fake, True, mode)


def discriminator_real_loss(logits_real: Tensor, mode: GANMode = "vanilla") -> Tensor:
    r"""Eq. (3): the real pairs' term of L_D.

    .. math:: \mathcal{L}^{real}_D = \mathbb{E}_{(x,f) \in (X_I, f^{X_I}_{map})}\left[\log D_I(x, f)\right]

    maximised by D_I; returned as :math:`-\mathbb{E}[\log D_I(x, f)]`.
    ``logits_real`` = D_I(X_I, FE_T(X_I)).
    """
    return adversarial_loss(logits_real, True, mode)


def fake_set_m(x_ir: Tensor, x_ir_fake: Tensor, fmap_s_ir: Tensor, fmap_s_ir_fake: Tensor) -> tuple[Tensor, Tensor]:
    r"""Eq. (5): the joint discriminator's fake set M, stacked along the batch.

    .. math:: M = (X_I', f^{X_I'}_{map,R}) \cup (X_I', f^{X_I}_{map,R}) \cup (X_I, f^{X_I}_{map,R})

    f_map,R = FE_S, the student's layer-3 map. The second pair is mismatched
    on purpose (a fake image with a real image's map). Returns ``(x, f)`` of
    3B pairs in that order, so one D_I forward scores all of M.
    """
    x = torch.cat([x_ir_fake, x_ir_fake, x_ir], dim=0)
    f = torch.cat([fmap_s_ir_fake, fmap_s_ir, fmap_s_ir], dim=0)
    return x, f


def discriminator_fake_loss(logits_m: Tensor, mode: GANMode = "vanilla") -> Tensor:
    r"""Eq. (4): the fake pairs' term of L_D, an expectation over M (Eq. 5).

    .. math:: \mathcal{L}^{fake}_D = \mathbb{E}_{(x,f) \in M}\left[\log(1 - D_I(x, f))\right]

    maximised by D_I; returned as :math:`-\mathbb{E}_M[\log(1 - D_I(x, f))]`.
    ``logits_m`` = D_I on the pairs of :func:`fake_set_m` (for the ordinary
    D_I of Table II: D_I(X_I') alone).
    """
    return adversarial_loss(logits_m, False, mode)


def discriminator_loss(logits_real: Tensor, logits_fake: Tensor, mode: GANMode = "vanilla",
                       prefix: str = "d_ir") -> LossTerms:
    r"""Eq. (2): the discriminator loss as named terms.

    .. math:: \mathcal{L}_D = \mathcal{L}^{real}_D + \mathcal{L}^{fake}_D

    Returns ``{prefix + "_real": Eq. (3), prefix + "_fake": Eq. (4)}``. With
    ``prefix="d_rgb"`` the same form gives D_R's loss on (X_R, G_R(X_I)).
    """
    return {f"{prefix}_real": discriminator_real_loss(logits_real, mode),
            f"{prefix}_fake": discriminator_fake_loss(logits_fake, mode)}


def cycle_loss(x_rgb: Tensor, x_rgb_rec: Tensor, x_ir: Tensor, x_ir_rec: Tensor) -> Tensor:
    r"""Eq. (6): the cycle-consistency loss (L1, per-pixel mean).

    .. math:: \mathcal{L}_{cyc} = \mathbb{E}\|G_R(G_I(X_R)) - X_R\|_1 + \mathbb{E}\|G_I(G_R(X_I)) - X_I\|_1

    ``x_rgb_rec`` = G_R(G_I(X_R)), ``x_ir_rec`` = G_I(G_R(X_I)), all in [-1, 1].
    """
    return (x_rgb_rec.float() - x_rgb.float()).abs().mean() + (x_ir_rec.float() - x_ir.float()).abs().mean()


def identity_loss(x_rgb: Tensor, x_rgb_idt: Tensor, x_ir: Tensor, x_ir_idt: Tensor) -> Tensor:
    r"""CycleGAN's optional identity loss (not in the paper; off by default):
    :math:`\mathbb{E}\|G_R(X_R) - X_R\|_1 + \mathbb{E}\|G_I(X_I) - X_I\|_1`."""
    return (x_rgb_idt.float() - x_rgb.float()).abs().mean() + (x_ir_idt.float() - x_ir.float()).abs().mean()


def generator_loss(adv_ir: Tensor, cyc: Tensor, adv_rgb: Tensor | None = None, omega: float = 10.0) -> LossTerms:
    r"""Eq. (7): the generators' loss as named terms.

    .. math:: \mathcal{L}_G = \mathcal{L}^{adv}_G + \omega \, \mathcal{L}_{cyc}

    ``adv_ir`` is G_I's Eq. (1); ``adv_rgb`` is G_R's twin against D_R (the
    term the paper does not show). Returns ``{"g_adv_ir"[, "g_adv_rgb"], "g_cyc"}``
    with ``g_cyc`` = ω · L_cyc.
    """
    terms = {"g_adv_ir": adv_ir}
    if adv_rgb is not None:
        terms["g_adv_rgb"] = adv_rgb
    terms["g_cyc"] = omega * cyc
    return terms


def backbone_gan_loss(logits_m: Tensor, mode: GANMode = "vanilla") -> Tensor:
    r"""Eq. (12): the backbone's GAN loss, fooling the joint D_I on M (Eq. 5).

    .. math:: \mathcal{L}^{GAN}_{ReID} = \mathbb{E}_{(x,f) \in M}\left[\log D_I(x, f)\right]

    maximised by the backbone (D_I frozen); returned as
    :math:`-\mathbb{E}_M[\log D_I(x, f)]`. Only the student's maps in M carry
    gradient (X_I' is detached in the backbone step).
    """
    return adversarial_loss(logits_m, True, mode)
