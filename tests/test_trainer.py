"""The full training run: run folder, checkpoints, resuming, the non-finite guard, results.

The runs here are tiny (tests/tinyrun.py: 64x32 images, a 24-identity stand-in,
a 4-channel generator) so that complete trainings take seconds on a CPU; they
exercise the real code path of notebook 04 and the command line.
"""

from __future__ import annotations

import json
import os
import signal

import numpy as np
import pytest
import torch

from tinyrun import quiet, tiny
from tsgan_lib.eval.metrics import chance_rank1
from tsgan_lib.files import load_backbone, load_weights
from tsgan_lib.report import evaluate_run, read_metrics
from tsgan_lib.report.runs import save_loss_curves
from tsgan_lib.train import NonFiniteLossError, train
from tsgan_lib.train.trainer import amp_dtype_for


def state_of(run_dir):
    return load_weights(os.path.join(run_dir, "checkpoint.pt"))


def test_amp_choice_is_off_on_cpu():
    assert amp_dtype_for("auto", torch.device("cpu")) is None and amp_dtype_for("bf16", torch.device("cpu")) is None


def test_chance_rank1_hand_case():
    # query 0 (cam 3): cam2 gallery ignored -> 1 match among 2 kept; query 1 (cam 6): 2 matches among 4
    q_pids, q_cams = np.array([1, 2]), np.array([3, 6])
    g_pids, g_cams = np.array([1, 1, 2, 2]), np.array([1, 2, 4, 5])
    assert chance_rank1(q_pids, g_pids, q_cams, g_cams) == pytest.approx((1 / 3 + 2 / 4) / 2)
    assert chance_rank1(q_pids, g_pids) == pytest.approx((2 / 4 + 2 / 4) / 2)


# ---- runs -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("runs")
    cfg = tiny(tmp, "full")
    info = train(cfg, log=quiet)
    return tmp, cfg, info


@pytest.mark.slow
def test_run_folder_contents(full_run):
    tmp, cfg, info = full_run
    run = cfg.run_dir
    for name in ("config.json", "metrics.jsonl", "teacher.pt", "checkpoint.pt", "backbone.pt", "train_info.json"):
        assert (run / name).is_file(), name
    assert not (run / "loss_curves.png").exists()  # a figure: the report layer draws it (tsgan train does, via run())
    save_loss_curves(run, log=quiet)
    assert (run / "loss_curves.png").stat().st_size > 0
    assert not (run / "teacher_checkpoint.pt").exists()  # the teacher's resumable state, gone once teacher.pt exists
    assert not (run / ".lock").exists()  # released when the run ends
    assert info.epochs_done == 2 and info.teacher_seconds > 0 and info.teacher_source == "pretrained in this run"
    assert set(info.teacher_quality) >= {"ir_R1", "ir_mAP"} and 0 <= info.teacher_quality["ir_R1"] <= 100
    assert (tmp / "teacher.pt").is_file()  # shared for later runs
    steps = read_metrics(run)
    epochs = read_metrics(run, "epoch")
    assert list(epochs["epoch"]) == [0, 1] and epochs["steps"].sum() == info.global_step
    assert steps["global_step"].is_monotonic_increasing and steps["global_step"].iloc[-1] == info.global_step
    for term in ("g_cyc", "reid_id", "reid_tri", "reid_gan", "ts_cd", "ts_real_ir", "ts_fake_ir", "d_ir_real"):
        assert term in steps and np.isfinite(steps[term]).all()
    # warm-up then the milestone: lr of epoch 0 = lr * 0.1, epoch 1 = lr * 0.3 (gamma) after milestone 1
    assert epochs["lr"].tolist() == pytest.approx([1e-4, 1e-3 * 0.3])
    model, record = load_backbone(run)
    assert record.settings["variant"] == "jd_all_ts" and (record.settings["height"], record.settings["width"]) == (64, 32)
    assert record.data["dataset"] == "sysu" and info.skipped_steps == 0


