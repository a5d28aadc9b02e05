"""The ablation summary: paired differences against the backbone with 95 % intervals, and the verdict."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tsgan_lib.files import write_json
from tsgan_lib.report.ablation import delta_table, load_ablation, paired_deltas, results_table, verdict_text


def _frame(r1: dict[str, list[float]]) -> pd.DataFrame:
    rows = []
    for variant, values in r1.items():
        for seed, v in enumerate(values):
            rows.append({"variant": variant, "seed": seed, "epochs": 4, "train_seconds": 60.0, "teacher_seconds": 6.0,
                         "eval_seconds": 3.0, "chance_R1": 2.5, "untrained_R1": 3.0, "teacher_ir_R1": 80.0,
                         "all_single.R1": v, "all_single.mAP": v + 1, "all_single.mINP": v / 2,
                         "indoor_single.R1": v + 2, "indoor_single.mAP": v + 3, "indoor_single.mINP": v})
    return pd.DataFrame(rows)


def test_paired_deltas_hand_case():
    df = _frame({"backbone": [4.0, 6.0, 5.0], "od_single_ts": [5.0, 6.0, 7.0], "od_all_ts": [3.0, 5.0, 4.0],
                 "jd_all_ts": [8.0, 9.0, 8.0]})
    d = paired_deltas(df).set_index("variant")
    # od_single_ts - backbone per seed: 1, 0, 2 -> mean 1, std 1, ahead on 2 seeds; t(0.975, 2) = 4.303
    assert d.loc["od_single_ts", "delta_mean"] == pytest.approx(1.0)
    assert d.loc["od_single_ts", "delta_std"] == pytest.approx(1.0)
    assert d.loc["od_single_ts", "ahead"] == 2
    half = 4.302652729911275 / np.sqrt(3)
    assert (d.loc["od_single_ts", "ci_low"], d.loc["od_single_ts", "ci_high"]) == pytest.approx((1 - half, 1 + half))
    assert d.loc["od_all_ts", "delta_mean"] == pytest.approx(-1.0) and d.loc["od_all_ts", "delta_std"] == 0
    assert d.loc["jd_all_ts", "delta_mean"] == pytest.approx(10 / 3) and d.loc["jd_all_ts", "ahead"] == 3


def test_verdict_names_the_ordering_and_what_the_intervals_show():
    paper_order = _frame({"backbone": [4.0, 5.0, 6.0, 5.0, 4.5], "od_single_ts": [5.0, 6.0, 7.0, 6.0, 5.4],
                          "od_all_ts": [6.0, 7.0, 8.0, 7.1, 6.5], "jd_all_ts": [7.0, 8.0, 9.0, 8.0, 7.6]})
    text = verdict_text(paper_order)  # jd - backbone: 3, 3, 3, 3, 3.1 -> 3.02 ± 2.776 x 0.0447 / sqrt(5)
    assert "it **holds**" in text and "TS-GAN_JD^allTS +3.0, 95% CI [+3.0, +3.1] (ahead on 5 of 5 seeds)" in text
    assert "better than the backbone: TS-GAN_OD^singleTS, TS-GAN_OD^allTS, TS-GAN_JD^allTS." in text
    assert "best row's mean all-search R1 is 7.9, 3.2× chance (2.5); the untrained backbone gives 3.0." in text

    worse = _frame({"backbone": [9.0, 8.0, 9.5], "od_single_ts": [4.0, 3.0, 4.4],
                    "od_all_ts": [8.0, 9.0, 8.5], "jd_all_ts": [3.0, 12.0, 4.5]})
    text = verdict_text(worse)
    assert "it **does not hold**" in text and "worse than the backbone: TS-GAN_OD^singleTS." in text
    assert "TS-GAN_JD^allTS" not in text.split("worse than the backbone:")[1]

    noisy = _frame({"backbone": [4.0, 6.0, 5.0], "od_single_ts": [6.0, 4.0, 5.5],
                    "od_all_ts": [5.0, 5.0, 4.0], "jd_all_ts": [3.0, 7.0, 4.5]})
    text = verdict_text(noisy)
    assert "Every interval contains zero: with 3 seeds these runs cannot tell the TS-GAN rows from the backbone" in text
    assert text.startswith("Ordering by mean all-search R1 on this data: TS-GAN_OD^singleTS > Backbone > "
                           "TS-GAN_JD^allTS > TS-GAN_OD^allTS")
    assert "all-search mAP" in verdict_text(noisy, "all_single.mAP")


def test_tables_have_every_row_with_spread_and_intervals():
    df = _frame({"backbone": [4.0, 6.0], "jd_all_ts": [8.0, 9.0]})
    md = results_table(df)
    assert "| Backbone | 5.0 ± 1.4 |" in md and "| TS-GAN_JD^allTS | 8.5 ± 0.7 |" in md
    assert "TS-GAN_OD^allTS |" not in md and "| Chance (random ranking) | 2.5 |" in md
    d = delta_table(df)
    assert "| TS-GAN_JD^allTS | R1 | +3.5 | 0.7 |" in d and "| 2 / 2 |" in d
    assert np.isfinite(paired_deltas(df)["delta_std"]).all()


def test_a_written_ablation_reads_back_as_the_same_table(tmp_path):
    df = _frame({"backbone": [10.0, 12.0], "jd_all_ts": [11.0, 12.5]})
    write_json(tmp_path / "ablation_x.json", df.to_dict(orient="records"))  # as ablation() writes it
    pd.testing.assert_frame_equal(load_ablation(tmp_path / "ablation_x.json"), df)
