"""A tiny training run on the LLCM stand-in, tested with LLCM's protocol
(the settings of tests/tinyrun.py; seconds on an idle CPU)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tinyrun import quiet, tiny_settings
from tsgan_lib.cli import _print_table
from tsgan_lib.data import load_llcm
from tsgan_lib.eval import chance_levels, llcm_query_gallery
from tsgan_lib.eval.protocol import labels
from tsgan_lib.eval.single_modality import teacher_quality
from tsgan_lib.files import load_backbone
from tsgan_lib.report import evaluate_run
from tsgan_lib.train import resolve_config, train

SMALL = dict(num_ids=12, height=64, width=32, seed=2)

pytestmark = pytest.mark.slow  # trains

def test_a_tiny_run_trains_and_is_evaluated_with_llcms_protocol(tmp_path, monkeypatch, capsys):
    """The trainer on the stand-in (the backbone row, one epoch), then
    evaluate_run: both directions over the configured gallery draws, chance
    levels under LLCM's rule, the untrained backbone on the first direction.
    The teacher's IR->IR check reads LLCM's test records too."""
    monkeypatch.setenv("TSGAN_DATA_DIR", str(tmp_path / "data"))
    settings = tiny_settings(tmp_path, "llcm", variant="backbone", schedule__epochs=1, schedule__milestones=[])
    settings.update({"data.dataset": "llcm", **{f"data.synthetic_llcm.{k}": v for k, v in SMALL.items()}})
    cfg = resolve_config(None, settings)
    assert train(cfg, log=quiet).epochs_done == 1
    results, df = evaluate_run(cfg.run_dir, device="cpu")
    assert set(results["metrics"]) == {"ir->visible", "visible->ir"} and results["trials"] == 2 and len(df) == 4
    assert results["dataset"] == "synthetic LLCM stand-in (8 training ids)"
    assert set(results["untrained"]) == {"ir->visible"}
    ds = load_llcm(cfg.data.resolved_root)
    for direction in ("ir->visible", "visible->ir"):
        levels = [chance_levels(*(labels(x)[0] for x in llcm_query_gallery(ds, direction, t))) for t in (0, 1)]
        plain = 100 * np.mean([lv["R1"] for lv in levels])  # without LLCM's rule: more true matches
        assert 0 < results["chance"][direction]["R1"] < plain
    _print_table(results)  # what `tsgan evaluate` prints
    out = capsys.readouterr().out
    assert "synthetic LLCM stand-in" in out and "IR→visible" in out and "visible→IR" in out
    quality = teacher_quality(load_backbone(cfg.run_dir)[0], ds, height=64, width=32, device=torch.device("cpu"))
    assert 0 <= quality["ir_R1"] <= 100
