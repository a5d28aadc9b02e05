"""A procedurally generated stand-in for RegDB, in RegDB's exact layout: a
visible camera and a co-located *thermal* camera.

RegDB (412 ids) was filmed by a visible camera and a far-infrared camera
mounted side by side: each person has 10 visible and 10 thermal images of the
same walk, and each of the 10 evaluation trials is a random 50/50 identity
split (206/206). This stand-in is RegDB in miniature, a *teaching stand-in*
whose numbers are not RegDB numbers:

* **People**: the person model of :mod:`tsgan_lib.data.synthetic` (build,
  hair, clothing colour, texture, cut and material, accessory; colour twins),
  drawn from another population (every seed carries
  :data:`REGDB_POPULATION`), so id 7 here is not id 7 of the SYSU-MM01
  stand-in. Twins are drawn among all ids, as trials split ids differently.
* **Cameras**: one visible camera and one thermal camera (the thermal sensor
  model of :mod:`tsgan_lib.data.synthetic`: temperature, no colour; not the
  near-infrared model of the SYSU-MM01 stand-in's IR cameras) in a street
  scene none of the SYSU-MM01 stand-in's cameras shows: a building facade with
  windows above the pavement. Being co-located, both cameras see image ``i``
  of a person in the same pose, view and scene layout, up to a small parallax
  (each camera's box shifts and scales by a few pixels), each with its own
  illumination, noise and blur.
* **Sizes**: ``num_ids`` (default 412 as RegDB, so 206 training ids per trial;
  even; a RegDB of 120 ids gave a backbone from scratch too few training ids
  to learn anything that crosses the thermal gap),
  ``images_per_modality`` (default 10, as RegDB) images per person per camera.

Files::

    root/Visible/<pid>/v_<PPPP>_<II>.jpg     root/Thermal/<pid>/t_<PPPP>_<II>.jpg
    root/idx/{train,test}_{visible,thermal}_{t}.txt   t = 1..10
    # each line "<relative/path> <label>", the label being the person id

exactly what :func:`tsgan_lib.data.regdb.load_regdb` reads; trial ``t``'s split
is a permutation seeded by ``(seed, t)``. Thermal images are stored as 3
identical channels.

Determinism and caching are as for the SYSU-MM01 stand-in: every image pair
draws from RNGs seeded by ``(seed, pid, index)``, the tree is written to a
temporary folder and renamed into place with its arguments in
``root/SYNTHETIC.json``; the same arguments return at once.
:func:`synthetic_regdb_root` picks a cache folder keyed by the arguments.
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
from PIL import Image

from tsgan_lib.ranges import AtLeast, Between, Probability, Range, check_fields

from .regdb import TRIALS
from .synthetic.config import GENERATOR_VERSION, MARKER, config_from
from .synthetic.people import identities
from .synthetic.pose import draw_pose
from .synthetic.sensors import Camera, render
from .synthetic.tree import cache_dir_default, write_atomically

REGDB_POPULATION = (412,)  # prefixes every seed: RegDB's people are not the SYSU stand-in's
VISIBLE_DIR, THERMAL_DIR = "Visible", "Thermal"
VIEW_BIAS = (0.45, 0.45, 0.10)  # people walk towards or away from the camera pair


@dataclass(frozen=True)
class SyntheticRegDBConfig:
    """Arguments of the RegDB stand-in's generator (they form the cache key)."""

    num_ids: Annotated[int, Range(4, multiple_of=2, why="a 50/50 split of at least 2 ids each")] = 412
    seed: Annotated[int, Between(0, 2**32 - 1)] = 0
    height: Annotated[int, AtLeast(32)] = 128
    width: Annotated[int, AtLeast(16)] = 64
    images_per_modality: Annotated[int, AtLeast(1)] = 10
    twin_fraction: Annotated[float, Probability] = 0.2
    jpeg_quality: Annotated[int, Between(1, 100)] = 90

    def validate(self) -> None:
        """``ValueError`` naming the first field outside the range stated beside it."""
        check_fields(self)

    def key(self) -> str:
        payload = json.dumps({"layout": "regdb", "version": GENERATOR_VERSION, **asdict(self)}, sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()[:12]


# ---------------------------------------------------------- the camera pair
def _street_layout(rng: np.random.Generator, H: int, W: int) -> dict:
    """What both cameras see behind the person: a facade's window grid and the
    pavement line."""
    return {"horizon": H * rng.uniform(0.78, 0.9), "px": W * rng.uniform(0.28, 0.4), "py": H * rng.uniform(0.16, 0.24),
            "dx": rng.uniform(0, 1), "dy": rng.uniform(0, 1), "tone": rng.uniform(0.85, 1.1)}


def _windows(layout: dict, yy, xx) -> np.ndarray:
    fx = (xx / layout["px"] + layout["dx"]) % 1.0
    fy = (yy / layout["py"] + layout["dy"]) % 1.0
    return ((fx > 0.2) & (fx < 0.75) & (fy > 0.25) & (fy < 0.75) & (yy < layout["horizon"] - 4)).astype(np.float32)


def _street_visible(layout, rng, yy, xx, H, W):
    facade = np.array([0.72, 0.66, 0.58], np.float32) * layout["tone"]
    glass = np.array([0.28, 0.32, 0.40], np.float32)
    paving = np.array([0.46, 0.46, 0.48], np.float32)
    win = _windows(layout, yy, xx)[..., None]
    ground = np.clip(yy - layout["horizon"], 0, 1)[..., None]
    img = (facade * (1 - win) + glass * win) * (1 - ground) + paving * ground
    return img + rng.normal(0, 0.02, 3).astype(np.float32)


def _street_thermal(layout, rng, yy, xx, H, W):
    # facade at air temperature, window glass reflects the cold sky, the
    # pavement holds the day's heat (warmer towards the camera)
    win = _windows(layout, yy, xx)
    ground = np.clip(yy - layout["horizon"], 0, 1)
    facade = 0.30 * layout["tone"] * (1 - win) + 0.20 * win
    paving = 0.38 + 0.08 * (yy / H)
    return (facade * (1 - ground) + paving * ground + rng.normal(0, 0.01)).astype(np.float32)


VISIBLE_CAMERA = Camera("regdb_visible", VIEW_BIAS, noise=0.02, blur=0.7, background=_street_visible,
                        light=(1.0, 0.98, 0.92))
THERMAL_CAMERA = Camera("regdb_thermal", VIEW_BIAS, noise=0.035, blur=1.4, background=_street_thermal, gain=0.95)


def _parallax(pose: dict, rng: np.random.Generator, H: int, W: int) -> dict:
    """The pose as one camera of the pair frames it: shifted and scaled a little."""
    return {**pose, "cx": pose["cx"] + rng.normal(0, 0.02 * W), "top": pose["top"] + rng.normal(0, 0.015 * H),
            "hp": pose["hp"] * rng.uniform(0.97, 1.03)}


_PAIR = ((VISIBLE_CAMERA, "rgb"), (THERMAL_CAMERA, "thermal"))


def _pair_draws(cfg: SyntheticRegDBConfig, identity: dict, pid: int, index: int):
    """The shared scene of image pair ``index``, then each camera's RNG (past
    its parallax draws) and pose."""
    H, W = cfg.height, cfg.width
    scene_rng = np.random.default_rng([cfg.seed, *REGDB_POPULATION, pid, index, 5])
    pose = draw_pose(identity["structure"], VIEW_BIAS, scene_rng, H, W)
    layout = _street_layout(scene_rng, H, W)
    cams = []
    for n in range(1, len(_PAIR) + 1):
        rng = np.random.default_rng([cfg.seed, *REGDB_POPULATION, pid, index, 5, n])
        cams.append((rng, _parallax(pose, rng, H, W)))
    return layout, cams


def pair_poses(cfg: SyntheticRegDBConfig, identity: dict, pid: int, index: int) -> tuple[dict, dict]:
    """The poses (framing ``hp``, ``top``, ``cx``; ``view``; walking ``phase``)
    in which the visible and the thermal camera see image pair ``index``."""
    _, cams = _pair_draws(cfg, identity, pid, index)
    return cams[0][1], cams[1][1]


def render_pair(cfg: SyntheticRegDBConfig, identity: dict, pid: int, index: int) -> tuple[np.ndarray, np.ndarray]:
    """Image pair ``index`` (1-based) of ``pid``: (visible, thermal), each
    HxWx3 uint8, the same moment seen by the two co-located cameras."""
    layout, cams = _pair_draws(cfg, identity, pid, index)
    out = []
    for (camera, sensor), (rng, pose) in zip(_PAIR, cams):
        look = replace(camera, background=partial(camera.background, layout))
        out.append(render(identity, look, sensor, rng, cfg.height, cfg.width, pose=pose))
    return out[0], out[1]


# ----------------------------------------------------------------- the tree
def trial_split(cfg: SyntheticRegDBConfig, trial: int) -> tuple[list[int], list[int]]:
    """Trial ``trial`` (1..10): (training ids, test ids), a random half each."""
    if trial not in TRIALS:
        raise ValueError(f"trial must be in 1..10, got {trial}")
    ids = np.random.default_rng([cfg.seed, *REGDB_POPULATION, 2, trial]).permutation(np.arange(1, cfg.num_ids + 1))
    half = cfg.num_ids // 2
    return sorted(ids[:half].tolist()), sorted(ids[half:].tolist())


def plan(cfg: SyntheticRegDBConfig) -> dict:
    """The dataset's structure without rendering: identities, colour twins
    and every trial's split."""
    ids = identities(cfg.seed, cfg.twin_fraction, {"all": list(range(1, cfg.num_ids + 1))}, REGDB_POPULATION)
    return {"identities": ids, "twins": {pid: d["twin_of"] for pid, d in ids.items() if "twin_of" in d},
            "trials": {t: trial_split(cfg, t) for t in TRIALS}}


def image_paths(cfg: SyntheticRegDBConfig, pid: int) -> tuple[list[str], list[str]]:
    """Relative paths of ``pid``'s visible and thermal images."""
    n = range(1, cfg.images_per_modality + 1)
    return ([f"{VISIBLE_DIR}/{pid}/v_{pid:04d}_{i:02d}.jpg" for i in n],
            [f"{THERMAL_DIR}/{pid}/t_{pid:04d}_{i:02d}.jpg" for i in n])


def _write_tree(cfg: SyntheticRegDBConfig, out: Path) -> None:
    p = plan(cfg)
    n_images = 0
    for pid, ident in p["identities"].items():
        vis, th = image_paths(cfg, pid)
        (out / vis[0]).parent.mkdir(parents=True)
        (out / th[0]).parent.mkdir(parents=True)
        for i in range(1, cfg.images_per_modality + 1):
            v, t = render_pair(cfg, ident, pid, i)
            Image.fromarray(v).save(out / vis[i - 1], quality=cfg.jpeg_quality)
            Image.fromarray(t).save(out / th[i - 1], quality=cfg.jpeg_quality)
            n_images += 2
    (out / "idx").mkdir()
    for trial, (train, test) in p["trials"].items():
        for part, ids in (("train", train), ("test", test)):
            for m, modality in enumerate(("visible", "thermal")):
                lines = [f"{path} {pid}" for pid in ids for path in image_paths(cfg, pid)[m]]
                (out / "idx" / f"{part}_{modality}_{trial}.txt").write_text("\n".join(lines) + "\n")
    info = {"key": cfg.key(), "generator_version": GENERATOR_VERSION, "layout": "regdb", "config": asdict(cfg),
            "num_images": n_images, "twins": {str(k): v for k, v in p["twins"].items()},
            "note": "Synthetic teaching stand-in in RegDB's layout (visible + thermal); "
                    "numbers on it are not RegDB numbers."}
    (out / MARKER).write_text(json.dumps(info, indent=1, sort_keys=True))


_D = SyntheticRegDBConfig()  # the defaults, stated once above


def make_synthetic_regdb(root: str | os.PathLike, *, num_ids: int = _D.num_ids, seed: int = _D.seed,
                         height: int = _D.height, width: int = _D.width,
                         images_per_modality: int = _D.images_per_modality, twin_fraction: float = _D.twin_fraction,
                         jpeg_quality: int = _D.jpeg_quality, overwrite: bool = False) -> Path:
    """Write the synthetic RegDB stand-in under ``root`` and return ``root``.

    Writes ``root/Visible/<pid>/*.jpg``, ``root/Thermal/<pid>/*.jpg`` and the
    10 trials' ``root/idx/{train,test}_{visible,thermal}_{t}.txt``. With the
    defaults: 412 ids x (10 visible + 10 thermal) images at 128x64, 8,240
    images (38 MB, about 20 s on one core), 206/206 ids per trial.

    If ``root`` already holds a stand-in made with the same arguments, returns
    at once. If it holds anything else, raises :class:`DatasetError` (unless
    ``overwrite=True`` and it is a stand-in made with other arguments). The
    tree is written to a temporary sibling folder and renamed into place.
    """
    cfg = SyntheticRegDBConfig(num_ids=num_ids, seed=seed, height=height, width=width,
                               images_per_modality=images_per_modality, twin_fraction=twin_fraction,
                               jpeg_quality=jpeg_quality)
    cfg.validate()
    return write_atomically(root, cfg.key(), partial(_write_tree, cfg), "synthetic RegDB stand-in", overwrite)


def synthetic_regdb_root(cache_dir: str | os.PathLike | None = None, **kwargs) -> Path:
    """Generate (once) and return the RegDB stand-in in a cache folder keyed
    by its arguments (any :class:`SyntheticRegDBConfig` field):
    ``cache_dir/synthetic_regdb_<key>``. ``cache_dir`` defaults to
    ``$TSGAN_DATA_DIR`` or ``<repo>/runs/data``."""
    cfg = config_from(SyntheticRegDBConfig, kwargs, "synthetic_regdb_root")
    return make_synthetic_regdb(cache_dir_default(cache_dir) / f"synthetic_regdb_{cfg.key()}", **asdict(cfg))
