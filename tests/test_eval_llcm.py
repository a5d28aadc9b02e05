"""LLCM's protocol: the same-camera gallery rule, the per-trial gallery draw,
parity with DEEN's lists on a tiny tree, and the driver's two directions."""

from __future__ import annotations

import os
import random

import numpy as np
import pandas as pd
import pytest
import torch

from conftest import FeatureRows, write_llcm_tree
from tsgan_lib.data import load_llcm
from tsgan_lib.data.records import IR, RGB, Record
from tsgan_lib.eval import (LLCM_DIRECTIONS, evaluate_llcm, evaluate_llcm_features, evaluate_llcm_model,
                            k_reciprocal_rerank, llcm_query_gallery, llcm_same_camera_rule, summarize)
from tsgan_lib.eval.features import euclidean_distance
from tsgan_lib.eval.llcm import draw_gallery
from tsgan_lib.eval.protocol import labels
from tsgan_lib.eval.reference import evaluate_reference


def test_gallery_rule_by_hand():
    """NIR queries q0 (person 1, camera 2) and q1 (person 2, camera 4); visible
    gallery g0 (1, cam 2), g1 (2, cam 2), g2 (1, cam 5), g3 (2, cam 4), g4 (2, cam 1).

    The rule removes g0 for q0 and g3 for q1, nothing else: g1 shares q0's
    camera but not its identity, and stays.
      q0: g0 .1, g1 .2, g2 .3, g3 .4, g4 .5 -> without g0: ids 2 1 2 2; first
          match at 2 (distinct ids 2, 1: also 2). AP 1/2, INP 1/2.
      q1: g3 .1, g0 .2, g2 .25, g4 .3, g1 .4 -> without g3: ids 1 1 2 2;
          matches at 3 and 4; distinct ids 1, 2: rank 2. AP (1/3 + 2/4)/2 =
          5/12, INP 2/4.
      R1 = 0, R2 = 1 (distinct identities; ordinary CMC would give R2 = 1/2),
      mAP = (1/2 + 5/12)/2 = 11/24, mINP = 1/2.
    Without the rule both queries hit at rank 1.
    """
    q_pids, q_cams = np.array([1, 2]), np.array([2, 4])
    g_pids, g_cams = np.array([1, 2, 1, 2, 2]), np.array([2, 2, 5, 4, 1])
    d = np.array([[.1, .2, .3, .4, .5], [.2, .4, .25, .1, .3]])
    assert llcm_same_camera_rule(q_pids, g_pids, q_cams, g_cams).tolist() == [
        [True, False, False, False, False], [False, False, False, True, False]]
    res = evaluate_llcm(d, q_pids, g_pids, q_cams, g_cams, max_rank=3, per_query=True)
    np.testing.assert_allclose(res["cmc"], [0, 1, 1])
    assert res["mAP"] == pytest.approx(11 / 24) and res["mINP"] == pytest.approx(1 / 2)
    assert res["first_rank"].tolist() == [2, 2] and res["num_valid"] == 2
    ref = evaluate_reference(d, q_pids, g_pids, distinct_ids=True, max_rank=3,
                             ignore=llcm_same_camera_rule(q_pids, g_pids, q_cams, g_cams))
    np.testing.assert_allclose(ref["cmc"], res["cmc"])
    assert ref["mAP"] == pytest.approx(res["mAP"]) and ref["mINP"] == pytest.approx(res["mINP"])
    other_cams = evaluate_llcm(d, q_pids, g_pids, np.array([7, 7]), g_cams, max_rank=3)
    assert other_cams["cmc"][0] == 1.0  # no gallery image from the queries' camera: nothing removed


def test_rule_leaves_a_query_without_match_invalid():
    # the only image of person 1 comes from the query's own camera: the query does not count
    res = evaluate_llcm(np.array([[0.1, 0.2], [0.3, 0.1]]), [1, 2], [1, 2], [3, 3], [3, 5])
    assert res["num_valid"] == 1 and res["cmc"][0] == 1.0
    with pytest.raises(ValueError, match="g_camids"):
        llcm_same_camera_rule([1], [1, 2], [3], [3])


