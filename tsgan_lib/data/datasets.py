"""Image reading and the torch datasets over
:class:`~tsgan_lib.data.records.Record` lists.

:func:`read_image` is the one place an image file becomes a 3-channel 8-bit
RGB :class:`PIL.Image.Image`. It decodes the whole file at once (PIL's
``Image.open`` is lazy) and treats truncation as an error whatever
``PIL.ImageFile.LOAD_TRUNCATED_IMAGES`` says, so a bad file raises
:class:`~tsgan_lib.data.records.DatasetError` naming it, here, instead of
decoding half an image or failing inside a DataLoader worker.

What :func:`read_image` accepts, by PIL mode:

* ``RGB``; ``L`` (grey, how IR images are often stored): silently, ``L``
  becomes three identical channels.
* ``RGBA``, ``RGBX``, ``LA``, ``PA`` (alpha discarded), ``P`` (palette
  expanded), ``CMYK``, ``YCbCr``: converted to RGB, with one
  :class:`~tsgan_lib.data.records.ImageModeWarning` per mode and process that
  names the first such file.
* 16-bit and 32-bit grey (``I;16*``, ``I``, ``F``: radiometric thermal
  exports): scaled to 8 bits by the image's own range (its minimum -> 0, its
  maximum -> 255, a constant image -> 0), then as ``L``, with the same single
  warning. PIL's plain conversion would clip every value above 255 to white.
* Anything else (``1`` bilevel masks, ``LAB``, ``HSV``, ...): rejected,
  naming the mode.

IR images must be grey: with ``modality="ir"``, an image whose channels
differ beyond JPEG chroma noise (more than :data:`IR_COLOUR_FRACTION` of its
pixels with channels over :data:`IR_CHANNEL_TOLERANCE` grey levels apart) is an
error: a colour picture in an IR camera folder almost always means a wrong
folder. The datasets read without that check (the verifier,
:mod:`tsgan_lib.data.verify`, applies it to every IR image once).

Both dataset classes live in the library (not in a notebook) so that
DataLoader workers can pickle them; torch re-raises a worker's
:class:`DatasetError` as a :class:`DatasetError` whose message names the file.
"""

from __future__ import annotations

import os
import threading
import warnings
from typing import Callable, Sequence

import numpy as np
from PIL import Image, ImageFile, UnidentifiedImageError
from torch.utils.data import Dataset

from .records import IR, MODALITIES, RGB, DatasetError, ImageModeWarning, Record

# An IR image is "colour" when more than IR_COLOUR_FRACTION of its pixels have
# channels more than IR_CHANNEL_TOLERANCE grey levels apart. A grey image saved
# as an RGB JPEG decodes with equal channels; a tinted or re-encoded one stays
# within a few levels; the RGB images of the synthetic stand-in exceed the
# tolerance on 9-90 % of their pixels.
IR_CHANNEL_TOLERANCE = 24
IR_COLOUR_FRACTION = 0.02

EXPECTED = "expected a JPEG or PNG image"
EMPTY_FILE = f"image file is empty (0 bytes): {EXPECTED} (an interrupted copy or download leaves such files)"
_ALPHA_MODES = ("RGBA", "RGBX", "RGBa", "LA", "PA")
_HIGH_DEPTH_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")
_CONVERTED_NOTES = {
    **{m: "converted to RGB, alpha channel discarded" for m in _ALPHA_MODES},
    "P": "palette image, expanded to RGB",
    "CMYK": "converted to RGB with PIL's plain formula (no colour profile)",
    "YCbCr": "converted to RGB",
}
ACCEPTED_MODES = ("RGB", "L", *_CONVERTED_NOTES, *_HIGH_DEPTH_MODES)

_ANNOUNCED: set[str] = set()  # modes already warned about in this process
_TRUNCATION_LOCK = threading.Lock()


