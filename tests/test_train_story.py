"""Notebook 04's sentences and small tables about one run, from hand-made numbers (no training)."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
import torch

from tsgan_lib.report.train_story import (checkpoint_content, checkpoint_files_text, checks_text, committed_ablation,
                                          committed_range_text, floor_lines, inside, log_without_settings,
                                          loss_story, moves, rerun_commands, results_header, results_table,
                                          results_text, resumed_text, run_facts, run_header, settings_table,
                                          teacher_table, teacher_text, variant_table, weights_table)
from tsgan_lib.train import resolve_config

PAPER = resolve_config()  # jd_all_ts, ResNet-50 from ImageNet, λ1 = 3, m = 0.3, λ3 = 0.1, teacher 120 epochs


def summary(**terms: tuple[float, float]) -> pd.DataFrame:
    """``loss_summary``'s shape: a start and an end per term."""
    return pd.DataFrame({"start": {k: a for k, (a, _) in terms.items()}, "end": {k: b for k, (_, b) in terms.items()}})


# --- the settings ------------------------------------------------------------------------------------------------

def test_the_header_and_the_settings_table_name_what_differs_from_the_paper():
    cfg = resolve_config(None, {"ts.alpha_c": 0.5})
    assert run_header(cfg) == ("**Preset** `None` · **variant** `jd_all_ts` (TS-GAN_JD^allTS) · **run folder** "
                               f"`{cfg.run_dir}` · 1 settings differ from the paper's:")
    table = settings_table(cfg)
    assert list(table.index) == ["ts.alpha_c"] and table.index.name == "setting"
    assert table.loc["ts.alpha_c", "this run"] == "0.5" and table.loc["ts.alpha_c", "paper"] == "0.006"
    assert table.loc["ts.alpha_c", "meaning"]


def test_the_variant_table_marks_what_each_table_two_row_runs():
    table = variant_table(PAPER)
    assert not table.loc["Backbone"].any() and table.loc["TS-GAN_JD^allTS"].all()
    od = table.loc["TS-GAN_OD^singleTS"]
    assert od["GAN (G_I, G_R, D_I, D_R)"] and not od["joint D_I"] and not od["Eq. 12 (backbone GAN)"]
    assert od["Eq. 15 (cross-domain TS)"] and not od["Eq. 13-14 (same-domain TS)"] and od["needs the teacher"]


def test_the_weights_table_sets_this_run_beside_the_paper():
    table = weights_table(resolve_config(None, {"ts.alpha_c": 0.6, "gan.omega": 5.0}))
    assert len(table) == 8 and table.loc["λ1, ID (reid.lambda_id)"].tolist() == [3.0, 3.0]
    assert table.loc["α_c, cross-domain TS (ts.alpha_c)"].tolist() == [0.6, 0.006]
    assert table.loc["ω, cycle loss (gan.omega)", "this run"] == 5.0


def test_the_log_prints_every_message_but_the_settings_block(capsys):
    log_without_settings("settings that differ from the paper's: ...")
    log_without_settings("epoch 1/4: 30 steps")
    assert capsys.readouterr().out == "epoch 1/4: 30 steps\n"


# --- the teacher -------------------------------------------------------------------------------------------------

CHANCE_IR = {"R1": 2.4, "R10": 21.0, "mAP": 5.0}


def teacher(r1: float, pretrain: float | None = 160.2, seconds: float = 160.2, source: str = "pretrained in this run"):
    quality = {"ir_R1": r1, "ir_R10": 99.0, "ir_mAP": 90.0}
    if pretrain is not None:
        quality["pretrain_seconds"] = pretrain
    return SimpleNamespace(teacher_quality=quality, teacher_source=source, teacher_seconds=seconds)


def test_a_teacher_close_to_the_papers_is_a_strong_target():
    text = teacher_text(teacher(96.0), PAPER, CHANCE_IR, gallery_size=236, num_ids=120)
    assert text.startswith("The teacher (pretrained in this run, in 160 s) finds the right person first for "
                           "**96.0 %** of the IR queries among 236 IR gallery images (mAP **90.0 %**), 40.0× the "
                           "chance Rank-1 of 2.4 %; the paper's teacher: 98.0 / 97.4 %. That is close to the paper's "
                           "teacher: a strong target, from a ResNet-50 starting from ImageNet weights for 120 epochs "
                           "on 120 identities.")
    table = teacher_table(teacher(96.04).teacher_quality, CHANCE_IR)
    assert table.loc["IR→IR R1"].tolist() == [96.0, 2.4, 98.0]