def _records(spec, modality):
    """``spec``: (pid, camid, n images) -> records named <pid>_c<cam>_<i>.jpg."""
    return [Record(f"/llcm/{modality}/cam{cam}/{pid:04d}/{pid:04d}_c{cam:02d}_{i:04d}.jpg", pid, cam, modality)
            for pid, cam, n in spec for i in range(1, n + 1)]


def test_draw_reproduces_random_seed_trial_and_choice():
    """Four folders of 3, 1, 2, 2 images. Python's ``random.seed(0)`` then
    ``random.choice`` on each picks positions 1, 0, 0, 1; ``random.seed(1)``
    picks 0, 0, 1, 0 (written down once from Python's generator, the one
    DEEN's process_gallery_llcm draws with). The global state is untouched."""
    folders = [[f"f{k}_{i}" for i in range(n)] for k, n in enumerate((3, 1, 2, 2))]
    random.seed(123)
    before = random.getstate()
    assert draw_gallery(folders, 0) == ["f0_1", "f1_0", "f2_0", "f3_1"]
    assert draw_gallery(folders, 1) == ["f0_0", "f1_0", "f2_1", "f3_0"]
    assert random.getstate() == before


def test_query_and_gallery_per_trial():
    """Visible: person 1 in cams 1 (3 images) and 3 (1); person 2 in cam 1 (2).
    NIR: person 1 in cam 2 (2), person 2 in cams 2 (1) and 4 (3)."""
    vis = _records([(1, 1, 3), (1, 3, 1), (2, 1, 2)], RGB)
    nir = _records([(1, 2, 2), (2, 2, 1), (2, 4, 3)], IR)
    records = nir[::-1] + vis[::-1]  # any order in, protocol order out
    query, gallery = llcm_query_gallery(records, "ir->visible", trial=0)
    assert query == nir  # every NIR image, by person, camera, file name
    assert [(r.pid, r.camid) for r in gallery] == [(1, 1), (1, 3), (2, 1)]  # one per (person, camera)
    assert all(r.modality == RGB for r in gallery)
    query, gallery = llcm_query_gallery(records, "visible->ir", trial=0)
    assert query == vis and [(r.pid, r.camid) for r in gallery] == [(1, 2), (2, 2), (2, 4)]
    draws = {tuple(r.path for r in llcm_query_gallery(records, "visible->ir", t)[1]) for t in range(10)}
    assert len(draws) > 3  # the draw changes with the trial
    assert llcm_query_gallery(records, "visible->ir", 7) == llcm_query_gallery(records, "visible->ir", 7)
    with pytest.raises(ValueError, match="direction"):
        llcm_query_gallery(records, "rgb->ir")
    with pytest.raises(ValueError, match="trial"):
        llcm_query_gallery(records, "ir->visible", -1)


