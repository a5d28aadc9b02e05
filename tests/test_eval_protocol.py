"""SYSU-MM01 protocol: query/gallery lists, official and seeded draws, counts."""

from __future__ import annotations

import os

import numpy as np
import pytest
from scipy.io import loadmat

from conftest import official_file, record_names
from tsgan_lib.data import DatasetError, load_sysu
from tsgan_lib.eval import evaluate_sysu, protocol_summary, sysu_query_gallery
from tsgan_lib.eval.protocol import RandPerm, labels


def test_query_is_every_ir_image_in_both_modes(small_sysu):
    for mode in ("all", "indoor"):
        query, _ = sysu_query_gallery(small_sysu, mode, 1)
        assert record_names(query) == [(3, 4, "0001.jpg"), (3, 4, "0002.jpg"),
                                 (6, 4, "0001.jpg"), (6, 4, "0002.jpg"), (6, 4, "0003.jpg"), (6, 5, "0001.jpg")]


def test_seeded_gallery_sizes_and_subsets(small_sysu):
    _, g1 = sysu_query_gallery(small_sysu, "all", 1, trial=2, seed=5)
    _, g10 = sysu_query_gallery(small_sysu, "all", 10, trial=2, seed=5)
    _, i10 = sysu_query_gallery(small_sysu, "indoor", 10, trial=2, seed=5)
    # (4,cam1) 12 -> 10, (4,cam2) 3 -> all 3, (4,cam4) 11 -> 10, (5,cam4) 2 -> 2, (5,cam5) 14 -> 10
    assert len(g1) == 5 and len(g10) == 10 + 3 + 10 + 2 + 10 and len(i10) == 13
    assert {r.camid for r in i10} == {1, 2}
    assert set(record_names(i10)) <= set(record_names(g10))  # indoor draw = all-search draw on cams 1, 2
    assert set(record_names(g1)) <= set(record_names(g10))  # single-shot = first of the ten
    assert len(set(record_names(g10))) == len(g10)
    again = sysu_query_gallery(small_sysu, "all", 10, trial=2, seed=5)[1]
    assert record_names(again) == record_names(g10)
    others = [record_names(sysu_query_gallery(small_sysu, "all", 10, trial=t, seed=5)[1]) for t in range(4)]
    assert len({tuple(o) for o in others}) > 1  # trials differ


def test_official_positions_from_a_rand_perm(small_sysu):
    # one matrix per (camera, person) with the images' count; trial 1 row reversed
    perms = {}
    for (cam, pid), n in {(1, 4): 12, (2, 4): 3, (4, 4): 11, (4, 5): 2, (5, 5): 14}.items():
        perms[(cam, pid)] = np.vstack([np.arange(1, n + 1), np.arange(n, 0, -1)])
    rp = RandPerm("fake.mat", perms)
    _, g = sysu_query_gallery(small_sysu, "all", 1, trial=1, rand_perm=rp)
    assert record_names(g) == [(1, 4, "0012.jpg"), (2, 4, "0003.jpg"), (4, 4, "0011.jpg"), (4, 5, "0002.jpg"),
                         (5, 5, "0014.jpg")]
    _, g = sysu_query_gallery(small_sysu, "indoor", 10, trial=0, rand_perm=rp)
    assert [n for c, p, n in record_names(g) if c == 2] == ["0001.jpg", "0002.jpg", "0003.jpg"]
    perms[(4, 5)] = np.array([[1, 2, 3]] * 2)
    with pytest.raises(DatasetError, match="camera 4, person 0005"):
        sysu_query_gallery(small_sysu, "all", 1, trial=0, rand_perm=rp)
    with pytest.raises(ValueError, match="trial"):
        sysu_query_gallery(small_sysu, "all", 1, trial=2, rand_perm=rp)


@pytest.mark.parametrize("kwargs, needle", [
    ({"mode": "outdoor"}, "mode"), ({"shots": 5}, "shots"), ({"trial": -1}, "trial"),
])
def test_bad_settings_name_the_parameter(small_sysu, kwargs, needle):
    with pytest.raises(ValueError, match=needle):
        sysu_query_gallery(small_sysu, **kwargs)


# --- the real test structure (skips without ../shared) -----------------------------------------

@pytest.fixture(scope="module")
def exact(sysu_exact_tree):
    return load_sysu(sysu_exact_tree)


@pytest.mark.parametrize("use_official", [True, False])
def test_exact_counts_every_trial(exact, use_official):
    rp = str(official_file("rand_perm_cam.mat")) if use_official else None
    expected = {("all", 1): 301, ("all", 10): 3010, ("indoor", 1): 112, ("indoor", 10): 1120}
    for (mode, shots), n in expected.items():
        for trial in range(10):
            query, gallery = sysu_query_gallery(exact, mode, shots, trial, rand_perm=rp)
            assert len(query) == 3803 and len(gallery) == n, (mode, shots, trial)


def test_exact_valid_queries(exact):
    summary = protocol_summary(exact, official_file("rand_perm_cam.mat")).set_index(["mode", "shots"])
    assert summary.loc[("all", 1), "valid_queries"] == 3803
    assert summary.loc[("indoor", 10), "valid_queries"] == 2208  # 56 indoor ids, cam3 queries skip cam2
    assert summary.loc[("indoor", 1), "gallery_ids"] == 56
    # the evaluation counts the same valid queries
    query, gallery = sysu_query_gallery(exact, "indoor", 1, 0)
    (qp, qc), (gp, gc) = labels(query), labels(gallery)
    d = np.random.default_rng(0).random((len(query), len(gallery)), dtype=np.float32)
    assert evaluate_sysu(d, qp, gp, qc, gc)["num_valid"] == 2208


def test_exact_galleries_follow_the_official_positions(exact):
    path = official_file("rand_perm_cam.mat")
    cells = loadmat(str(path))["rand_perm_cam"]
    for mode, cams, shots in (("all", (1, 2, 4, 5), 1), ("all", (1, 2, 4, 5), 10), ("indoor", (1, 2), 10)):
        for trial in range(10):
            _, gallery = sysu_query_gallery(exact, mode, shots, trial, rand_perm=path)
            got = sorted(record_names(gallery))
            want = []
            for cam in cams:
                for pid in exact.test_ids:
                    entry = cells[cam - 1, 0][pid - 1, 0] if pid <= cells[cam - 1, 0].shape[0] else np.empty(0)
                    if entry.size:  # files are 0001.jpg, 0002.jpg, ... in the fixture
                        want += [(cam, pid, f"{p:04d}.jpg") for p in entry[trial, :shots]]
            assert got == sorted(want), (mode, shots, trial)
