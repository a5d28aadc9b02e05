"""The SYSU-MM01 stand-in's layout: its splits, who each camera sees, and every image of it, rendered on demand.

:func:`plan` is the dataset's structure without rendering anything (splits,
cameras per person, image counts, identities, colour twins);
:func:`render_image` renders one image of it; :func:`render_sensors` one
person in one pose through the three sensors side by side; and
:func:`region_masks` says which pixels of an image show which body region.
Every image is drawn from its own RNG seeded by ``(seed, pid, camera, index)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

import numpy as np

from ..sysu import ALL_CAMERAS, IR_CAMERAS, RGB_CAMERAS
from .cameras import INDOOR_CAMS, RGB_BESIDE, VIEW_BIAS, sysu_camera
from .config import SyntheticConfig, as_config, split_sizes
from .people import identities
from .pose import draw_pose, scene
from .sensors import render

def _split_ids(cfg: SyntheticConfig) -> dict[str, list[int]]:
    rng = np.random.default_rng([cfg.seed, 2])
    ids = rng.permutation(np.arange(1, cfg.num_ids + 1)).tolist()
    n_train, n_val, n_test = split_sizes(cfg)
    if n_train < 2:
        raise ValueError(f"num_ids={cfg.num_ids} leaves fewer than 2 training ids with split_fractions={cfg.split_fractions}")
    return {"train": sorted(ids[:n_train]), "val": sorted(ids[n_train:n_train + n_val]),
            "test": sorted(ids[n_train + n_val:])}


def _cameras_of(cfg: SyntheticConfig, pid: int) -> list[int]:
    """Which cameras see ``pid``: indoor ids are seen by cams 1, 2 and 3; cams
    4 and 5 miss a few people; cam 6 sees everyone (so every id has IR) and at
    least one RGB camera always sees each id."""
    rng = np.random.default_rng([cfg.seed, pid, 3])
    cams = []
    if rng.random() < cfg.indoor_fraction:
        cams += list(INDOOR_CAMS)
    elif rng.random() < 0.5:
        cams += [3]
    cams += [c for c in (4, 5) if rng.random() < 0.95]
    if not any(c in RGB_CAMERAS for c in cams):
        cams.append(4)
    cams.append(6)
    return sorted(cams)


def plan(cfg: SyntheticConfig) -> dict:
    """The dataset's structure without rendering anything: splits, which
    cameras see whom, image counts, the identities (with their NIR
    reflectances) and the colour twins."""
    splits = _split_ids(cfg)
    ids = identities(cfg.seed, cfg.twin_fraction, splits)
    lo, hi = cfg.images_per_camera
    counts = {}
    for pid in ids:
        rng = np.random.default_rng([cfg.seed, pid, 4])
        counts[pid] = {cam: int(rng.integers(lo, hi + 1)) for cam in _cameras_of(cfg, pid)}
    return {"splits": splits, "identities": ids, "counts": counts,
            "twins": {pid: d["twin_of"] for pid, d in ids.items() if "twin_of" in d}}


def _image_rng(cfg: SyntheticConfig, pid: int, cam: int, index: int) -> np.random.Generator:
    return np.random.default_rng([cfg.seed, pid, cam, index, 5])


def render_image(cfg: SyntheticConfig, identity: dict, pid: int, cam: int, index: int) -> np.ndarray:
    """Image ``index`` (1-based) of ``pid`` in camera ``cam`` as HxWx3 uint8
    (cameras 3 and 6 through ``cfg.ir_sensor``)."""
    sensor = "rgb" if cam in RGB_CAMERAS else cfg.ir_sensor
    return render(identity, sysu_camera(cam, cfg.ir_sensor), sensor, _image_rng(cfg, pid, cam, index),
                  cfg.height, cfg.width)


@lru_cache(maxsize=8)
def _identities_of(cfg: SyntheticConfig) -> dict[int, dict]:
    """``plan(cfg)["identities"]``, kept for repeated single-image helpers (read only)."""
    return plan(cfg)["identities"]


def _check_image(cfg: SyntheticConfig, pid: int, index: int, caller: str) -> None:
    if not 1 <= pid <= cfg.num_ids:
        raise ValueError(f"{caller}: pid must lie in 1..num_ids={cfg.num_ids}, got {pid}")
    if index < 1:
        raise ValueError(f"{caller}: index is 1-based, got {index}")


def render_sensors(config: SyntheticConfig | Mapping | None, pid: int, index: int = 1, *,
                   cam: int = 6) -> dict[str, np.ndarray]:
    """One person in one pose through the three sensors, for side-by-side
    figures: ``{"rgb", "nir", "thermal"}`` -> HxWx3 uint8.

    ``config``: a :class:`SyntheticConfig`, a dict of its fields, or ``None``
    (the defaults); its ``ir_sensor`` does not matter here. The scene (pose,
    framing) is that of image ``index`` of ``pid`` in IR camera ``cam`` (3 or
    6): ``"nir"`` and ``"thermal"`` are that image as the stand-in renders it
    with ``ir_sensor="nir"`` and ``"thermal"`` (before JPEG), and ``"rgb"`` is
    the same scene seen with the look of an RGB camera at that location
    (camera 2 for camera 3, camera 4 for camera 6).
    """
    cfg = as_config(config, "render_sensors")
    _check_image(cfg, pid, index, "render_sensors")
    if cam not in IR_CAMERAS:
        raise ValueError(f"render_sensors: cam must be an IR camera {IR_CAMERAS}, got {cam}")
    ident = _identities_of(cfg)[pid]
    H, W = cfg.height, cfg.width
    out = {}
    for sensor in ("rgb", "nir", "thermal"):
        rng = _image_rng(cfg, pid, cam, index)
        pose = draw_pose(ident["structure"], VIEW_BIAS[cam], rng, H, W)
        look = sysu_camera(RGB_BESIDE[cam] if sensor == "rgb" else cam, sensor)
        out[sensor] = render(ident, look, sensor, rng, H, W, pose=pose)
    return out


def region_masks(config: SyntheticConfig | Mapping | None, pid: int, cam: int, index: int) -> dict[str, np.ndarray]:
    """Which pixels of image ``index`` of ``pid`` in camera ``cam`` show what:
    HxW float masks in [0, 1] of the *visible* (not occluded) ``"upper"``
    garment (torso and sleeves), its second dye ``"upper_dye2"`` (the print),
    ``"lower"``, ``"lower_dye2"``, ``"skin"``, ``"hair"``, ``"shoes"``,
    ``"accessory"`` and the whole ``"person"``. Geometry is sensor-independent."""
    cfg = as_config(config, "region_masks")
    _check_image(cfg, pid, index, "region_masks")
    if cam not in ALL_CAMERAS:
        raise ValueError(f"region_masks: cam must be one of {ALL_CAMERAS}, got {cam}")
    ident = _identities_of(cfg)[pid]
    pose = draw_pose(ident["structure"], VIEW_BIAS[cam], _image_rng(cfg, pid, cam, index), cfg.height, cfg.width)
    sc = scene(ident["structure"], pose, cfg.height, cfg.width)
    visible, cover = {}, np.ones((cfg.height, cfg.width), np.float32)
    for name, mask in reversed(sc["layers"]):  # later layers cover earlier ones
        visible[name] = mask * cover
        cover = cover * (1 - mask)
    groups = {"upper": ("torso", "sleeve"), "lower": ("clothed_legs",), "shoes": ("shoes",),
              "skin": ("bare_legs", "forearm", "neck", "face"), "hair": ("head_back", "hair"),
              "accessory": ("acc_back", "acc_front")}
    out = {g: np.clip(sum(visible[n] for n in names), 0, 1) for g, names in groups.items()}
    out["upper_dye2"] = out["upper"] * sc["tex_up"]
    out["lower_dye2"] = out["lower"] * sc["tex_lo"]
    out["person"] = 1 - cover
    return out
