"""The readings of the paper that decide whether TS-GAN helps, as settings, and the probes that measure them
(docs/interpretations.md; tsgan_lib/train/probes.py)."""

from __future__ import annotations

import copy
import json

import pytest
import torch

from conftest import TINY_BATCH, tiny_tsgan
from tsgan_lib.files import RunFolder
from tsgan_lib.losses import id_loss, identity_loss
from tsgan_lib.models import DiscriminatorConfig, PatchDiscriminator, gan_to_reid, reid_to_gan
from tsgan_lib.train import TSGANConfig, TSGANModels, generator_step, table2_config, train_step
from tsgan_lib.train.pool import SamplePool
from tsgan_lib.train.probes import mechanism_probe, probe_steps
from tsgan_lib.train.steps import backbone_terms, discriminator_fakes, make_pools

B, H, W = TINY_BATCH


# ---- the PatchGAN as CycleGAN builds it -----------------------------------------------------------

def test_the_patchgan_has_cyclegans_norms_and_parameter_count():
    # CycleGAN's NLayerDiscriminator(3, 64, 3, InstanceNorm2d): 2,764,737 parameters ("2.765 M" in its log):
    # convs 3->64, 64->128, 128->256, 256->512 (stride 1), 512->1, each 4x4 with a bias; the norms learn nothing
    d = PatchDiscriminator(cfg=DiscriminatorConfig())
    assert sum(p.numel() for p in d.parameters()) == 2_764_737
    norms = [m for m in d.modules() if isinstance(m, torch.nn.InstanceNorm2d)]
    assert len(norms) == 3 and not any(m.affine for m in norms)
    # the first reading: affine norms (2 x (128 + 256 + 512) = 1,792 parameters), bias-free convs before them (896)
    affine = PatchDiscriminator(cfg=DiscriminatorConfig(norm_affine=True))
    assert sum(p.numel() for p in affine.parameters()) == 2_764_737 - 896 + 1_792


# ---- which images the ID and triplet losses see --------------------------------------------------

@pytest.mark.parametrize("on_fake_ir, n_inputs", [(False, 2), (True, 3)])
def test_the_id_loss_sees_fake_ir_only_when_asked(on_fake_ir, n_inputs, batch):
    x_rgb, x_ir, y = batch
    models, _ = tiny_tsgan()
    cfg = TSGANConfig()
    cfg.reid.on_fake_ir = on_fake_ir
    terms, out = backbone_terms(models, x_rgb, x_ir, y, cfg, {})
    expected = id_loss(out["logits"][: n_inputs * B], y.repeat(n_inputs), cfg.reid.label_smoothing)
    assert terms["reid_id"].item() == pytest.approx(cfg.reid.lambda_id * expected.item(), rel=1e-6)
    assert out["fmap"].shape[0] == 3 * B, "the student sees X_I' either way (Eq. 12, 14)"


# ---- what D_I is shown --------------------------------------------------------------------------

def test_the_fake_set_is_m_or_m_plus_the_generators_pair(batch):
    x_rgb, x_ir, y = batch
    models, opts = tiny_tsgan()
    cfg = TSGANConfig()
    step = train_step(models, opts["g"], opts["b"], opts["d"], x_rgb, x_ir, y, cfg)
    cache = step.cache
    x_m, f_m = discriminator_fakes(reid_to_gan(x_ir), cache["x_ir_fake"], cache, cfg)
    assert x_m.shape[0] == f_m.shape[0] == 3 * B
    cfg.gan.fake_set = "paper+teacher_fake"
    x_m2, f_m2 = discriminator_fakes(reid_to_gan(x_ir), cache["x_ir_fake"], cache, cfg)
    assert x_m2.shape[0] == 4 * B
    torch.testing.assert_close(x_m2[:3 * B], x_m)
    torch.testing.assert_close(x_m2[3 * B:], cache["x_ir_fake"])            # X_I' ...
    torch.testing.assert_close(f_m2[3 * B:], cache["fmap_t_ir_fake"])       # ... with the teacher's map


def test_the_identity_term_is_cyclegans_lambda_idt_times_omega(batch):
    x_rgb, x_ir, _ = batch
    models, opts = tiny_tsgan()
    cfg = TSGANConfig()
    cfg.gan.identity = 0.5
    ref = copy.deepcopy(models.cyclegan)
    g = generator_step(models, opts["g"], x_rgb, x_ir, cfg)
    x_rgb_g, x_ir_g = reid_to_gan(x_rgb), reid_to_gan(x_ir)
    with torch.no_grad():
        expected = identity_loss(x_rgb_g, ref.gen_rgb(x_rgb_g), x_ir_g, ref.gen_ir(x_ir_g))
    assert g["g_idt"] == pytest.approx(0.5 * cfg.gan.omega * float(expected), rel=1e-5)


