"""A procedurally generated stand-in for LLCM, in LLCM's layout: nine
cameras at night, each filming dim colour images when there is some light
and near-infrared (NIR) images when it is dark.

LLCM (1,064 ids, 46,767 images, 9 cameras; see :mod:`tsgan_lib.data.llcm`)
was filmed at night: its visible images are dark, noisy and tinted by street
lamps, and its NIR images are those of cameras with an active illuminator.
This stand-in is LLCM in miniature, a *teaching stand-in* whose numbers are
not LLCM numbers:

* **People**: the person model of :mod:`tsgan_lib.data.synthetic`, drawn
  from another population (every seed carries :data:`LLCM_POPULATION`), with
  colour twins drawn within each split.
* **Cameras**: nine night scenes (streets, entrances, a footpath by a hedge,
  car parks). In **visible** mode (:func:`_paint_lowlight`) a camera sees the
  person under its own lamp: sodium orange, warm or cold LED, or
  green-tinged fluorescent light (the colour shift), brightest in a pool
  around the lamp and dim elsewhere; the exposure is low, so the image is
  dark and its photon noise and per-channel read noise are strong. In **NIR**
  mode it is the NIR sensor of :mod:`tsgan_lib.data.synthetic` (the
  reflectance of dyes and fibres under an active illuminator, no colour) in
  the same scene. Camera 3 has no NIR images, as in LLCM.
* **Who is seen where**: in each mode, each camera sees an id with
  probability ``camera_fraction`` (at least two cameras per mode, so every
  query keeps a true match after LLCM's same-camera rule), with
  ``images_per_camera`` images each. Every id, training or test, is seen in
  both modes. A ``test_fraction`` of the ids are test ids.

Files (what :func:`tsgan_lib.data.llcm.load_llcm` reads)::

    root/vis/<PPPP>/<PPPP>_c<CC>_<IIII>.jpg     root/nir/<PPPP>/...        training images
    root/test_vis/cam<N>/<PPPP>/<PPPP>_c<CC>_<IIII>.jpg   root/test_nir/cam<N>/<PPPP>/...
    root/idx/train_vis.txt, train_nir.txt   # "<relative/path> <label>", labels 0..N-1
    root/idx/test_id.txt                    # one line of comma-separated test ids

NIR images are stored as 3 identical channels. Determinism and caching are
as for the other stand-ins: every image draws from an RNG seeded by ``(seed,
pid, mode, camera, index)``; the tree is written to a temporary folder and
renamed into place with its arguments in ``root/SYNTHETIC.json``.
:func:`synthetic_llcm_root` picks a cache folder keyed by the arguments.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, replace
from functools import partial
from pathlib import Path
from typing import Annotated

import numpy as np
from PIL import Image, ImageFilter

from tsgan_lib.ranges import AtLeast, Between, Probability, Range, check_fields

from .llcm import NIR_CAMERAS, TEST_FOLDERS, VIS_CAMERAS
from .records import IR, RGB
from .synthetic.config import GENERATOR_VERSION, MARKER, config_from
from .synthetic.people import identities
from .synthetic.pose import draw_pose, scene
from .synthetic.sensors import Camera, paint_rgb, render
from .synthetic.tree import cache_dir_default, write_atomically

LLCM_POPULATION = (1064,)  # prefixes every seed: LLCM's people are not the other stand-ins'
TRAIN_DIRS = {RGB: "vis", IR: "nir"}
MODE_CAMERAS = {RGB: VIS_CAMERAS, IR: NIR_CAMERAS}
_MODE_CODE = {RGB: 1, IR: 2}


@dataclass(frozen=True)
class SyntheticLLCMConfig:
    """Arguments of the LLCM stand-in's generator (they form the cache key)."""

    num_ids: Annotated[int, AtLeast(4)] = 150
    seed: Annotated[int, Between(0, 2**32 - 1)] = 0
    height: Annotated[int, AtLeast(32)] = 128
    width: Annotated[int, AtLeast(16)] = 64
    images_per_camera: Annotated[tuple[int, int], AtLeast(1)] = (1, 4)
    camera_fraction: Annotated[float, Probability] = 0.5
    test_fraction: Annotated[float, Range(0, 1, lo_open=True, hi_open=True)] = 0.33
    twin_fraction: Annotated[float, Probability] = 0.2
    jpeg_quality: Annotated[int, Between(1, 100)] = 90

    def validate(self) -> None:
        """``ValueError`` naming the first field outside its stated range, or sizes that leave no split."""
        check_fields(self)
        lo, hi = self.images_per_camera
        if not lo <= hi:
            raise ValueError(f"images_per_camera={self.images_per_camera}: expected (lo, hi) with lo <= hi")
        n_test = _num_test(self)
        if n_test < 2 or self.num_ids - n_test < 2:
            raise ValueError(f"num_ids={self.num_ids} and test_fraction={self.test_fraction} must leave at least "
                             "2 training and 2 test ids")

    def key(self) -> str:
        payload = json.dumps({"layout": "llcm", "version": GENERATOR_VERSION, **asdict(self)}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:12]


