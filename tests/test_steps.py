"""Algorithm 1's three phases: each moves only its own networks, returns
finite named terms, and the Table II variants are config flags."""

from __future__ import annotations

import copy

import pytest
import torch

from conftest import TINY_BATCH, tiny_tsgan
from tsgan_lib.models import gan_to_reid
from tsgan_lib.train import (TABLE2_VARIANTS, TSGANConfig, TSGANModels, backbone_step, discriminator_step,
                             generator_step, table2_config, train_step)

B, H, W = TINY_BATCH


def _snapshot(models: TSGANModels) -> dict[str, dict[str, torch.Tensor]]:
    return {"student": copy.deepcopy(models.student.state_dict()),
            "teacher": copy.deepcopy(models.teacher.former.state_dict()),
            "gen": {**{"i." + k: v.clone() for k, v in models.cyclegan.gen_ir.state_dict().items()},
                    **{"r." + k: v.clone() for k, v in models.cyclegan.gen_rgb.state_dict().items()}},
            "disc": {**{"i." + k: v.clone() for k, v in models.cyclegan.disc_ir.state_dict().items()},
                     **{"r." + k: v.clone() for k, v in models.cyclegan.disc_rgb.state_dict().items()}}}


def _moved(before: dict, models: TSGANModels) -> set[str]:
    after = _snapshot(models)
    return {name for name in before if any(not torch.equal(v, after[name][k]) for k, v in before[name].items())}


