"""AGW and CAJ as rows of the trainer: their settings, their step, their optimiser, their saved networks,
the comparison table, and (slow) an end-to-end run of each on every stand-in."""

from __future__ import annotations

import pytest
import torch

from conftest import TINY_BATCH, tiny_tsgan
from tinyrun import quiet, tiny_settings
from tsgan_lib.data.channel_aug import caj_views
from tsgan_lib.files import NetworkRecord, load_network, network_arch, save_network
from tsgan_lib.losses import ReIDLossConfig, squared_difference_loss, triplet_loss, triplet_term, wrt_loss
from tsgan_lib.models.agw import build_agw_backbone
from tsgan_lib.report.comparison import (collect_comparison, comparison_deltas, comparison_table,
                                         comparison_text)
from tsgan_lib.train import TSGANConfig, resolve_config, table2_config
from tsgan_lib.train.config import ConfigError, needs_teacher
from tsgan_lib.train.steps import OptimConfig, backbone_optimizer, backbone_terms


def test_triplet_term_names_each_form():
    torch.manual_seed(0)
    feat, y = torch.randn(8, 5), torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])
    assert torch.equal(triplet_term(feat, y, "batch_hard", 0.3), triplet_loss(feat, y, 0.3))
    assert torch.equal(triplet_term(feat, y, "wrt"), wrt_loss(feat, y))
    assert torch.equal(triplet_term(feat, y, "squared_difference"), squared_difference_loss(feat, y))
    with pytest.raises(ValueError, match="unknown triplet form 'soft'"):
        triplet_term(feat, y, "soft")


def test_caj_views_exchange_channels_of_the_visible_batch_and_grey_the_ir_one():
    torch.manual_seed(1)
    x_rgb, x_ir = torch.randn(64, 3, 16, 8), torch.randn(64, 3, 16, 8)
    weak, strong, ir = caj_views(x_rgb, x_ir, torch.Generator().manual_seed(0))
    assert weak.shape == strong.shape == ir.shape == x_rgb.shape
    untouched = (weak == x_rgb).all(dim=(1, 2, 3))
    assert 0 < int(untouched.sum()) < 64            # erasing with probability 0.5, no channel change
    mono = (strong[:, :1] == strong).all(dim=(1, 2, 3))
    assert mono.all()                                # every strong view is one channel on all three
    plain = [i for i in range(64) if (strong[i, 0] == x_rgb[i, :, :, :]).all(dim=(1, 2)).any()]
    assert len(plain) > 16                           # unerased strong views: exactly one of R, G, B
    kept_ir = (ir == x_ir).all(dim=(1, 2, 3))
    assert int(kept_ir.sum()) < 32                   # grey or one channel for 7/8 of the IR images (before erasing)


def test_caj_step_sees_three_views_with_the_labels_three_times(batch):
    x_rgb, x_ir, y = batch
    models, _ = tiny_tsgan()
    cfg = TSGANConfig(use_gan=False, ts=table2_config("caj").ts,
                      reid=ReIDLossConfig(triplet="squared_difference", channel_aug=True))
    terms, out = backbone_terms(models, x_rgb, x_ir, y, cfg, {})
    assert out["inputs"] == ["rgb", "ir", "rgb_strong"]
    assert out["logits"].shape[0] == 3 * TINY_BATCH[0]
    assert set(terms) == {"reid_id", "reid_tri"} and all(torch.isfinite(v) for v in terms.values())
    plain, out_plain = backbone_terms(models, x_rgb, x_ir, y, table2_config("backbone"), {})
    assert out_plain["inputs"] == ["rgb", "ir"] and out_plain["logits"].shape[0] == 2 * TINY_BATCH[0]


def test_the_default_step_is_unchanged_by_the_index_of_the_seen_inputs(batch):
    """ID and triplet over rows [X_R; X_I] by index equal the slice they were before."""
    x_rgb, x_ir, y = batch
    models, _ = tiny_tsgan()
    torch.manual_seed(3)
    terms, out = backbone_terms(models, x_rgb, x_ir, y, TSGANConfig(), {})
    b = TINY_BATCH[0]
    tri = triplet_loss(out["feat"][: 2 * b], y.repeat(2), 0.3)
    assert torch.allclose(terms["reid_tri"], tri)