def test_lists_equal_deens_on_a_tiny_tree(tmp_path):
    """The lists DEEN's ``DEEN/data_manager.py`` builds, written by hand from
    reading it. ``process_query_llcm``: for each id of ``idx/test_id.txt`` in
    sorted order (``"%04d"`` strings), for each camera of the mode's list
    (visible: cam1..cam9; NIR: cam1, cam2, cam4..cam9), every file of the
    person folder in sorted order. ``process_gallery_llcm(trial)``:
    ``random.seed(trial)``, then in the same order one ``random.choice`` per
    existing person folder. test_id.txt lists "12,7" (unsorted); person 30
    has a folder but is not listed (DEEN never looks at it, so it does not
    shift the draws).

    Visible folders in order: 0007/cam1 (3 files), 0007/cam3 (1), 0007/cam9
    (2), 0012/cam2 (2); NIR: 0007/cam2 (2), 0012/cam4 (4), 0012/cam9 (1).
    random.seed(0) then choice over sizes 3, 1, 2, 2 picks 1, 0, 0, 1, over
    2, 4, 1 picks 1, 3, 0; random.seed(1): 0, 0, 1, 0 and 0, 0, 0.
    """
    test = {"test_vis": {1: {7: 3, 30: 1}, 3: {7: 1}, 9: {7: 2}, 2: {12: 2}},
            "test_nir": {2: {7: 2}, 4: {12: 4}, 9: {12: 1}}}
    root = write_llcm_tree(tmp_path / "LLCM", {"vis": {0: {1: 1}}, "nir": {0: {2: 1}}}, test, [12, 7])
    ds = load_llcm(root)

    def rel(records):
        return [os.path.relpath(r.path, root) for r in records]

    vis_all = ["test_vis/cam1/0007/0007_c01_0001.jpg", "test_vis/cam1/0007/0007_c01_0002.jpg",
               "test_vis/cam1/0007/0007_c01_0003.jpg", "test_vis/cam3/0007/0007_c03_0001.jpg",
               "test_vis/cam9/0007/0007_c09_0001.jpg", "test_vis/cam9/0007/0007_c09_0002.jpg",
               "test_vis/cam2/0012/0012_c02_0001.jpg", "test_vis/cam2/0012/0012_c02_0002.jpg"]
    nir_all = ["test_nir/cam2/0007/0007_c02_0001.jpg", "test_nir/cam2/0007/0007_c02_0002.jpg",
               "test_nir/cam4/0012/0012_c04_0001.jpg", "test_nir/cam4/0012/0012_c04_0002.jpg",
               "test_nir/cam4/0012/0012_c04_0003.jpg", "test_nir/cam4/0012/0012_c04_0004.jpg",
               "test_nir/cam9/0012/0012_c09_0001.jpg"]
    vis_gallery = {0: ["test_vis/cam1/0007/0007_c01_0002.jpg", "test_vis/cam3/0007/0007_c03_0001.jpg",
                       "test_vis/cam9/0007/0007_c09_0001.jpg", "test_vis/cam2/0012/0012_c02_0002.jpg"],
                   1: ["test_vis/cam1/0007/0007_c01_0001.jpg", "test_vis/cam3/0007/0007_c03_0001.jpg",
                       "test_vis/cam9/0007/0007_c09_0002.jpg", "test_vis/cam2/0012/0012_c02_0001.jpg"]}
    nir_gallery = {0: ["test_nir/cam2/0007/0007_c02_0002.jpg", "test_nir/cam4/0012/0012_c04_0004.jpg",
                       "test_nir/cam9/0012/0012_c09_0001.jpg"],
                   1: ["test_nir/cam2/0007/0007_c02_0001.jpg", "test_nir/cam4/0012/0012_c04_0001.jpg",
                       "test_nir/cam9/0012/0012_c09_0001.jpg"]}
    for trial in (0, 1):
        query, gallery = llcm_query_gallery(ds, "ir->visible", trial)  # DEEN's test_mode [1, 2]
        assert rel(query) == nir_all and rel(gallery) == vis_gallery[trial]
        query, gallery = llcm_query_gallery(ds, "visible->ir", trial)  # DEEN's lists for test_mode [2, 1]
        assert rel(query) == vis_all and rel(gallery) == nir_gallery[trial]
    q, g = llcm_query_gallery(ds, "ir->visible", 0)
    assert labels(q)[1].tolist() == [2, 2, 4, 4, 4, 4, 9] and labels(g)[0].tolist() == [7, 7, 7, 12]


# Features on a line: visible a (person 1, cam 1) = 0, b (2, cam 1) = 3, c (1, cam 2) = 10;
# NIR a (1, cam 1) = 1, b (2, cam 2) = 4. One image per (person, camera): every draw is the same.
VIS = [Record("/l/v/a.jpg", 1, 1, RGB), Record("/l/v/b.jpg", 2, 1, RGB), Record("/l/v/c.jpg", 1, 2, RGB)]
NIR = [Record("/l/n/a.jpg", 1, 1, IR), Record("/l/n/b.jpg", 2, 2, IR)]
FEATS = torch.tensor([[0.0], [3.0], [10.0], [1.0], [4.0]])