def test_a_teacher_far_from_the_papers_is_a_weaker_target_and_its_time_is_told_as_it_was_spent():
    scratch = resolve_config(None, {"model.pretrained": False, "teacher.schedule.epochs": 1,
                                    "teacher.schedule.milestones": [], "teacher.schedule.warmup_epochs": 0})
    loaded = teacher(80.0, seconds=0, source="loaded from runs/teacher/t.pt")
    text = teacher_text(loaded, scratch, CHANCE_IR, gallery_size=236, num_ids=120)
    assert "(loaded from runs/teacher/t.pt; its pretraining took 160 s)" in text
    assert "That is 18 points below the paper's teacher: a much weaker target" in text
    assert "ResNet-50 trained from scratch for 1 epoch on 120 identities" in text
    assert "(loaded from runs/teacher/t.pt) finds" in teacher_text(teacher(80.0, pretrain=None, seconds=0,
                                                                           source="loaded from runs/teacher/t.pt"),
                                                                   scratch, CHANCE_IR, 236, 120)


# --- what the run did --------------------------------------------------------------------------------------------

def info(resumed_from_step: int | None = None, **kw) -> SimpleNamespace:
    base = dict(global_step=120, epochs_done=4, resumed_from_step=resumed_from_step, device="cpu", world_size=1,
                amp="off", teacher_source="pretrained in this run", teacher_seconds=160.0, train_seconds=90.0,
                images_per_second=12.34, peak_memory_mb=2048.4, skipped_steps=0)
    return SimpleNamespace(**{**base, **kw})


def test_resuming_is_told_as_not_finished_or_continued_from_its_step():
    assert resumed_text(info()) == "no: trained from the start in this session"
    assert resumed_text(info(120)) == ("already finished: loaded the checkpoint of its 4 epochs (120 steps); "
                                       "nothing left to train")
    assert "of its 1 epoch (30 steps)" in resumed_text(info(30, global_step=30, epochs_done=1))
    assert resumed_text(info(45)) == "yes: continued from step 45 (epoch 2, after 15 of its 30 steps)"
    assert resumed_text(info(60)) == "yes: continued after epoch 2 (step 60)"


def test_the_facts_table_states_the_run_in_words():
    facts = run_facts(info(device="cuda:0", world_size=4, teacher_seconds=0), PAPER, wall=12.6)["value"]
    assert facts["device"] == "cuda:0 × 4 processes" and facts["epochs"] == "4"
    assert facts["steps"] == "120 (30 per epoch of 64 images)"
    assert facts["teacher phase"] == "0 s (loaded, not trained)"
    assert facts["Algorithm 1 time"] == "90 s (1.5 min)" and facts["images / s"] == "12.3"
    assert facts["peak memory"] == "2048 MB" and facts["resumed"].startswith("no:")
    assert facts["this cell's wall time"] == "13 s"
    plain = run_facts(info(teacher_seconds=0), PAPER.replace(variant="backbone"), wall=1)["value"]
    assert plain["device"] == "cpu" and plain["teacher phase"] == "0 s"
    assert run_facts(info(), PAPER, wall=1)["value"]["teacher phase"] == "160 s"


# --- what the losses did -----------------------------------------------------------------------------------------

def test_a_term_falls_rises_or_stays_near_by_five_percent():
    s = summary(a=(2.0, 1.0), b=(1.0, 1.2), c=(1.0, 1.04), d=(1.0, 0.93), e=(1.0, 0.96), f=(1.0, 1.06))
    assert moves(s, "a") == "falls from 2.00 to 1.00" and moves(s, "d") == "falls from 1.00 to 0.93"
    assert moves(s, "e").startswith("stays near") and moves(s, "f").startswith("rises")
    assert moves(s, "b", 3) == "rises from 1.000 to 1.200"
    assert moves(s, "c") == "stays near 1.04 (from 1.00)"


FULL = dict(reid_id=(14.0, 7.0), reid_tri=(1.0, 0.5), reid_gan=(0.5, -0.1 * math.log(0.1)),
            ts_cd=(0.02, 0.01), ts_real_ir=(0.01, 0.005), ts_fake_ir=(0.01, 0.005),
            g_adv_ir=(0.5, 0.05), g_adv_rgb=(0.5, 0.4), g_cyc=(4.0, 2.0),
            d_ir_real=(0.5, 0.05), d_ir_fake=(0.5, 0.05), d_rgb_real=(0.5, 0.4), d_rgb_fake=(0.5, 0.4))