def test_sgd_with_a_faster_head_as_agw_and_adam_in_one_group_by_default():
    student = build_agw_backbone(num_classes=5, depth=18)
    sgd = backbone_optimizer(student, OptimConfig(backbone="sgd", lr_backbone=0.01, lr_head_factor=10.0))
    assert isinstance(sgd, torch.optim.SGD) and sgd.defaults["nesterov"] and sgd.defaults["momentum"] == 0.9
    assert [g["lr"] for g in sgd.param_groups] == [0.01, pytest.approx(0.1)]
    head = {id(p) for p in (*student.bnneck.parameters(), *student.classifier.parameters()) if p.requires_grad}
    assert {id(p) for p in sgd.param_groups[1]["params"]} == head
    adam = backbone_optimizer(student, OptimConfig())
    assert isinstance(adam, torch.optim.Adam) and len(adam.param_groups) == 1
    assert [id(p) for p in adam.param_groups[0]["params"]] == [id(p) for p in student.parameters()
                                                               if p.requires_grad]


def test_baseline_presets_and_the_settings_that_make_a_baseline():
    for name in ("synthetic_agw", "sysu_agw", "regdb_agw"):
        cfg = resolve_config(name)
        assert (cfg.variant, cfg.model.arch, cfg.reid.triplet, cfg.reid.channel_aug) == ("agw", "agw", "wrt", False)
        assert not needs_teacher(cfg)
    for name in ("synthetic_caj", "sysu_caj", "regdb_caj"):
        cfg = resolve_config(name)
        assert (cfg.variant, cfg.reid.triplet, cfg.reid.channel_aug) == ("caj", "squared_difference", True)
    real = resolve_config("sysu_agw")
    assert (real.optim.backbone, real.optim.lr_head_factor, real.schedule.epochs) == ("sgd", 10.0, 81)
    assert resolve_config("sysu_caj").schedule.epochs == 100
    with pytest.raises(ConfigError, match="model.arch='resnet': expected 'agw': variant 'agw'"):
        resolve_config("synthetic_backbone", {"variant": "agw"})
    with pytest.raises(ConfigError, match="reid.channel_aug=False"):
        resolve_config("synthetic_agw", {"variant": "caj", "reid.triplet": "squared_difference"})
    with pytest.raises(ConfigError, match="reid.triplet"):
        resolve_config(None, {"reid.triplet": "soft"})
    with pytest.raises(ConfigError, match="teacher.loss.channel_aug=True: expected False"):
        resolve_config(None, {"teacher.loss.channel_aug": True})


def test_an_agw_network_is_saved_and_rebuilt_as_agw(tmp_path):
    net = build_agw_backbone(num_classes=4, depth=18).eval()
    assert network_arch(net) == {"depth": 18, "num_classes": 4, "arch": "agw"}
    save_network(tmp_path / "b.pt", net, NetworkRecord("backbone", network_arch(net)))
    back, _ = load_network(tmp_path / "b.pt", "cpu", kind="backbone")
    assert type(back).__name__ == "AGWBackbone"
    x = torch.randn(2, 3, 64, 32)
    with torch.no_grad():
        assert torch.allclose(back(x)["feat"], net(x)["feat"])


def _results(r1: float, directions=("visible->thermal", "thermal->visible")) -> dict:
    return {"chance_R1": 1.0, "untrained": {directions[0]: {"R1": 2.0}}, "dataset": "stand-in",
            "metrics": {d: {"R1": r1 + i, "mAP": r1 + 5} for i, d in enumerate(directions)}}


