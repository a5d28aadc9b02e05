"""Losses: every equation (1)-(16) on a hand-made case, plus parity with
PyTorch's label smoothing (Eq. 9-10) and a brute-force triplet loop (Eq. 11)."""

from __future__ import annotations

import inspect
import math
import re

import pytest
import torch
import torch.nn.functional as F

import tsgan_lib.losses as L
from tsgan_lib.losses import (EQUATIONS, ReIDLossConfig, TSLossConfig, adversarial_loss, backbone_gan_loss,
                              cycle_loss, discriminator_fake_loss, discriminator_loss, discriminator_real_loss,
                              fake_set_m, feature_map_mse, generator_adversarial_loss, generator_loss, id_loss, reid_loss,
                              smooth_labels, sum_terms, triplet_loss, ts_cross_domain_loss, ts_fake_ir_loss, ts_loss,
                              ts_real_ir_loss)

LOG3 = math.log(3.0)  # sigmoid(log 3) = 0.75


def test_every_equation_has_exactly_one_function():
    assert sorted(EQUATIONS) == list(range(1, 17))
    claims: dict[int, list[str]] = {}
    for module in (L.gan, L.reid, L.teacher_student, L.terms):
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if fn.__module__ != module.__name__:
                continue
            first = (fn.__doc__ or "").strip().splitlines()[0]
            for n in re.findall(r"^Eq\. \((\d+)\)", first):
                claims.setdefault(int(n), []).append(name)
    for n, fn in EQUATIONS.items():
        assert claims.get(n) == [fn.__name__], f"Eq. ({n}) is claimed by {claims.get(n)}"


# ---- Eq. (9)-(10): label-smoothed ID loss ---------------------------------------------------

def test_eq10_soft_labels_by_hand():
    q = smooth_labels(torch.tensor([2, 0]), num_classes=4, epsilon=0.1)
    expected = torch.tensor([[0.025, 0.025, 0.925, 0.025], [0.925, 0.025, 0.025, 0.025]])
    torch.testing.assert_close(q, expected)
    torch.testing.assert_close(q.sum(1), torch.ones(2))


def test_eq9_by_hand_and_against_pytorch_label_smoothing():
    # uniform logits: -sum q log(1/N) = log N whatever q is
    assert id_loss(torch.zeros(3, 4), torch.tensor([0, 1, 3]), 0.1).item() == pytest.approx(math.log(4))
    # two classes, logits (log 3, 0): p = (0.75, 0.25); q = (0.95, 0.05) for eps = 0.1
    val = id_loss(torch.tensor([[LOG3, 0.0]]), torch.tensor([0]), 0.1).item()
    assert val == pytest.approx(-(0.95 * math.log(0.75) + 0.05 * math.log(0.25)))
    torch.manual_seed(0)
    logits, y = torch.randn(16, 11) * 3, torch.randint(0, 11, (16,))
    for eps in (0.0, 0.1, 0.3):
        torch.testing.assert_close(id_loss(logits, y, eps), F.cross_entropy(logits, y, label_smoothing=eps))


# ---- Eq. (11): batch-hard triplet ---------------------------------------------------------------

def test_eq11_by_hand():
    feat = torch.tensor([[0.0], [1.0], [3.0], [5.0]])
    y = torch.tensor([0, 0, 1, 1])
    # anchors: 0 -> [0.3+1-3]+=0 ; 1 -> [0.3+1-2]+=0 ; 3 -> [0.3+2-2]+=0.3 ; 5 -> [0.3+2-4]+=0
    assert triplet_loss(feat, y, 0.3).item() == pytest.approx(0.3 / 4, abs=1e-6)


def _brute_force_triplet(feat, y, margin):
    losses = []
    for a in range(len(y)):
        pos = [torch.dist(feat[a], feat[p]) for p in range(len(y)) if y[p] == y[a]]
        neg = [torch.dist(feat[a], feat[n]) for n in range(len(y)) if y[n] != y[a]]
        if neg:
            losses.append(max(0.0, margin + max(pos).item() - min(neg).item()))
    return sum(losses) / len(losses)


def test_eq11_against_brute_force_loop():
    torch.manual_seed(1)
    feat, y = torch.randn(12, 5), torch.tensor([0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3])
    for margin in (0.3, 3.0):
        assert triplet_loss(feat, y, margin).item() == pytest.approx(_brute_force_triplet(feat, y, margin), abs=1e-5)


