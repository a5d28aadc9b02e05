"""The synthetic SYSU-MM01 stand-in: layout, determinism, caching, signal, and
its two IR sensors (near-infrared, the default, and thermal)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import spearmanr

from tsgan_lib.data import DatasetError, Record, load_sysu, make_synthetic_sysu, synthetic_sysu_root
from tsgan_lib.data.synthetic import (LUMINANCE, MARKER, SyntheticConfig, plan, region_masks, render_image,
                                     render_sensors)
from tsgan_lib.eval.gap import modality_gap_stats, simple_embedding

SMALL = dict(num_ids=24, images_per_camera=(2, 3), seed=3)


def _digest(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(root)).encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def _every_image(root: Path) -> list[Record]:
    """Every image once, with its own person id (load_sysu relabels training
    ids to 0..N-1, which would collide with the val/test ids)."""
    ds = load_sysu(root, hold_out_val=True)
    original = {label: pid for pid, label in ds.train_pid_map.items()}
    return [Record(r.path, original[r.pid], r.camid, r.modality) for r in ds.train] + ds.val + ds.test


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return make_synthetic_sysu(tmp_path_factory.mktemp("syn") / "a", **SMALL)


@pytest.fixture(scope="module")
def small_thermal(tmp_path_factory):
    return make_synthetic_sysu(tmp_path_factory.mktemp("syn") / "t", **SMALL, ir_sensor="thermal")


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
    recs = _every_image(small)
    stats = modality_gap_stats(simple_embedding(recs), [r.pid for r in recs], [r.modality for r in recs]).set_index("pairs")
    assert stats.loc["RGB-RGB", "separation"] > 0.4
    assert stats.loc["IR-IR", "separation"] > 0.3
    assert stats.loc["IR-RGB", "separation"] < 0.5 * min(stats.loc["RGB-RGB", "separation"], stats.loc["IR-IR", "separation"])
    assert stats.loc["IR-RGB", "same_id"] > stats.loc["RGB-RGB", "same_id"]


def test_marker_records_config(small):
    info = json.loads((small / MARKER).read_text())
    assert info["config"]["num_ids"] == SMALL["num_ids"] and "not SYSU-MM01 numbers" in info["note"]


# --------------------------------------------------------------- IR sensors
# Recorded from generator version 1 (thermal only, before the NIR sensor):
# channel-0 means of 8x8-pixel blocks (8 x 4 blocks) of render_image's uint8
# output for REF_CFG, keyed by (pid, camera, index). Block means, not hashes,
# so that a last-bit difference in a platform's float maths cannot fail it.
REF_CFG = dict(num_ids=12, seed=5, height=64, width=32)
REF_V1 = {
    (1, 3, 1): [37.3, 52.2, 48.8, 38.4, 39.5, 86.7, 88.3, 38.0, 42.4, 71.4, 102.0, 41.7, 44.7, 90.3, 98.3, 40.9,
                40.8, 106.2, 101.9, 45.8, 43.0, 120.1, 110.8, 42.2, 46.6, 128.8, 108.6, 43.7, 44.6, 71.2, 66.1, 45.8],
    (1, 6, 1): [46.2, 50.7, 72.5, 70.3, 48.6, 120.5, 91.2, 71.5, 64.6, 108.1, 101.0, 70.6, 54.8, 116.4, 108.3, 70.1,
                51.7, 137.4, 123.9, 68.7, 62.5, 165.4, 141.3, 71.0, 46.6, 167.0, 125.9, 69.8, 45.8, 76.9, 81.5, 70.2],
    (1, 4, 1): [136.6, 114.7, 116.1, 133.4, 132.6, 116.6, 115.8, 132.1, 130.9, 125.1, 112.2, 129.5, 129.9, 121.2,
                105.1, 127.1, 128.1, 122.8, 119.9, 126.5, 125.6, 152.5, 143.9, 126.1, 124.2, 126.3, 124.2, 123.8,
                120.8, 117.8, 120.1, 120.8],
}


def _blocks(arr: np.ndarray) -> np.ndarray:
    return arr[..., 0].astype(np.float64).reshape(8, 8, 4, 8).mean(axis=(1, 3)).ravel()


@pytest.mark.parametrize("sensor", ["thermal", "nir"])
def test_thermal_sensor_reproduces_version_1(sensor):
    """``ir_sensor="thermal"`` renders exactly what generator version 1 did; the
    NIR sensor changes the IR cameras only (RGB images are unchanged)."""
    cfg = SyntheticConfig(**REF_CFG, ir_sensor=sensor)
    ids = plan(cfg)["identities"]
    for (pid, cam, index), ref in REF_V1.items():
        diff = np.abs(_blocks(render_image(cfg, ids[pid], pid, cam, index)) - np.asarray(ref)).max()
        if sensor == "thermal" or cam in (1, 2, 4, 5):
            assert diff < 0.6, f"({pid}, cam{cam}, {index}) changed: block means differ by {diff:.2f}"
        else:
            assert diff > 10, f"({pid}, cam{cam}, {index}) with the NIR sensor still looks thermal"


def test_ir_sensor_is_part_of_the_cache_key(tmp_path):
    assert SyntheticConfig().ir_sensor == "nir"
    assert SyntheticConfig(ir_sensor="thermal").key() != SyntheticConfig().key()
    tiny = dict(num_ids=6, images_per_camera=(1, 1), height=32, width=16)
    nir = synthetic_sysu_root(tmp_path, **tiny)
    thermal = synthetic_sysu_root(tmp_path, **tiny, ir_sensor="thermal")
    assert nir != thermal and json.loads((thermal / MARKER).read_text())["config"]["ir_sensor"] == "thermal"


def test_sensors_differ_in_ir_only(small, small_thermal):
    """Same arguments but the sensor: byte-identical RGB cameras, other IR images."""
    for cam in (1, 2, 4, 5):
        assert _digest(small / f"cam{cam}") == _digest(small_thermal / f"cam{cam}")
    for cam in (3, 6):
        assert _digest(small / f"cam{cam}") != _digest(small_thermal / f"cam{cam}")


def test_invalid_ir_sensor_names_the_field(tmp_path):
    with pytest.raises(ValueError, match=r"ir_sensor='swir': expected one of \['nir', 'thermal'\]"):
        SyntheticConfig(ir_sensor="swir").validate()
    with pytest.raises(ValueError, match="ir_sensor"):
        make_synthetic_sysu(tmp_path / "x", **SMALL, ir_sensor="infrared")
    assert not (tmp_path / "x").exists()
    with pytest.raises(ValueError, match="cam must be an IR camera"):
        render_sensors(SMALL, 1, cam=4)
    with pytest.raises(TypeError, match="unknown"):
        render_sensors({"sensor": "nir"}, 1)


def test_nir_images_are_grey(small):
    """Stored with 3 identical channels (up to JPEG chroma rounding), and exactly
    identical before encoding."""
    from PIL import Image
    files = sorted((small / "cam3").rglob("*.jpg")) + sorted((small / "cam6").rglob("*.jpg"))
    for f in files[::5]:
        arr = np.asarray(Image.open(f)).astype(int)
        assert np.abs(arr[..., 0] - arr[..., 2]).max() <= 3 and np.abs(arr[..., 0] - arr[..., 1]).max() <= 3, f
    cfg = SyntheticConfig(**REF_CFG)
    for pid, ident in list(plan(cfg)["identities"].items())[:4]:
        arr = render_image(cfg, ident, pid, 6, 1)
        assert (arr[..., 0] == arr[..., 1]).all() and (arr[..., 0] == arr[..., 2]).all()


def test_render_sensors_side_by_side():
    out = render_sensors(SMALL, 2, 1, cam=6)
    assert set(out) == {"rgb", "nir", "thermal"} and all(a.shape == (128, 64, 3) and a.dtype == np.uint8
                                                         for a in out.values())
    for sensor in ("nir", "thermal"):  # exactly the stand-in's image of that sensor
        cfg = SyntheticConfig(**{**SMALL, "images_per_camera": (2, 3)}, ir_sensor=sensor)
        assert np.array_equal(out[sensor], render_image(cfg, plan(cfg)["identities"][2], 2, 6, 1))
    assert np.abs(out["rgb"][..., 0].astype(int) - out["rgb"][..., 2]).max() > 30  # RGB has colour
    # one scene: the same silhouette stands out of the background in both IR images
    person = region_masks(SMALL, 2, 6, 1)["person"]
    assert 0.05 < (person > 0.5).mean() < 0.6
    for sensor in ("nir", "thermal"):
        img = out[sensor][..., 0].astype(float)
        assert img[person > 0.99].mean() > img[person < 0.01].mean() + 20, sensor


def test_nir_reflectance_is_only_loosely_tied_to_colour():
    """Across identities, an upper garment's visible luminance ranks its NIR
    brightness poorly, while its drawn NIR reflectance ranks it well; garments
    alike in RGB can differ in NIR and vice versa; colour twins may or may not
    collide in NIR."""
    cfg = SyntheticConfig(num_ids=120, seed=1, images_per_camera=(1, 1))
    ids = plan(cfg)["identities"]
    lum, refl, seen = [], [], []
    for pid, ident in ids.items():
        if ident["structure"]["upper_tex"] != "plain":
            continue
        v = []
        for index in (1, 2):
            up = region_masks(cfg, pid, 6, index)["upper"] > 0.99
            if up.sum() >= 30:
                v.append(render_image(cfg, ident, pid, 6, index)[..., 0][up].mean())
        if v:
            lum.append(float(LUMINANCE @ ident["upper"]))
            refl.append(ident["nir"]["upper"])
            seen.append(np.mean(v))
    assert len(seen) >= 15
    assert spearmanr(refl, seen)[0] > 0.7, "NIR images do not show the garments' NIR reflectance"
    assert spearmanr(lum, seen)[0] < 0.7, "NIR brightness follows visible luminance too closely"

    big = plan(SyntheticConfig(num_ids=400, seed=0))
    people = big["identities"]
    rgb = np.stack([d["upper"] for d in people.values()])
    nir = np.array([d["nir"]["upper"] for d in people.values()])
    d_rgb = np.linalg.norm(rgb[:, None] - rgb[None], axis=-1)
    d_nir = np.abs(nir[:, None] - nir[None])
    assert ((d_rgb < 0.08) & (d_nir > 0.2)).any(), "no two nearly equal colours differ in NIR"
    assert ((d_rgb > 0.6) & (d_nir < 0.02)).any(), "no two different colours collide in NIR"
    twins = [abs(people[a]["nir"]["upper"] - people[b]["nir"]["upper"]) for a, b in big["twins"].items()]
    assert min(twins) < 0.05 and max(twins) > 0.2


def test_nir_skin_hair_and_persistence():
    people = plan(SyntheticConfig(num_ids=80, seed=0))["identities"]
    for d in people.values():
        assert 0.5 <= d["nir"]["skin"] <= 0.65 and d["nir"]["hair"] < d["nir"]["skin"]
        if LUMINANCE @ d["hair"] < 0.1:  # dark hair is much brighter in NIR than in visible light
            assert d["nir"]["hair"] > 2 * float(LUMINANCE @ d["hair"])
    # a persistent property of the identity: the same drawn again
    again = plan(SyntheticConfig(num_ids=80, seed=0))["identities"]
    assert all(again[p]["nir"] == d["nir"] for p, d in people.items())


def test_stripes_keep_nir_contrast_for_some_garments():
    """A print's two dyes have their own NIR reflectances: where they differ,
    the print shows in the NIR image; where they nearly coincide, it vanishes."""
    cfg = SyntheticConfig(num_ids=120, seed=1, images_per_camera=(1, 1))
    shows, vanishes = [], []
    for pid, ident in plan(cfg)["identities"].items():
        if ident["structure"]["upper_tex"] not in ("hstripes", "vstripes", "checks"):
            continue
        m = region_masks(cfg, pid, 6, 1)
        up = m["upper"] > 0.99
        if up.sum() < 30:
            continue
        d = ident["nir"]["upper2"] - ident["nir"]["upper"]
        img = render_image(cfg, ident, pid, 6, 1)[..., 0].astype(float)
        c = np.corrcoef(m["upper_dye2"][up], img[up])[0, 1] * np.sign(d)  # print vs pixels
        if abs(d) > 0.2:
            shows.append(c)
        elif abs(d) < 0.05:
            vanishes.append(c)
    assert len(shows) >= 10 and len(vanishes) >= 3
    assert max(shows) > 0.6 and np.mean(shows) > np.mean(vanishes) + 0.2


def test_nir_person_lit_background_dark():
    """The illuminator lights the near person; the far background is darker."""
    cfg = SyntheticConfig(**REF_CFG)
    ids = plan(cfg)["identities"]
    ratios = []
    for pid in ids:
        person = region_masks(cfg, pid, 3, 1)["person"]
        img = render_image(cfg, ids[pid], pid, 3, 1)[..., 0].astype(float)
        ratios.append(img[person > 0.99].mean() / img[person < 0.01].mean())
    assert min(ratios) > 1.2 and np.median(ratios) > 2


def test_modality_gap_nir_versus_thermal(small, small_thermal):
    """Near-infrared keeps more of the identity across the modality gap than
    thermal imaging (a fixed embedding separates identities across modalities
    better), yet less than within a modality."""
    sep = {}
    for name, root in (("nir", small), ("thermal", small_thermal)):
        recs = _every_image(root)
        st = modality_gap_stats(simple_embedding(recs), [r.pid for r in recs], [r.modality for r in recs])
        sep[name] = st.set_index("pairs")["separation"]
    assert sep["nir"]["IR-RGB"] > 1.5 * sep["thermal"]["IR-RGB"]
    assert sep["nir"]["IR-RGB"] < 0.6 * min(sep["nir"]["RGB-RGB"], sep["nir"]["IR-IR"])