def _load_strict(im: Image.Image) -> None:
    """``im.load()`` with truncated files an error even if someone set
    ``ImageFile.LOAD_TRUNCATED_IMAGES = True`` (restored afterwards)."""
    if not ImageFile.LOAD_TRUNCATED_IMAGES:
        im.load()
        return
    with _TRUNCATION_LOCK:
        saved = ImageFile.LOAD_TRUNCATED_IMAGES
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        try:
            im.load()
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = saved


def _scale_to_8bit(im: Image.Image) -> Image.Image:
    a = np.asarray(im).astype(np.float64)
    lo, hi = float(a.min()), float(a.max())
    out = np.zeros(a.shape, np.uint8) if hi <= lo else np.rint((a - lo) * (255.0 / (hi - lo))).astype(np.uint8)
    return Image.fromarray(out, "L").convert("RGB")


def _unsupported(mode: str, path: str) -> DatasetError:
    return DatasetError(f"unsupported image mode {mode!r}: expected RGB or grey L (also converted: "
                        f"{', '.join(ACCEPTED_MODES[2:])})", path)


def _to_rgb(im: Image.Image, path: str) -> tuple[Image.Image, str | None]:
    try:
        return _convert(im, path)
    except (ValueError, OSError) as e:  # a mode PIL names but cannot convert
        raise _unsupported(im.mode, path) from e


def _convert(im: Image.Image, path: str) -> tuple[Image.Image, str | None]:
    mode = im.mode
    if mode in ("RGB", "L"):
        return im.convert("RGB"), None
    if mode in ("P", "PA") and "transparency" in im.info:
        return im.convert("RGBA").convert("RGB"), _CONVERTED_NOTES[mode]
    if mode in _CONVERTED_NOTES:
        return im.convert("RGB"), _CONVERTED_NOTES[mode]
    if mode in _HIGH_DEPTH_MODES:
        return _scale_to_8bit(im), ("high bit depth, scaled to 8 bits by the image's own range "
                                    "(its minimum -> 0, its maximum -> 255)")
    raise _unsupported(mode, path)


def decode_image(path: str | os.PathLike) -> tuple[Image.Image, str, str | None]:
    """Decode ``path`` completely: ``(RGB image, the file's PIL mode, note)``,
    ``note`` saying how an unusual mode was converted (``None`` for RGB / L).
    Issues no warning (see :func:`read_image`); raises :class:`DatasetError`
    naming the file for a missing, empty, truncated, corrupt or non-image file
    and for an unsupported mode."""
    path = os.fspath(path)
    try:
        size = os.stat(path).st_size
    except FileNotFoundError:
        raise DatasetError(f"image file does not exist: {EXPECTED} here", path) from None
    except OSError as e:
        raise DatasetError(f"cannot read the image file ({e.strerror}): {EXPECTED}", path) from e
    if size == 0:
        raise DatasetError(EMPTY_FILE, path)
    try:
        im = Image.open(path)
    except UnidentifiedImageError:
        with open(path, "rb") as f:
            head = f.read(12)
        raise DatasetError(f"not an image file ({size} bytes starting {head!r}): {EXPECTED}", path) from None
    except IsADirectoryError:
        raise DatasetError(f"is a folder: {EXPECTED}", path) from None
    except Image.DecompressionBombError as e:
        raise DatasetError(f"image too large to decode safely ({e}): expected a person image", path) from e
    except Exception as e:  # PIL raises many types on damaged headers
        raise DatasetError(f"damaged image header ({type(e).__name__}: {e}): {EXPECTED}", path) from e
    with im:
        fmt = im.format or "image"
        try:
            _load_strict(im)
        except Exception as e:  # OSError, SyntaxError, ValueError, ... from the decoders
            if "truncated" in str(e).lower():
                raise DatasetError(f"truncated {fmt} file ({size} bytes; decoding ran out of data: {e}): expected a "
                                   "complete image file (copy or download it again)", path) from e
            raise DatasetError(f"corrupt {fmt} data ({type(e).__name__}: {e}): {EXPECTED} that decodes", path) from e
        mode = im.mode
        rgb, note = _to_rgb(im, path)
    return rgb, mode, note


