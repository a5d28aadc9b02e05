"""The synthetic LLCM stand-in: LLCM's layout as load_llcm reads it, no NIR
camera 3, determinism and caching, dim and tinted visible images, and the
protocol running on it."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from tsgan_lib.data import LLCM, DatasetError, load_llcm, make_synthetic_llcm, synthetic_llcm_root
from tsgan_lib.data.config import data_tag, load_data
from tsgan_lib.data.llcm import camera_in_name
from tsgan_lib.data.synthetic import MARKER, SyntheticConfig
from tsgan_lib.data.synthetic import plan as sysu_plan
from tsgan_lib.data.synthetic import render_image as sysu_render
from tsgan_lib.data.synthetic_llcm import SyntheticLLCMConfig, plan, render_image
from tsgan_lib.data.verify import verify_dataset
from tsgan_lib.eval import evaluate_llcm_features
from tsgan_lib.train import ConfigError, resolve_config

SMALL = dict(num_ids=12, height=64, width=32, seed=2)


def _digest(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(root)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return make_synthetic_llcm(tmp_path_factory.mktemp("llcm") / "a", **SMALL)


def test_layout_matches_llcm(small):
    assert sorted(p.name for p in small.iterdir()) == [MARKER, "idx", "nir", "test_nir", "test_vis", "vis"]
    assert sorted(p.name for p in (small / "idx").iterdir()) == ["test_id.txt", "train_nir.txt", "train_vis.txt"]
    assert sorted(p.name for p in (small / "test_vis").iterdir()) == [f"cam{c}" for c in range(1, 10)]
    assert sorted(p.name for p in (small / "test_nir").iterdir()) == [f"cam{c}" for c in (1, 2, 4, 5, 6, 7, 8, 9)]
    assert not list((small / "nir").rglob("*_c03_*.jpg"))  # no NIR camera 3 in training either
    assert list((small / "vis").rglob("*_c03_*.jpg")) or list((small / "test_vis").rglob("*_c03_*.jpg"))
    path, label = (small / "idx" / "train_nir.txt").read_text().splitlines()[0].split()
    assert path.startswith("nir/") and int(label) == 0 and camera_in_name(path) in (1, 2, 4, 5, 6, 7, 8, 9)
    test_ids = [int(i) for i in (small / "idx" / "test_id.txt").read_text().strip().split(",")]
    assert len(test_ids) == 4 and test_ids == sorted(test_ids)  # round(0.33 * 12)
    nir = np.asarray(Image.open(next((small / "test_nir").rglob("*.jpg")))).astype(int)
    vis = np.asarray(Image.open(next((small / "test_vis").rglob("*.jpg")))).astype(int)
    assert nir.shape == vis.shape == (64, 32, 3)
    assert np.abs(nir[..., 0] - nir[..., 2]).max() <= 3  # NIR: 3 identical channels
    assert np.abs(vis[..., 0] - vis[..., 2]).max() > 30  # visible: colour


def test_loads_with_load_llcm(small):
    ds = load_llcm(small)
    cfg = SyntheticLLCMConfig(**SMALL)
    lo, hi = cfg.images_per_camera
    assert ds.num_train_ids == 8 and sorted({r.pid for r in ds.train}) == list(range(8))
    assert not any(r.modality == "ir" and r.camid == 3 for r in ds.train + ds.test)
    cams = defaultdict(set)
    per_image = defaultdict(int)
    for split, recs in (("train", ds.train), ("test", ds.test)):
        for r in recs:
            cams[(split, r.pid, r.modality)].add(r.camid)
            per_image[(split, r.pid, r.modality, r.camid)] += 1
    for split, ids in (("train", range(8)), ("test", ds.test_ids)):
        for pid in ids:  # every id in both modes, by at least two cameras each
            assert len(cams[(split, pid, "rgb")]) >= 2 and len(cams[(split, pid, "ir")]) >= 2, (split, pid)
    assert set(per_image.values()) <= set(range(lo, hi + 1))
    assert verify_dataset(small, workers=0, progress=False) == []  # decodes; NIR images grey


def test_deterministic_and_cached(small, tmp_path):
    again = make_synthetic_llcm(tmp_path / "b", **SMALL)
    assert _digest(again) == _digest(small)
    assert _digest(make_synthetic_llcm(tmp_path / "c", **{**SMALL, "seed": 3})) != _digest(small)
    before = (small / MARKER).stat().st_mtime_ns
    assert make_synthetic_llcm(small, **SMALL) == small  # cache hit: nothing rewritten
    assert (small / MARKER).stat().st_mtime_ns == before
    with pytest.raises(DatasetError, match="other arguments"):
        make_synthetic_llcm(small, **{**SMALL, "seed": 9})
    info = json.loads((small / MARKER).read_text())
    assert info["layout"] == "llcm" and "not LLCM numbers" in info["note"]
    assert info["num_images"] == sum(1 for _ in small.rglob("*.jpg"))


def test_cache_root_and_foreign_folders(tmp_path):
    tiny = dict(num_ids=4, test_fraction=0.5, images_per_camera=(1, 1), height=32, width=16)
    a = synthetic_llcm_root(tmp_path, **tiny)
    assert a.name == f"synthetic_llcm_{SyntheticLLCMConfig(**{**tiny, 'images_per_camera': (1, 1)}).key()}"
    assert synthetic_llcm_root(tmp_path, **tiny) == a
    assert synthetic_llcm_root(tmp_path, **{**tiny, "seed": 1}) != a
    with pytest.raises(TypeError, match="unknown"):
        synthetic_llcm_root(tmp_path, ir_sensor="thermal")
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(DatasetError, match="not a synthetic LLCM"):
        make_synthetic_llcm(foreign, **tiny)
    assert (foreign / "notes.txt").read_text() == "keep me"


@pytest.mark.parametrize("change, needle", [({"num_ids": 4}, "at least 2 training and 2 test ids"),
                                            ({"test_fraction": 1.0}, "test_fraction"),
                                            ({"images_per_camera": (3, 2)}, "images_per_camera"),
                                            ({"camera_fraction": 1.5}, "camera_fraction"),
                                            ({"jpeg_quality": 0}, "jpeg_quality")])
def test_bad_arguments(change, needle):
    with pytest.raises(ValueError, match=needle):
        SyntheticLLCMConfig(**change).validate()


def test_no_nir_camera_3():
    cfg = SyntheticLLCMConfig(num_ids=6)
    with pytest.raises(ValueError, match="no 'ir' images"):
        render_image(cfg, plan(cfg)["identities"][1], 1, "ir", 3, 1)
    assert all(cam != 3 for counts in plan(SyntheticLLCMConfig())["counts"].values() for mod, cam in counts
               if mod == "ir")


def test_low_light_visible_is_dark_and_tinted():
    """The same number of visible images of the LLCM stand-in and RGB images
    of the SYSU-MM01 stand-in: the LLCM ones are less than half as bright.
    Camera 1's sodium lamp makes red dominate blue; camera 4's cold LED the
    other way round."""
    cfg, ids = SyntheticLLCMConfig(), plan(SyntheticLLCMConfig())["identities"]
    scfg = SyntheticConfig()
    sids = sysu_plan(scfg)["identities"]
    llcm = {cam: np.stack([render_image(cfg, ids[p], p, "rgb", cam, 1) for p in range(1, 13)]).astype(float)
            for cam in (1, 4, 6)}
    sysu = np.stack([sysu_render(scfg, sids[p], p, cam, 1) for p in range(1, 13) for cam in (1, 4, 5)])
    assert np.mean([im.mean() for im in llcm.values()]) < 0.5 * sysu.mean()
    red_blue = {cam: im[..., 0].mean() / im[..., 2].mean() for cam, im in llcm.items()}
    assert red_blue[1] > 1.5 and red_blue[4] < 1.0
    nir = np.stack([render_image(cfg, ids[p], p, "ir", 4, 1) for p in range(1, 13)])
    assert (nir[..., 0] == nir[..., 2]).all()


def test_people_differ_from_the_sysu_stand_in_and_twins_exist():
    llcm = plan(SyntheticLLCMConfig(num_ids=60))
    sysu = sysu_plan(SyntheticConfig(num_ids=60))["identities"]
    assert not any(np.allclose(llcm["identities"][p]["upper"], sysu[p]["upper"]) for p in range(1, 61))
    assert llcm["twins"] and all(llcm["identities"][a]["structure"] == llcm["identities"][b]["structure"]
                                 for a, b in llcm["twins"].items())
    assert not set(llcm["splits"]["train"]) & set(llcm["splits"]["test"])


def test_protocol_runs_on_the_stand_in(small):
    """Features that are the person id itself: every query of both directions
    is valid (a second camera always holds a match) and ranks it first."""
    ds = load_llcm(small)
    feats = torch.nn.functional.one_hot(torch.tensor([r.pid for r in ds.test]), 13).float()
    out = evaluate_llcm_features(ds.test, feats, device="cpu")
    assert len(out) == 20 and (out["R1"] == 100.0).all() and (out["num_valid"] == out["num_query"]).all()
    assert out.groupby("direction")["num_gallery"].nunique().eq(1).all()  # one image per (id, camera) each draw


def test_data_config_names_the_stand_in(tmp_path, monkeypatch):
    monkeypatch.setenv("TSGAN_DATA_DIR", str(tmp_path))
    cfg = resolve_config(None, {"data.dataset": "llcm", **{f"data.synthetic_llcm.{k}": v for k, v in SMALL.items()}})
    key = SyntheticLLCMConfig(**SMALL).key()
    ds = load_data(cfg.data, check=True)
    assert isinstance(ds, LLCM) and ds.root == tmp_path / f"synthetic_llcm_{key}"
    assert data_tag(cfg.data) == {"dataset": "llcm", "root": "synthetic", "synthetic_key": key}
    with pytest.raises(ConfigError, match=r"data\.synthetic_llcm\.num_ids=4 and test_fraction=0\.33 must leave"):
        resolve_config(None, {"data.dataset": "llcm", "data.synthetic_llcm.num_ids": 4})

