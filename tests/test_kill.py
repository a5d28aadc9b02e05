"""Runs that survive SIGKILL: killed in the teacher phase, during a checkpoint write and inside a step,
restarted on the same folder each time, a run ends with the weights of an uninterrupted one, bit for bit.

The runs are the command line's (``python -m tsgan_lib train``) in subprocesses, with
tests/tinyrun.py's settings; SIGKILL gives the process no chance to clean up, as a
killed job, an OOM kill or a power cut would.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from tinyrun import tiny_settings
from tsgan_lib.files import load_weights
from tsgan_lib.train.hooks import log_records

SETTINGS = dict(schedule__epochs=2, schedule__milestones=[], teacher__schedule__epochs=2, run__checkpoint_every=4,
                run__threads=1)

pytestmark = pytest.mark.slow  # trains; kills its own child processes


def _command(tmp: Path, name: str) -> list[str]:
    settings = tiny_settings(tmp, name, **SETTINGS)
    settings["teacher.path"] = "null"  # each run pretrains its own teacher (in its folder, resumably)
    return [sys.executable, "-m", "tsgan_lib", "train", "--set", *(f"{k}={v}" for k, v in settings.items())]


def _wait_for(proc: subprocess.Popen, ready, what: str, timeout: float = 300) -> None:
    t0 = time.time()
    while not ready():
        if proc.poll() is not None:
            raise AssertionError(f"the run ended (code {proc.returncode}) before {what}")
        if time.time() - t0 > timeout:
            proc.kill()
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.002)


def _kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def _steps_logged(run: Path) -> int:
    log = run / "metrics.jsonl"
    if not log.is_file():
        return 0
    return max((r.get("global_step", 0) for r in log_records(log)), default=0)  # a line may be half-written


def _readable(run: Path) -> None:
    """Whatever a kill left behind: every checkpoint there loads (none is half-written)."""
    for name in ("checkpoint.pt", "teacher_checkpoint.pt", "teacher.pt"):
        if (run / name).exists():
            load_weights(run / name)


def test_a_run_killed_three_times_ends_with_the_weights_of_an_uninterrupted_one(tmp_path):
    rng = random.Random(7)
    reference = subprocess.run(_command(tmp_path, "reference"), capture_output=True, text=True, timeout=900)
    assert reference.returncode == 0, reference.stderr[-3000:]
    steps_per_epoch = load_weights(tmp_path / "reference" / "checkpoint.pt")["progress"]["global_step"] // 2

    run = tmp_path / "killed"
    cmd = _command(tmp_path, "killed")
    # 1. in the teacher phase, after its first epoch's checkpoint
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_for(proc, lambda: (run / "teacher_checkpoint.pt").exists(), "the teacher's first checkpoint")
    time.sleep(rng.uniform(0.0, 1.0))
    _kill(proc)
    assert not (run / "teacher.pt").exists()
    _readable(run)
    # 2. during a checkpoint write: the moment its temporary file appears
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_for(proc, lambda: any(run.glob(".checkpoint.pt.tmp*")), "a checkpoint write")
    _kill(proc)
    _readable(run)
    # 3. inside a step of the second epoch
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_for(proc, lambda: _steps_logged(run) > steps_per_epoch + 2, "the second epoch")
    time.sleep(rng.uniform(0.0, 0.5))
    _kill(proc)
    _readable(run)
    epochs_before = [json.loads(x)["epoch"] for x in (run / "metrics.jsonl").read_text().splitlines()
                     if json.loads(x)["kind"] == "epoch"]
    assert epochs_before == [0]  # the finished epoch is kept
    # 4. to the end
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "taking it over" in done.stdout  # the killed run's lock was stale

    a, b = load_weights(tmp_path / "reference" / "checkpoint.pt"), load_weights(run / "checkpoint.pt")
    for part in ("student", "cyclegan", "optimizers"):
        flat_a, flat_b = _tensors(a[part]), _tensors(b[part])
        assert flat_a.keys() == flat_b.keys()
        for k, v in flat_a.items():
            assert torch.equal(v, flat_b[k]), f"{part}.{k} differs from the uninterrupted run"
    log = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in log if r["kind"] == "epoch"] == [0, 1]
    steps = [r["global_step"] for r in log if r["kind"] == "step"]
    assert steps == sorted(set(steps))  # no interval logged twice, none lost after the last checkpoint
    assert not list(run.glob(".*.tmp*"))  # a killed write's temporary file is cleared by the next run


def _tensors(tree, prefix: str = "") -> dict:
    out = {}
    if isinstance(tree, dict):
        for k, v in tree.items():
            out.update(_tensors(v, f"{prefix}{k}."))
    elif isinstance(tree, (list, tuple)):
        for i, v in enumerate(tree):
            out.update(_tensors(v, f"{prefix}{i}."))
    elif isinstance(tree, torch.Tensor):
        out[prefix] = tree
    return out
