"""The synthetic SYSU-MM01 stand-in: layout, determinism, caching, signal."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from tsgan_lib.data import DatasetError, load_sysu, make_synthetic_sysu, synthetic_sysu_root
from tsgan_lib.data.synthetic import MARKER, SyntheticConfig, plan
from tsgan_lib.data.viz import modality_gap_stats, simple_embedding

SMALL = dict(num_ids=24, images_per_camera=(2, 3), seed=3)


def _digest(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(root)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return make_synthetic_sysu(tmp_path_factory.mktemp("syn") / "a", **SMALL)


def test_layout_matches_sysu(small):
    assert sorted(p.name for p in small.iterdir() if p.is_dir()) == ["cam1", "cam2", "cam3", "cam4", "cam5", "cam6", "exp"]
    for name in ("train_id.txt", "val_id.txt", "test_id.txt"):
        text = (small / "exp" / name).read_text()
        assert text.count("\n") == 1 and all(t.isdigit() for t in text.strip().split(","))
    img = next((small / "cam3").rglob("*.jpg"))
    assert img.parent.name.isdigit() and len(img.parent.name) == 4 and len(img.stem) == 4
    from PIL import Image
    arr = np.asarray(Image.open(img))
    assert arr.shape == (128, 64, 3)
    # IR is stored as 3 (nearly, after JPEG) identical channels
    assert np.abs(arr[..., 0].astype(int) - arr[..., 2].astype(int)).max() <= 3


def test_splits_and_camera_topology(small):
    ds = load_sysu(small, hold_out_val=True)
    assert not (set(ds.train_ids) & set(ds.test_ids)) and not (set(ds.val_ids) & set(ds.test_ids))
    for pid in ds.test_ids:
        mods = {r.modality for r in ds.test if r.pid == pid}
        assert mods == {"rgb", "ir"}, f"test id {pid} lacks a modality"
    everyone = [(1, r) for r in ds.train] + [(0, r) for r in ds.val + ds.test]  # train pids are relabelled
    seen = {c: {(t, r.pid) for t, r in everyone if r.camid == c} for c in range(1, 7)}
    n_ids = SMALL["num_ids"]
    assert len(seen[6]) == n_ids  # the outdoor IR camera sees everyone
    assert 0 < len(seen[1]) < n_ids and seen[1] == seen[2]  # indoor subset
    assert seen[1] <= seen[3]  # cam3 shares cam2's room


def test_deterministic_and_cached(small, tmp_path):
    again = make_synthetic_sysu(tmp_path / "b", **SMALL)
    assert _digest(again) == _digest(small)
    other = make_synthetic_sysu(tmp_path / "c", **{**SMALL, "seed": 4})
    assert _digest(other) != _digest(small)
    before = (small / MARKER).stat().st_mtime_ns
    assert make_synthetic_sysu(small, **SMALL) == small  # cache hit: nothing rewritten
    assert (small / MARKER).stat().st_mtime_ns == before


def test_refuses_foreign_or_mismatched_folders(small, tmp_path):
    with pytest.raises(DatasetError, match="other arguments"):
        make_synthetic_sysu(small, **{**SMALL, "seed": 9})
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(DatasetError, match="not a synthetic"):
        make_synthetic_sysu(foreign, **SMALL)
    assert (foreign / "notes.txt").read_text() == "keep me"


def test_cache_root_is_keyed(tmp_path):
    a = synthetic_sysu_root(tmp_path, **SMALL)
    assert a.name == f"synthetic_sysu_{SyntheticConfig(**{**SMALL, 'images_per_camera': (2, 3)}).key()}"
    assert synthetic_sysu_root(tmp_path, **SMALL) == a
    with pytest.raises(TypeError, match="unknown"):
        synthetic_sysu_root(tmp_path, colour="red")


def test_bad_arguments():
    with pytest.raises(ValueError, match="num_ids"):
        SyntheticConfig(num_ids=2).validate()
    with pytest.raises(ValueError, match="images_per_camera"):
        SyntheticConfig(images_per_camera=(3, 1)).validate()


def test_colour_twins_share_structure_not_colour():
    p = plan(SyntheticConfig(num_ids=60, seed=0))
    assert p["twins"], "the default twin fraction must produce colour twins"
    for pid, src in p["twins"].items():
        a, b = p["identities"][pid], p["identities"][src]
        assert a["structure"] == b["structure"]
        assert not np.allclose(a["upper"], b["upper"]) or not np.allclose(a["lower"], b["lower"])


def test_identity_signal_and_modality_gap(small):
    """Under a fixed learning-free embedding, identities separate within each
    modality but not across: the modality gap the method must close."""
    ds = load_sysu(small)
    recs = ds.train + ds.val + ds.test
    stats = modality_gap_stats(simple_embedding(recs), [r.pid for r in recs], [r.modality for r in recs]).set_index("pairs")
    assert stats.loc["RGB-RGB", "separation"] > 0.4
    assert stats.loc["IR-IR", "separation"] > 0.3
    assert stats.loc["IR-RGB", "separation"] < 0.5 * min(stats.loc["RGB-RGB", "separation"], stats.loc["IR-IR", "separation"])
    assert stats.loc["IR-RGB", "same_id"] > stats.loc["RGB-RGB", "same_id"]


def test_marker_records_config(small):
    info = json.loads((small / MARKER).read_text())
    assert info["config"]["num_ids"] == SMALL["num_ids"] and "not SYSU-MM01 numbers" in info["note"]
