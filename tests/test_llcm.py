"""LLCM reader: the released layout read into records, and the verifier on it.
(Malformed trees: the LLCM rows of tests/test_bad_input_data.py.)"""

from __future__ import annotations

import io
import os

import numpy as np
import pytest
from PIL import Image

from conftest import write_llcm_tree
from tsgan_lib.data import load_llcm
from tsgan_lib.data.llcm import camera_in_name
from tsgan_lib.data.verify import check_structure, detect_kind, verify_dataset

TRAIN = {"vis": {0: {1: 2, 4: 1}, 5: {2: 1}}, "nir": {0: {2: 1}, 5: {5: 2}}}
TEST = {"test_vis": {1: {7: 2, 12: 1}, 3: {7: 1}, 9: {99: 1}}, "test_nir": {2: {7: 1, 12: 2}, 4: {12: 1}}}


def _grey_jpeg() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.tile(np.arange(32, dtype=np.uint8) * 8, (64, 1))).convert("RGB").save(buf, "JPEG")
    return buf.getvalue()


@pytest.fixture
def tree(tmp_path):
    return write_llcm_tree(tmp_path / "llcm", TRAIN, TEST, test_ids=[12, 7], content=_grey_jpeg())


def test_training_records(tree):
    ds = load_llcm(tree)
    assert ds.train_label_map == {0: 0, 5: 1} and ds.num_train_ids == 2  # list labels 0 and 5 -> 0, 1
    got = sorted((r.modality, r.pid, r.camid, os.path.relpath(r.path, tree)) for r in ds.train)
    assert got == [("ir", 0, 2, "nir/0000/0000_c02_0001.jpg"), ("ir", 1, 5, "nir/0005/0005_c05_0001.jpg"),
                   ("ir", 1, 5, "nir/0005/0005_c05_0002.jpg"),
                   ("rgb", 0, 1, "vis/0000/0000_c01_0001.jpg"), ("rgb", 0, 1, "vis/0000/0000_c01_0002.jpg"),
                   ("rgb", 0, 4, "vis/0000/0000_c04_0001.jpg"), ("rgb", 1, 2, "vis/0005/0005_c02_0001.jpg")]


def test_test_records_in_order_and_unlisted_ids_ignored(tree):
    """Visible then NIR; within each, person id, camera, file name. Person 99
    has images in test_vis/cam9 but is not in test_id.txt: ignored, as DEEN
    ignores it."""
    ds = load_llcm(tree)
    assert ds.test_ids == [7, 12]
    got = [(r.modality, r.pid, r.camid, os.path.basename(r.path)) for r in ds.test]
    assert got == [("rgb", 7, 1, "0007_c01_0001.jpg"), ("rgb", 7, 1, "0007_c01_0002.jpg"),
                   ("rgb", 7, 3, "0007_c03_0001.jpg"), ("rgb", 12, 1, "0012_c01_0001.jpg"),
                   ("ir", 7, 2, "0007_c02_0001.jpg"), ("ir", 12, 2, "0012_c02_0001.jpg"),
                   ("ir", 12, 2, "0012_c02_0002.jpg"), ("ir", 12, 4, "0012_c04_0001.jpg")]
    assert all(os.path.isabs(r.path) for r in ds.test + ds.train)


def test_stray_files_ignored_and_nir_camera_3_not_read(tree):
    (tree / "test_vis" / "cam1" / "0007" / "Thumbs.db").write_bytes(b"x")
    (tree / "test_nir" / "cam3" / "0007").mkdir(parents=True)  # not an LLCM camera: never read
    (tree / "test_nir" / "cam3" / "0007" / "0007_c03_0001.jpg").write_bytes(b"")
    ds = load_llcm(tree)
    assert len(ds.test) == 8 and not any(r.modality == "ir" and r.camid == 3 for r in ds.test)
    problems = verify_dataset(tree, workers=0, progress=False)
    warnings = [p for p in problems if p.severity == "warning"]
    assert any("ignored by the reader" in p.message and "2 entries" in p.message for p in warnings)
    assert any(p.path.endswith(os.path.join("cam9", "0099")) and "not in idx/test_id.txt" in p.message
               for p in warnings)


def test_verifier_knows_the_layout(tree):
    assert detect_kind(tree) == "llcm" and check_structure(tree) == "llcm"
    (tree / "test_nir" / "cam2" / "0012" / "0012_c02_0002.jpg").write_bytes(b"")
    errors = [p for p in verify_dataset(tree, workers=0, progress=False) if p.severity == "error"]
    assert [os.path.basename(p.path) for p in errors] == ["0012_c02_0002.jpg"]  # empty images: an error each
    assert len(errors) == 1 and "empty" in errors[0].message


@pytest.mark.parametrize("name, cam", [("0001_c07_s1_f12.jpg", 7), ("vis/0001/0001_c10_0002.jpg", 10),
                                       ("cam3/0001/0001.jpg", None)])
def test_camera_in_name(name, cam):
    assert camera_in_name(name) == cam