def test_the_loss_story_of_the_full_model_has_a_paragraph_per_phase():
    paragraphs = loss_story(summary(**FULL), PAPER, num_classes=100).split("\n\n")
    reid, ts, gen, disc = paragraphs
    assert reid.startswith("**Backbone, ReID terms.** The weighted ID loss falls from 14.00 to 7.00; λ1·ln N = 13.82 "
                           "is a uniform guess over the N = 100 training identities, so the classifier ends well "
                           "below guessing. The triplet loss falls from 1.00 to 0.50, against a margin m = 0.3: "
                           "still above m")
    assert "ends at 0.230 = λ3·(−log D_I(M))" in reid and "about 0.10 of being real" in reid
    assert reid.endswith("does not fool D_I.")
    assert "α_c = 0.006 and α_s = 0.003" in ts and "sum to 0.0200 at the end, 2.5 orders of magnitude" in ts
    assert "a gentle pull on FE_S" in ts and "`ts_cd` falls from 0.0200 to 0.0100; `ts_real_ir`" in ts
    assert ts.endswith(": the student's maps moved toward the teacher's.")
    assert "40× smaller than the cycle term" in gen and "about 0.95; the adversarial gradient" in gen
    assert "shaped mostly by the cycle loss" in gen and "G_R's adversarial term against D_R falls" in gen
    assert "real pairs real with probability about 0.95" in disc and "real with about 0.05;" in disc
    assert "the joint D_I sees the feature map" in disc and "D_R's terms end at 0.40 / 0.40" in disc


def test_the_loss_story_without_a_joint_discriminator_has_no_joint_note():
    disc = loss_story(summary(**FULL), PAPER.replace(variant="od_all_ts"), num_classes=100).split("\n\n")[-1]
    assert disc.startswith("**Discriminators.**") and "joint D_I" not in disc


def test_the_loss_story_tells_each_other_branch():
    backbone = loss_story(summary(reid_id=(13.6, 13.5), reid_tri=(0.2, 0.1)), PAPER, num_classes=100)
    assert "stays near 13.50 (from 13.60)" in backbone and "about at guessing" in backbone
    assert "below m, so in most batches" in backbone and "\n\n" not in backbone
    ends = {end: loss_story(summary(reid_id=(14, end), reid_tri=(0.1, 0.2)), PAPER, 100) for end in (9.5, 9.8, 12)}
    assert "ends well below guessing." in ends[9.5]  # λ1·ln N = 13.82: 0.7 of it is 9.67, 0.95 of it 13.12
    assert "so the classifier ends below guessing." in ends[9.8] and "ends below guessing." in ends[12]
    weak = {**FULL, "reid_gan": (0.5, -0.1 * math.log(0.48)), "ts_cd": (1.0, 2.0), "g_adv_ir": (0.5, 0.7)}
    del weak["g_adv_rgb"], weak["d_rgb_real"], weak["d_rgb_fake"]
    reid, ts, gen, disc = loss_story(summary(**weak), PAPER, num_classes=100).split("\n\n")
    assert reid.endswith("about 0.48 of being real, so the student partly fools D_I.")
    assert "0.5 orders of magnitude" in ts and "a pull comparable with the ReID terms" in ts
    assert "`ts_cd` rises from 1.0000 to 2.0000" in ts and ts.endswith("the ID and triplet losses reshape FE_S too.")
    assert gen.endswith("the adversarial term still pushes G_I (its gradient is scaled by 1 − D_I ≈ 0.50).")
    assert "G_R" not in gen and "D_R" not in disc and "joint D_I sees" not in disc
    close = loss_story(summary(**{**FULL, "g_cyc": (4.0, 0.4)}), PAPER, 100).split("\n\n")[2]  # D_I sure, cycle small
    assert "8× smaller" in close and "about 0.95; the adversarial term still pushes G_I" in close
    fools = loss_story(summary(**{**FULL, "reid_gan": (0.5, -0.1 * math.log(0.6))}), PAPER, 100)
    assert "so the student fools D_I." in fools


# --- testing and the checks --------------------------------------------------------------------------------------

def metrics(r1: float, m_ap: float) -> dict:
    return {"R1": r1, "R10": 50.0, "R20": 60.0, "mAP": m_ap, "mINP": 3.0}


RESULTS = {"dataset": "synthetic stand-in", "variant": "jd_all_ts", "epochs": 1, "trials": 10,
           "metrics": {"all_single": metrics(17.5, 24.0), "indoor_single": metrics(20.0, 30.0)},
           "metrics_std": {"all_single": metrics(2.0, 1.0), "indoor_single": metrics(2.5, 1.5)},
           "chance": {"all_single": metrics(2.5, 6.2), "indoor_single": metrics(4.0, 8.0)},
           "untrained": {"all_single": metrics(3.3, 6.4)}}