def colour_fraction(img: Image.Image) -> float:
    """Fraction of the pixels of an RGB image whose channels lie more than
    :data:`IR_CHANNEL_TOLERANCE` grey levels apart (0 for a grey image)."""
    a = np.asarray(img)
    spread = a.max(axis=2).astype(np.int16) - a.min(axis=2)
    return float((spread > IR_CHANNEL_TOLERANCE).mean())


def check_ir_grey(img: Image.Image, path: str | os.PathLike) -> None:
    """Raise :class:`DatasetError` naming ``path`` if ``img`` (RGB) is a
    colour image rather than a grey infrared one."""
    frac = colour_fraction(img)
    if frac > IR_COLOUR_FRACTION:
        raise DatasetError(f"colour image in an IR camera ({frac:.0%} of its pixels have channels more than "
                           f"{IR_CHANNEL_TOLERANCE} grey levels apart; JPEG noise allows {IR_COLOUR_FRACTION:.0%}): "
                           "expected a grey infrared image (one channel or three equal ones); "
                           "is an RGB image in an IR folder?", path)


def read_image(path: str | os.PathLike, modality: str | None = None) -> Image.Image:
    """Read an image as 3-channel 8-bit RGB (see the module docstring for the
    modes accepted and how they are converted).

    ``modality="ir"`` also rejects colour images (:func:`check_ir_grey`);
    ``"rgb"`` and ``None`` check nothing more. Raises :class:`DatasetError`
    naming the file for anything that is not a complete, decodable image.
    """
    if modality is not None and modality not in MODALITIES:
        raise ValueError(f"read_image: modality must be None or one of {MODALITIES}, got {modality!r}")
    img, mode, note = decode_image(path)
    if note is not None and mode not in _ANNOUNCED:
        _ANNOUNCED.add(mode)
        warnings.warn(ImageModeWarning(
            f"{os.fspath(path)}: image mode {mode} ({note}); further {mode} images are converted the same "
            "way without another warning in this process"), stacklevel=2)
    if modality == IR:
        check_ir_grey(img, path)
    return img


class ImageDataset(Dataset):
    """``records[i]`` -> ``(image, pid, camid)``; used for evaluation."""

    def __init__(self, records: Sequence[Record], transform: Callable | None = None):
        self.records = list(records)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, i: int):
        r = self.records[i]
        img = read_image(r.path)
        return (self.transform(img) if self.transform else img), r.pid, r.camid


class CrossModalityTrainSet(Dataset):
    """Paired training items for TS-GAN: index ``(i_rgb, i_ir)`` -> ``(x_rgb,
    x_ir, label)``, the two images of the same training identity.

    Indices come from :class:`~tsgan_lib.data.sampler.CrossModalityIdentitySampler`,
    built from :attr:`rgb_pids` and :attr:`ir_pids`.
    """

    def __init__(self, records: Sequence[Record], transform: Callable | None = None):
        self.rgb = [r for r in records if r.modality == RGB]
        self.ir = [r for r in records if r.modality == IR]
        if not self.rgb or not self.ir:
            raise DatasetError(f"CrossModalityTrainSet needs RGB and IR records; got {len(self.rgb)} RGB and {len(self.ir)} IR")
        self.transform = transform

    @property
    def rgb_pids(self) -> list[int]:
        return [r.pid for r in self.rgb]

    @property
    def ir_pids(self) -> list[int]:
        return [r.pid for r in self.ir]

    def __len__(self) -> int:
        return len(self.rgb)

    def __getitem__(self, idx):
        i_rgb, i_ir = idx
        a, b = self.rgb[i_rgb], self.ir[i_ir]
        if a.pid != b.pid:
            raise ValueError(f"pair ({i_rgb}, {i_ir}) mixes identities {a.pid} and {b.pid}")
        xa, xb = read_image(a.path), read_image(b.path)
        if self.transform:
            xa, xb = self.transform(xa), self.transform(xb)
        return xa, xb, a.pid
