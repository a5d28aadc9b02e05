"""The command line: every command's help, train / evaluate / search on a tiny run, errors as messages."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from tinyrun import tiny_settings
from tsgan_lib.cli import main


@pytest.mark.parametrize("command", ["train", "evaluate", "ablation", "search", "verify"])
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0 and "usage: tsgan " + command in capsys.readouterr().out


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


def test_train_then_evaluate(trained, capsys):
    assert (trained / "run" / "results.json").is_file()
    assert main(["evaluate", str(trained / "run"), "--trials", "1", "--no-write", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "all-search, single-shot" in out and "chance (random ranking)" in out and "untrained backbone" in out


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
    with pytest.raises(FileNotFoundError, match="empty holds no image"):
        main(["search", str(trained / "run"), "--query", str(query), "--gallery", str(tmp_path / "empty")])


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
        assert r["teacher_quality"]["ir_R1"] >= 0  # each trial trains its own teacher on its own identities
    m = summary["metrics"]["visible->thermal"]["R1"]
    r1 = [json.loads((tmp_path / "regdb" / f"trial_{t}" / "results.json").read_text())["metrics"]["visible->thermal"]
          ["R1"] for t in (1, 2)]
    assert m == pytest.approx(np.mean(r1), abs=1e-3)
    with pytest.raises(SystemExit, match="only RegDB has trials"):
        main(["train", "--set", *(f"{k}={v}" for k, v in tiny_settings(tmp_path, "x").items()), "--trials", "1"])


def test_an_interrupted_run_ends_with_a_message_not_a_traceback(monkeypatch, capsys):
    """Ctrl-C: the fit loop checkpoints, says how to resume and raises KeyboardInterrupt; the command line turns
    that into exit status 130 and one line."""
    def interrupted(cfg, **kw):
        raise KeyboardInterrupt

    monkeypatch.setattr("tsgan_lib.train.trainer.run", interrupted)
    assert main(["train", "-f", "demo", "--set", "run.progress=false"]) == 130
    assert "run the same command again to resume" in capsys.readouterr().err