def _num_test(cfg: SyntheticLLCMConfig) -> int:
    return int(round(cfg.test_fraction * cfg.num_ids))


# ------------------------------------------------------------ night scenes
# Lamp colours (the visible mode's colour shift).
SODIUM, LED_WARM, LED_COLD, FLUORESCENT = (1.0, 0.55, 0.2), (1.0, 0.8, 0.55), (0.7, 0.85, 1.0), (0.75, 1.0, 0.7)
# camera: (scene, lamp, output level, read noise, blur, view bias P(front), P(back), P(side))
NIGHT_CAMERAS = {
    1: ("street", SODIUM, 0.75, 0.050, 0.9, (0.40, 0.40, 0.20)),
    2: ("street", LED_WARM, 0.60, 0.060, 1.0, (0.30, 0.30, 0.40)),
    3: ("entrance", FLUORESCENT, 0.85, 0.045, 0.8, (0.50, 0.30, 0.20)),
    4: ("path", LED_COLD, 0.55, 0.065, 1.1, (0.30, 0.40, 0.30)),
    5: ("carpark", SODIUM, 0.50, 0.070, 1.2, (0.35, 0.35, 0.30)),
    6: ("entrance", LED_WARM, 0.80, 0.050, 0.9, (0.45, 0.35, 0.20)),
    7: ("path", SODIUM, 0.55, 0.065, 1.1, (0.25, 0.45, 0.30)),
    8: ("carpark", LED_COLD, 0.65, 0.060, 1.0, (0.35, 0.35, 0.30)),
    9: ("street", FLUORESCENT, 0.70, 0.055, 1.0, (0.40, 0.30, 0.30)),
}
AMBIENT = 0.25          # light outside the lamp's pool, as a fraction of the pool's centre
LOWLIGHT_SHOT = 0.01    # photon noise variance per unit of (lifted) signal: few photons, lifted by the gain
NIR_NOISE, NIR_BLUR, NIR_GAIN = 0.045, 1.2, 1.8
# (RGB reflectance, NIR reflectance) of the scenes' materials
MATERIALS = {"wall": ((0.55, 0.52, 0.48), 0.45), "asphalt": ((0.22, 0.22, 0.24), 0.08),
             "paving": ((0.42, 0.40, 0.38), 0.30), "leaves": ((0.12, 0.30, 0.10), 0.65),
             "door": ((0.25, 0.18, 0.12), 0.20), "paint": ((0.85, 0.85, 0.80), 0.60)}


