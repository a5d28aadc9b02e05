"""Notebook 01's sentences and helpers (tsgan_lib.report.teacher_story) on hand-made cases."""

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from tsgan_lib.data.records import Record  # noqa: E402
from tsgan_lib.report.teacher_story import (first_last, single_modality_chance,  # noqa: E402
                                            single_modality_levels, table3_ours, teacher_curves, teacher_verdict)

BUDGET = dict(n_test=96, depth=18, pretrained=False, epochs=2, steps=120, seconds=150.0, height=128, width=64,
              synthetic=True)
CHANCE = {"IR→IR": {"chance R1": 2.0, "chance mAP": 3.0}}


def verdict(ir_r1, rgb_r1=None, **kw):
    results = {"IR→IR": {"R1": ir_r1, "mAP": ir_r1 - 5}}
    if rgb_r1 is not None:
        results["RGB→RGB"] = {"R1": rgb_r1, "mAP": rgb_r1 - 5}
    return teacher_verdict(results, CHANCE, **{**BUDGET, **kw})


def test_first_last_averages_the_first_and_last_tenth_of_the_steps():
    hist = pd.DataFrame({"total": [10.0] * 10 + [5.0] * 80 + [1.0, 3.0] * 5})
    assert first_last(hist) == (10.0, 2.0)
    assert first_last(pd.DataFrame({"total": [4.0, 2.0]})) == (4.0, 2.0)  # at least one row each


def test_the_teacher_sentence_states_its_numbers_against_chance_and_the_paper():
    text = verdict(40.0)
    assert "**40.0%** of IR queries (mAP **35.0%**) among 96 test identities" in text
    assert "20× the chance level of 2.0%" in text and "**98.0%** (mAP 97.4%)" in text
    assert "ResNet-18 trained from random weights for 2 epochs (120 steps, 2.5 CPU minutes) at 128×64" in text


@pytest.mark.parametrize("r1, words", [(95.0, "close to the paper's teacher"),
                                       (60.0, "well above chance but clearly below"),
                                       (30.0, "far from the paper's near-perfect teacher")])
def test_the_verdict_follows_the_teachers_rank1(r1, words):
    assert f"It is {words}" in verdict(r1)


def test_the_rgb_baseline_tells_whether_the_data_or_the_budget_holds_the_teacher_back():
    harder = verdict(30.0, rgb_r1=70.0)
    assert "The other is the data" in harder and "**70.0%** RGB→RGB" in harder and "stand-in" in harder
    alike = verdict(30.0, rgb_r1=40.0)
    assert "about as easy to tell apart" in alike and "The other is the data" not in alike
    assert "RGB baseline" not in verdict(30.0)
    assert "on this data IR" in verdict(30.0, rgb_r1=70.0, synthetic=False)
    assert "ImageNet weights" in verdict(30.0, pretrained=True)


def test_table3_rows_are_named_by_data_and_budget():
    results = {"IR→IR": {"R1": 50.0, "R10": 80.0, "mAP": 40.0, "mINP": 9.0}}
    rows = table3_ours(results, synthetic=True, depth=18, epochs=2)
    assert rows == {"Ours (IR, synthetic, ResNet-18, 2 ep.)":
                    {"Trainset": "synthetic-IR", "Testset": "synthetic-IR", "R1": 50.0, "R10": 80.0, "mAP": 40.0}}
    assert list(table3_ours({**results, "RGB→RGB": results["IR→IR"]}, synthetic=False, depth=50, epochs=120)) == [
        "Ours (IR, SYSU, ResNet-50, 120 ep.)", "Ours (RGB, SYSU, ResNet-50, 120 ep.)"]


def test_chance_levels_per_direction_count_queries_and_gallery():
    recs = [Record(f"/x/{m}_{pid}_{i}.jpg", pid, cam, m) for m, cam in (("ir", 3), ("rgb", 1))
            for pid in range(4) for i in range(3)]
    chance = single_modality_chance(recs)
    assert chance["IR→IR"]["queries"] == 4 and chance["IR→IR"]["gallery"] == 8  # first image per (id, camera)
    assert chance["RGB→RGB"] == chance["IR→IR"]
    assert chance["IR→IR"]["chance R1"] == pytest.approx(100 * 2 / 8)  # 2 of the 8 gallery images match
    query, gallery, levels = single_modality_levels(recs, "ir")
    assert (len(query), len(gallery)) == (4, 8) and {r.modality for r in query + gallery} == {"ir"}
    assert levels["R1"] == chance["IR→IR"]["chance R1"] and levels["R10"] == 100.0 and "num_valid" not in levels


def test_the_curves_have_a_loss_panel_and_an_accuracy_panel():
    hist = pd.DataFrame({"step": range(6), "id": [3.0] * 6, "tri": [1.0] * 6, "total": [4.0] * 6, "acc": [0.1] * 6})
    fig = teacher_curves(hist, "IR teacher")
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["IR teacher: losses (Eq. 9-11)", "IR teacher: ID accuracy on the batch"]
    assert fig.axes[1].get_ylim() == (0, 1.05)
