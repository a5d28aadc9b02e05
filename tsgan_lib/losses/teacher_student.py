r"""The teacher-student losses: Eq. (13)-(16) (paper Section III.C, Fig. 3 blue box).

The frozen IR teacher's former encoder FE_T and the student's FE_S both map an
image to a layer-3 feature map (C3, H/16, W/16). Three squared-error losses
pull the student's maps toward the teacher's:

- Eq. (13) real IR:  FE_S(X_I)  -> FE_T(X_I)
- Eq. (14) fake IR:  FE_S(X_I') -> FE_T(X_I')
- Eq. (15) cross-domain: FE_S(X_R) -> FE_T(X_I'), with X_I' = G_I(X_R), the
  fake IR image aligned pixel for pixel with the RGB image: the student must
  see an RGB image the way the IR teacher sees its IR translation.

The paper calls them "MSE losses" and writes :math:`\|\cdot\|_2^2`; here the
squared norm is *averaged* over elements (``F.mse_loss``), which is what keeps
the small weights α_s = 0.003 and α_c = 0.006 of Eq. (16) meaningful.
The teacher's map is the target: it is detached, so no gradient reaches FE_T
or, through X_I', the generator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

import torch.nn.functional as F
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


def feature_map_mse(fmap_t: Tensor, fmap_s: Tensor) -> Tensor:
    """mean((f_T - f_S)^2) with the teacher's map as a fixed target."""
    if fmap_t.shape != fmap_s.shape:
        raise ValueError(f"teacher and student maps differ in shape: {tuple(fmap_t.shape)} vs {tuple(fmap_s.shape)}")
    return F.mse_loss(fmap_s.float(), fmap_t.detach().float())


def ts_real_ir_loss(fmap_t_ir: Tensor, fmap_s_ir: Tensor) -> Tensor:
    r"""Eq. (13): real-IR teacher-student loss.

    .. math:: \mathcal{L}^{RealIR}_{TS} = \|f^{X_I}_{map,T} - f^{X_I}_{map,S}\|_2^2
    """
    return feature_map_mse(fmap_t_ir, fmap_s_ir)


def ts_fake_ir_loss(fmap_t_ir_fake: Tensor, fmap_s_ir_fake: Tensor) -> Tensor:
    r"""Eq. (14): fake-IR teacher-student loss.

    .. math:: \mathcal{L}^{FakeIR}_{TS} = \|f^{X_I'}_{map,T} - f^{X_I'}_{map,S}\|_2^2
    """
    return feature_map_mse(fmap_t_ir_fake, fmap_s_ir_fake)


def ts_cross_domain_loss(fmap_t_ir_fake: Tensor, fmap_s_rgb: Tensor) -> Tensor:
    r"""Eq. (15): cross-domain teacher-student loss.

    .. math:: \mathcal{L}^{CD}_{TS} = \|f^{X_I'}_{map,T} - f^{X_R}_{map,S}\|_2^2

    The teacher sees the fake IR X_I' = G_I(X_R); the student sees its source X_R.
    """
    return feature_map_mse(fmap_t_ir_fake, fmap_s_rgb)


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
