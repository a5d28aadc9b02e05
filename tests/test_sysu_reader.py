"""SYSU-MM01 reader: structure checks, splits, relabelling, real test counts."""

from __future__ import annotations

import pytest

from tsgan_lib.data import DatasetError, load_sysu
from tsgan_lib.data.sysu import camera_modality

from conftest import write_sysu_tree


def _small_counts():
    # ids 1,2 train; 3 val; 4,5 test. cam3 only sees 1 and 4 (indoor subset).
    c = {cam: {pid: 2 for pid in (1, 2, 3, 4, 5)} for cam in (1, 4, 5, 6)}
    c[2] = {1: 3, 4: 1}
    c[3] = {1: 2, 4: 2}
    return c


@pytest.fixture
def small_tree(tmp_path):
    return write_sysu_tree(tmp_path / "sysu", _small_counts(), {"train": [1, 2], "val": [3], "test": [4, 5]})


def test_load_small_tree(small_tree):
    ds = load_sysu(small_tree)
    assert ds.num_train_ids == 3  # train+val by default
    assert sorted({r.pid for r in ds.train}) == [0, 1, 2]
    assert {r.pid for r in ds.test} == {4, 5}
    assert all(r.modality == camera_modality(r.camid) for r in ds.train + ds.test)
    # cam1 2 + cam2 3 + cam3 2 + cam4/5/6 2 each for pid 1
    assert sum(r.pid == ds.train_pid_map[1] for r in ds.train) == 13
    held = load_sysu(small_tree, hold_out_val=True)
    assert held.num_train_ids == 2 and {r.pid for r in held.val} == {3}


@pytest.mark.parametrize("breakage, needle", [
    (lambda r: __import__("shutil").rmtree(r / "cam4"), "cam4"),
    (lambda r: (r / "exp" / "val_id.txt").unlink(), "val_id.txt"),
    (lambda r: (r / "exp" / "test_id.txt").write_text(""), "test_id.txt"),
    (lambda r: (r / "exp" / "train_id.txt").write_text("1;2"), "train_id.txt"),
    (lambda r: (r / "exp" / "test_id.txt").write_text("4,5,77"), "0077"),
    (lambda r: (r / "exp" / "val_id.txt").write_text("3,1"), "overlap"),
])
def test_structure_errors_name_the_path(small_tree, breakage, needle):
    breakage(small_tree)
    with pytest.raises(DatasetError, match=needle):
        load_sysu(small_tree)


def test_missing_root(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        load_sysu(tmp_path / "nowhere")


def test_exact_official_test_structure(sysu_exact_tree, sysu_structure):
    ds = load_sysu(sysu_exact_tree)
    assert len(ds.test_ids) == 96
    ir = [r for r in ds.test if r.modality == "ir"]
    assert len(ir) == 3803
    per_cam = {c: sum(r.camid == c for r in ds.test) for c in range(1, 7)}
    assert per_cam == {1: 1374, 2: 1565, 3: 1883, 4: 1918, 5: 1918, 6: 1920}
    ids_per_cam = {c: len({r.pid for r in ds.test if r.camid == c}) for c in range(1, 7)}
    assert ids_per_cam == {1: 56, 2: 56, 3: 93, 4: 94, 5: 95, 6: 96}