def _layout(kind: str, rng: np.random.Generator, yy, xx, H: int, W: int) -> list[tuple[str, np.ndarray]]:
    """The scene behind the person as (material, mask) layers, later over earlier."""
    horizon = H * rng.uniform(0.68, 0.82)
    ground = np.clip(yy - horizon, 0, 1)
    if kind == "path":
        blot = np.clip(np.sin(xx / 4.0 + rng.uniform(0, 6)) * np.sin(yy / 5.0 + rng.uniform(0, 6)) + 0.6, 0, 1)
        return [("wall", np.ones_like(yy)), ("leaves", blot * (1 - ground)), ("paving", ground)]
    if kind == "entrance":
        x0 = W * rng.uniform(0.05, 0.6)
        door = ((xx > x0) & (xx < x0 + 0.35 * W) & (yy > H * 0.15)).astype(np.float32) * (1 - ground)
        return [("wall", np.ones_like(yy)), ("door", door), ("paving", ground)]
    if kind == "carpark":
        lines = (np.sin(2 * np.pi * (xx + 0.6 * yy + rng.uniform(0, 20)) / 20.0) > 0.85).astype(np.float32)
        return [("wall", np.ones_like(yy)), ("asphalt", ground), ("paint", lines * ground)]
    windows = ((np.sin(2 * np.pi * (xx / (0.3 * W) + rng.uniform(0, 1))) > 0.3)
               & (np.sin(2 * np.pi * (yy / (0.2 * H) + rng.uniform(0, 1))) > 0.3)).astype(np.float32)
    return [("wall", np.ones_like(yy)), ("door", windows * (1 - ground)), ("asphalt", ground)]  # street


def _scene_rgb(kind, rng, yy, xx, H, W):
    img = np.zeros((H, W, 3), np.float32)
    for material, mask in _layout(kind, rng, yy, xx, H, W):
        img = img * (1 - mask[..., None]) + mask[..., None] * np.array(MATERIALS[material][0], np.float32)
    return img


def _scene_nir(kind, rng, yy, xx, H, W):
    img = np.zeros((H, W), np.float32)
    for material, mask in _layout(kind, rng, yy, xx, H, W):
        img = img * (1 - mask) + mask * MATERIALS[material][1]
    return img


def _visible_camera(cam: int) -> Camera:
    """Camera ``cam`` in visible mode: ``light`` is its lamp's colour, ``gain``
    its output level, ``noise`` its read noise (see :func:`_paint_lowlight`)."""
    kind, lamp, level, noise, blur, view = NIGHT_CAMERAS[cam]
    return Camera(f"cam{cam}_vis", view, noise, blur, partial(_scene_rgb, kind), light=lamp, gain=level)


def _nir_camera(cam: int) -> Camera:
    kind, *_, view = NIGHT_CAMERAS[cam]
    return Camera(f"cam{cam}_nir", view, NIR_NOISE, NIR_BLUR, partial(_scene_nir, kind), gain=NIR_GAIN)


def _paint_lowlight(ident: dict, sc: dict, cam: Camera, rng: np.random.Generator) -> np.ndarray:
    """A dim colour image: HxWx3 float.

    The scene's colours (under white light) are lit by the camera's lamp:
    irradiance ``E = AMBIENT + (1 - AMBIENT) / (1 + r^2)`` around a per-image
    lamp position (``r`` in units of the pool's radius), times the lamp's
    colour ``cam.light`` and the output level ``cam.gain``. The sensor adds
    photon noise (variance ``LOWLIGHT_SHOT`` per unit signal: few photons,
    lifted by the camera's gain) and read noise ``cam.noise``, independently
    per channel (chroma noise).
    """
    yy, xx = sc["yy"], sc["xx"]
    H, W = yy.shape
    colours = paint_rgb(ident, sc, replace(cam, light=(1.0, 1.0, 1.0), noise=0.0), rng)
    ly, lx, radius = H * rng.uniform(-0.2, 0.5), W * rng.uniform(-0.3, 1.3), H * rng.uniform(0.35, 0.7)
    pool = AMBIENT + (1 - AMBIENT) / (1 + ((yy - ly) ** 2 + (xx - lx) ** 2) / radius ** 2)
    signal = colours * (cam.gain * rng.uniform(0.7, 1.2) * pool)[..., None] * np.array(cam.light, np.float32)
    sigma = np.sqrt(LOWLIGHT_SHOT * np.clip(signal, 0, None) + cam.noise ** 2)
    return signal + sigma * rng.standard_normal(signal.shape)


