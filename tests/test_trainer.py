"""The full training run: configuration, checkpoints, resuming, results.

The runs here are tiny (64x32 images, a 24-identity stand-in, a generator
with 4 channels) so that two complete trainings take seconds on a CPU; they
exercise the real code path of ``notebooks/04_train.ipynb``.
"""

from __future__ import annotations

import json
import os
import signal

import numpy as np
import pytest
import torch

from tsgan_lib.eval.metrics import chance_rank1
from tsgan_lib.train import (TrainConfig, evaluate_run, load_backbone, load_weights, config_from_namespace,
                             read_metrics, read_preset, save_atomic, train)
from tsgan_lib.train.checkpoint import rng_state, set_rng_state
from tsgan_lib.train.config import load_config
from tsgan_lib.train.trainer import amp_dtype_for, needs_teacher, step_config, teacher_mismatch
from tsgan_lib.utils import REPO_ROOT as PARAMS_DIR_PARENT


def tiny(tmp_path, name: str, **kw) -> TrainConfig:
    base = dict(num_ids=24, depth=18, pretrained=False, height=64, width=32, P=4, K=2, ngf=4, n_blocks=1, ndf=8,
                epochs=2, lr=1e-3, warmup_epochs=1, milestones=(1,), teacher_epochs=1, teacher_lr=1e-3,
                teacher_warmup_epochs=0, teacher_milestones=(), teacher_path=str(tmp_path / "teacher.pt"),
                run_dir=str(tmp_path / name), threads=2, log_every=3, progress=False, eval_trials=2)
    base.update(kw)
    return TrainConfig(**base)


def quiet(msg: str) -> None:
    pass


def state_of(run_dir):
    ckpt = load_weights(os.path.join(run_dir, "checkpoint.pt"))
    return ckpt


# ---- configuration ----------------------------------------------------------------------------
def test_config_defaults_are_the_papers():
    c = TrainConfig()
    assert (c.depth, c.pretrained, c.height, c.width, c.P, c.K, c.epochs) == (50, True, 288, 144, 8, 4, 120)
    assert (c.lr, c.weight_decay, c.warmup_epochs, c.milestones, c.gamma) == (3.5e-4, 5e-4, 10, (40, 70), 0.3)
    assert (c.lambda1, c.lambda2, c.lambda3, c.margin, c.alpha_s, c.alpha_c, c.omega) == (3.0, 1.0, 0.1, 0.3,
                                                                                          0.003, 0.006, 10.0)
    assert (c.lr_gan, c.beta1_gan, c.beta2_gan) == (2e-4, 0.5, 0.999)
    s = step_config(c)
    assert s.use_gan and s.joint_disc and s.ts.use_cross_domain and s.ts.use_same_domain
    assert s.reid.lambda_id == 3.0 and s.ts.alpha_c == 0.006 and s.gan.omega == 10.0


@pytest.mark.parametrize("field,value,words", [("variant", "jd", "variant"), ("depth", 101, "depth"),
                                               ("height", 100, "multiples of 16"), ("P", 1, "P"),
                                               ("amp", "fp8", "amp"), ("eval_shots", (3,), "eval_shots"),
                                               ("pad", -2, "pad")])
def test_config_rejects_bad_values_naming_the_field(field, value, words):
    with pytest.raises(ValueError, match=words):
        TrainConfig(**{field: value})


def test_config_roundtrip_and_diff():
    c = TrainConfig(epochs=3, milestones=(1, 2))
    assert TrainConfig.from_dict(json.loads(json.dumps(c.to_dict()))) == c
    assert c.diff() == {"epochs": (120, 3), "milestones": ([40, 70], [1, 2])}
    with pytest.raises(ValueError, match="unknown TrainConfig field"):
        TrainConfig.from_dict({"epoch": 3})


def test_crop_padding_field_and_configs_saved_before_it(tmp_path):
    assert TrainConfig().crop_pad == 10 and TrainConfig(height=64, width=32).crop_pad == 2
    assert TrainConfig(height=64, width=32, pad=5).crop_pad == 5
    old = TrainConfig(height=64, width=32).to_dict()
    del old["pad"]  # a config.json written before the field existed: those runs used 10 px
    (tmp_path / "config.json").write_text(json.dumps(old))
    assert load_config(tmp_path / "config.json").crop_pad == 10
    cfg = TrainConfig(height=64, width=32)
    saved = {"depth": 50, "num_classes": 7, "height": 64, "width": 32, "data": "synthetic", "num_ids": 160,
             "data_seed": 0}
    assert "crop padding 10 px, this run needs 2" in teacher_mismatch(saved, cfg, 7)
    assert teacher_mismatch({**saved, "pad": 2}, cfg, 7) is None


def test_variants_map_to_table2_and_teacher_needs():
    assert not needs_teacher(TrainConfig(variant="backbone"))
    assert needs_teacher(TrainConfig(variant="od_single_ts"))
    od = step_config(TrainConfig(variant="od_single_ts"))
    assert not od.joint_disc and od.ts.use_cross_domain and not od.ts.use_same_domain
    assert not step_config(TrainConfig(variant="backbone")).use_gan


