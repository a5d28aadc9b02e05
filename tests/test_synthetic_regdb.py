"""The synthetic RegDB stand-in: RegDB's layout and trials as load_regdb reads
them, determinism, caching, and the co-located visible/thermal pair."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tsgan_lib.data import DatasetError, load_regdb, make_synthetic_regdb, synthetic_regdb_root
from tsgan_lib.data.synthetic import MARKER, SyntheticConfig
from tsgan_lib.data.synthetic import plan as sysu_plan
from tsgan_lib.data.synthetic_regdb import SyntheticRegDBConfig, pair_poses, plan

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
    return make_synthetic_regdb(tmp_path_factory.mktemp("regdb") / "a", **SMALL)


def test_layout_matches_regdb(small):
    assert sorted(p.name for p in small.iterdir() if p.is_dir()) == ["Thermal", "Visible", "idx"]
    lists = sorted(p.name for p in (small / "idx").iterdir())
    assert lists == sorted(f"{part}_{m}_{t}.txt" for part in ("train", "test") for m in ("visible", "thermal")
                           for t in range(1, 11))
    assert sorted(int(p.name) for p in (small / "Visible").iterdir()) == list(range(1, 13))
    line = (small / "idx" / "train_thermal_1.txt").read_text().splitlines()[0]
    path, label = line.split()
    assert path.startswith("Thermal/") and int(label) == int(path.split("/")[1])
    vis = np.asarray(Image.open(small / "Visible" / "1" / "v_0001_01.jpg")).astype(int)
    th = np.asarray(Image.open(small / "Thermal" / "1" / "t_0001_01.jpg")).astype(int)
    assert vis.shape == th.shape == (64, 32, 3)
    assert np.abs(th[..., 0] - th[..., 2]).max() <= 3  # thermal: 3 identical channels
    assert np.abs(vis[..., 0] - vis[..., 2]).max() > 30  # visible: colour


@pytest.mark.parametrize("trial", [1, 10])
def test_loads_with_load_regdb(small, trial):
    ds = load_regdb(small, trial)
    train_ids = {Path(r.path).parent.name for r in ds.train}
    test_v = Counter(r.pid for r in ds.test_visible)
    test_t = Counter(r.pid for r in ds.test_thermal)
    # a 50/50 split of disjoint ids covering everyone
    assert len(train_ids) == ds.num_train_ids == 6 and set(test_v) == set(test_t) and len(test_v) == 6
    assert not train_ids & {str(p) for p in test_v}
    assert train_ids | {str(p) for p in test_v} == {str(p) for p in range(1, 13)}
    # 10 images per person per modality
    assert set(test_v.values()) == set(test_t.values()) == {10}
    per = Counter((r.pid, r.modality) for r in ds.train)
    assert len(per) == 12 and set(per.values()) == {10}
    assert {r.camid for r in ds.test_visible} == {1} and {r.camid for r in ds.test_thermal} == {2}


def test_every_trial_loads_and_splits_differ(small):
    splits = [frozenset(r.pid for r in load_regdb(small, t).test_visible) for t in range(1, 11)]
    assert len(set(splits)) > 5
    assert splits[0] != splits[-1]


def test_deterministic_and_cached(small, tmp_path):
    again = make_synthetic_regdb(tmp_path / "b", **SMALL)
    assert _digest(again) == _digest(small)
    other = make_synthetic_regdb(tmp_path / "c", **{**SMALL, "seed": 3})
    assert _digest(other) != _digest(small)
    before = (small / MARKER).stat().st_mtime_ns
    assert make_synthetic_regdb(small, **SMALL) == small  # cache hit: nothing rewritten
    assert (small / MARKER).stat().st_mtime_ns == before
    with pytest.raises(DatasetError, match="other arguments"):
        make_synthetic_regdb(small, **{**SMALL, "seed": 9})
    info = json.loads((small / MARKER).read_text())
    assert info["layout"] == "regdb" and info["num_images"] == 240 and "not RegDB numbers" in info["note"]


def test_cache_root_and_foreign_folders(tmp_path):
    tiny = dict(num_ids=4, images_per_modality=2, height=32, width=16)
    a = synthetic_regdb_root(tmp_path, **tiny)
    assert a.name == f"synthetic_regdb_{SyntheticRegDBConfig(**tiny).key()}"
    assert synthetic_regdb_root(tmp_path, **tiny) == a
    assert synthetic_regdb_root(tmp_path, **{**tiny, "seed": 1}) != a
    with pytest.raises(TypeError, match="unknown"):
        synthetic_regdb_root(tmp_path, ir_sensor="nir")
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(DatasetError, match="not a synthetic RegDB"):
        make_synthetic_regdb(foreign, **tiny)
    assert (foreign / "notes.txt").read_text() == "keep me"


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"num_ids=11: expected an integer of at least 4, a multiple of 2"):
        SyntheticRegDBConfig(num_ids=11).validate()
    with pytest.raises(ValueError, match="images_per_modality"):
        SyntheticRegDBConfig(images_per_modality=0).validate()
    with pytest.raises(ValueError, match="jpeg_quality"):
        SyntheticRegDBConfig(jpeg_quality=0).validate()


def test_people_differ_from_the_sysu_stand_in_and_twins_exist():
    regdb = plan(SyntheticRegDBConfig(num_ids=60))["identities"]
    sysu = sysu_plan(SyntheticConfig(num_ids=60))["identities"]
    assert not any(np.allclose(regdb[p]["upper"], sysu[p]["upper"]) for p in range(1, 61))
    twins = plan(SyntheticRegDBConfig(num_ids=60))["twins"]
    assert twins and all(regdb[a]["structure"] == regdb[b]["structure"] for a, b in twins.items())


def test_pair_is_co_located(small):
    """Image i of the visible and the thermal camera show one moment: the same
    view and walking phase, framed a few pixels apart; and the thermal image's
    warm figure lies where the visible camera's pose puts the person."""
    cfg = SyntheticRegDBConfig(**SMALL)
    ids = plan(cfg)["identities"]
    inside, outside = [], []
    for pid in range(1, 13):
        for index in (1, 2, 3):
            pv, pt = pair_poses(cfg, ids[pid], pid, index)
            assert (pv["view"], pv["phase"]) == (pt["view"], pt["phase"])
            assert abs(pv["cx"] - pt["cx"]) < 0.15 * cfg.width and abs(pv["top"] - pt["top"]) < 0.1 * cfg.height
            assert 0.9 < pv["hp"] / pt["hp"] < 1.1
            g = np.asarray(Image.open(small / "Thermal" / str(pid) / f"t_{pid:04d}_{index:02d}.jpg"), float)[..., 0]
            x0, x1 = int(pv["cx"] - 0.1 * pv["hp"]), int(pv["cx"] + 0.1 * pv["hp"])
            y0, y1 = int(pv["top"] + 0.15 * pv["hp"]), int(pv["top"] + 0.5 * pv["hp"])  # the torso
            inside.append(g[y0:y1, x0:x1].mean())
            outside.append(np.concatenate([g[y0:y1, :2].ravel(), g[y0:y1, -2:].ravel()]).mean())
    assert np.mean(inside) > np.mean(outside) + 40
    poses = [pair_poses(cfg, ids[1], 1, i)[0] for i in range(1, 11)]
    assert len({round(p["phase"], 6) for p in poses}) == 10  # other moments, other poses
