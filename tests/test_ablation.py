"""The ablation summary: paired differences against the backbone and the verdict text."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tsgan_lib.train.ablation import markdown_table, paired_deltas, verdict_text


def _frame(r1: dict[str, list[float]]) -> pd.DataFrame:
    rows = []
    for variant, values in r1.items():
        for seed, v in enumerate(values):
            rows.append({"variant": variant, "seed": seed, "epochs": 4, "train_seconds": 60.0, "teacher_seconds": 6.0,
                         "eval_seconds": 3.0, "chance_R1": 2.5, "untrained_R1": 3.0,
                         "all_single.R1": v, "all_single.mAP": v + 1, "all_single.mINP": v / 2,
                         "indoor_single.R1": v + 2, "indoor_single.mAP": v + 3, "indoor_single.mINP": v})
    return pd.DataFrame(rows)


def test_paired_deltas_hand_case():
    df = _frame({"backbone": [4.0, 6.0, 5.0], "od_single_ts": [5.0, 6.0, 7.0], "od_all_ts": [3.0, 5.0, 4.0],
                 "jd_all_ts": [8.0, 9.0, 8.0]})
    d = paired_deltas(df).set_index("variant")
    # od_single_ts - backbone per seed: 1, 0, 2 -> mean 1, std 1, ahead on 2 seeds
    assert d.loc["od_single_ts", "delta_mean"] == pytest.approx(1.0)
    assert d.loc["od_single_ts", "delta_std"] == pytest.approx(1.0)
    assert d.loc["od_single_ts", "ahead"] == 2
    assert d.loc["od_all_ts", "delta_mean"] == pytest.approx(-1.0) and d.loc["od_all_ts", "delta_std"] == 0
    assert d.loc["jd_all_ts", "delta_mean"] == pytest.approx(10 / 3) and d.loc["jd_all_ts", "ahead"] == 3


def test_verdict_names_the_ordering_and_the_noise():
    paper_order = _frame({"backbone": [4.0, 5.0, 6.0], "od_single_ts": [5.0, 6.0, 7.0],
                          "od_all_ts": [6.0, 7.0, 8.0], "jd_all_ts": [7.0, 8.0, 9.0]})
    text = verdict_text(paper_order)
    assert "it **holds**" in text and "TS-GAN_JD^allTS +3.0 ± 0.0 (ahead on 3 of 3 seeds)" in text
    assert "significance test): TS-GAN_OD^singleTS, TS-GAN_OD^allTS, TS-GAN_JD^allTS." in text
    assert "best row's mean all-search R1 is 8.0, 3.2× chance (2.5); the untrained backbone gives 3.0." in text

    noisy = _frame({"backbone": [4.0, 6.0, 5.0], "od_single_ts": [6.0, 4.0, 5.5],
                    "od_all_ts": [5.0, 5.0, 4.0], "jd_all_ts": [3.0, 7.0, 4.5]})
    text = verdict_text(noisy)
    assert "it **does not hold**" in text and "cannot tell the variants apart" in text
    assert text.startswith("Ordering by mean all-search R1 on this data: TS-GAN_OD^singleTS > Backbone > TS-GAN_JD^allTS > TS-GAN_OD^allTS")


def test_markdown_table_has_every_row_with_spread():
    df = _frame({"backbone": [4.0, 6.0], "jd_all_ts": [8.0, 9.0]})
    md = markdown_table(df, "make ablation")
    assert "| Backbone | 5.0 ± 1.4 |" in md and "| TS-GAN_JD^allTS | 8.5 ± 0.7 |" in md
    assert "`make ablation`" in md and "TS-GAN_OD^allTS |" not in md
    assert "Compute: 4 min of training" in md
    assert np.isfinite(paired_deltas(df)["delta_std"]).all()