def test_the_results_are_told_beside_chance_and_the_untrained_backbone():
    assert results_header(RESULTS) == ("**synthetic stand-in**, TS-GAN_JD^allTS, 1 epoch, 10 gallery draws (percent; "
                                       "this run: mean ± std over the draws)")
    table = results_table(RESULTS)
    assert list(table.index) == ["all-search, single-shot · this run", "all-search, single-shot · untrained backbone",
                                 "all-search, single-shot · chance", "indoor, single-shot · this run",
                                 "indoor, single-shot · chance"]
    assert table.loc["all-search, single-shot · this run", "R1"] == "17.5 ± 2.0"
    text = results_text(RESULTS, "all_single", synthetic=True)
    assert text.startswith("In all-search, single-shot, Rank-1 is **17.5 %**, 7.0× chance (2.5 %) and +14.2 points "
                           "from the untrained backbone (3.3 %); mAP is **24.0 %** against 6.2 % by chance and 6.4 % "
                           "untrained. Rank-1 varies by 2.0 points (std) between the 10 gallery draws alone.")
    assert text.endswith("so the two are not comparable.")
    assert results_text(RESULTS, "all_single", synthetic=False).endswith("this run is on SYSU-MM01.")


def test_the_floors_are_told_in_points_and_standard_deviations():
    r1, m_ap = floor_lines(RESULTS, "all_single", r1_floor_factor=5.0, map_floor=20.0)
    assert r1 == ("Rank-1 floor: 5.0 × chance 2.5 % = **12.5 %**; measured **17.5 %** (7.00× chance, +5.0 points "
                  "from the floor, +2.5 standard deviations of the draws).")
    assert m_ap == "mAP floor: **20.0 %**; measured **24.0 %** (+4.0 points; chance 6.2 %, untrained 6.4 %)."
    assert "-7.5 points from the floor, -3.8 standard deviations" in floor_lines(RESULTS, "all_single", 10.0, 30.0)[0]


ABLATION = pd.DataFrame({"variant": ["jd_all_ts"] * 3 + ["backbone"], "seed": [2, 0, 1, 0],
                         "all_single.R1": [15.0, 18.0, 20.0, 10.0], "chance_R1": [2.5] * 4,
                         "all_single.mAP": [22.0, 24.0, 26.0, 20.0]})


def with_metrics(r1: float, m_ap: float) -> dict:
    return {**RESULTS, "metrics": {**RESULTS["metrics"], "all_single": metrics(r1, m_ap)}}


def test_a_run_is_within_above_or_below_the_committed_seeds():
    assert [inside(v, 1, 2) for v in (1, 1.5, 2, 2.1, 0.9)] == ["within"] * 3 + ["above", "below"]
    same = resolve_config("synthetic_jd_all_ts", {"run.dir": "runs/x"})  # a runtime setting: trains the same
    text = committed_range_text(RESULTS, "all_single", same, ABLATION)
    assert text.startswith("For comparison, the committed ablation (`docs/results/ablation_synthetic.json`) trained "
                           "`synthetic_jd_all_ts` with the same variant and seeds 0, 1, 2: Rank-1 6.0-8.0× chance, "
                           "mAP 22.0-26.0 %; this run lies within those ranges in both. Its preset trains the same "
                           "settings. A seed does not fix a run exactly")
    outside = committed_range_text(with_metrics(30.0, 24.0), "all_single", same, ABLATION)
    assert "lies above that range in Rank-1 and within it in mAP." in outside
    assert "a run outside the seeds' range means an unusual draw" in outside
    below = committed_range_text(with_metrics(10.0, 10.0), "all_single", same, ABLATION)
    assert "below those ranges in both. Its preset trains the same settings: a run outside" in below


def test_a_preset_that_trains_other_settings_need_not_agree_with_the_seeds():
    cfg = resolve_config("synthetic_jd_all_ts", {"reid.lambda_id": 2.0, "reid.lambda_tri": 2.0, "reid.margin": 0.5,
                                                 "ts.alpha_c": 0.1, "ts.alpha_s": 0.1, "gan.omega": 5.0,
                                                 "reid.label_smoothing": 0.0})
    text = committed_range_text(RESULTS, "all_single", cfg, ABLATION)
    assert ("differs from that one in 7 trained setting(s) (reid.lambda_id, reid.lambda_tri, reid.margin, "
            "reid.label_smoothing, ts.alpha_c, ts.alpha_s, ...), so the two need not agree.") in text
    one = committed_range_text(RESULTS, "all_single", resolve_config("synthetic_jd_all_ts", {"gan.omega": 5.0}),
                               ABLATION)
    assert "in 1 trained setting(s) (gan.omega), so" in one