def test_amp_choice_is_off_on_cpu():
    assert amp_dtype_for(TrainConfig(), torch.device("cpu")) is None


def test_presets_and_notebook_parameter_precedence(tmp_path):
    preset = tmp_path / "p.yaml"
    preset.write_text("epochs: 7\ndepth: 34\nvariant: backbone\n")
    # the notebook's globals: epochs set explicitly, depth left at None, an unrelated variable
    namespace = {"params": str(preset), "epochs": 2, "depth": None, "np": np, "lr": 0.01}
    cfg = config_from_namespace(namespace)
    assert (cfg.epochs, cfg.depth, cfg.variant, cfg.lr, cfg.height) == (2, 34, "backbone", 0.01, 288)
    assert config_from_namespace({"params": None, "epochs": None}).epochs == 120
    bad = tmp_path / "bad.yaml"
    bad.write_text("epochz: 1\n")
    with pytest.raises(ValueError, match="bad.yaml"):
        read_preset(str(bad))
    with pytest.raises(FileNotFoundError, match="no_such_preset"):
        read_preset("no_such_preset")


# ---- checkpoint primitives --------------------------------------------------------------------
def test_rng_state_roundtrip_through_a_weights_only_file(tmp_path):
    import random

    torch.manual_seed(3); np.random.seed(3); random.seed(3)
    path = save_atomic({"rng": rng_state()}, tmp_path / "r.pt")
    a = (torch.rand(3), np.random.rand(3), random.random())
    set_rng_state(load_weights(path)["rng"])
    b = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(a[0], b[0]) and np.array_equal(a[1], b[1]) and a[2] == b[2]


def test_save_atomic_keeps_the_old_file_when_a_write_fails(tmp_path):
    path = save_atomic({"x": torch.ones(2)}, tmp_path / "c.pt")

    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        save_atomic({"x": Unpicklable()}, path)
    assert torch.equal(load_weights(path)["x"], torch.ones(2))
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]  # no temporary file left


class _Evil:
    def __reduce__(self):
        return (os.system, ("true",))


def test_load_weights_refuses_pickled_code(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"payload": _Evil()}, path)
    with pytest.raises(RuntimeError, match="weights-only"):
        load_weights(path)
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        load_weights(tmp_path / "missing.pt")


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


def test_run_folder_contents(full_run):
    tmp, cfg, info = full_run
    run = cfg.resolved_run_dir
    for name in ("config.json", "metrics.jsonl", "teacher.pt", "checkpoint.pt", "backbone.pt", "loss_curves.png",
                 "train_info.json"):
        assert (run / name).is_file(), name
    assert not (run / "teacher_checkpoint.pt").exists()  # the teacher's resumable state, gone once teacher.pt exists
    assert info.epochs_done == 2 and info.teacher_seconds > 0 and info.teacher_source == "pretrained in this run"
    assert (tmp / "teacher.pt").is_file()  # shared for later runs
    steps = read_metrics(run)
    epochs = read_metrics(run, "epoch")
    assert list(epochs["epoch"]) == [0, 1] and epochs["steps"].sum() == info.global_step
    assert steps["global_step"].is_monotonic_increasing and steps["global_step"].iloc[-1] == info.global_step
    for term in ("g_cyc", "reid_id", "reid_tri", "reid_gan", "ts_cd", "ts_real_ir", "ts_fake_ir", "d_ir_real"):
        assert term in steps and np.isfinite(steps[term]).all()
    # warm-up then the milestone: lr of epoch 0 = lr * 0.1, epoch 1 = lr * 0.3 (gamma) after milestone 1
    assert epochs["lr"].tolist() == pytest.approx([1e-4, 1e-3 * 0.3])
    model, binfo = load_backbone(run)
    assert binfo["variant"] == "jd_all_ts" and (binfo["height"], binfo["width"]) == (64, 32)


def test_finished_run_is_not_retrained(full_run):
    tmp, cfg, info = full_run
    before = state_of(cfg.resolved_run_dir)["student"]
    again = train(cfg, log=quiet)
    assert again.global_step == info.global_step and again.resumed_from_step == info.global_step
    after = state_of(cfg.resolved_run_dir)["student"]
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_interrupted_run_resumes_to_the_same_weights(full_run):
    tmp, cfg_full, info_full = full_run
    cfg = tiny(tmp, "interrupted")
    stop_at = info_full.global_step // 2 + 1  # inside the second epoch

    def interrupt(global_step, info):
        if global_step == stop_at:
            os.kill(os.getpid(), signal.SIGINT)  # what Ctrl-C / Jupyter's interrupt sends

    with pytest.raises(KeyboardInterrupt):
        train(cfg, on_step=interrupt, log=quiet)
    ckpt = state_of(cfg.resolved_run_dir)
    assert ckpt["progress"]["global_step"] == stop_at and ckpt["progress"]["epoch"] == 1
    assert 0 < ckpt["progress"]["step_in_epoch"]
    assert not (cfg.resolved_run_dir / "backbone.pt").exists()

    resumed = train(cfg, log=quiet)
    assert resumed.resumed_from_step == stop_at and resumed.global_step == info_full.global_step
    a, b = state_of(cfg_full.resolved_run_dir), state_of(cfg.resolved_run_dir)
    for part in ("student", "cyclegan"):
        for k, v in a[part].items():
            assert torch.equal(v, b[part][k]), f"{part}.{k} differs after resuming"
    steps = read_metrics(cfg.resolved_run_dir)
    assert steps["global_step"].is_unique and steps["global_step"].iloc[-1] == info_full.global_step


