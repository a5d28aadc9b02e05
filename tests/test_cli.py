"""The command line: every command's help, train / evaluate / search on a tiny run, errors as messages."""

from __future__ import annotations

import os
import subprocess
import sys

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tinyrun import tiny_settings
from tsgan_lib.cli import main
from tsgan_lib.files import read_network_file


@pytest.mark.parametrize("command", ["train", "evaluate", "ablation", "search", "verify"])
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0 and "usage: tsgan " + command in capsys.readouterr().out


@pytest.mark.slow
def test_the_module_runs_as_a_program():
    done = subprocess.run([sys.executable, "-m", "tsgan_lib", "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "{train,evaluate,ablation,search,verify}" in done.stdout


def test_settings_are_listed_and_bad_ones_are_messages_not_tracebacks(capsys):
    assert main(["train", "-f", "demo", "--list", "--set", "ts.alpha_c=0.01"]) == 0
    out = capsys.readouterr().out
    assert "ts.alpha_c = 0.01    # α_c, cross-domain loss (15)" in out and "data.height = 64" in out
    assert main(["train", "-f", "dmeo"]) == 2
    assert "did you mean demo" in capsys.readouterr().err
    assert main(["train", "--set", "epochs=ten"]) == 2
    assert "unknown setting 'epochs'; did you mean schedule.epochs" in capsys.readouterr().err
    assert main(["train", "--set", "schedule.epochs=ten"]) == 2
    assert "schedule.epochs='ten': expected an integer" in capsys.readouterr().err


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli")
    settings = tiny_settings(tmp, "run", variant="backbone", schedule__epochs=1, schedule__milestones=[])
    assert main(["train", "--set", *(f"{k}={v}" for k, v in settings.items())]) == 0
    return tmp


@pytest.mark.slow
def test_train_then_evaluate(trained, capsys):
    assert (trained / "run" / "results.json").is_file()
    assert main(["evaluate", str(trained / "run"), "--draws", "1", "--no-write", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "all-search, single-shot" in out and "chance (random ranking)" in out and "untrained backbone" in out


@pytest.mark.slow
def test_evaluate_prints_the_table_before_it_fails_to_write(trained, monkeypatch, capsys):
    """A read-only run folder: the table first, then one line saying results.json could not be written (exit 6).
    The folder is given relative to the current one, the number of draws by its old name (--trials)."""
    import errno

    def read_only(src, dst):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(os, "replace", read_only)
    monkeypatch.chdir(trained)
    assert main(["evaluate", "run", "--trials", "1", "--device", "cpu"]) == 6
    captured = capsys.readouterr()
    assert "all-search, single-shot" in captured.out and "chance (random ranking)" in captured.out
    notice, error = captured.err.strip().splitlines()
    assert notice.startswith("note: tsgan evaluate --trials is now --draws (gallery draws")
    assert error.startswith(f"tsgan evaluate: error: could not write {trained / 'run' / 'results.json'}")
    assert "not writable by this user" in error and "--no-write skips results.json" in error
    assert not list((trained / "run").glob(".*.tmp*"))


@pytest.mark.slow
def test_search_ranks_a_folder_of_your_own_images(trained, tmp_path, capsys):
    rng = np.random.default_rng(0)
    gallery = tmp_path / "photos" / "sub"
    gallery.mkdir(parents=True)
    for i in range(5):
        Image.fromarray(rng.integers(0, 255, (100, 40, 3), dtype=np.uint8)).save(gallery / f"p{i}.jpg")
    (gallery / "notes.txt").write_text("not an image")
    query = gallery / "p3.jpg"
    out_png = tmp_path / "ranked.png"
    assert main(["search", str(trained / "run"), "--query", str(query), "--gallery", str(tmp_path / "photos"),
                 "--top-k", "3", "--out", str(out_png), "--device", "cpu"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"{query}:" and lines[1].split()[-1] == str(query)  # an image is its own nearest match
    assert float(lines[1].split()[1]) == pytest.approx(0.0, abs=1e-3) and len(lines) == 5
    assert out_png.stat().st_size > 1000
    (tmp_path / "empty").mkdir()
    assert main(["search", str(trained / "run"), "--query", str(query), "--gallery", str(tmp_path / "empty")]) == 3
    assert "empty holds no image" in capsys.readouterr().err
    assert main(["search", str(trained / "run"), "--query", str(gallery), "--gallery", str(tmp_path / "photos")]) == 3
    assert f"query {gallery} is a folder: expected an image file" in capsys.readouterr().err


@pytest.mark.slow
def test_regdb_trials_train_evaluate_and_aggregate(tmp_path, capsys):
    """RegDB's protocol end to end on the thermal RegDB stand-in: one model per trial, both directions,
    then the mean ± std over the trials (two trials here, ten in the protocol)."""
    settings = tiny_settings(tmp_path, "regdb", variant="od_single_ts", schedule__epochs=1, schedule__milestones=[])
    settings.update({"data.dataset": "regdb", "teacher.path": "null", "data.synthetic_regdb.num_ids": 20})
    assert main(["train", "--set", *(f"{k}={v}" for k, v in settings.items()), "--trials", "1-2"]) == 0
    out = capsys.readouterr().out
    assert "RegDB, mean ± std over trials [1, 2]" in out and "visible->thermal" in out and "thermal->visible" in out
    import json

    summary = json.loads((tmp_path / "regdb" / "results_trials.json").read_text())
    for t in (1, 2):
        r = json.loads((tmp_path / "regdb" / f"trial_{t}" / "results.json").read_text())
        assert r["config"]["data"]["trial"] == t and set(r["metrics"]) == {"visible->thermal", "thermal->visible"}
        assert r["teacher_source"] == "pretrained in this run"  # each trial trains its own teacher ...
        _, teacher = read_network_file(tmp_path / "regdb" / f"trial_{t}" / "teacher.pt")
        assert teacher.data["trial"] == t  # ... on its own identities
    m = summary["metrics"]["visible->thermal"]["R1"]
    r1 = [json.loads((tmp_path / "regdb" / f"trial_{t}" / "results.json").read_text())["metrics"]["visible->thermal"]
          ["R1"] for t in (1, 2)]
    assert m == pytest.approx(np.mean(r1), abs=1e-3)
    assert main(["train", "--set", *(f"{k}={v}" for k, v in tiny_settings(tmp_path, "x").items()), "--trials", "1"]) == 2
    assert "only RegDB has trials" in capsys.readouterr().err


def test_an_interrupted_run_ends_with_a_message_not_a_traceback(monkeypatch, capsys):
    """Ctrl-C: the fit loop checkpoints, says how to resume and raises KeyboardInterrupt; the command line turns
    that into exit status 130 and one line."""
    def interrupted(cfg, **kw):
        raise KeyboardInterrupt

    monkeypatch.setattr("tsgan_lib.report.runs.run", interrupted)
    assert main(["train", "-f", "demo", "--set", "run.progress=false"]) == 130
    assert "run the same command again to resume" in capsys.readouterr().err


# ---- every mistake a user can make: one line naming it, a documented exit code, no traceback ----------------
def _tiny_args(tmp, name: str, **overrides) -> list[str]:
    return ["--set", *(f"{k}={v}" for k, v in tiny_settings(Path(tmp), name, variant="backbone", schedule__epochs=1,
                                                             schedule__milestones=[], **overrides).items())]


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """Run folders a user may point a command at: one holding a run with other settings, one trained
    further than asked, one with a corrupt checkpoint, one never trained, and a finished ablation run of
    another row (each made by hand: no training)."""
    import torch

    from tinyrun import tiny
    from tsgan_lib.report.ablation import row_config
    from tsgan_lib.train.config import save_config

    tmp = tmp_path_factory.mktemp("mistakes")
    for name in ("other", "longer", "corrupt"):
        save_config(tiny(tmp, name, variant="backbone", schedule__epochs=1 if name != "longer" else 2,
                         schedule__milestones=[]), tmp / name / "config.json")
    torch.save({}, tmp / "other" / "checkpoint.pt")
    torch.save({"progress": {"epoch": 2, "step_in_epoch": 0}}, tmp / "longer" / "checkpoint.pt")
    (tmp / "corrupt" / "checkpoint.pt").write_bytes(b"PK\x03\x04 not a zip archive")
    save_config(tiny(tmp, "untrained"), tmp / "untrained" / "config.json")
    cfg = row_config("od_all_ts", 0, tmp / "ablation")  # a finished run of another row, in the backbone's folder
    save_config(cfg, tmp / "ablation" / "backbone_s0" / "config.json")
    (tmp / "ablation" / "backbone_s0" / "results.json").write_text("{}")
    return tmp


MISTAKES = [  # what the user types ({tmp}: the folders above), the exit code, words of the one-line message
    (["train", "--set", "reid.label_smoothing=1.5"], 2, "reid.label_smoothing=1.5: expected a finite number in [0, 1]"),
    (["train", "--set", "reid.lambda_id=-1"], 2, "reid.lambda_id=-1.0: expected a non-negative finite number"),
    (["train", "--set", "reid.margin=-0.1"], 2, "reid.margin=-0.1: expected a non-negative"),
    (["train", "--set", "optim.lr_backbone=inf"], 2, "optim.lr_backbone=inf: expected a positive finite number"),
    (["train", "--set", "schedule.warmup_epochs=200"], 2, "schedule.warmup_epochs=200: expected at most schedule.epochs=4"),
    (["train", "--set", "schedule.epochs=0"], 2, "schedule.epochs=0: expected a positive integer"),
    (["train", "--set", "teacher.schedule.epochs=0"], 2, "teacher.schedule.epochs=0: expected a positive integer"),
    (["train", "--set", "ts.alpha_c=1", "--set", "ts.alpha_c=2"], 2, "ts.alpha_c is given twice"),
    (["train", "-f", "demo", "-f", "synthetic"], 2, "-f given twice ('demo', then 'synthetic'): give it once"),
    (["train", "-f", "synthetic_regdb", "--trials", "10-1"], 2, "the range 10-1 runs backwards"),
    (["train", "-f", "synthetic_regdb", "--trials", "9-11"], 2, "RegDB has no trial 11"),
    (["train", "-f", "demo", "--trials", "1-2"], 2, "only RegDB has trials (data.dataset is 'sysu')"),
    (["evaluate", "{tmp}/run", "--draws", "0"], 2, "argument --draws: '0': expected a positive integer"),
    (["search", "{tmp}/run", "--query", "q.jpg", "--gallery", "{tmp}", "--top-k", "0"], 2,
     "argument --top-k: '0': expected a positive integer"),
    (["ablation", "--sensor", "nir", "--set", "data.synthetic.ir_sensor=thermal"], 2, "contradict each other"),
    (["evaluate", "{tmp}/nowhere"], 3, "no run folder {tmp}/nowhere: expected a folder written by `tsgan train`"),
    (["evaluate", "{tmp}/untrained"], 3, "untrained holds no backbone.pt: its training has not finished"),
    (["train", *_tiny_args("{tmp}", "corrupt")], 3, "checkpoint.pt: not a readable weights-only checkpoint"),
    (["train", *_tiny_args("{tmp}", "nodata", data__root="{tmp}/nowhere")], 4, "does not exist"),
    (["train", *_tiny_args("{tmp}", "other", reid__lambda_id=1.0)], 5,
     "holds a run with other settings (reid.lambda_id: 3.0 -> 1.0)"),
    (["train", *_tiny_args("{tmp}", "longer")], 5, "holds a run trained past epoch 1 (epoch 2 of 2)"),
    (["ablation", "--seeds", "0", "--rows", "backbone", "--runs-dir", "{tmp}/ablation", "--out", "{tmp}/out"], 5,
     "holds a finished run with other settings (variant: 'od_all_ts' -> 'backbone')"),
]


def _exit_code(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as done:  # argparse's own refusals
        return done.code


@pytest.mark.parametrize("argv,code,words", MISTAKES, ids=[" ".join(m[0][:3]) + f" [{i}]" for i, m in enumerate(MISTAKES)])
def test_a_mistake_is_one_line_naming_it_and_a_documented_exit_code(folders, argv, code, words, capsys):
    argv = [a.replace("{tmp}", str(folders)) for a in argv]
    assert _exit_code(argv) == code, capsys.readouterr().err
    err = capsys.readouterr().err.strip()
    assert words.replace("{tmp}", str(folders)) in err and "Traceback" not in err
    assert len(err.splitlines()) == 1 and err.startswith(f"tsgan {argv[0]}: error: "), err


def test_a_corrupt_checkpoint_promises_no_older_one(folders, capsys):
    assert main(["train", *_tiny_args(folders, "corrupt")]) == 3
    err = capsys.readouterr().err
    assert "previous checkpoint" not in err and "no older checkpoint is kept" in err


def test_a_busy_run_folder_names_its_holder(folders, capsys):
    from tsgan_lib.files import RunLock

    with RunLock(folders / "busy"):
        assert main(["train", *_tiny_args(folders, "busy")]) == 5
    err = capsys.readouterr().err
    assert f"{folders / 'busy'} is in use by pid {os.getpid()}" in err and len(err.splitlines()) == 1


def test_user_errors_print_their_traceback_with_debug(capsys):
    assert main(["--debug", "train", "--set", "reid.margin=-1"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and err.strip().splitlines()[-1] == ("tsgan train: error: reid.margin=-1.0: expected a "
                                                                   "non-negative finite number")


def test_a_notebook_shows_the_same_one_line_message(monkeypatch):
    """IPython renders an exception with ``_render_traceback_`` by what it returns instead of the traceback."""
    from tsgan_lib.train.config import ConfigError, resolve_config

    with pytest.raises(ConfigError) as err:
        resolve_config("demo", {"data.grey": 2})
    assert err.value._render_traceback_() == ["ConfigError: data.grey=2.0: expected a finite number in [0, 1]"]
    monkeypatch.setenv("TSGAN_DEBUG", "1")
    assert not hasattr(err.value, "_render_traceback_")  # IPython's full traceback


@pytest.mark.parametrize("argv,code,words", [
    (["evaluate", "/nonexistent/run"], 3, "tsgan evaluate: error: no run folder /nonexistent/run"),
    (["train", "--set", "data.erasing=1.5"], 2, "tsgan train: error: data.erasing=1.5: expected a finite number in"),
    (["train", "--set", "run.seed=1", "run.seed=2"], 2, "run.seed is given twice"),
    (["train", "--preset", "demo", "-f", "demo"], 2, "--preset and -f both given"),
])
@pytest.mark.slow
def test_the_program_answers_a_mistake_in_one_line(argv, code, words):
    done = subprocess.run([sys.executable, "-m", "tsgan_lib", *argv], capture_output=True, text=True, timeout=300)
    assert done.returncode == code and done.stdout == ""
    assert len(done.stderr.splitlines()) == 1 and words in done.stderr, done.stderr


@pytest.mark.slow
def test_help_imports_neither_torch_nor_the_library(tmp_path):
    """``tsgan --help`` and ``tsgan <command> --help`` need the standard library only (they answer at once)."""
    code = ("import sys; from tsgan_lib.cli import build_parser, COMMANDS\n"
            "for c in [None, 'train', 'evaluate', 'search']:\n"
            "    build_parser((c,) if c else ())\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'numpy', 'yaml')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stdout + done.stderr


def test_options_accumulate_and_relative_paths_are_the_current_folders(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine.yaml").write_text("base: demo\nts: {alpha_c: 0.02}\n")
    assert main(["train", "-f", "mine.yaml", "--list", "--set", "run.dir=here", "--set", "data.grey=0.5",
                 "eval.rand_perm=null"]) == 0
    out = capsys.readouterr().out
    assert "ts.alpha_c = 0.02" in out and "data.grey = 0.5" in out and "eval.rand_perm = None" in out
    assert f"run.dir = '{tmp_path / 'here'}'" in out
    from tsgan_lib.cli import _trials, build_parser

    args = build_parser().parse_args(["train", "--trials", "1-2", "--trials", "5,7"])
    assert args.trials == [1, 2, 5, 7]
    args = build_parser().parse_args(["search", "r", "--query", "a.jpg", "--query", "b.jpg", "--gallery", "g"])
    assert args.query == ["a.jpg", "b.jpg"]
    with pytest.raises(Exception, match="runs backwards"):
        _trials("3-2")
