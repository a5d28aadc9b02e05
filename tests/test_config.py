"""The composed configuration: defaults, overrides by dotted name, presets, errors, old config.json files."""

from __future__ import annotations

import json

import pytest

from tsgan_lib.train import ConfigError, TrainConfig, load_config, needs_teacher, resolve_config, step_config
from tsgan_lib.train.config import (FIELD_TYPES, PARAMS_DIR, changes_what_is_trained, describe_settings, read_preset)


def test_config_defaults_are_the_papers():
    c = TrainConfig()
    assert (c.model.depth, c.model.pretrained, c.data.height, c.data.width, c.data.P, c.data.K) == \
        (50, True, 288, 144, 8, 4)
    assert (c.schedule.epochs, c.optim.lr_backbone, c.optim.weight_decay, c.schedule.warmup_epochs,
            c.schedule.milestones, c.schedule.gamma) == (120, 3.5e-4, 5e-4, 10, (40, 70), 0.3)
    assert (c.reid.lambda_id, c.reid.lambda_tri, c.reid.lambda_gan, c.reid.margin, c.ts.alpha_s, c.ts.alpha_c,
            c.gan.omega) == (3.0, 1.0, 0.1, 0.3, 0.003, 0.006, 10.0)
    assert (c.optim.lr_gan, c.optim.betas_gan) == (2e-4, (0.5, 0.999))
    # the teacher: the strong baseline's recipe, its learning rate the student's (stated once, in OptimConfig)
    assert (c.teacher.lr, c.teacher.schedule.gamma, c.teacher.loss.lambda_id) == (3.5e-4, 0.1, 1.0)
    s = step_config(c)
    assert s.use_gan and s.joint_disc and s.ts.use_cross_domain and s.ts.use_same_domain
    assert s.reid.lambda_id == 3.0 and s.ts.alpha_c == 0.006 and s.gan.omega == 10.0
    assert TrainConfig().data.crop_pad == 10 and resolve_config(None, {"data.width": 32}).data.crop_pad == 2


def test_alpha_c_from_every_source_reaches_the_step():
    from_dict = resolve_config(None, {"ts.alpha_c": 0.01})
    from_nested = resolve_config(None, {"ts": {"alpha_c": 0.01}})
    from_cli = resolve_config(None, ["ts.alpha_c=0.01"])
    assert from_dict == from_nested == from_cli
    assert step_config(from_cli).ts.alpha_c == 0.01
    assert from_cli.replace(ts__alpha_c=0.02).ts.alpha_c == 0.02


def test_command_line_strings_are_parsed_to_the_settings_types():
    c = resolve_config(None, ["schedule.milestones=[2, 3]", "schedule.epochs=4", "schedule.warmup_epochs=1",
                              "model.pretrained=false", "data.pad=None", "eval.modes=all", "optim.lr_backbone=1e-3",
                              "run.dir=2024", "optim.betas_gan=[0.9, 0.99]"])
    assert c.schedule.milestones == (2, 3) and c.schedule.epochs == 4 and c.model.pretrained is False
    assert c.data.pad is None and c.eval.modes == ("all",) and c.optim.lr_backbone == 1e-3
    assert c.run.dir == "2024" and c.optim.betas_gan == (0.9, 0.99)


@pytest.mark.parametrize("overrides,words", [
    ({"ts.alpah_c": 1}, ["unknown setting 'ts.alpah_c'", "ts.alpha_c"]),
    ({"epochs": 3}, ["unknown setting 'epochs'", "schedule.epochs"]),
    ({"lambda1": 3}, ["unknown setting 'lambda1'", "reid.lambda_id"]),
    (["schedule.epochs=ten"], ["schedule.epochs='ten'", "expected an integer"]),
    ({"model.pretrained": "maybe"}, ["model.pretrained='maybe'", "true or false"]),
    ({"variant": "jd_all"}, ["variant='jd_all'", "did you mean 'jd_all_ts'"]),
    ({"run.amp": "fp8"}, ["run.amp='fp8'", "one of"]),
    ({"data.P": 1}, ["data.P=1", "at least 2"]),
    ({"data.K": 0}, ["data.K=0", "positive"]),
    ({"data.height": 100}, ["data.height=100", "multiple of 16"]),
    ({"data.width": 16}, ["data.width=16", "at least 32"]),
    ({"data.pad": -2}, ["data.pad=-2", "non-negative"]),
    ({"model.depth": 101}, ["model.depth=101", "one of"]),
    ({"schedule.epochs": 4}, ["schedule.milestones=[40, 70]", "would never happen"]),
    ({"teacher.schedule.milestones": [200]}, ["teacher.schedule.milestones=[200]", "1..119"]),
    ({"eval.shots": [3]}, ["eval.shots=[3]", "subset"]),
    ({"run.device": "gpu"}, ["run.device='gpu'", "'cuda:N'"]),
    ({"data.synthetic.num_ids": 3}, ["data.synthetic", "num_ids"]),
    (["ts.alpha_c"], ["expected name=value"]),
])
def test_bad_settings_are_named_with_what_was_expected(overrides, words):
    with pytest.raises(ConfigError) as err:
        resolve_config(None, overrides)
    for w in words:
        assert w in str(err.value), str(err.value)