def test_driver_both_directions_by_hand():
    """ir->visible: NIR a: v_a 1 (removed: same person, same camera), v_b 2,
    v_c 9 -> first match at 2, AP = INP = 1/2; NIR b: v_b 1 first -> hit.
    R1 50, mAP = mINP = 75; 2 queries, 3 gallery images.
    visible->ir: v_a: n_a removed, only n_b (person 2) left -> invalid; v_b:
    n_b 1 first -> hit; v_c: n_b 6, n_a 9 -> rank 2, AP = INP = 1/2.
    R1 50, mAP = mINP = 75, 3 queries, 2 valid, 2 gallery images."""
    out = evaluate_llcm_features(VIS + NIR, FEATS, trials=range(2), device="cpu")
    assert list(out.columns) == ["direction", "trial", "rerank", "R1", "R10", "R20", "mAP", "mINP",
                                 "num_query", "num_gallery", "num_valid"]
    assert list(out["direction"]) == [LLCM_DIRECTIONS[0]] * 2 + [LLCM_DIRECTIONS[1]] * 2
    assert list(out["trial"]) == [0, 1, 0, 1]
    for _, row in out.iterrows():
        assert (row["R1"], row["R10"], row["mAP"], row["mINP"]) == (50.0, 100.0, 75.0, 75.0)
    i2v, v2i = out.iloc[0], out.iloc[2]
    assert (i2v["num_query"], i2v["num_gallery"], i2v["num_valid"]) == (2, 3, 2)
    assert (v2i["num_query"], v2i["num_gallery"], v2i["num_valid"]) == (3, 2, 2)
    summary = summarize(out)
    assert list(summary["direction"]) == list(LLCM_DIRECTIONS) and (summary["trials"] == 2).all()


def test_driver_rows_equal_the_metric_on_each_trials_lists():
    g = torch.Generator().manual_seed(0)
    vis = _records([(p, c, 2) for p in range(1, 5) for c in (1, 3, 6)], RGB)
    nir = _records([(p, c, 3) for p in range(1, 5) for c in (2, 6)], IR)
    centres = torch.randn(5, 6, generator=g) * 2
    feats = torch.stack([centres[r.pid] + torch.randn(6, generator=g) for r in vis + nir])
    row_of = {r.path: i for i, r in enumerate(vis + nir)}
    params = {"k1": 4, "k2": 2}
    out = evaluate_llcm_features(vis + nir, feats, trials=(0, 5), rerank=(False, True), rerank_params=params,
                                 device="cpu").set_index(["direction", "trial", "rerank"])
    assert len(out) == 8
    for direction in LLCM_DIRECTIONS:
        for trial in (0, 5):
            q, gal = llcm_query_gallery(vis + nir, direction, trial)
            qf, gf = feats[[row_of[r.path] for r in q]], feats[[row_of[r.path] for r in gal]]
            (qp, qc), (gp, gc) = labels(q), labels(gal)
            d = euclidean_distance(qf, gf, dtype=torch.float64)
            rr = k_reciprocal_rerank(d, euclidean_distance(qf, qf), euclidean_distance(gf, gf), as_tensor=True,
                                     **params)
            for rerank, dist in ((False, d), (True, rr)):
                want = evaluate_llcm(dist, qp, gp, qc, gc)
                got = out.loc[(direction, trial, rerank)]
                assert got["R1"] == pytest.approx(100 * want["cmc"][0]) and got["mAP"] == pytest.approx(
                    100 * want["mAP"]), (direction, trial, rerank)


def test_model_driver_equals_the_features_driver():
    table = {r.path: f for r, f in zip(VIS + NIR, FEATS)}
    model = torch.nn.Linear(1, 1, bias=False).requires_grad_(False).apply(lambda m: m.weight.fill_(1.0))
    out = evaluate_llcm_model(model, VIS + NIR, transform=lambda x: x, batch_size=2, device="cpu", trials=(3,),
                              dataset_factory=lambda recs, tf: FeatureRows(recs, tf, table))
    pd.testing.assert_frame_equal(out, evaluate_llcm_features(VIS + NIR, FEATS, trials=(3,), device="cpu"))
    with pytest.raises(ValueError, match="direction"):
        evaluate_llcm_features(VIS + NIR, FEATS, directions=("nir->visible",))
    with pytest.raises(ValueError, match="features"):
        evaluate_llcm_features(VIS + NIR, FEATS[:3])
