"""Every loss of the paper, each equation implemented once.

| Eq. | quantity | function |
|---|---|---|
| (1) | L_G^adv, generator adversarial | :func:`.gan.generator_adversarial_loss` |
| (2) | L_D = L_D^real + L_D^fake | :func:`.gan.discriminator_loss` |
| (3) | L_D^real on (X_I, f_map^{X_I}) | :func:`.gan.discriminator_real_loss` |
| (4) | L_D^fake over M | :func:`.gan.discriminator_fake_loss` |
| (5) | the fake set M | :func:`.gan.fake_set_m` |
| (6) | L_cyc, L1 cycle consistency | :func:`.gan.cycle_loss` |
| (7) | L_G = L_G^adv + ω L_cyc | :func:`.gan.generator_loss` |
| (8) | L_ReID = λ1 L_ID + λ2 L_Tri + λ3 L_GAN | :func:`.reid.reid_loss` |
| (9) | label-smoothed ID loss | :func:`.reid.id_loss` |
| (10) | soft labels q | :func:`.reid.smooth_labels` |
| (11) | batch-hard triplet loss on V | :func:`.reid.triplet_loss` |
| (12) | L_ReID^GAN over M | :func:`.gan.backbone_gan_loss` |
| (13) | L_TS^RealIR | :func:`.teacher_student.ts_real_ir_loss` |
| (14) | L_TS^FakeIR | :func:`.teacher_student.ts_fake_ir_loss` |
| (15) | L_TS^CD, cross-domain | :func:`.teacher_student.ts_cross_domain_loss` |
| (16) | L_TS = α_c L_CD + α_s (L_RealIR + L_FakeIR) | :func:`.teacher_student.ts_loss` |

Composite losses return a dict of named, already weighted terms
(:mod:`.terms`); :func:`sum_terms` adds them up.

Beside the paper's equations, the field's baselines (not in ``EQUATIONS``):
:mod:`.wrt` holds AGW's weighted regularized triplet (:func:`.wrt.wrt_loss`)
and CAJ's squared-difference variant (:func:`.wrt.squared_difference_loss`).
"""

from .gan import (GANLossConfig, GANMode, adversarial_loss, backbone_gan_loss, cycle_loss, discriminator_fake_loss,
                  discriminator_loss, discriminator_real_loss, fake_set_m, generator_adversarial_loss, generator_loss,
                  identity_loss)
from .reid import ReIDLossConfig, id_loss, pairwise_euclidean, reid_loss, smooth_labels, triplet_loss
from .teacher_student import (TSLossConfig, feature_map_mse, ts_cross_domain_loss, ts_fake_ir_loss, ts_loss,
                              ts_real_ir_loss)
from .terms import LossTerms, detach_terms, sum_terms
from .wrt import TRIPLET_FORMS, softmax_weights, squared_difference_loss, triplet_term, weighted_pair_distances, wrt_loss

#: equation number -> the function that implements it
EQUATIONS = {
    1: generator_adversarial_loss, 2: discriminator_loss, 3: discriminator_real_loss, 4: discriminator_fake_loss,
    5: fake_set_m, 6: cycle_loss, 7: generator_loss, 8: reid_loss, 9: id_loss, 10: smooth_labels,
    11: triplet_loss, 12: backbone_gan_loss, 13: ts_real_ir_loss, 14: ts_fake_ir_loss,
    15: ts_cross_domain_loss, 16: ts_loss,
}

__all__ = [
    "GANLossConfig", "GANMode", "adversarial_loss", "backbone_gan_loss", "cycle_loss", "discriminator_fake_loss",
    "discriminator_loss", "discriminator_real_loss", "fake_set_m", "generator_adversarial_loss", "generator_loss",
    "identity_loss",
    "ReIDLossConfig", "id_loss", "pairwise_euclidean", "reid_loss", "smooth_labels", "triplet_loss",
    "TSLossConfig", "feature_map_mse", "ts_cross_domain_loss", "ts_fake_ir_loss", "ts_loss", "ts_real_ir_loss",
    "LossTerms", "detach_terms", "sum_terms", "EQUATIONS",
    "TRIPLET_FORMS", "softmax_weights", "squared_difference_loss", "triplet_term", "weighted_pair_distances",
    "wrt_loss",
]