def test_comparison_table_pairs_each_row_with_the_same_seed_backbone():
    results = {("backbone", s): _results(10.0 + s) for s in range(3)}
    results.update({("agw", s): _results(13.0 + s + 0.1 * s) for s in range(3)})     # +3.0, +3.1, +3.2
    results.update({("caj", s): _results(10.0 + s - 1.0 + (s == 1) * 2) for s in range(3)})  # -1, +1, -1
    df = collect_comparison(results, "regdb")
    d = comparison_deltas(df, "visible->thermal.R1").set_index("variant")
    assert d.loc["agw", "delta_mean"] == pytest.approx(3.1) and d.loc["agw", "ci_low"] > 0
    assert d.loc["caj", "ahead"] == 1 and d.loc["caj", "ci_low"] < 0 < d.loc["caj", "ci_high"]
    table = comparison_table(df, "regdb")
    assert "R1 visible→thermal" in table and "70.05 / 66.37" in table and "| Backbone | 3 |" in table
    text = comparison_text(df, "regdb")
    assert "AGW is ahead of the backbone beyond the seed noise" in text
    assert "CAJ is level with the backbone within the seed noise" in text and "(Δ R1 +3.1 [" in text
    one = collect_comparison({k: v for k, v in results.items() if k[1] == 0}, "regdb")
    assert "AGW is measured on one seed: no interval, no verdict (Δ R1 +3.0, 1 seed)" in comparison_text(one, "regdb")


def test_ablation_refuses_baselines_outside_the_comparison(capsys):
    from tsgan_lib.cli import main

    assert main(["ablation", "--rows", "agw", "--finished-only"]) == 2
    assert "--compare" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize("dataset", ["sysu", "regdb", "llcm"])
@pytest.mark.parametrize("variant", ["agw", "caj"])
def test_a_baseline_trains_and_is_evaluated_on_each_stand_in(tmp_path, monkeypatch, variant, dataset):
    from tsgan_lib.report import evaluate_run
    from tsgan_lib.train import train

    monkeypatch.setenv("TSGAN_DATA_DIR", str(tmp_path / "data"))
    preset = resolve_config(f"synthetic_{variant}")
    settings = tiny_settings(tmp_path, variant, variant=variant, schedule__epochs=1, schedule__milestones=[],
                             schedule__warmup_epochs=0)
    settings.update({"data.dataset": dataset, "model.arch": preset.model.arch, "reid.triplet": preset.reid.triplet,
                     "reid.channel_aug": preset.reid.channel_aug, "data.synthetic_regdb.num_ids": 16,
                     "data.synthetic_llcm.num_ids": 12})
    cfg = resolve_config(None, settings)
    info = train(cfg, log=quiet)
    assert info.epochs_done == 1 and info.teacher_source.startswith("none")
    results, _ = evaluate_run(cfg.run_dir, device="cpu")
    assert results["variant"] == variant
    first = next(iter(results["metrics"]))
    assert 0 <= results["metrics"][first]["R1"] <= 100 and results["untrained"]


def test_runs_recorded_before_the_baselines_existed_still_resume_and_their_teachers_fit():
    """The baselines' settings at their defaults train what earlier runs trained: they stay out of a
    checkpoint's meta and a teacher's recipe, so records made before them (or with them) still match."""
    from tsgan_lib.train.teacher import TeacherConfig, recorded_recipe
    from tsgan_lib.train.trainer import _trained_settings

    meta = _trained_settings(resolve_config("demo"))
    assert not {"model.arch", "reid.triplet", "optim.backbone", "teacher.loss.triplet"} & set(meta)
    caj = _trained_settings(resolve_config("synthetic_caj"))
    assert caj["model.arch"] == "agw" and caj["reid.channel_aug"] is True
    recipe = TeacherConfig().recipe()
    assert "loss.triplet" not in recipe and "loss.lambda_id" in recipe
    recorded = {**recipe, "loss.triplet": "batch_hard", "loss.channel_aug": False}
    assert recorded_recipe(recorded) == recipe
    assert recorded_recipe({**recipe, "loss.triplet": "wrt"}) != recipe


def test_comparison_without_a_backbone_row_has_no_deltas_but_a_table():
    df = collect_comparison({("jd_all_ts", 0): _results(3.0), ("od_all_ts", 0): _results(2.0)}, "regdb")
    assert comparison_deltas(df, "visible->thermal.R1").empty
    assert "| TS-GAN_JD^allTS | 1 |" in comparison_table(df, "regdb")
    assert "no paired difference" in comparison_text(df, "regdb")