# ---- CycleGAN's history of generated samples -----------------------------------------------------

def test_an_empty_pool_shows_the_batch_as_it_is():
    x = torch.randn(5, 2)
    (out,) = SamplePool(0).query(x)
    assert torch.equal(out, x)


def test_the_pool_fills_first_then_swaps_about_half_keeping_pairs_whole():
    pool = SamplePool(4, seed=0)
    first = torch.arange(4.0).view(4, 1)
    a, b = pool.query(first, -first)
    assert torch.equal(a, first) and torch.equal(b, -first) and pool.count == 4
    swapped = 0
    for step in range(200):
        new = torch.full((4, 1), 100.0 + step)
        a, b = pool.query(new, -new)
        assert torch.equal(b, -a), "an image and its map leave the pool together"
        old = a != new
        swapped += int(old.sum())
        assert (a[old] < 100.0 + step).all(), "a swapped sample is an older one"
    assert 0.4 < swapped / 800 < 0.6


def test_a_pool_resumes_exactly_from_its_state():
    pool = SamplePool(3, seed=1)
    for i in range(4):
        pool.query(torch.full((2, 1), float(i)))
    state = copy.deepcopy(pool.state_dict())
    again = SamplePool(3, seed=99)
    again.load_state_dict(state)
    for i in range(4, 8):
        x = torch.full((2, 1), float(i))
        assert torch.equal(pool.query(x)[0], again.query(x)[0])
    with pytest.raises(ValueError, match="cannot be loaded"):
        SamplePool(5).load_state_dict(state)


def test_pools_exist_only_with_a_gan_and_a_size():
    assert set(make_pools(TSGANConfig())) == {"d_ir", "d_rgb"}
    cfg = TSGANConfig()
    cfg.gan.pool_size = 0
    assert make_pools(cfg) == {}
    assert make_pools(TSGANConfig(use_gan=False)) == {}


# ---- the probes -----------------------------------------------------------------------------------

def test_a_probe_changes_nothing_and_its_shares_add_up(batch):
    x_rgb, _, y = batch
    x_ir = gan_to_reid(torch.rand(B, 1, H, W).expand(-1, 3, -1, -1) * 2 - 1)  # grey, as IR images are
    models, opts = tiny_tsgan()
    cfg = TSGANConfig()
    step = train_step(models, opts["g"], opts["b"], opts["d"], x_rgb, x_ir, y, cfg)
    state = copy.deepcopy({"s": models.student.state_dict(), "g": models.cyclegan.state_dict()})
    rng = torch.get_rng_state()
    values = mechanism_probe(models, x_rgb, x_ir, y, cfg, step.cache)
    after = {"s": models.student.state_dict(), "g": models.cyclegan.state_dict()}
    for part in state:
        for k, v in state[part].items():
            assert torch.equal(v, after[part][k]), k
    assert torch.equal(rng, torch.get_rng_state())
    terms = ("reid_id", "reid_tri", "reid_gan", "ts_cd", "ts_real_ir", "ts_fake_ir")
    for where in ("fmap", "params"):
        shares = [values[f"grad_share.{where}.{t}"] for t in terms]
        assert all(0 <= s <= 1 for s in shares) and sum(shares) == pytest.approx(1.0)
    assert sum(values[f"grad_share.fmap_reid.{i}"] for i in ("rgb", "ir", "ir_fake")) == pytest.approx(1.0)
    for name in ("fake_ir.teacher_acc", "fake_ir.student_acc", "fake_ir.chroma", "d_ir_acc.real", "d_ir_acc.g_pair"):
        assert 0 <= values[name] <= 1, name
    assert values["fake_ir.chroma_real_ir"] < 1e-6, "the real IR images are grey"


def test_the_backbone_rows_probe_has_only_gradient_shares(batch):
    x_rgb, x_ir, y = batch
    models, _ = tiny_tsgan()
    values = mechanism_probe(TSGANModels(models.student), x_rgb, x_ir, y, table2_config("backbone"))
    assert {k.rsplit(".", 1)[-1] for k in values if k.startswith("grad_share.fmap.")} == {"reid_id", "reid_tri"}
    assert not any(k.startswith(("fake_ir", "d_ir_acc")) for k in values)


def test_probe_steps_are_spread_over_the_epoch_and_end_it():
    assert probe_steps(47, 2) == {24, 47}
    assert probe_steps(3, 5) == {1, 2, 3}
    assert probe_steps(10, 0) == set()


