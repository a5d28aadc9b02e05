"""RegDB evaluation in the driver: both directions on hand-made features."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import torch

from conftest import FeatureRows
from tsgan_lib.data.records import IR, RGB, Record
from tsgan_lib.data.regdb import RegDB
from tsgan_lib.eval import (REGDB_DIRECTIONS, evaluate_features, evaluate_regdb_features, evaluate_regdb_model,
                            format_summary, summarize)

VISIBLE = [Record("/regdb/Visible/1/v0.bmp", 1, 1, RGB), Record("/regdb/Visible/2/v1.bmp", 2, 1, RGB)]
THERMAL = [Record("/regdb/Thermal/1/t0.bmp", 1, 2, IR), Record("/regdb/Thermal/2/t1.bmp", 2, 2, IR),
           Record("/regdb/Thermal/2/t2.bmp", 2, 2, IR)]
V_FEATS = torch.tensor([[0.0], [10.0]])  # 1-D features: distances read off a line
T_FEATS = torch.tensor([[4.0], [-4.0], [20.0]])


def test_both_directions_by_hand():
    """Features on a line: visible v0 = 0 (id 1), v1 = 10 (id 2); thermal
    t0 = 4 (id 1), t1 = -4 (id 2), t2 = 20 (id 2).

    visible->thermal:
      v0: t0 4, t1 4 (tie: t0 first, lower index), t2 20 -> ids 1 2 2: hit at 1;
          AP 1, INP 1.
      v1: t0 6, t2 10, t1 14 -> ids 1 2 2: matches at 2, 3; AP (1/2 + 2/3)/2
          = 7/12, INP 2/3.
      R1 = 50, R10 = 100, mAP = (1 + 7/12)/2 = 79.1667, mINP = (1 + 2/3)/2 = 83.3333.
    thermal->visible:
      t0: v0 4, v1 6 -> hit. t1: v0 4, v1 14 -> match at 2 (AP 1/2, INP 1/2).
      t2: v1 10, v0 20 -> hit.
      R1 = 66.6667, mAP = mINP = (1 + 1/2 + 1)/3 = 83.3333.
    """
    out = evaluate_regdb_features(VISIBLE, V_FEATS, THERMAL, T_FEATS, trial=3, device="cpu")
    assert list(out.columns) == ["direction", "trial", "rerank", "R1", "R10", "R20", "mAP", "mINP",
                                 "num_query", "num_gallery", "num_valid"]
    assert list(out["direction"]) == list(REGDB_DIRECTIONS) and (out["trial"] == 3).all()
    v2t, t2v = out.iloc[0], out.iloc[1]
    assert (v2t["R1"], v2t["R10"], v2t["R20"]) == (50.0, 100.0, 100.0)
    assert v2t["mAP"] == pytest.approx(100 * 19 / 24) and v2t["mINP"] == pytest.approx(100 * 5 / 6)
    assert (v2t["num_query"], v2t["num_gallery"], v2t["num_valid"]) == (2, 3, 2)
    assert t2v["R1"] == pytest.approx(100 * 2 / 3)
    assert t2v["mAP"] == pytest.approx(100 * 2.5 / 3) and t2v["mINP"] == pytest.approx(100 * 2.5 / 3)
    assert (t2v["num_query"], t2v["num_gallery"], t2v["num_valid"]) == (3, 2, 3)
    # the tie decides visible->thermal's Rank-1: listing t1 before t0 swaps it
    swapped = evaluate_regdb_features(VISIBLE, V_FEATS, THERMAL[::-1], T_FEATS.flip(0), device="cpu")
    assert swapped.iloc[0]["R1"] == 0.0  # gallery t2, t1, t0: t1 (id 2) now wins v0's tie
    assert swapped.iloc[0]["mAP"] == pytest.approx(100 * (1 / 2 + 7 / 12) / 2)


def test_rows_equal_evaluate_features_with_and_without_rerank():
    g = torch.Generator().manual_seed(0)
    centres = torch.randn(6, 8, generator=g) * 3
    pids = torch.arange(6).repeat_interleave(4)
    vis = [Record(f"/v/{i}.bmp", int(p), 1, RGB) for i, p in enumerate(pids)]
    the = [Record(f"/t/{i}.bmp", int(p), 2, IR) for i, p in enumerate(pids)]
    vf = centres[pids] + torch.randn(24, 8, generator=g)
    tf = centres[pids] + torch.randn(24, 8, generator=g) + 0.5
    params = {"k1": 5, "k2": 2}
    out = evaluate_regdb_features(vis, vf, the, tf, rerank=(False, True), rerank_params=params, device="cpu")
    assert len(out) == 4
    rows = out.set_index(["direction", "rerank"])
    for (direction, q, gal), rr in [(d, rr) for d in (("visible->thermal", vf, tf), ("thermal->visible", tf, vf))
                                    for rr in (False, True)]:
        want = evaluate_features(q, gal, pids, pids, rerank=rr, rerank_params=params, device="cpu")
        got = rows.loc[(direction, rr)]
        for m in ("R1", "R10", "R20", "mAP", "mINP"):
            assert got[m] == pytest.approx(want[m], abs=1e-9), (direction, rr, m)




def test_model_driver_and_mean_over_trials():
    table = {r.path: f for r, f in zip(VISIBLE + THERMAL, torch.cat([V_FEATS, T_FEATS]))}
    frames = []
    for trial, scale in ((1, 1.0), (2, -1.0)):  # trial 2: mirrored features, same distances
        regdb = RegDB(Path("/regdb"), trial, [], VISIBLE, THERMAL)
        frames.append(evaluate_regdb_model(
            torch.nn.Linear(1, 1, bias=False).requires_grad_(False).apply(lambda m: m.weight.fill_(scale)),
            regdb, transform=lambda x: x, batch_size=2, device="cpu",
            dataset_factory=lambda recs, tf: FeatureRows(recs, tf, table)))
    direct = evaluate_regdb_features(VISIBLE, V_FEATS, THERMAL, T_FEATS, trial=1, device="cpu")
    pd.testing.assert_frame_equal(frames[0], direct)
    assert list(frames[1]["trial"]) == [2, 2]
    summary = summarize(pd.concat(frames, ignore_index=True))
    assert list(summary["direction"]) == list(REGDB_DIRECTIONS) and (summary["trials"] == 2).all()
    assert summary.loc[0, "mAP_mean"] == pytest.approx(100 * 19 / 24) and summary.loc[0, "mAP_std"] == 0.0
    assert format_summary(summary).loc[1, "R1"] == "66.7 ± 0.0"


@pytest.mark.parametrize("call, needle", [
    (lambda: evaluate_regdb_features(VISIBLE, V_FEATS, THERMAL, T_FEATS, directions=("rgb->ir",)), "directions"),
    (lambda: evaluate_regdb_features(VISIBLE, V_FEATS[:1], THERMAL, T_FEATS), "visible_feats"),
    (lambda: evaluate_regdb_features(VISIBLE, V_FEATS, THERMAL, torch.zeros(3, 2)), "thermal_feats"),
])
def test_errors_name_the_parameter(call, needle):
    with pytest.raises(ValueError, match=needle):
        call()
    with pytest.raises(TypeError, match="regdb_dataset"):
        evaluate_regdb_model(torch.nn.Identity(), VISIBLE, device="cpu")