def test_eq11_gradient_is_finite_and_single_identity_is_zero():
    feat = torch.tensor([[1.0, 2.0], [1.0, 2.0], [0.0, 0.0]], requires_grad=True)  # duplicate rows: zero distance
    triplet_loss(feat, torch.tensor([0, 0, 1]), 0.3).backward()
    assert torch.isfinite(feat.grad).all()
    assert triplet_loss(torch.randn(3, 2), torch.zeros(3, dtype=torch.long), 0.3).item() == 0.0


# ---- Eq. (8) ----------------------------------------------------------------------------------------

def test_eq8_weights_terms():
    terms = reid_loss(torch.tensor(2.0), torch.tensor(0.5), torch.tensor(4.0), ReIDLossConfig())
    assert {k: v.item() for k, v in terms.items()} == pytest.approx({"reid_id": 6.0, "reid_tri": 0.5, "reid_gan": 0.4})
    assert sum_terms(terms).item() == pytest.approx(6.9)
    assert set(reid_loss(torch.tensor(1.0), torch.tensor(1.0))) == {"reid_id", "reid_tri"}


# ---- GAN form and Eq. (1)-(5), (12) -----------------------------------------------------------------

def test_gan_criterion_by_hand():
    logit = torch.full((2, 1, 3, 2), LOG3)  # D = 0.75 everywhere
    assert adversarial_loss(logit, True).item() == pytest.approx(-math.log(0.75))
    assert adversarial_loss(logit, False).item() == pytest.approx(-math.log(0.25))
    assert adversarial_loss(torch.zeros(4), True).item() == pytest.approx(math.log(2))
    out = torch.full((4,), 0.25)
    assert adversarial_loss(out, True, "lsgan").item() == pytest.approx(0.5625)
    assert adversarial_loss(out, False, "lsgan").item() == pytest.approx(0.0625)
    with pytest.raises(ValueError, match="vanilla"):
        adversarial_loss(out, True, "wgan")


def test_eq1_generator_adversarial():
    logits = torch.tensor([LOG3, -LOG3])  # D = 0.75, 0.25
    expected = -(math.log(0.75) + math.log(0.25)) / 2
    assert generator_adversarial_loss(logits).item() == pytest.approx(expected)


def test_eq2_to_4_discriminator_terms():
    real = torch.tensor([LOG3, LOG3])          # D(real) = 0.75
    fake = torch.tensor([-LOG3, 0.0, LOG3])    # D(fake) = 0.25, 0.5, 0.75
    assert discriminator_real_loss(real).item() == pytest.approx(-math.log(0.75))
    exp_fake = -(math.log(0.75) + math.log(0.5) + math.log(0.25)) / 3
    assert discriminator_fake_loss(fake).item() == pytest.approx(exp_fake)
    terms = discriminator_loss(real, fake, prefix="d_ir")
    assert set(terms) == {"d_ir_real", "d_ir_fake"}
    assert sum_terms(terms).item() == pytest.approx(-math.log(0.75) + exp_fake)


def test_eq5_fake_set_m_pairs():
    x_ir, x_fake = torch.zeros(2, 3, 4, 2), torch.ones(2, 3, 4, 2)
    f_ir, f_fake = torch.full((2, 5, 1, 1), 10.0), torch.full((2, 5, 1, 1), 20.0)
    x, f = fake_set_m(x_ir, x_fake, f_ir, f_fake)
    assert x.shape == (6, 3, 4, 2) and f.shape == (6, 5, 1, 1)
    # (X_I', f^{X_I'}), (X_I', f^{X_I}), (X_I, f^{X_I})
    assert [x[i].mean().item() for i in (0, 2, 4)] == [1.0, 1.0, 0.0]
    assert [f[i].mean().item() for i in (0, 2, 4)] == [20.0, 10.0, 10.0]


def test_eq12_backbone_gan_loss():
    logits_m = torch.tensor([LOG3, -LOG3, 0.0])
    expected = -(math.log(0.75) + math.log(0.25) + math.log(0.5)) / 3
    assert backbone_gan_loss(logits_m).item() == pytest.approx(expected)
    assert backbone_gan_loss(torch.ones(3), "lsgan").item() == 0.0


# ---- Eq. (6)-(7) ------------------------------------------------------------------------------------