@pytest.mark.slow
def test_a_run_records_the_mechanism_and_trains_the_same_weights_without_probes(tmp_path):
    from tinyrun import quiet, tiny
    from tsgan_lib.files import load_weights
    from tsgan_lib.train.trainer import train

    with_probes = train(tiny(tmp_path, "probed", schedule__epochs=1, schedule__milestones=[],
                             schedule__warmup_epochs=0, run__probes_per_epoch=2), log=quiet)
    info = json.loads((with_probes.run_dir / "train_info.json").read_text())
    mech = info["mechanism"]["run"]
    assert any("grad_share" in k for k in mech) and any("fake_ir" in k for k in mech)
    assert info["mechanism"]["count"] == 2
    lines = [json.loads(s) for s in (with_probes.run_dir / "metrics.jsonl").read_text().splitlines()]
    assert sum(r["kind"] == "probe" for r in lines) == 2
    without = train(tiny(tmp_path, "plain", schedule__epochs=1, schedule__milestones=[], schedule__warmup_epochs=0,
                         run__probes_per_epoch=0), log=quiet)
    a, b = load_weights(with_probes.run_dir / "backbone.pt"), load_weights(without.run_dir / "backbone.pt")
    for k, v in a["state_dict"].items():
        assert torch.equal(v, b["state_dict"][k]), k


# ---- the readings table and its sentences ---------------------------------------------------------

def _fake_table() -> "pd.DataFrame":
    import pandas as pd

    rows = []
    for seed in range(5):
        for variant, reading, r1, ts in (("backbone", "default", 20 + seed, float("nan")),
                                         ("jd_all_ts", "default", 19 + seed, 15.0),
                                         ("jd_all_ts", "ts_mean", 17 + seed + 0.1 * (seed % 2), 0.01)):
            rows.append({"reading": reading, "variant": variant, "seed": seed, "all_single.R1": r1,
                         "all_single.mAP": r1 + 5, "ts_share": ts, "fake_share": 3.0, "teacher_acc": 2.0,
                         "student_acc": 1.0, "d_rejects_g": 99.0})
    return pd.DataFrame(rows)


def test_a_readings_effect_is_paired_by_seed_and_its_story_is_told_from_the_numbers():
    from tsgan_lib.report.readings import reading_effect, reading_story, verdict_line

    df = _fake_table()
    e = reading_effect(df, "ts_mean")
    assert e["seeds"] == 5 and e["delta_mean"] == pytest.approx(-2 + 0.1 * 2 / 5)
    assert e["ci_high"] < 0 and e["ahead"] == 0
    story = reading_story(df, "ts_mean")
    assert "TS losses as the mean over map elements" in story and "Eq. (13)-(15)" in story
    assert "beyond the noise, worse" in story and "TS share of grad at f_map 15.0 → 0.0 %" in story
    line = verdict_line(df, "jd_all_ts", "default")
    assert "-1.0 Rank-1 points" in line and "behind the backbone beyond the noise" in line


def test_the_table_says_how_many_seeds_each_row_stands_on():
    from tsgan_lib.report.readings import readings_table

    df = _fake_table()
    df = df[~((df["reading"] == "ts_mean") & (df["seed"] >= 3))]
    table = readings_table(df)
    rows = {line.split("|")[2].strip(): line.split("|")[3].strip() for line in table.splitlines()[2:]}
    assert rows["TS losses as the mean over map elements"] == "3" and rows["the suite's defaults"] == "5"


def test_finished_only_tabulates_the_finished_runs_and_trains_nothing(tmp_path, monkeypatch):
    import tsgan_lib.report.readings as readings

    asked = []
    done = {"metrics": {"all_single": {"R1": 20.0, "mAP": 25.0}}}
    monkeypatch.setattr(readings, "run_row", lambda v, s, d, extra, reading: asked.append((RunFolder.row_name(v, reading), s)) or done)
    monkeypatch.setattr(readings, "collect_readings", lambda results: _fake_table())
    monkeypatch.setattr(readings, "write_text_atomic", lambda *a: None)
    monkeypatch.setattr(readings, "write_json", lambda *a: None)
    for folder in ("jd_all_ts_s0", "backbone_s0", "jd_all_ts~ts_mean_s1"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "results.json").write_text("{}")
    readings.run_readings([0, 1], ["ts_mean"], runs_dir=tmp_path, out=tmp_path, train=False, log=lambda m: None)
    assert sorted(asked) == [("backbone", 0), ("jd_all_ts", 0), ("jd_all_ts~ts_mean", 1)]