def test_every_setting_has_a_type_and_a_place():
    assert "ts.alpha_c" in FIELD_TYPES and "teacher.schedule.epochs" in FIELD_TYPES
    assert not changes_what_is_trained("run.dir") and not changes_what_is_trained("eval.trials")
    assert changes_what_is_trained("ts.alpha_c") and changes_what_is_trained("run.seed")
    text = describe_settings()
    assert "ts.alpha_c = 0.006    # α_c, cross-domain loss (15)" in text
    assert len(text.splitlines()) == len(FIELD_TYPES)


def test_presets_inherit_from_their_base(tmp_path):
    (tmp_path / "family.yaml").write_text("schedule: {epochs: 7, warmup_epochs: 2, milestones: [3]}\n"
                                          "model: {depth: 34}\n")
    (tmp_path / "row.yaml").write_text("base: family.yaml\nvariant: backbone\nschedule: {epochs: 9}\n")
    c = resolve_config(tmp_path / "row.yaml", {"model.depth": 18})
    assert (c.schedule.epochs, c.schedule.milestones, c.model.depth, c.variant) == (9, (3,), 18, "backbone")
    assert [p.name for p, _ in read_preset(tmp_path / "row.yaml")] == ["family.yaml", "row.yaml"]
    (tmp_path / "loop.yaml").write_text("base: loop.yaml\n")
    with pytest.raises(ConfigError, match="loops"):
        resolve_config(tmp_path / "loop.yaml")
    (tmp_path / "bad.yaml").write_text("schedule: {epochz: 1}\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: unknown setting 'schedule.epochz'; did you mean schedule.epochs"):
        resolve_config(tmp_path / "bad.yaml")
    with pytest.raises(ConfigError, match="did you mean demo"):
        resolve_config("dmeo")


def test_every_preset_is_valid_and_the_rows_differ_only_in_their_variant():
    names = sorted(p.stem for p in PARAMS_DIR.glob("*.yaml"))
    for name in names:  # every file resolves and validates (e.g. a base's milestones fit a row's shorter schedule)
        resolve_config(name)
    for family in ("sysu", "synthetic", "regdb"):
        base = resolve_config(family)
        for variant in ("backbone", "od_single_ts", "od_all_ts", "jd_all_ts"):
            assert f"{family}_{variant}" in names
            row = resolve_config(f"{family}_{variant}")
            assert row.variant == variant and row.run_dir.name == f"{family}_{variant}"
            assert set(row.diff(base)) <= {"variant"}, row.diff(base)
            assert len(read_preset(f"{family}_{variant}")[-1][1]) == 1  # one small file per row: its variant
    sysu = resolve_config("sysu_jd_all_ts")
    assert not {k for k in sysu.diff() if not k.startswith(("data.root", "run.", "teacher.path", "eval.", "variant"))}
    assert sysu.data.crop_pad == 10 and resolve_config("synthetic_backbone").data.crop_pad == 2
    demo = resolve_config("demo")
    assert demo.variant == "jd_all_ts" and demo.run_dir.name == "demo" and demo.data.root is None
    assert demo.diff(resolve_config("synthetic_jd_all_ts")) == {}
    regdb = resolve_config("synthetic_regdb")
    assert regdb.data.dataset == "regdb" and regdb.teacher.path is None


