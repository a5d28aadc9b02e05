"""The evaluation driver: settings x trials x re-ranking as a DataFrame."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from conftest import FeatureRows
from tsgan_lib.data.records import Record
from tsgan_lib.eval import (evaluate_features, evaluate_sysu, evaluate_sysu_features, evaluate_sysu_model,
                            format_summary, k_reciprocal_rerank, summarize, sysu_query_gallery)
from tsgan_lib.eval.protocol import labels

CAMS = {1: "rgb", 2: "rgb", 3: "ir", 4: "rgb", 5: "rgb", 6: "ir"}


def synthetic_test_split(ids=8, per_cam=12, seed=0):
    """Records of a small SYSU-like test split (even ids are indoor), and
    features: identity centre + camera-dependent noise."""
    rng = np.random.default_rng(seed)
    records, feats = [], []
    centres = rng.normal(size=(ids, 16)) * 3
    for cam, modality in CAMS.items():
        for pid in range(1, ids + 1):
            if cam in (1, 2, 3) and pid % 2:
                continue  # odd ids never enter the indoor rooms
            for i in range(per_cam - pid % 3):
                records.append(Record(f"/sysu/cam{cam}/{pid:04d}/{i + 1:04d}.jpg", pid, cam, modality))
                feats.append(centres[pid - 1] + rng.normal(size=16) * (1.5 if modality == "ir" else 1.0))
    return records, torch.tensor(np.array(feats), dtype=torch.float32)


@pytest.fixture(scope="module")
def split():
    return synthetic_test_split()


@pytest.fixture(scope="module")
def results(split):
    records, feats = split
    return evaluate_sysu_features(records, feats, trials=range(3), seed=1, device="cpu",
                                  rerank_params={"k1": 6, "k2": 3})


def test_tidy_dataframe(results):
    assert list(results.columns) == ["mode", "shots", "trial", "rerank", "R1", "R10", "R20", "mAP", "mINP",
                                     "num_query", "num_gallery", "num_valid"]
    assert len(results) == 2 * 2 * 3 * 2
    assert set(map(tuple, results[["mode", "shots"]].drop_duplicates().values)) == \
        {("all", 1), ("all", 10), ("indoor", 1), ("indoor", 10)}
    metrics = results[["R1", "R10", "R20", "mAP", "mINP"]]
    assert ((metrics >= 0) & (metrics <= 100)).all().all()
    assert (results["R1"] > 50).all()  # percent: the features separate identities
    indoor = results[results["mode"] == "indoor"]
    assert (indoor["num_gallery"] == np.where(indoor["shots"] == 1, 8, 8 * 10)).all()  # 4 ids x 2 cams


def test_rows_equal_direct_evaluation(split, results):
    records, feats = split
    row_of = {r.path: i for i, r in enumerate(records)}
    query, gallery = sysu_query_gallery(records, "all", 10, trial=2, seed=1)
    qf = feats[[row_of[r.path] for r in query]]
    gf = feats[[row_of[r.path] for r in gallery]]
    (qp, qc), (gp, gc) = labels(query), labels(gallery)
    plain = evaluate_sysu(torch.cdist(qf, gf), qp, gp, qc, gc)
    rr = evaluate_sysu(k_reciprocal_rerank(torch.cdist(qf, gf), torch.cdist(qf, qf), torch.cdist(gf, gf),
                                           k1=6, k2=3), qp, gp, qc, gc)
    sel = results.set_index(["mode", "shots", "trial", "rerank"])
    for flag, res in ((False, plain), (True, rr)):
        row = sel.loc[("all", 10, 2, flag)]
        assert row["R1"] == pytest.approx(100 * res["cmc"][0], abs=1e-9)
        assert row["R10"] == pytest.approx(100 * res["cmc"][9], abs=1e-9)
        assert row["mAP"] == pytest.approx(100 * res["mAP"], abs=1e-4)
        assert row["mINP"] == pytest.approx(100 * res["mINP"], abs=1e-4)


def test_summarize_mean_and_std(results):
    summary = summarize(results)
    assert len(summary) == 8 and (summary["trials"] == 3).all()
    sub = results[(results["mode"] == "indoor") & (results["shots"] == 1) & results["rerank"]]
    row = summary[(summary["mode"] == "indoor") & (summary["shots"] == 1) & summary["rerank"]].iloc[0]
    assert row["mAP_mean"] == pytest.approx(sub["mAP"].mean())
    assert row["mAP_std"] == pytest.approx(sub["mAP"].std(ddof=1))
    text = format_summary(summary)
    assert text.loc[0, "R1"] == f"{summary.loc[0, 'R1_mean']:.1f} ± {summary.loc[0, 'R1_std']:.1f}"
    with pytest.raises(ValueError, match="columns"):
        summarize(pd.DataFrame({"mode": ["all"]}))




def test_model_path_equals_feature_path(split):
    records, feats = split
    table = {r.path: feats[i] for i, r in enumerate(records)}
    model = torch.nn.Identity()
    out = evaluate_sysu_model(model, records, transform=lambda x: x, device="cpu", batch_size=17,
                              dataset_factory=lambda recs, tf: FeatureRows(recs, tf, table),
                              modes=("indoor",), shots=(1,), trials=(0, 1), rerank=(False,), seed=1)
    direct = evaluate_sysu_features(records, feats, modes=("indoor",), shots=(1,), trials=(0, 1),
                                    rerank=(False,), seed=1, device="cpu")
    pd.testing.assert_frame_equal(out, direct)


def test_evaluate_features_regdb_style():
    g = torch.Generator().manual_seed(0)
    centres = torch.randn(5, 8, generator=g) * 5
    pids = torch.arange(5).repeat(3)
    q = centres[pids] + 0.1 * torch.randn(15, 8, generator=g)
    gal = centres[pids] + 0.1 * torch.randn(15, 8, generator=g)
    out = evaluate_features(q, gal, pids, pids, device="cpu")
    assert out["R1"] == 100.0 and out["mAP"] == pytest.approx(100.0)
    assert evaluate_features(q, gal, pids, pids, rerank=True, device="cpu",
                             rerank_params={"k1": 4, "k2": 2})["R1"] == 100.0


@pytest.mark.parametrize("kwargs, needle", [({"modes": ("outdoor",)}, "mode"), ({"shots": (3,)}, "shots")])
def test_bad_settings(split, kwargs, needle):
    records, feats = split
    with pytest.raises(ValueError, match=needle):
        evaluate_sysu_features(records, feats, device="cpu", **kwargs)
    with pytest.raises(ValueError, match="features"):
        evaluate_sysu_features(records, feats[:-1], device="cpu")