def _render_lowlight(ident: dict, cam: Camera, rng: np.random.Generator, H: int, W: int) -> np.ndarray:
    """One visible-mode image as HxWx3 uint8 (the steps of :func:`~tsgan_lib.data.synthetic.sensors.render`)."""
    sc = scene(ident["structure"], draw_pose(ident["structure"], cam.view_bias, rng, H, W), H, W)
    out = Image.fromarray((np.clip(_paint_lowlight(ident, sc, cam, rng), 0, 1) * 255).astype(np.uint8))
    return np.asarray(out.filter(ImageFilter.GaussianBlur(cam.blur * rng.uniform(0.7, 1.3))))


def render_image(cfg: SyntheticLLCMConfig, identity: dict, pid: int, modality: str, cam: int,
                 index: int) -> np.ndarray:
    """Image ``index`` (1-based) of ``pid`` by camera ``cam`` in ``modality``
    (``"rgb"``: visible, low light; ``"ir"``: NIR) as HxWx3 uint8."""
    if cam not in MODE_CAMERAS[modality]:
        raise ValueError(f"camera {cam} has no {modality!r} images (NIR cameras: {NIR_CAMERAS})")
    rng = np.random.default_rng([cfg.seed, *LLCM_POPULATION, pid, _MODE_CODE[modality], cam, index, 5])
    if modality == RGB:
        return _render_lowlight(identity, _visible_camera(cam), rng, cfg.height, cfg.width)
    return render(identity, _nir_camera(cam), "nir", rng, cfg.height, cfg.width)


# ----------------------------------------------------------------- the tree
def _split_ids(cfg: SyntheticLLCMConfig) -> dict[str, list[int]]:
    ids = np.random.default_rng([cfg.seed, *LLCM_POPULATION, 2]).permutation(np.arange(1, cfg.num_ids + 1))
    n_test = _num_test(cfg)
    return {"train": sorted(ids[n_test:].tolist()), "test": sorted(ids[:n_test].tolist())}


def _sightings(cfg: SyntheticLLCMConfig, pid: int) -> dict[tuple[str, int], int]:
    """``{(modality, camera): number of images}`` of ``pid``: each camera sees
    it with probability ``camera_fraction``, at least two cameras per mode."""
    rng = np.random.default_rng([cfg.seed, *LLCM_POPULATION, pid, 3])
    lo, hi = cfg.images_per_camera
    counts = {}
    for modality, cams in MODE_CAMERAS.items():
        seen = [c for c in cams if rng.random() < cfg.camera_fraction]
        others = [c for c in cams if c not in seen]
        seen += [int(c) for c in rng.choice(others, max(0, 2 - len(seen)), replace=False)]
        counts.update({(modality, c): int(rng.integers(lo, hi + 1)) for c in sorted(seen)})
    return counts


def plan(cfg: SyntheticLLCMConfig) -> dict:
    """The dataset's structure without rendering: splits, identities, colour
    twins, and who is seen by which camera in which mode, how often."""
    splits = _split_ids(cfg)
    ids = identities(cfg.seed, cfg.twin_fraction, splits, LLCM_POPULATION)
    return {"splits": splits, "identities": ids, "counts": {pid: _sightings(cfg, pid) for pid in ids},
            "twins": {pid: d["twin_of"] for pid, d in ids.items() if "twin_of" in d}}


def image_path(pid: int, modality: str, cam: int, index: int, test: bool) -> str:
    """Relative path of one image: ``vis/0007/0007_c02_0001.jpg`` (training)
    or ``test_vis/cam2/0007/0007_c02_0001.jpg`` (test)."""
    folder = f"{TEST_FOLDERS[modality][0]}/cam{cam}" if test else TRAIN_DIRS[modality]
    return f"{folder}/{pid:04d}/{pid:04d}_c{cam:02d}_{index:04d}.jpg"


