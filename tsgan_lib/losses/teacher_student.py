r"""The teacher-student losses: Eq. (13)-(16) (paper Section III.C, Fig. 3 blue box).

The frozen IR teacher's former encoder FE_T and the student's FE_S both map an
image to a layer-3 feature map (C3, H/16, W/16). Three squared-error losses
pull the student's maps toward the teacher's:

- Eq. (13) real IR:  FE_S(X_I)  -> FE_T(X_I)
- Eq. (14) fake IR:  FE_S(X_I') -> FE_T(X_I')
- Eq. (15) cross-domain: FE_S(X_R) -> FE_T(X_I'), with X_I' = G_I(X_R), the
  fake IR image aligned pixel for pixel with the RGB image: the student must
  see an RGB image the way the IR teacher sees its IR translation.

**Reduction** (``TSLossConfig.reduction``; docs/interpretations.md, 12). The
paper writes :math:`\|\cdot\|_2^2`, the squared L2 norm of the map difference,
a *sum* over its C3 x H/16 x W/16 elements, and calls the losses "MSE". The two
readings differ by the number of elements per map (2,048 for ResNet-18 at
64x32, 165,888 for ResNet-50 at 288x144):

- ``"sum"`` (the default, Eq. 13-15 as written): the squared norm per image,
  averaged over the batch;
- ``"mean"``: the mean over every element (``F.mse_loss``).

With the paper's α_s = 0.003 and α_c = 0.006 the mean leaves the teacher's pull
at about 1e-4 of the ID loss's gradient at f_map (measured in every run:
``grad_share`` in ``train_info.json``), so the teacher does nothing; the sum
gives it a share that acts. The teacher's map is the target: it is detached,
so no gradient reaches FE_T or, through X_I', the generator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from torch import Tensor

from tsgan_lib.ranges import NonNegative

from .terms import LossTerms


@dataclass
class TSLossConfig:
    """Weights of Eq. (16) (paper defaults) and which TS terms are on (Table II)."""

    alpha_c: Annotated[float, NonNegative] = 0.006   # α_c, cross-domain loss (15)
    alpha_s: Annotated[float, NonNegative] = 0.003   # α_s, same-domain losses (13) + (14)
    use_cross_domain: bool = True  # Eq. (15)
    use_same_domain: bool = True   # Eq. (13) and (14); False = Table II "singleTS"
    reduction: Literal["sum", "mean"] = "sum"  # ||.||^2 per image as Eq. 13-15 write it, or the mean over elements


def feature_map_mse(fmap_t: Tensor, fmap_s: Tensor, reduction: str = TSLossConfig.reduction) -> Tensor:
    r"""The squared distance between a student map and the teacher's (a fixed target).

    ``"sum"``: :math:`\frac{1}{B}\sum_b \|f_T^{(b)} - f_S^{(b)}\|_2^2` (Eq. 13-15 as
    written, averaged over the batch); ``"mean"``: the mean over every element.
    """
    if fmap_t.shape != fmap_s.shape:
        raise ValueError(f"teacher and student maps differ in shape: {tuple(fmap_t.shape)} vs {tuple(fmap_s.shape)}")
    sq = (fmap_s.float() - fmap_t.detach().float()).pow(2)
    if reduction == "sum":
        return sq.flatten(1).sum(dim=1).mean()
    if reduction == "mean":
        return sq.mean()
    raise ValueError(f"reduction must be 'sum' or 'mean', got {reduction!r}")


def ts_real_ir_loss(fmap_t_ir: Tensor, fmap_s_ir: Tensor, reduction: str = TSLossConfig.reduction) -> Tensor:
    r"""Eq. (13): real-IR teacher-student loss.

    .. math:: \mathcal{L}^{RealIR}_{TS} = \|f^{X_I}_{map,T} - f^{X_I}_{map,S}\|_2^2
    """
    return feature_map_mse(fmap_t_ir, fmap_s_ir, reduction)


def ts_fake_ir_loss(fmap_t_ir_fake: Tensor, fmap_s_ir_fake: Tensor,
                    reduction: str = TSLossConfig.reduction) -> Tensor:
    r"""Eq. (14): fake-IR teacher-student loss.

    .. math:: \mathcal{L}^{FakeIR}_{TS} = \|f^{X_I'}_{map,T} - f^{X_I'}_{map,S}\|_2^2
    """
    return feature_map_mse(fmap_t_ir_fake, fmap_s_ir_fake, reduction)


def ts_cross_domain_loss(fmap_t_ir_fake: Tensor, fmap_s_rgb: Tensor,
                         reduction: str = TSLossConfig.reduction) -> Tensor:
    r"""Eq. (15): cross-domain teacher-student loss.

    .. math:: \mathcal{L}^{CD}_{TS} = \|f^{X_I'}_{map,T} - f^{X_R}_{map,S}\|_2^2

    The teacher sees the fake IR X_I' = G_I(X_R); the student sees its source X_R.
    """
    return feature_map_mse(fmap_t_ir_fake, fmap_s_rgb, reduction)


def ts_loss(cross_domain: Tensor | None, real_ir: Tensor | None = None, fake_ir: Tensor | None = None,
            cfg: TSLossConfig | None = None) -> LossTerms:
    r"""Eq. (16): the whole teacher-student loss as named weighted terms.

    .. math:: \mathcal{L}_{TS} = \alpha_c \mathcal{L}^{CD}_{TS}
              + \alpha_s (\mathcal{L}^{RealIR}_{TS} + \mathcal{L}^{FakeIR}_{TS})

    A term passed as ``None`` (or switched off in ``cfg``) is absent. Returns
    ``{"ts_cd", "ts_real_ir", "ts_fake_ir"}`` (those present); their sum is L_TS.
    """
    cfg = cfg or TSLossConfig()
    terms: LossTerms = {}
    if cross_domain is not None and cfg.use_cross_domain:
        terms["ts_cd"] = cfg.alpha_c * cross_domain
    if cfg.use_same_domain:
        if real_ir is not None:
            terms["ts_real_ir"] = cfg.alpha_s * real_ir
        if fake_ir is not None:
            terms["ts_fake_ir"] = cfg.alpha_s * fake_ir
    return terms
