"""Writing a stand-in to disk, once: the SYSU-MM01 stand-in's tree, and the atomic write and cache every stand-in uses.

:func:`make_synthetic_sysu` writes ``root/cam{1..6}/<PPPP>/<IIII>.jpg`` and
``root/exp/{train,val,test}_id.txt``, exactly what
:func:`tsgan_lib.data.sysu.load_sysu` reads for the real set, into a
temporary folder renamed into place (:func:`write_atomically`), and records
its arguments in ``root/SYNTHETIC.json``; a second call with the same
arguments returns at once. :func:`synthetic_sysu_root` picks a cache folder
keyed by the arguments (:func:`cache_dir_default`).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import asdict
from functools import partial
from pathlib import Path

from PIL import Image

from ..records import DatasetError
from ..sysu import ALL_CAMERAS
from .config import GENERATOR_VERSION, MARKER, SyntheticConfig, config_from
from .layout import plan, render_image

def write_atomically(root: str | os.PathLike, key: str, write: Callable[[Path], None], what: str,
                     overwrite: bool) -> Path:
    """Write a generated dataset (``write(tmp)`` fills a temporary sibling
    folder, which must end up holding :data:`MARKER` with ``key``) and rename it
    to ``root``. If ``root`` already holds a dataset with the same key, return
    at once; one with another key is replaced only with ``overwrite``; any
    other non-empty folder is refused. ``what`` names the dataset in errors."""
    root = Path(root)
    marker = root / MARKER
    if root.exists():
        if marker.is_file():
            info = json.loads(marker.read_text())
            if info.get("key") == key:
                return root
            if not overwrite:
                raise DatasetError(f"{root} holds a synthetic dataset made with other arguments ({marker}); "
                                   "pass overwrite=True or choose another root")
            shutil.rmtree(root)
        elif any(root.iterdir()):
            raise DatasetError(f"{root} exists and is not a {what} (no {MARKER}); "
                               "refusing to write into it: choose an empty or new folder")
        else:
            root.rmdir()
    root.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}.tmp-", dir=root.parent))
    try:
        write(tmp)
        try:
            os.replace(tmp, root)
        except OSError:  # another process (a DDP rank, a parallel run) finished the same dataset first
            if not (marker.is_file() and json.loads(marker.read_text()).get("key") == key):
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return root


def cache_dir_default(cache_dir: str | os.PathLike | None) -> Path:
    """``cache_dir``, else ``$TSGAN_DATA_DIR``, else ``<repo>/runs/data``."""
    from tsgan_lib.utils import REPO_ROOT

    if cache_dir is None:
        cache_dir = os.environ.get("TSGAN_DATA_DIR") or (REPO_ROOT / "runs" / "data")
    return Path(cache_dir)


_D = SyntheticConfig()  # the defaults, stated once above


def make_synthetic_sysu(root: str | os.PathLike, *, num_ids: int = _D.num_ids, seed: int = _D.seed,
                        height: int = _D.height, width: int = _D.width,
                        images_per_camera: tuple[int, int] = _D.images_per_camera,
                        split_fractions: tuple[float, float, float] = _D.split_fractions,
                        indoor_fraction: float = _D.indoor_fraction, twin_fraction: float = _D.twin_fraction,
                        jpeg_quality: int = _D.jpeg_quality, ir_sensor: str = _D.ir_sensor,
                        overwrite: bool = False) -> Path:
    """Write the synthetic SYSU-MM01 stand-in under ``root`` and return ``root``.

    Writes ``root/cam1..cam6/<PPPP>/<IIII>.jpg`` and ``root/exp/{train,val,
    test}_id.txt``. With the defaults: 160 ids (96 train, 24 val, 40 test), 2-6
    images per (id, camera) at 128x64, about 3,200 images; cameras 3 and 6
    through the ``ir_sensor`` (``"nir"`` or ``"thermal"``, see the module).

    If ``root`` already holds a stand-in made with the same arguments, returns
    at once. If it holds anything else, raises :class:`DatasetError` (unless
    ``overwrite=True`` and it is a stand-in made with other arguments). The
    tree is written to a temporary sibling folder and renamed into place, so an
    interrupted call leaves no half-written dataset.
    """
    cfg = SyntheticConfig(num_ids=num_ids, seed=seed, height=height, width=width,
                          images_per_camera=tuple(images_per_camera), split_fractions=tuple(split_fractions),
                          indoor_fraction=indoor_fraction, twin_fraction=twin_fraction, jpeg_quality=jpeg_quality,
                          ir_sensor=ir_sensor)
    cfg.validate()
    return write_atomically(root, cfg.key(), partial(_write_tree, cfg), "synthetic SYSU-MM01 stand-in", overwrite)


def _write_tree(cfg: SyntheticConfig, out: Path) -> None:
    p = plan(cfg)
    for cam in ALL_CAMERAS:
        (out / f"cam{cam}").mkdir(parents=True, exist_ok=True)
    n_images = 0
    for pid, per_cam in p["counts"].items():
        ident = p["identities"][pid]
        for cam, n in per_cam.items():
            d = out / f"cam{cam}" / f"{pid:04d}"
            d.mkdir()
            for i in range(1, n + 1):
                arr = render_image(cfg, ident, pid, cam, i)
                Image.fromarray(arr).save(d / f"{i:04d}.jpg", quality=cfg.jpeg_quality)
                n_images += 1
    (out / "exp").mkdir()
    for name, ids in p["splits"].items():
        (out / "exp" / f"{name}_id.txt").write_text(",".join(str(i) for i in ids) + "\n")
    info = {"key": cfg.key(), "generator_version": GENERATOR_VERSION, "config": asdict(cfg),
            "num_images": n_images, "twins": {str(k): v for k, v in p["twins"].items()},
            "note": "Synthetic teaching stand-in in SYSU-MM01's layout; numbers on it are not SYSU-MM01 numbers."}
    (out / MARKER).write_text(json.dumps(info, indent=1, sort_keys=True))


def synthetic_sysu_root(cache_dir: str | os.PathLike | None = None, **kwargs) -> Path:
    """Generate (once) and return the stand-in in a cache folder keyed by its
    arguments (any :class:`SyntheticConfig` field, e.g. ``ir_sensor``):
    ``cache_dir/synthetic_sysu_<key>``. ``cache_dir`` defaults to
    ``$TSGAN_DATA_DIR`` or ``<repo>/runs/data``."""
    cfg = config_from(SyntheticConfig, kwargs, "synthetic_sysu_root")
    return make_synthetic_sysu(cache_dir_default(cache_dir) / f"synthetic_sysu_{cfg.key()}", **asdict(cfg))
