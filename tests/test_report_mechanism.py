"""The mechanism probes drawn and told: the figure's panels and the sentences generated from the numbers."""

from __future__ import annotations

import json
import math

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

from tsgan_lib.report.mechanism import mechanism_text, plot_mechanism, read_probes  # noqa: E402

SUMMARY = {"grad_share.fmap.reid_id": 0.62, "grad_share.fmap.reid_tri": 0.18, "grad_share.fmap.ts": 0.16,
           "fake_ir.teacher_acc": 0.03, "fake_ir.teacher_acc_on_real_ir": 0.98, "fake_ir.chance_ce": math.log(120),
           "d_ir_acc.g_pair": 0.97, "d_ir_acc.real": 0.95}


def test_the_sentences_state_the_numbers_and_what_they_mean():
    text = mechanism_text(SUMMARY)
    assert "the ID loss carried 62%" in text and "the three teacher-student terms 16.0%" in text
    assert "enough to pull the features" in text
    assert "recognised 3% of the fake IR images" in text and "real IR images of the same people: 98%" in text
    assert "chance 0.8%" in text and "X_I' carries almost none" in text
    assert "D_I rejected 97% of the generator's pairs" in text and "fades" in text


def test_a_teacher_that_does_not_act_and_a_fake_that_carries_identity_are_told_so():
    text = mechanism_text({**SUMMARY, "grad_share.fmap.ts": 0.0001, "fake_ir.teacher_acc": 0.6,
                           "d_ir_acc.g_pair": 0.4})
    assert "the teacher does not act" in text and "X_I' carries most of the identity" in text
    assert "fades" not in text
    assert "no teacher-student terms" in mechanism_text({"grad_share.fmap.reid_id": 0.8})


def test_the_figure_has_a_panel_per_question(tmp_path):
    rows = [{"kind": "step", "global_step": 1, "epoch": 0, "reid_id": 1.0}]
    for step in (10, 20):
        rows.append({"kind": "probe", "epoch": 0, "step": step, "global_step": step, **SUMMARY,
                     "fake_ir.student_acc": 0.1, "d_ir_acc.m_fake_ir_student_map": 0.9})
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert len(read_probes(tmp_path)) == 2
    fig = plot_mechanism(tmp_path)
    assert len(fig.axes) == 3
    assert {t.get_text() for t in fig.axes[1].get_legend().get_texts()} >= {"teacher on X_I'", "chance"}
    (tmp_path / "metrics.jsonl").write_text(json.dumps(rows[0]) + "\n")
    with pytest.raises(ValueError, match="no probes"):
        plot_mechanism(tmp_path)