@pytest.mark.slow
def test_finished_run_is_not_retrained(full_run):
    tmp, cfg, info = full_run
    before = state_of(cfg.run_dir)["student"]
    again = train(cfg, log=quiet)
    assert again.global_step == info.global_step and again.resumed_from_step == info.global_step
    after = state_of(cfg.run_dir)["student"]
    assert all(torch.equal(before[k], after[k]) for k in before)


@pytest.mark.slow
def test_interrupted_run_resumes_to_the_same_weights(full_run):
    tmp, cfg_full, info_full = full_run
    cfg = tiny(tmp, "interrupted")
    stop_at = info_full.global_step // 2 + 1  # inside the second epoch

    def interrupt(global_step, info):
        if global_step == stop_at:
            os.kill(os.getpid(), signal.SIGINT)  # what Ctrl-C / Jupyter's interrupt sends

    with pytest.raises(KeyboardInterrupt):
        train(cfg, on_step=interrupt, log=quiet)
    ckpt = state_of(cfg.run_dir)
    assert ckpt["progress"]["global_step"] == stop_at and ckpt["progress"]["epoch"] == 1
    assert 0 < ckpt["progress"]["step_in_epoch"]
    assert not (cfg.run_dir / "backbone.pt").exists()

    resumed = train(cfg, log=quiet)
    assert resumed.resumed_from_step == stop_at and resumed.global_step == info_full.global_step
    a, b = state_of(cfg_full.run_dir), state_of(cfg.run_dir)
    for part in ("student", "cyclegan"):
        for k, v in a[part].items():
            assert torch.equal(v, b[part][k]), f"{part}.{k} differs after resuming"
    steps = read_metrics(cfg.run_dir)
    assert steps["global_step"].is_unique and steps["global_step"].iloc[-1] == info_full.global_step


@pytest.mark.slow
def test_resume_refuses_other_settings_and_restarts_when_asked(full_run):
    tmp, cfg, _ = full_run
    with pytest.raises(ValueError, match=r"holds a run with other settings \(reid.lambda_id: 3.0 -> 1.0\)"):
        train(cfg.replace(reid__lambda_id=1.0), log=quiet)
    fresh = train(cfg.replace(run__dir=str(tmp / "fresh"), schedule__epochs=1, schedule__milestones=[],
                              variant="backbone"), log=quiet)
    assert fresh.teacher_source.startswith("none") and fresh.teacher_seconds == 0
    restarted = train(cfg.replace(run__dir=str(tmp / "fresh"), schedule__epochs=1, schedule__milestones=[],
                                  variant="backbone", run__resume=False), log=quiet)
    assert restarted.resumed_from_step is None and restarted.global_step == fresh.global_step


@pytest.mark.slow
def test_teacher_from_other_data_or_recipe_is_not_reused(full_run):
    tmp, cfg, _ = full_run
    one = {"schedule__epochs": 1, "schedule__milestones": []}
    other = train(cfg.replace(run__dir=str(tmp / "other"), data__synthetic__seed=1, variant="od_single_ts", **one),
                  log=quiet)
    assert other.teacher_source == "pretrained in this run" and other.teacher_seconds > 0
    recipe = train(cfg.replace(run__dir=str(tmp / "recipe"), teacher__lr=2e-3, variant="od_single_ts", **one),
                   log=quiet)
    assert recipe.teacher_source == "pretrained in this run"
    reused = train(cfg.replace(run__dir=str(tmp / "reuse"), variant="od_all_ts", **one), log=quiet)
    assert reused.teacher_source == str(tmp / "teacher.pt") and reused.teacher_seconds == 0
    assert reused.teacher_quality == train(cfg, log=quiet).teacher_quality  # reported wherever it is used


