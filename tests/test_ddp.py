"""Multi-process training (DDP): the per-rank sampler, and real 2-process runs with gloo on the CPU.

The runs are launched exactly as a user would on a GPU server, through
``torchrun ... -m tsgan_lib train``, with the tiny settings of tests/tinyrun.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import torch

from tinyrun import tiny_settings
from tsgan_lib.data import CrossModalityIdentitySampler
from tsgan_lib.files import load_weights
from tsgan_lib.report import read_metrics


def test_ranks_draw_disjoint_identities_that_together_cover_the_epoch():
    rgb = [p for p in range(20) for _ in range(6)]
    ir = [p for p in range(20) for _ in range(3)]
    ranks = [CrossModalityIdentitySampler(rgb, ir, P=4, K=2, seed=5, rank=r, world_size=2) for r in range(2)]
    single = CrossModalityIdentitySampler(rgb, ir, P=4, K=2, seed=5)
    assert ranks[0].steps_per_epoch == ranks[1].steps_per_epoch == -(-len(rgb) // (2 * 4 * 2))
    assert len(ranks[0]) == ranks[0].steps_per_epoch * 4 * 2
    per_rank = [r.batches(epoch=3) for r in ranks]
    seen = Counter()
    for b0, b1 in zip(*per_rank):
        ids0, ids1 = {rgb[i] for i, _ in b0}, {rgb[i] for i, _ in b1}
        assert len(ids0) == len(ids1) == 4 and not ids0 & ids1  # no identity on two ranks in a step
        assert all(rgb[i] == ir[j] for i, j in b0 + b1)  # every pair is one identity
        seen.update(ids0 | ids1)
    # the ranks together cover the epoch: every identity, each about equally often (passes over the ids)
    assert set(seen) == set(range(20)) and max(seen.values()) - min(seen.values()) <= 2
    assert per_rank[0] != ranks[0].batches(epoch=4)  # epochs differ; seeded: the same draw again
    assert per_rank[0] == CrossModalityIdentitySampler(rgb, ir, P=4, K=2, seed=5, rank=0, world_size=2).batches(3)
    assert single.batches(epoch=3) != per_rank[0]
    with pytest.raises(ValueError, match="rank"):
        CrossModalityIdentitySampler(rgb, ir, P=4, K=2, rank=2, world_size=2)
    with pytest.raises(ValueError, match="on each of 6 processes"):
        CrossModalityIdentitySampler(rgb, ir, P=4, K=2, world_size=6)


def _torchrun(tmp: Path, name: str, **overrides) -> subprocess.CompletedProcess:
    settings = tiny_settings(tmp, name, **{"run__threads": 1, "data__synthetic__num_ids": 30, "eval__trials": 1,
                                           **overrides})
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m",
           "tsgan_lib", "train", "--set", *(f"{k}={v}" for k, v in settings.items())]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    rank0 = "\n".join(line for line in done.stderr.splitlines() if line.startswith("[rank0]"))
    assert done.returncode == 0, done.stdout[-2000:] + (rank0 or done.stderr)[-4000:]
    return done


@pytest.fixture(scope="module")
def ddp_runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ddp")
    whole = _torchrun(tmp, "whole", schedule__epochs=2, schedule__milestones=[])
    part = _torchrun(tmp, "resumed", schedule__epochs=1, schedule__milestones=[])
    again = _torchrun(tmp, "resumed", schedule__epochs=2, schedule__milestones=[])  # the same folder, two epochs: resumes after the first
    return tmp, whole, part, again


@pytest.mark.slow
def test_two_processes_train_and_rank_0_writes_the_files(ddp_runs):
    tmp, whole, _, _ = ddp_runs
    run = tmp / "whole"
    for name in ("config.json", "metrics.jsonl", "checkpoint.pt", "backbone.pt", "results.json", "teacher.pt"):
        assert (run / name).is_file(), name
    ckpt = load_weights(run / "checkpoint.pt")
    assert len(ckpt["rng"]) == 2  # every rank's random state, for an exact resume
    epochs = read_metrics(run, "epoch")
    assert list(epochs["epoch"]) == [0, 1]  # one log, written once (rank 0), not twice
    # each step consumes 2 ranks x P x K pairs, so an epoch has half the single-process steps
    assert epochs["steps"].iloc[0] * 2 == ckpt["progress"]["global_step"]
    assert "all-search" in whole.stdout and torch.isfinite(torch.tensor(epochs["reid_id"].tolist())).all()


@pytest.mark.slow
def test_a_ddp_run_resumes_to_the_same_weights(ddp_runs):
    tmp, _, _, again = ddp_runs
    a, b = load_weights(tmp / "whole" / "checkpoint.pt"), load_weights(tmp / "resumed" / "checkpoint.pt")
    assert a["progress"]["global_step"] == b["progress"]["global_step"]
    for part in ("student", "cyclegan"):
        for k, v in a[part].items():
            assert torch.equal(v, b[part][k]), f"{part}.{k} differs after resuming under DDP"
    info = json.loads((tmp / "resumed" / "train_info.json").read_text())
    assert info["resumed_from_step"] == a["progress"]["global_step"] // 2 and info["world_size"] == 2