def test_resume_refuses_other_settings_and_restarts_when_asked(full_run):
    tmp, cfg, _ = full_run
    with pytest.raises(ValueError, match="lambda1"):
        train(cfg.replace(lambda1=1.0), log=quiet)
    fresh = train(cfg.replace(run_dir=str(tmp / "fresh"), epochs=1, variant="backbone"), log=quiet)
    assert fresh.teacher_source.startswith("none") and fresh.teacher_seconds == 0
    restarted = train(cfg.replace(run_dir=str(tmp / "fresh"), epochs=1, variant="backbone", resume=False),
                      log=quiet)
    assert restarted.resumed_from_step is None and restarted.global_step == fresh.global_step


def test_teacher_from_other_data_is_not_reused(full_run):
    tmp, cfg, _ = full_run
    other = train(cfg.replace(run_dir=str(tmp / "other"), epochs=1, data_seed=1, variant="od_single_ts"), log=quiet)
    assert other.teacher_source == "pretrained in this run" and other.teacher_seconds > 0
    reused = train(cfg.replace(run_dir=str(tmp / "reuse"), epochs=1, variant="od_all_ts"), log=quiet)
    assert reused.teacher_source == str(tmp / "teacher.pt") and reused.teacher_seconds == 0


def test_evaluate_run_writes_results(full_run):
    tmp, cfg, info = full_run
    results, df = evaluate_run(cfg.run_dir, device="cpu")
    saved = json.loads((cfg.resolved_run_dir / "results.json").read_text())
    assert saved["variant"] == "jd_all_ts" and saved["dataset"].startswith("synthetic")
    for key in ("all_single", "indoor_single"):
        assert set(saved["metrics"][key]) == {"R1", "R10", "R20", "mAP", "mINP"}
    assert 0 < saved["chance_R1"] < 100 and saved["trials"] == 2 and len(df) == 4
    assert saved["train_seconds"] == pytest.approx(info.train_seconds, abs=1e-2)
    assert set(saved["untrained"]) == {"all_single"}


# ---- presets and the notebook's parameters ------------------------------------------------------
def test_every_preset_is_a_valid_config_and_sysu_rows_carry_the_paper_settings():
    from tsgan_lib.train import load_preset
    from tsgan_lib.train.config import PARAMS_DIR

    names = sorted(p.stem for p in PARAMS_DIR.glob("*.yaml"))
    for variant in ("backbone", "od_single_ts", "od_all_ts", "jd_all_ts"):
        assert f"sysu_{variant}" in names and f"synthetic_{variant}" in names
        sysu = load_preset(f"sysu_{variant}")
        assert sysu.variant == variant and sysu.data_root is not None
        assert not {k for k in sysu.diff() if k not in ("data_root", "run_dir", "teacher_path", "checkpoint_every",
                                                         "eval_shots", "eval_rerank", "params", "variant")}
        assert (sysu.depth, sysu.pretrained, sysu.height, sysu.width, sysu.P, sysu.K, sysu.epochs) == \
            (50, True, 288, 144, 8, 4, 120)
        syn = load_preset(f"synthetic_{variant}")
        assert syn.data_root is None and syn.variant == variant
        assert (sysu.crop_pad, syn.crop_pad) == (10, 2)  # the paper's 10 px at 144 wide; 2 px at 64x32
    demo = load_preset("demo")
    assert demo.variant == "jd_all_ts" and demo.run_dir == "runs/demo"
    assert demo.diff(load_preset("synthetic_jd_all_ts")).keys() == {"run_dir", "params"}


def test_notebook_04_parameters_default_to_the_demo_preset():
    import ast

    nb = json.loads((PARAMS_DIR_PARENT / "notebooks" / "04_train.ipynb").read_text())
    cell = next(c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", []))
    namespace = {}
    for node in ast.parse("".join(cell["source"])).body:
        assert isinstance(node, ast.AnnAssign), "the parameters cell holds typed assignments only"
        namespace[node.target.id] = ast.literal_eval(node.value)
    assert namespace["params"] == "demo"
    for name in ("data_root", "variant", "depth", "height", "width", "P", "K", "pad", "epochs", "device", "amp",
                 "workers", "threads", "seed", "run_dir"):
        assert name in namespace and namespace[name] is None, name
    cfg = config_from_namespace(namespace)
    assert cfg.run_dir == "runs/demo" and cfg.variant == "jd_all_ts" and cfg.data_root is None