@pytest.mark.slow
def test_evaluate_run_writes_results(full_run):
    tmp, cfg, info = full_run
    results, df = evaluate_run(cfg.run_dir, device="cpu")
    saved = json.loads((cfg.run_dir / "results.json").read_text())
    assert saved["variant"] == "jd_all_ts" and saved["dataset"].startswith("synthetic SYSU-MM01 stand-in")
    for key in ("all_single", "indoor_single"):
        assert set(saved["metrics"][key]) == {"R1", "R10", "R20", "mAP", "mINP"}
    assert 0 < saved["chance_R1"] < 100 and saved["trials"] == 2 and len(df) == 4
    assert saved["train_seconds"] == pytest.approx(info.train_seconds, abs=1e-2)
    assert set(saved["untrained"]) == {"all_single"}
    assert saved["teacher_quality"] == info.teacher_quality  # the run's teacher, as the run measured it


# ---- the non-finite guard --------------------------------------------------------------------
@pytest.mark.slow
def test_a_nan_loss_skips_the_update_and_too_many_stop_the_run(tmp_path, monkeypatch):
    """Steps 4-5 of a backbone run get a NaN ID loss: both are skipped (weights
    untouched), counted in the log, and training goes on; from step 9 on every
    loss is NaN and the run stops after 3 in a row, naming the term, with a
    checkpoint of the last good weights."""
    import tsgan_lib.train.steps as steps

    real_id_loss = steps.id_loss
    calls = {"n": 0}
    poisoned = {4, 5} | set(range(9, 10_000))

    def id_loss(*args, **kwargs):
        calls["n"] += 1
        loss = real_id_loss(*args, **kwargs)
        return loss * float("nan") if calls["n"] in poisoned else loss

    monkeypatch.setattr(steps, "id_loss", id_loss)
    cfg = tiny(tmp_path, "nan", variant="backbone", schedule__epochs=3, schedule__milestones=[], run__log_every=1,
               run__max_nonfinite=3)
    with pytest.raises(NonFiniteLossError, match=r"3 steps in a row had non-finite losses or gradients .*"
                                                 r"non-finite terms: reid_id.*holds the last good weights"):
        train(cfg, log=quiet)
    log = read_metrics(cfg.run_dir)
    skipped = log[log["skipped"].fillna(0) > 0]
    assert skipped["global_step"].tolist()[:2] == [4, 5] and skipped["global_step"].tolist()[2:] == [9, 10, 11]
    assert np.isfinite(log[log["global_step"] < 9]["reid_tri"]).all()
    ckpt = load_weights(cfg.run_dir / "checkpoint.pt")
    assert ckpt["progress"]["global_step"] == 11 and ckpt["progress"]["skipped"] == 5
    assert all(torch.isfinite(v).all() for v in ckpt["student"].values() if v.is_floating_point())


@pytest.mark.slow
def test_skipped_steps_leave_the_weights_untouched(tmp_path, monkeypatch):
    import tsgan_lib.train.steps as steps

    real_id_loss, calls = steps.id_loss, {"n": 0}

    def id_loss(*args, **kwargs):
        calls["n"] += 1
        loss = real_id_loss(*args, **kwargs)
        return loss * float("inf") if calls["n"] > 2 else loss

    cfg = tiny(tmp_path, "inf", variant="backbone", schedule__epochs=1, schedule__milestones=[], run__log_every=1,
               run__max_nonfinite=1000, run__checkpoint_every=2)
    monkeypatch.setattr(steps, "id_loss", id_loss)
    saved = {}

    def keep(global_step, info):  # the checkpoint of step 2 (good), then of step 6 (after 4 skipped steps)
        if global_step in (4, 8):
            saved[global_step] = load_weights(cfg.run_dir / "checkpoint.pt")

    train(cfg, on_step=keep, log=quiet)
    a, b = saved[4], saved[8]
    assert (a["progress"]["global_step"], b["progress"]["global_step"], b["progress"]["skipped"]) == (2, 6, 4)
    trainable = [k for k, v in a["student"].items() if "running" not in k and "num_batches" not in k]
    assert all(torch.equal(a["student"][k], b["student"][k]) for k in trainable)
    assert a["optimizers"]["b"]["state"][0]["step"] == b["optimizers"]["b"]["state"][0]["step"]