def test_eq6_cycle_loss_by_hand():
    x_rgb, x_ir = torch.zeros(1, 3, 2, 2), torch.zeros(1, 3, 2, 2)
    rec_rgb = torch.full((1, 3, 2, 2), 0.5)
    rec_ir = torch.tensor([-1.0, 1.0]).repeat(6).view(1, 3, 2, 2)
    assert cycle_loss(x_rgb, rec_rgb, x_ir, rec_ir).item() == pytest.approx(0.5 + 1.0)


def test_eq7_generator_loss_terms():
    terms = generator_loss(torch.tensor(0.7), torch.tensor(0.2), torch.tensor(0.9), omega=10.0)
    assert list(terms) == ["g_adv_ir", "g_adv_rgb", "g_cyc"]
    assert terms["g_cyc"].item() == pytest.approx(2.0)
    assert sum_terms(terms).item() == pytest.approx(3.6)
    assert set(generator_loss(torch.tensor(0.7), torch.tensor(0.2))) == {"g_adv_ir", "g_cyc"}


# ---- Eq. (13)-(16) ----------------------------------------------------------------------------------

def test_eq13_to_15_by_hand_and_teacher_detached():
    # two images of a 4 x 2 x 1 map (8 elements each); Eq. (13)-(15) write ||.||^2: the sum per image
    fmap_t = torch.ones(2, 4, 2, 1, requires_grad=True)
    fmap_s = torch.zeros(2, 4, 2, 1, requires_grad=True)
    fmap_s3 = torch.full((2, 4, 2, 1), 3.0)
    assert ts_real_ir_loss(fmap_t, fmap_s).item() == pytest.approx(8.0)       # 8 x (0 - 1)^2 per image
    assert ts_fake_ir_loss(fmap_t, fmap_s3).item() == pytest.approx(32.0)     # 8 x (3 - 1)^2 per image
    cd = ts_cross_domain_loss(fmap_t, fmap_s)
    assert cd.item() == pytest.approx(8.0)
    cd.backward()
    assert fmap_t.grad is None, "the teacher's map is a target"
    # d/ds (1/B) sum_b ||s_b - t_b||^2 = 2 (s - t) / B = -2 / 2
    torch.testing.assert_close(fmap_s.grad, torch.full_like(fmap_s, -1.0))
    with pytest.raises(ValueError, match="differ in shape"):
        ts_real_ir_loss(torch.zeros(1, 4, 2, 1), torch.zeros(1, 4, 1, 2))


def test_the_ts_reduction_is_the_per_image_sum_averaged_over_the_batch_or_the_element_mean():
    fmap_t = torch.ones(2, 4, 2, 1)
    fmap_s = torch.cat([torch.zeros(1, 4, 2, 1), torch.full((1, 4, 2, 1), 3.0)])  # image 0: 8 x 1, image 1: 8 x 4
    assert feature_map_mse(fmap_t, fmap_s, "sum").item() == pytest.approx((8 * 1 + 8 * 4) / 2)
    assert feature_map_mse(fmap_t, fmap_s, "mean").item() == pytest.approx((8 * 1 + 8 * 4) / 16)
    assert TSLossConfig().reduction == "sum", "the paper's ||.||^2 is the default reading"
    with pytest.raises(ValueError, match="'sum' or 'mean'"):
        feature_map_mse(fmap_t, fmap_s, "max")


def test_eq16_weights_and_switches():
    cd, real, fake = torch.tensor(10.0), torch.tensor(20.0), torch.tensor(30.0)
    terms = ts_loss(cd, real, fake, TSLossConfig())
    assert {k: v.item() for k, v in terms.items()} == pytest.approx(
        {"ts_cd": 0.06, "ts_real_ir": 0.06, "ts_fake_ir": 0.09})
    assert sum_terms(terms).item() == pytest.approx(0.006 * 10 + 0.003 * (20 + 30))
    assert set(ts_loss(cd, real, fake, TSLossConfig(use_same_domain=False))) == {"ts_cd"}
    assert set(ts_loss(cd, real, fake, TSLossConfig(use_cross_domain=False))) == {"ts_real_ir", "ts_fake_ir"}
    assert set(ts_loss(None, real, None)) == {"ts_real_ir"}


def test_sum_terms_rejects_empty():
    with pytest.raises(ValueError):
        sum_terms({})