def test_each_phase_moves_only_its_networks(batch):
    x_rgb, x_ir, y = batch
    models, opts = tiny_tsgan()
    cfg = TSGANConfig()
    before = _snapshot(models)
    g = generator_step(models, opts["g"], x_rgb, x_ir, cfg)
    assert _moved(before, models) == {"gen"}
    assert set(g) == {"g_adv_ir", "g_adv_rgb", "g_cyc"}
    assert set(g.cache) == {"x_ir_fake", "x_rgb_fake", "fmap_t_ir_fake"}  # FE_T(X_I') of the joint D_I, kept
    assert g.cache["x_ir_fake"].shape == x_rgb.shape and not g.cache["x_ir_fake"].requires_grad
    with torch.no_grad():  # the backbone phase's TS target, computed once in the G phase
        assert torch.equal(g.cache["fmap_t_ir_fake"], models.teacher(gan_to_reid(g.cache["x_ir_fake"])))

    before = _snapshot(models)
    b = backbone_step(models, opts["b"], x_rgb, x_ir, y, cfg, cache=g.cache)
    assert _moved(before, models) == {"student"}
    assert set(b) == {"reid_id", "reid_tri", "reid_gan", "ts_cd", "ts_real_ir", "ts_fake_ir"}
    assert b.cache["fmap_s_ir"].shape == (B, 256, H // 16, W // 16)

    before = _snapshot(models)
    d = discriminator_step(models, opts["d"], x_rgb, x_ir, cfg, cache={**g.cache, **b.cache})
    assert _moved(before, models) == {"disc"}
    assert set(d) == {"d_ir_real", "d_ir_fake", "d_rgb_real", "d_rgb_fake"}
    for terms in (g, b, d):
        assert all(isinstance(v, float) and torch.isfinite(torch.tensor(v)) for v in terms.values())
    # discriminators are trainable again after the steps that froze them
    assert all(p.requires_grad for p in models.cyclegan.discriminator_parameters())


def test_terms_are_weighted_with_paper_defaults(batch):
    x_rgb, x_ir, y = batch
    models, opts = tiny_tsgan()
    cfg = TSGANConfig()
    b = backbone_step(models, opts["b"], x_rgb, x_ir, y, cfg)
    # ID loss of an untrained 3-class head is about log 3, times λ1 = 3
    assert b["reid_id"] == pytest.approx(3 * torch.log(torch.tensor(3.0)).item(), rel=0.05)
    cfg2 = TSGANConfig()
    cfg2.reid.lambda_id = 1.0
    models2, opts2 = tiny_tsgan()
    b2 = backbone_step(models2, opts2["b"], x_rgb, x_ir, y, cfg2)
    assert b["reid_id"] == pytest.approx(3 * b2["reid_id"], rel=1e-4)


@pytest.mark.parametrize("variant,keys", [
    ("backbone", {"reid_id", "reid_tri"}),
    ("od_single_ts", {"g_adv_ir", "g_adv_rgb", "g_cyc", "reid_id", "reid_tri", "ts_cd",
                      "d_ir_real", "d_ir_fake", "d_rgb_real", "d_rgb_fake"}),
    ("od_all_ts", {"g_adv_ir", "g_adv_rgb", "g_cyc", "reid_id", "reid_tri", "ts_cd", "ts_real_ir", "ts_fake_ir",
                   "d_ir_real", "d_ir_fake", "d_rgb_real", "d_rgb_fake"}),
    ("jd_all_ts", {"g_adv_ir", "g_adv_rgb", "g_cyc", "reid_id", "reid_tri", "reid_gan", "ts_cd", "ts_real_ir",
                   "ts_fake_ir", "d_ir_real", "d_ir_fake", "d_rgb_real", "d_rgb_fake"}),
])
def test_table2_variants_are_config_flags(variant, keys, batch):
    x_rgb, x_ir, y = batch
    cfg = table2_config(variant)
    models, opts = tiny_tsgan(joint=cfg.joint_disc)
    teacher_before = copy.deepcopy(models.teacher.former.state_dict())
    terms = train_step(models, opts["g"], opts["b"], opts["d"], x_rgb, x_ir, y, cfg)
    assert set(terms) == keys
    assert all(torch.isfinite(torch.tensor(v)) for v in terms.values())
    for k, v in teacher_before.items():
        assert torch.equal(v, models.teacher.former.state_dict()[k])


def test_table2_unknown_variant_and_inconsistent_configs(batch):
    x_rgb, x_ir, y = batch
    assert TABLE2_VARIANTS == ("backbone", "od_single_ts", "od_all_ts", "jd_all_ts")
    with pytest.raises(ValueError, match="unknown variant .jd_rerank.; choose from"):
        table2_config("jd_rerank")
    models, opts = tiny_tsgan(joint=False)
    with pytest.raises(ValueError, match="joint"):
        generator_step(models, opts["g"], x_rgb, x_ir, TSGANConfig(joint_disc=True))
    with pytest.raises(ValueError, match="Eq. \\(15\\)"):
        backbone_step(models, opts["b"], x_rgb, x_ir, y, TSGANConfig(use_gan=False))
    no_teacher = TSGANModels(models.student, None, models.cyclegan)
    with pytest.raises(ValueError, match="teacher"):
        backbone_step(no_teacher, opts["b"], x_rgb, x_ir, y, table2_config("od_all_ts"))


def test_discriminator_step_without_cache_keeps_student_bn_stats(batch):
    x_rgb, x_ir, _ = batch
    models, opts = tiny_tsgan()
    before = copy.deepcopy(models.student.state_dict())
    d = discriminator_step(models, opts["d"], x_rgb, x_ir, TSGANConfig())
    assert set(d.cache) >= {"x_ir_fake", "x_rgb_fake", "fmap_t_ir", "fmap_s_ir", "fmap_s_ir_fake"}
    assert models.student.training
    for k, v in before.items():
        assert torch.equal(v, models.student.state_dict()[k]), k


def test_bfloat16_autocast_step_runs(batch):
    x_rgb, x_ir, y = batch
    models, opts = tiny_tsgan()
    terms = train_step(models, opts["g"], opts["b"], opts["d"], x_rgb, x_ir, y, TSGANConfig(),
                       amp_dtype=torch.bfloat16)
    assert len(terms) == 13 and all(torch.isfinite(torch.tensor(v)) for v in terms.values())


def test_lsgan_mode_and_identity_term(batch):
    x_rgb, x_ir, _ = batch
    models, opts = tiny_tsgan()
    cfg = TSGANConfig()
    cfg.gan.mode = "lsgan"
    cfg.gan.identity = 5.0
    g = generator_step(models, opts["g"], x_rgb, x_ir, cfg)
    assert set(g) == {"g_adv_ir", "g_adv_rgb", "g_cyc", "g_idt"} and g["g_idt"] > 0


def test_repeated_steps_reduce_the_reid_loss(batch):
    x_rgb, x_ir, y = batch
    models, opts = tiny_tsgan()
    cfg = table2_config("backbone")
    first = sum(backbone_step(models, opts["b"], x_rgb, x_ir, y, cfg).values())
    for _ in range(5):
        last = sum(backbone_step(models, opts["b"], x_rgb, x_ir, y, cfg).values())
    assert last < first


def test_a_short_run_cycles_the_batches_and_optimizers_exclude_teacher(batch):
    """The notebooks' short runs: Algorithm 1 as the fit loop's step, over an epoch of a fixed
    number of steps that draws the batches again when they run out, kept in memory."""
    from tsgan_lib.data.batches import EpochBatches
    from tsgan_lib.train import FitLoop, LoopConfig, algorithm_1, make_optimizers

    x_rgb, x_ir, y = batch
    models, _ = tiny_tsgan()
    opts = make_optimizers(models)
    teacher_ids = {id(p) for p in models.teacher.former.parameters()}
    for opt in opts.values():
        assert teacher_ids.isdisjoint(id(p) for g in opt.param_groups for p in g["params"])
    cpu, short = torch.device("cpu"), LoopConfig(history=True, progress=False)
    loop = FitLoop("short", algorithm_1(models, opts, table2_config("jd_all_ts"), cpu),
                   EpochBatches([(x_rgb, x_ir, y)], steps=2), short, device=cpu)
    loop.fit()
    assert [h["step"] for h in loop.history] == [0, 1] and "reid_gan" in loop.history[1]
    with pytest.raises(ValueError, match="empty"):
        FitLoop("short", algorithm_1(models, opts, TSGANConfig(), cpu), EpochBatches([], steps=1), short,
                device=cpu).fit()