def test_the_checks_add_the_seeds_only_where_the_ablation_has_the_variant(tmp_path):
    cfg = resolve_config("synthetic_jd_all_ts")
    assert checks_text(RESULTS, "all_single", cfg, 5.0, 20.0).count("\n\n") == 1
    assert checks_text(RESULTS, "all_single", cfg, 5.0, 20.0, ABLATION).count("\n\n") == 2
    od = cfg.replace(variant="od_all_ts")
    assert committed_range_text(RESULTS, "all_single", od, ABLATION) == ""
    assert checks_text(RESULTS, "all_single", od, 5.0, 20.0, ABLATION).count("\n\n") == 1
    assert committed_ablation(tmp_path / "none.json") is None
    ABLATION.to_json(tmp_path / "a.json", orient="records")
    assert committed_ablation(tmp_path / "a.json")["seed"].tolist() == [2, 0, 1, 0]


# --- the checkpoint and running it again -------------------------------------------------------------------------

CKPT = {"student": {"w": torch.zeros(1000, 1000), "b": torch.zeros(100_000)}, "cyclegan": None,
        "optimizers": {"b": {}, "g": {}, "d": {}}, "scheduler": {"last_epoch": 4, "_last_lr": [0.0003]},
        "guard": {"b": {}, "g": {}, "d": {}}, "progress": {"epoch": 4, "global_step": 120, "epoch_sums": {}},
        "rng": [{"python": 0, "numpy": 0, "torch": 0}], "meta": {"variant": "backbone", "reid.margin": 0.3}}


def test_the_checkpoint_content_says_what_each_entry_holds():
    content = checkpoint_content(CKPT)["content"]
    assert content["student"] == "FE_S + LE_S + classifier: 2 tensors, 1.1 M values"
    assert content["cyclegan"] == "— (no GAN in this variant)"
    assert content["optimizers"] == "Adam states of O_B, O_G, O_D"
    assert content["scheduler"] == "O_B's lr schedule after 4 epoch(s), lr [0.0003]"
    assert content["guard"] == "the non-finite guard's GradScaler states: b, g, d"
    assert content["progress"] == "epoch 4, global_step 120"
    assert content["rng"] == "1 process(es): python, numpy, torch generator states"
    assert content["meta"] == "2 settings that change what is trained (compared on resume)"
    gan = checkpoint_content({**CKPT, "cyclegan": {"g": torch.zeros(2_430_000)}})["content"]
    assert gan["cyclegan"] == "G_I, G_R, D_I, D_R: 1 tensors, 2.43 M values"
    assert checkpoint_files_text(159 * 2**20 + 1000, 43 * 2**20) == (
        "`checkpoint.pt`: 159 MB; `backbone.pt` (what testing loads): 43 MB.")


def test_the_rerun_commands_carry_the_overrides_in_each_syntax():
    assert rerun_commands("demo", {}, Path("/x/runs/demo")) == [
        "papermill notebooks/04_train.ipynb runs/demo.ipynb -p preset demo", "python -m tsgan_lib train -f demo",
        "torchrun --nproc_per_node 4 -m tsgan_lib train -f demo", "python -m tsgan_lib evaluate /x/runs/demo"]
    lines = rerun_commands("demo", {"ts.alpha_c": 0.6, "teacher.schedule.milestones": [9, 18],
                                    "run.dir": "runs/demo_alpha"}, Path("/x/runs/demo_alpha"))
    assert lines[0] == ("papermill notebooks/04_train.ipynb runs/demo_alpha.ipynb -p preset demo -y '{overrides: "
                        "{ts.alpha_c: 0.6, teacher.schedule.milestones: [9,18], run.dir: runs/demo_alpha}}'")
    sets = " --set ts.alpha_c=0.6 teacher.schedule.milestones=[9,18] run.dir=runs/demo_alpha"
    assert lines[1] == "python -m tsgan_lib train -f demo" + sets
    assert lines[2] == "torchrun --nproc_per_node 4 -m tsgan_lib train -f demo" + sets


@pytest.mark.parametrize("overrides", [None, {}])
def test_no_overrides_add_no_flags(overrides):
    assert all("--set" not in line and "-y" not in line for line in rerun_commands("p", overrides, "runs/r"))
