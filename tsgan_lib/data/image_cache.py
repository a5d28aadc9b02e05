"""A training set decoded and resized once: the uint8 image cache file the tensor pipeline reads.

:func:`load_image_cache` decodes the training records with
:func:`~tsgan_lib.data.datasets.read_image` and resizes them with the very
``T.Resize((H, W), bilinear, antialias=True)`` object that
:func:`~tsgan_lib.data.transforms.build_transform` builds (:func:`pil_resize`),
into one uint8 array ``(N, 3, H, W)`` in a file (SYSU-MM01's 34,167 training
images at 288x144 are about 4.3 GB). The file lives in a cache folder, its name
keyed by the records' paths and the size (:func:`cache_file`); it is written
to a temporary file and renamed into place (atomic), and it is memory-mapped
when read (:class:`ImageCache`). A file that is truncated, has a bad header or
was made from other records raises :class:`ImageCacheError` naming it.

The format: a JSON header (:data:`CACHE_MAGIC`, the format version, the
records' key, the shape, a CRC-32 of the pixels) padded to
:data:`HEADER_BYTES`, then the pixels in C order. Its reader is
:class:`~tsgan_lib.data.tensor_pipeline.TensorTrainLoader`.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import tempfile
import zlib
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torchvision import transforms as T

from .datasets import read_image
from .records import DatasetError, Record
from .transforms import build_transform

CACHE_FORMAT = 1
CACHE_MAGIC = b"TSGAN-IMAGE-CACHE\n"
HEADER_BYTES = 4096          # JSON header (padded), then the uint8 pixels (N, 3, H, W), C order
_CHUNK = 256                 # images decoded per thread-pool round while building


class ImageCacheError(DatasetError):
    """An image cache file is corrupt, truncated, or was made from other records
    or at another size. The message names the file."""


# --- the cache ---------------------------------------------------------------------------------------

def default_cache_dir() -> Path:
    """``$TSGAN_CACHE_DIR``, else ``<repo>/runs/cache``."""
    from ..utils import REPO_ROOT

    return Path(os.environ.get("TSGAN_CACHE_DIR") or (REPO_ROOT / "runs" / "cache"))


def pil_resize(height: int, width: int) -> T.Resize:
    """The resize of :func:`build_transform` (its first step), taken from it so
    that the cache and the PIL path can never disagree."""
    resize = build_transform(False, height, width).transforms[0]
    if not isinstance(resize, T.Resize):
        raise TypeError(f"build_transform's first step is {type(resize).__name__}, expected T.Resize")
    return resize


def cache_key(records: Sequence[Record], height: int, width: int) -> str:
    """SHA-256 over the format, the size, the resize and every record's path,
    in order (the cache's row i is ``records[i]``)."""
    h = hashlib.sha256()
    h.update(json.dumps({"format": CACHE_FORMAT, "height": int(height), "width": int(width),
                         "resize": repr(pil_resize(height, width)), "n": len(records)}).encode())
    for r in records:
        h.update(b"\0")
        h.update(str(r.path).encode())
    return h.hexdigest()


def cache_file(records: Sequence[Record], height: int, width: int, cache_dir: str | os.PathLike | None = None) -> Path:
    """Where :func:`load_image_cache` keeps the cache of ``records`` at HxW."""
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    return folder / f"images_{height}x{width}_n{len(records)}_{cache_key(records, height, width)[:20]}.u8"


def _decode(path: str, resize: T.Resize) -> np.ndarray:
    arr = np.asarray(resize(read_image(path)), dtype=np.uint8)  # (H, W, 3)
    return np.ascontiguousarray(arr.transpose(2, 0, 1))


def build_image_cache(records: Sequence[Record], height: int, width: int, path: str | os.PathLike, *,
                      workers: int | None = None) -> Path:
    """Decode and resize ``records`` into a cache file at ``path`` (written to a
    temporary file beside it, then renamed: a reader never sees half a cache).
    ``workers``: decoding threads (PIL releases the GIL while decoding and
    resizing); default ``min(8, cpu_count)``. Returns ``path``."""
    records = list(records)
    if not records:
        raise ValueError("build_image_cache needs at least one record")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    resize = pil_resize(height, width)
    workers = max(1, workers if workers is not None else min(8, os.cpu_count() or 1))
    expected = (3, height, width)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        crc = 0
        with os.fdopen(fd, "wb") as f, ThreadPoolExecutor(workers) as pool:
            f.write(b"\0" * HEADER_BYTES)
            for s in range(0, len(records), _CHUNK):
                chunk = records[s:s + _CHUNK]
                for r, arr in zip(chunk, pool.map(lambda r: _decode(r.path, resize), chunk)):
                    if arr.shape != expected:
                        raise ImageCacheError(f"{r.path} resized to {arr.shape}, expected {expected}")
                    data = arr.tobytes()
                    crc = zlib.crc32(data, crc)
                    f.write(data)
            header = {"format": CACHE_FORMAT, "key": cache_key(records, height, width), "n": len(records),
                      "channels": 3, "height": int(height), "width": int(width), "dtype": "uint8",
                      "layout": "NCHW", "crc32": crc, "resize": repr(resize),
                      "first_path": str(records[0].path), "last_path": str(records[-1].path),
                      "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
            blob = CACHE_MAGIC + json.dumps(header).encode()
            if len(blob) > HEADER_BYTES:
                raise ImageCacheError(f"cache header for {path} is {len(blob)} bytes, over {HEADER_BYTES}")
            f.seek(0)
            f.write(blob.ljust(HEADER_BYTES, b" "))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def read_cache_header(path: str | os.PathLike) -> dict:
    """The JSON header of a cache file; :class:`ImageCacheError` if it is not one."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            blob = f.read(HEADER_BYTES)
    except OSError as e:
        raise ImageCacheError(f"image cache {path} cannot be read ({e})") from e
    if len(blob) < HEADER_BYTES or not blob.startswith(CACHE_MAGIC):
        raise ImageCacheError(f"image cache {path} is corrupt: no TS-GAN image-cache header "
                              f"(delete it, or pass rebuild=True, to rebuild it)")
    try:
        header = json.loads(blob[len(CACHE_MAGIC):].decode().strip())
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ImageCacheError(f"image cache {path} is corrupt: unreadable header ({e}); "
                              f"delete it, or pass rebuild=True, to rebuild it") from e
    if header.get("format") != CACHE_FORMAT:
        raise ImageCacheError(f"image cache {path} has format {header.get('format')!r}, expected {CACHE_FORMAT}; "
                              f"delete it, or pass rebuild=True, to rebuild it")
    return header


@dataclass
class ImageCache:
    """A cache file opened as a uint8 tensor ``images`` (N, 3, H, W), memory-mapped
    (copy-on-write: the file is never modified) unless moved with :meth:`to`."""

    path: Path
    header: dict
    images: Tensor

    @property
    def height(self) -> int:
        return int(self.header["height"])

    @property
    def width(self) -> int:
        return int(self.header["width"])

    def __len__(self) -> int:
        return int(self.header["n"])

    @property
    def nbytes(self) -> int:
        return self.images.numel()

    def to(self, device: str | torch.device) -> Tensor:
        """A copy of all the pixels in ``device``'s memory (RAM for the CPU)."""
        device = torch.device(device)
        if device.type == "cpu":
            return self.images.clone()
        return self.images.to(device)


def open_image_cache(path: str | os.PathLike, *, records: Sequence[Record] | None = None,
                     height: int | None = None, width: int | None = None, verify: bool = False) -> ImageCache:
    """Open a cache file, memory-mapped. Checks the header, the file size and,
    when given, that it was made from exactly ``records`` at ``height`` x
    ``width``; ``verify=True`` also checks the pixels' CRC-32 (reads the whole
    file). Raises :class:`ImageCacheError` naming the file otherwise."""
    path = Path(path)
    header = read_cache_header(path)
    n, h, w = int(header["n"]), int(header["height"]), int(header["width"])
    if height is not None and width is not None and (h, w) != (int(height), int(width)):
        raise ImageCacheError(f"image cache {path} holds {h}x{w} images, not the {height}x{width} asked for")
    if records is not None:
        key = cache_key(records, h if height is None else height, w if width is None else width)
        if header.get("key") != key:
            raise ImageCacheError(f"image cache {path} was made from other records ({n} images, first "
                                  f"{header.get('first_path')}) than the {len(records)} given; "
                                  f"it is refused: use another cache folder, or pass rebuild=True to replace it")
    size = path.stat().st_size
    expected = HEADER_BYTES + n * 3 * h * w
    if size != expected:
        raise ImageCacheError(f"image cache {path} is corrupt: {size} bytes, expected {expected} "
                              f"({n} x 3 x {h} x {w} + header); delete it, or pass rebuild=True, to rebuild it")
    mm = np.memmap(path, dtype=np.uint8, mode="c", offset=HEADER_BYTES, shape=(n, 3, h, w))
    if verify:
        crc = 0
        flat = mm.reshape(-1)
        for s in range(0, flat.size, 1 << 26):
            crc = zlib.crc32(flat[s:s + (1 << 26)], crc)
        if crc != header.get("crc32"):
            raise ImageCacheError(f"image cache {path} is corrupt: pixel checksum {crc} != {header.get('crc32')}; "
                                  f"delete it, or pass rebuild=True, to rebuild it")
    return ImageCache(path, header, torch.from_numpy(mm))


def load_image_cache(records: Sequence[Record], height: int, width: int, *,
                     cache_dir: str | os.PathLike | None = None, path: str | os.PathLike | None = None,
                     rebuild: bool = False, verify: bool = False, workers: int | None = None) -> ImageCache:
    """The cache of ``records`` at ``height`` x ``width``: opened if its file
    exists (no image is decoded), else built once. ``path`` overrides the keyed
    file name in ``cache_dir`` (default :func:`default_cache_dir`); an existing
    file there from other records or another size is refused, unless
    ``rebuild=True`` (which also replaces a corrupt file)."""
    records = list(records)
    target = Path(path) if path is not None else cache_file(records, height, width, cache_dir)
    if target.exists() and not rebuild:
        return open_image_cache(target, records=records, height=height, width=width, verify=verify)
    build_image_cache(records, height, width, target, workers=workers)
    return open_image_cache(target, records=records, height=height, width=width, verify=verify)
