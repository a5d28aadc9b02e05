"""A stop request is never lost: Ctrl-C or SIGTERM arriving at a boundary between phases (the teacher
phase -> Algorithm 1 -> the test, and between two RegDB trials) stops the run there, with one line and exit
status 130; the same command run again finishes with the weights an uninterrupted run reaches, bit for bit.

The process sends the signal to itself (``os.kill``) the moment the phase before a boundary returns, where
a signal used to be dropped. The runs are tests/tinyrun.py's, through the command line's ``main``.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
import torch

from tinyrun import tiny_settings
from tsgan_lib.cli import main
from tsgan_lib.files import load_weights
from tsgan_lib.train.stop import StopRequest, Stopped


@pytest.fixture(autouse=True)
def no_stray_signal():
    """A signal that reaches no stop request is recorded here (a test fails on it) instead of killing pytest."""
    stray: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: stray.append(signum))
    yield stray
    signal.signal(signal.SIGTERM, previous)
    assert not stray, "a stop request was not handled by the run"


def test_one_stop_request_spans_nested_contexts_and_each_stop_is_one_line():
    """train() inside run() inside run_trials(), a fit loop inside train(): they all share the outermost
    request, so a signal noticed by none of the inner ones is still there at the next boundary."""
    before = signal.getsignal(signal.SIGTERM)
    with StopRequest() as outer:
        with StopRequest() as inner:
            assert inner is outer
            os.kill(os.getpid(), signal.SIGTERM)
        assert outer.requested and outer.signame == "SIGTERM" and signal.getsignal(signal.SIGTERM) != before
        with pytest.raises(Stopped, match=r"^stopped \(SIGTERM\) between A and B; run the same command again to "
                                          r"resume$"):
            outer.check("between A and B")
        with pytest.raises(Stopped, match="at once, by a second signal"):
            os.kill(os.getpid(), signal.SIGTERM)
    assert signal.getsignal(signal.SIGTERM) is before  # the outermost exit restores the handlers
    with StopRequest() as stop, pytest.raises(Stopped, match=r"stopped \(SIGINT\) during the test"):
        with stop.immediate("during the test"):  # a phase that loses nothing stops at once
            os.kill(os.getpid(), signal.SIGINT)
            raise AssertionError("the signal did not stop the phase")


def _args(tmp: Path, name: str, **overrides) -> list[str]:
    settings = tiny_settings(tmp, name, schedule__epochs=1, schedule__milestones=[], **overrides)
    return ["train", "--set", *(f"{k}={v}" for k, v in settings.items())]


def _signal_after(monkeypatch, where: str, signum: int, calls: list[int] | None = None) -> None:
    """Make the function at ``where`` send ``signum`` to this process as it returns (on the listed calls)."""
    module, name = where.rsplit(".", 1)
    original = getattr(__import__(module, fromlist=[name]), name)
    seen = [0]

    def then_signal(*args, **kwargs):
        out = original(*args, **kwargs)
        seen[0] += 1
        if calls is None or seen[0] in calls:
            os.kill(os.getpid(), signum)
        return out

    monkeypatch.setattr(where, then_signal)


def _same_weights(a: Path, b: Path, parts=("student", "cyclegan")) -> None:
    ca, cb = load_weights(a / "checkpoint.pt"), load_weights(b / "checkpoint.pt")
    assert ca["progress"]["global_step"] == cb["progress"]["global_step"]
    for part in parts:
        for k, v in ca[part].items():
            assert torch.equal(v, cb[part][k]), f"{part}.{k} differs from the uninterrupted run"


def _stopped(capsys, where: str) -> None:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("tsgan train: stopped (SIG") and where in err[0], err
    assert err[0].endswith("; run the same command again to resume")


@pytest.mark.slow
def test_a_stop_at_each_phase_boundary_stops_there_and_the_rerun_ends_with_the_same_weights(
        tmp_path, monkeypatch, capsys):
    assert main(_args(tmp_path, "reference")) == 0  # pretrains the shared teacher (tmp/teacher.pt)
    capsys.readouterr()
    run = tmp_path / "stopped"

    # 1. SIGTERM as the teacher phase ends (here: the shared teacher is loaded): Algorithm 1 does not start
    _signal_after(monkeypatch, "tsgan_lib.train.trainer._teacher_phase", signal.SIGTERM)
    assert main(_args(tmp_path, "stopped")) == 130
    _stopped(capsys, "between the teacher phase and Algorithm 1 (the teacher is saved)")
    assert (run / "teacher.pt").is_file() and not (run / "checkpoint.pt").exists()
    monkeypatch.undo()

    # 2. Ctrl-C as Algorithm 1 ends: the test does not start
    _signal_after(monkeypatch, "tsgan_lib.report.runs.train", signal.SIGINT)
    assert main(_args(tmp_path, "stopped")) == 130
    _stopped(capsys, "after training, before the test (backbone.pt is saved)")
    assert (run / "backbone.pt").is_file() and not (run / "results.json").exists()
    monkeypatch.undo()

    # 3. the same command again: nothing left to train, the test runs
    assert main(_args(tmp_path, "stopped")) == 0
    assert (run / "results.json").is_file()
    _same_weights(tmp_path / "reference", run)
    a, b = (load_weights(p / "backbone.pt")["state_dict"] for p in (tmp_path / "reference", run))
    assert all(torch.equal(v, b[k]) for k, v in a.items())


@pytest.mark.slow
def test_a_stop_between_regdb_trials_stops_there_and_the_rerun_ends_with_the_same_weights(
        tmp_path, monkeypatch, capsys):
    regdb = {"data__dataset": "regdb", "data__synthetic_regdb__num_ids": 20, "variant": "backbone"}
    stopped = tmp_path / "stopped"
    _signal_after(monkeypatch, "tsgan_lib.report.runs.run", signal.SIGTERM, calls=[1])
    assert main([*_args(tmp_path, "stopped", **regdb), "--trials", "1-2"]) == 130
    _stopped(capsys, "between RegDB trials 1 and 2 (trial 1 is tested)")
    assert (stopped / "trial_1" / "results.json").is_file() and not (stopped / "trial_2").exists()
    trial_1 = load_weights(stopped / "trial_1" / "checkpoint.pt")
    monkeypatch.undo()

    assert main([*_args(tmp_path, "stopped", **regdb), "--trials", "1-2"]) == 0  # trial 1 is kept, trial 2 trains
    assert main([*_args(tmp_path, "reference", **regdb), "--trials", "2"]) == 0  # trial 2 never interrupted
    again = load_weights(stopped / "trial_1" / "checkpoint.pt")
    assert again["progress"] == trial_1["progress"]
    assert all(torch.equal(v, again["student"][k]) for k, v in trial_1["student"].items())
    _same_weights(tmp_path / "reference" / "trial_2", stopped / "trial_2", parts=("student",))
    assert "RegDB, mean ± std over trials [1, 2]" in capsys.readouterr().out