def _write_tree(cfg: SyntheticLLCMConfig, out: Path) -> None:
    p = plan(cfg)
    test_ids = set(p["splits"]["test"])
    label_of = {pid: i for i, pid in enumerate(p["splits"]["train"])}
    lists: dict[str, list[str]] = {RGB: [], IR: []}
    for modality, (folder, cams) in TEST_FOLDERS.items():
        for cam in cams:
            (out / folder / f"cam{cam}").mkdir(parents=True)
    for pid, counts in p["counts"].items():
        for (modality, cam), n in counts.items():
            for i in range(1, n + 1):
                rel = image_path(pid, modality, cam, i, pid in test_ids)
                (out / rel).parent.mkdir(parents=True, exist_ok=True)
                arr = render_image(cfg, p["identities"][pid], pid, modality, cam, i)
                Image.fromarray(arr).save(out / rel, quality=cfg.jpeg_quality)
                if pid not in test_ids:
                    lists[modality].append(f"{rel} {label_of[pid]}")
    (out / "idx").mkdir()
    for name, modality in (("train_vis.txt", RGB), ("train_nir.txt", IR)):
        (out / "idx" / name).write_text("\n".join(lists[modality]) + "\n")
    (out / "idx" / "test_id.txt").write_text(",".join(str(i) for i in p["splits"]["test"]) + "\n")
    info = {"key": cfg.key(), "generator_version": GENERATOR_VERSION, "layout": "llcm", "config": asdict(cfg),
            "num_images": sum(n for c in p["counts"].values() for n in c.values()),
            "twins": {str(k): v for k, v in p["twins"].items()},
            "note": "Synthetic teaching stand-in in LLCM's layout (low-light visible + NIR); "
                    "numbers on it are not LLCM numbers."}
    (out / MARKER).write_text(json.dumps(info, indent=1, sort_keys=True))


_D = SyntheticLLCMConfig()  # the defaults, stated once above


def make_synthetic_llcm(root: str | os.PathLike, *, num_ids: int = _D.num_ids, seed: int = _D.seed,
                        height: int = _D.height, width: int = _D.width,
                        images_per_camera: tuple[int, int] = _D.images_per_camera,
                        camera_fraction: float = _D.camera_fraction, test_fraction: float = _D.test_fraction,
                        twin_fraction: float = _D.twin_fraction, jpeg_quality: int = _D.jpeg_quality,
                        overwrite: bool = False) -> Path:
    """Write the synthetic LLCM stand-in under ``root`` and return ``root``.

    With the defaults: 150 ids (100 training, 50 test), each seen by about
    half of the cameras in each mode with 1-4 images, at 128x64: about 3,000
    images. A stand-in made with the same arguments returns at once; anything
    else in ``root`` raises :class:`DatasetError` (unless ``overwrite=True``
    and it is a stand-in made with other arguments). The tree is written to a
    temporary sibling folder and renamed into place.
    """
    cfg = SyntheticLLCMConfig(num_ids=num_ids, seed=seed, height=height, width=width,
                              images_per_camera=tuple(images_per_camera), camera_fraction=camera_fraction,
                              test_fraction=test_fraction, twin_fraction=twin_fraction, jpeg_quality=jpeg_quality)
    cfg.validate()
    return write_atomically(root, cfg.key(), partial(_write_tree, cfg), "synthetic LLCM stand-in", overwrite)


def synthetic_llcm_root(cache_dir: str | os.PathLike | None = None, **kwargs) -> Path:
    """Generate (once) and return the LLCM stand-in in a cache folder keyed by
    its arguments (any :class:`SyntheticLLCMConfig` field):
    ``cache_dir/synthetic_llcm_<key>``. ``cache_dir`` defaults to
    ``$TSGAN_DATA_DIR`` or ``<repo>/runs/data``."""
    cfg = config_from(SyntheticLLCMConfig, kwargs, "synthetic_llcm_root")
    return make_synthetic_llcm(cache_dir_default(cache_dir) / f"synthetic_llcm_{cfg.key()}", **asdict(cfg))