def test_saved_configs_round_trip_and_old_flat_ones_still_load(tmp_path):
    c = resolve_config("demo", {"run.seed": 3})
    (tmp_path / "config.json").write_text(json.dumps(c.to_dict()))
    assert load_config(tmp_path / "config.json") == c
    # a config.json of the first layout (flat names), written before `pad` existed (10 px at any size)
    old = {"data_root": None, "num_ids": 160, "data_seed": 0, "height": 64, "width": 32, "P": 8, "K": 4,
           "workers": 0, "variant": "od_all_ts", "depth": 18, "pretrained": False, "ngf": 8, "n_blocks": 2,
           "ndf": 32, "gan_mode": "vanilla", "lambda1": 3.0, "lambda2": 1.0, "lambda3": 0.1, "margin": 0.3,
           "label_smoothing": 0.1, "alpha_s": 0.003, "alpha_c": 0.006, "omega": 10.0, "epochs": 4, "lr": 0.001,
           "weight_decay": 0.0005, "warmup_epochs": 0, "warmup_start": 0.1, "milestones": [3], "gamma": 0.3,
           "lr_gan": 0.0002, "beta1_gan": 0.5, "beta2_gan": 0.999, "teacher_path": "runs/teacher/t.pt",
           "teacher_epochs": 3, "teacher_lr": 0.001, "teacher_warmup_epochs": 0, "teacher_milestones": [],
           "teacher_gamma": 0.1, "run_dir": "runs/old", "device": "auto", "amp": "auto", "channels_last": True,
           "threads": 0, "seed": 1, "log_every": 10, "checkpoint_every": 0, "resume": True, "progress": True,
           "eval_modes": ["all", "indoor"], "eval_shots": [1], "eval_trials": 10, "eval_rerank": False,
           "eval_batch_size": 128, "eval_rand_perm": None, "params": "synthetic_od_all_ts"}
    (tmp_path / "old.json").write_text(json.dumps(old))
    o = load_config(tmp_path / "old.json")
    assert (o.variant, o.data.pad, o.data.crop_pad, o.schedule.epochs, o.reid.lambda_id, o.run.seed) == \
        ("od_all_ts", 10, 10, 4, 3.0, 1)
    assert (o.teacher.schedule.epochs, o.teacher.lr, o.optim.betas_gan, o.preset) == \
        (3, 0.001, (0.5, 0.999), "synthetic_od_all_ts")
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(ValueError, match="broken.json is not valid JSON"):
        load_config(tmp_path / "broken.json")


def test_variants_map_to_table2_and_teacher_needs():
    assert not needs_teacher(resolve_config(None, {"variant": "backbone"}))
    assert needs_teacher(resolve_config(None, {"variant": "od_single_ts"}))
    od = step_config(resolve_config(None, {"variant": "od_single_ts"}))
    assert not od.joint_disc and od.ts.use_cross_domain and not od.ts.use_same_domain
    assert not step_config(resolve_config(None, {"variant": "backbone"})).use_gan
    # the row switches off what it lacks; ts.use_* can switch off more, never switch a row's term back on
    assert not step_config(resolve_config(None, {"ts.use_cross_domain": False})).ts.use_cross_domain
    assert not step_config(resolve_config(None, {"variant": "od_single_ts", "ts.use_same_domain": True})) \
        .ts.use_same_domain


def test_the_data_functions_keyword_defaults_equal_data_config():
    """The public data functions keep keyword defaults (a student calls them alone); they must be DataConfig's."""
    import inspect

    from tsgan_lib.data import build_train_loader, build_transform
    from tsgan_lib.data.config import DataConfig
    from tsgan_lib.data.sampler import CrossModalityIdentitySampler
    from tsgan_lib.data.tensor_pipeline import build_tensor_train_loader

    d = DataConfig()
    for fn in (build_transform, build_train_loader, CrossModalityIdentitySampler.__init__, build_tensor_train_loader):
        params = inspect.signature(fn).parameters
        for name in ("height", "width", "P", "K"):
            if name in params and params[name].default is not inspect.Parameter.empty:
                assert params[name].default == getattr(d, name), (fn.__qualname__, name)


def test_a_stand_ins_settings_concern_only_runs_on_that_stand_in():
    from tsgan_lib.train.config import concerns, resolve_config

    sysu, regdb = resolve_config("demo"), resolve_config("synthetic_regdb")
    assert concerns(sysu, "data.synthetic.num_ids") and not concerns(sysu, "data.synthetic_regdb.num_ids")
    assert concerns(regdb, "data.synthetic_regdb.num_ids") and not concerns(regdb, "data.synthetic.num_ids")
    assert not concerns(sysu, "data.synthetic_llcm.seed") and concerns(sysu, "reid.lambda_id")
    real = resolve_config("demo", {"data.root": "/data/SYSU-MM01"})
    assert not concerns(real, "data.synthetic.num_ids")
