"""The protocol choices that move published numbers: the peers' gallery draw, the test feature,
L2-normalisation, flip averaging, and one run under all of them (docs/protocol.md)."""

from __future__ import annotations

import os
import random

import pytest

from conftest import record_names
from tsgan_lib.eval import sysu_query_gallery
from tsgan_lib.train import resolve_config


def _agw_draw(tree: dict[tuple[int, int], list[str]], cameras: tuple[int, ...], trial: int) -> list[tuple]:
    """AGW's data_manager.process_gallery_sysu, literally: random.seed(trial); for id in sorted(ids): for cam in the
    mode's cameras: if the folder exists: random.choice(sorted(its files))."""
    random.seed(trial)
    out = []
    for pid in sorted({p for _, p in tree}):
        for cam in cameras:
            if (cam, pid) in tree:
                out.append((cam, pid, random.choice(sorted(tree[(cam, pid)]))))
    return out


@pytest.mark.parametrize("mode, cameras", [("all", (1, 2, 4, 5)), ("indoor", (1, 2))])
def test_the_peers_draw_is_agws_random_choice_in_id_then_camera_order(small_sysu, mode, cameras):
    tree: dict[tuple[int, int], list[str]] = {}
    for r in small_sysu.test:
        if r.camid in cameras:
            tree.setdefault((r.camid, r.pid), []).append(os.path.basename(r.path))
    for trial in range(10):
        query, gallery = sysu_query_gallery(small_sysu, mode, 1, trial, draw="peers")
        assert record_names(gallery) == _agw_draw(tree, cameras, trial)
        assert {r.camid for r in query} == {3, 6}
    draws = {tuple(record_names(sysu_query_gallery(small_sysu, "all", 1, t, draw="peers")[1])) for t in range(10)}
    assert len(draws) > 1


def test_a_multi_shot_peers_draw_samples_up_to_ten_distinct_images(small_sysu):
    _, g = sysu_query_gallery(small_sysu, "all", 10, 3, draw="peers")
    assert len(g) == 10 + 3 + 10 + 2 + 10 and len(set(record_names(g))) == len(g)
    with pytest.raises(ValueError, match="'official' or 'peers'"):
        sysu_query_gallery(small_sysu, "all", 1, 0, draw="agw")


def test_the_protocol_choices_are_settings_defaulting_to_the_papers_protocol():
    e = resolve_config().eval
    assert (e.draw, e.feature, e.normalize, e.flip, e.rerank) == ("official", "pool", False, False, False)
    e = resolve_config(None, ["eval.draw=peers", "eval.feature=bn", "eval.normalize=true", "eval.flip=true"]).eval
    assert (e.draw, e.feature, e.normalize, e.flip) == ("peers", "bn", True, True)


@pytest.mark.slow
def test_one_run_under_every_choice(tmp_path):
    from tinyrun import quiet, tiny
    from tsgan_lib.report.choices import CHOICES, format_choices, protocol_choices
    from tsgan_lib.train.trainer import train

    cfg = tiny(tmp_path, "bb", variant="backbone", schedule__epochs=1, schedule__milestones=[],
               schedule__warmup_epochs=0)
    train(cfg, log=quiet)
    table = protocol_choices(cfg.run_dir, trials=2, device="cpu")
    assert len(table) == 2 ** len(CHOICES)
    first = table.iloc[0]
    assert (first["draw"], first["feature"], first["normalize"], first["flip"], first["rerank"]) == \
        ("official", "pool", False, False, False) and first["ΔR1"] == 0
    assert table[["R1", "mAP", "mINP"]].notna().all().all() and ((table["R1"] >= 0) & (table["R1"] <= 100)).all()
    assert "the paper's protocol" in format_choices(table)
