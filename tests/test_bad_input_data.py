"""Bad input, one table: every way a dataset tree, list file, image, setting or
saved file can be wrong, the call that must notice it, and what the user is told.

Each row of ``CASES`` builds the bad input in ``tmp_path`` and names the call
that must fail (a loader, :func:`read_image`, a dataset's ``__getitem__``, a
DataLoader over one), the exception type, and the words its message must
contain: the file or parameter (``{path}``-style placeholders are filled from
what the builder returns) and what was expected. Rows whose ``expect`` is a
warning class must warn exactly once for two files of that mode (and their
result is checked); rows with ``expect=None`` must succeed without an
:class:`ImageModeWarning` (the words are then looked for in ``str(result)``).
"""

from __future__ import annotations

import io
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
from PIL import Image, ImageFile
from torch.utils.data import DataLoader

from tsgan_lib.data import (DatasetError, ImageDataset, ImageModeWarning, build_train_loader, load_llcm, load_regdb,
                            load_sysu, read_image)
from tsgan_lib.data import datasets as datasets_module
from tsgan_lib.data.verify import verify_dataset

from conftest import write_llcm_tree, write_sysu_tree
from tsgan_lib.files import (FileFormatError, FileWriteError, RunFolderBusy, RunLock, load_weights, save_atomic)
from tsgan_lib.models import PretrainedWeightsError
from tsgan_lib.report import load_results
from tsgan_lib.train import ConfigError, load_config, resolve_config
from tsgan_lib.train.config import check_notebook_parameters

SPLITS = {"train": [1, 2], "val": [3], "test": [4, 5]}


# ------------------------------------------------------------------ builders
def _colour(h=64, w=32, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([yy * 255 // h, xx * 255 // w, 255 - yy * 255 // h], axis=2)
    return np.clip(base + rng.integers(-10, 10, base.shape), 0, 255).astype(np.uint8)


def _grey(h=64, w=32, seed=0) -> np.ndarray:
    return _colour(h, w, seed)[..., 0]


def _jpeg_bytes(arr: np.ndarray, quality=90) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def _png_bytes(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


def _file(tmp: Path, name: str, data: bytes) -> dict:
    p = tmp / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)
    return {"path": str(p)}


def _sysu(tmp: Path, content: bytes = b"", **change) -> Path:
    """A small SYSU-MM01 tree: ids 1-3 fit, 4-5 test, every id in every camera."""
    counts = {cam: {pid: 2 for pid in (1, 2, 3, 4, 5)} for cam in range(1, 7)}
    return write_sysu_tree(tmp / "sysu", counts, {**SPLITS, **change}, content=content)


def _sysu_ctx(tmp, rel: str, act: Callable[[Path], object] | None = None, **change) -> dict:
    """The small tree (splits changed by ``change``), then ``act(root / rel)``;
    ``path`` is ``root / rel``, the path the message must name."""
    root = _sysu(tmp, **change)
    if act is not None:
        act(root / rel)
    return {"root": str(root), "path": str(root / rel)}


def _real_sysu(tmp: Path) -> Path:
    """The small tree with real JPEGs (RGB cameras colour, IR cameras grey)."""
    root = _sysu(tmp, content=_jpeg_bytes(_colour()))
    grey = _jpeg_bytes(np.repeat(_grey()[..., None], 3, axis=2))
    for cam in (3, 6):
        for f in (root / f"cam{cam}").rglob("*.jpg"):
            f.write_bytes(grey)
    return root


def _corrupt_jpeg() -> bytes:
    data = bytearray(_jpeg_bytes(_colour()))
    dht = data.find(b"\xff\xc4")  # Huffman tables zeroed: the header parses, the data cannot decode
    data[dht + 5:dht + 40] = bytes(35)
    return bytes(data)


def _truncated_jpeg() -> bytes:
    data = _jpeg_bytes(_colour())
    return data[:len(data) * 6 // 10]


def _two(tmp: Path, image: Image.Image, ext="png", **save) -> dict:
    """Two files of the same unusual mode: ``path`` (read first) and ``path2``."""
    paths = []
    for name in ("0001", "0002"):
        p = tmp / "cam1" / "0001" / f"{name}.{ext}"
        p.parent.mkdir(parents=True, exist_ok=True)
        image.save(p, **save)
        paths.append(str(p))
    return {"path": paths[0], "path2": paths[1], "source": image}


def _read_both(ctx: dict):
    return [np.asarray(read_image(ctx["path"])), np.asarray(read_image(ctx["path2"]))]


def _regdb(tmp: Path) -> dict:
    root = tmp / "regdb"
    for folder, mod in (("Visible", "visible"), ("Thermal", "thermal")):
        for split, pids in (("train", (10, 11)), ("test", (20, 21))):
            lines = []
            for pid in pids:
                (root / folder / str(pid)).mkdir(parents=True, exist_ok=True)
                for k in range(2):
                    (root / folder / str(pid) / f"{k}.bmp").write_bytes(b"BM")
                    lines.append(f"{folder}/{pid}/{k}.bmp {pid}")
            (root / "idx").mkdir(exist_ok=True)
            (root / "idx" / f"{split}_{mod}_1.txt").write_text("\n".join(lines) + "\n")
    missing = root / "Thermal" / "10" / "1.bmp"
    missing.unlink()
    return {"root": str(root), "path": str(missing), "list": str(root / "idx" / "train_thermal_1.txt")}


def _llcm(tmp: Path, test_ids=(7, 12)) -> Path:
    """A small LLCM tree: training labels 0-1 in both modes, test ids 7 and 12."""
    train = {mod: {0: {1: 2}, 1: {2: 1}} for mod in ("vis", "nir")}
    test = {"test_vis": {1: {7: 1, 12: 1}}, "test_nir": {2: {7: 1, 12: 1}}}
    return write_llcm_tree(tmp / "llcm", train, test, list(test_ids))


def _llcm_ctx(tmp, rel: str, act: Callable[[Path], object] | None = None, **tree) -> dict:
    """The small LLCM tree, then ``act(root / rel)``; ``path`` is ``root / rel``
    and ``list`` the visible training list."""
    root = _llcm(tmp, **tree)
    if act is not None:
        act(root / rel)
    return {"root": str(root), "path": str(root / rel), "list": str(root / "idx" / "train_vis.txt")}


def _append(line: str) -> Callable[[Path], None]:
    return lambda p: p.write_text(p.read_text() + line + "\n")


def _zero_ir_in_train(tmp: Path) -> dict:
    """Every training id has one IR image (in cam3), and that of id 2 is empty,
    so the first batch of P=3 ids reads it."""
    root = _real_sysu(tmp)
    for pid in (1, 2, 3, 4, 5):
        shutil.rmtree(root / "cam6" / f"{pid:04d}")
        (root / "cam3" / f"{pid:04d}" / "0002.jpg").unlink()
    bad = root / "cam3" / "0002" / "0001.jpg"
    bad.write_bytes(b"")
    return {"root": str(root), "path": str(bad)}


def _iterate(loader) -> None:
    it = iter(loader)
    try:
        for _ in it:
            pass
    finally:
        # Stop the worker now: an iterator left to the garbage collector after
        # an error takes torch about 5 s to shut its worker down.
        getattr(it, "_shutdown_workers", lambda: None)()


def _truncated_test_image(tmp: Path) -> dict:
    root = _real_sysu(tmp)
    bad = root / "cam4" / "0005" / "0002.jpg"
    bad.write_bytes(_truncated_jpeg())
    return {"root": str(root), "path": str(bad)}


# -------------------------------------------------------------------- checks
def _three_equal_channels(result, ctx):
    assert result.shape == (64, 32, 3)
    assert (result[..., 0] == result[..., 1]).all() and (result[..., 1] == result[..., 2]).all()
    assert np.array_equal(result[..., 0], _grey())  # a lossless PNG: the grey values themselves


def _same_rgb_as_source(results, ctx):
    want = np.asarray(ctx["source"].convert("RGB"))
    assert all(r.shape == want.shape and np.array_equal(r, want) for r in results)


def _scaled_16bit(results, ctx):
    src = np.asarray(ctx["source"]).astype(np.int64)
    r = results[0][..., 0].astype(np.int64)
    assert r.min() == 0 and r.max() == 255  # the image's own range fills 8 bits (not clipped to white)
    order = np.argsort(src.ravel(), kind="stable")
    assert (np.diff(r.ravel()[order]) >= 0).all()  # monotone in the 16-bit values
    assert (results[0][..., 0] == results[0][..., 2]).all()


def _cmyk_to_rgb(results, ctx):
    assert results[0].shape == (64, 32, 3) and results[0].dtype == np.uint8


def _stray_txt_ignored(result, ctx):
    records, problems = result
    assert not any(r.path.endswith("notes.txt") for r in records)
    assert len(problems) == 1 and problems[0].severity == "warning" and problems[0].path == ctx["path"]


def _stray_txt(tmp: Path) -> dict:
    root = _real_sysu(tmp)
    p = root / "cam1" / "0001" / "notes.txt"
    p.write_text("lens cleaned on Monday\n")
    return {"root": str(root), "path": str(p)}


def _tinted_grey_jpeg() -> bytes:
    g = _grey().astype(np.int16)
    arr = np.stack([g + 6, g, g - 5], axis=2)  # a faint colour cast, then JPEG chroma noise
    return _jpeg_bytes(np.clip(arr, 0, 255).astype(np.uint8), quality=75)


def _html_in_identity_folder(tmp: Path) -> dict:
    root = _real_sysu(tmp)
    bad = root / "cam1" / "0001" / "0002.jpg"
    bad.write_bytes(b"<!DOCTYPE html><html><body>403 Forbidden</body></html>")
    return {"root": str(root), "path": str(bad)}


def _getitem_of(ctx: dict):
    ds = load_sysu(ctx["root"])
    i = [r.path for r in ds.train].index(ctx["path"])
    return ImageDataset(ds.train)[i]


@dataclass
class Case:
    id: str
    build: Callable[[Path], dict]          # writes the bad input, returns what `call` and `words` need
    call: Callable[[dict], object]         # the call that must fail (or warn, or succeed)
    expect: type | None                    # exception class, warning class, or None
    words: tuple[str, ...]                 # in the message; "{path}" etc. filled from build's dict
    check: Callable[[object, dict], None] | None = None  # on the result (warning and None rows)


# builders and calls of the settings and files rows
def _yaml(t: Path, text: str) -> dict:
    (t / "bad.yaml").write_text(text)
    return {"path": str(t / "bad.yaml")}


def _no_imagenet(home: str):
    import os
    from unittest import mock

    from tsgan_lib.models import load_imagenet_state_dict

    with mock.patch.dict(os.environ, {"TORCH_HOME": home}):
        return load_imagenet_state_dict(50, allow_download=False)


def _checkpoint_with_meta(t: Path) -> dict:
    import torch

    path = t / "checkpoint.pt"
    save_atomic({"progress": {}, "rng": [], "meta": {"lr": 0.001}, "x": torch.zeros(1)}, path)
    return {"path": str(path)}


def _resume_with_meta(path: str, meta: dict):
    import torch

    from tsgan_lib.train.loop import FitLoop, LoopConfig

    class Batches(list):
        def set_epoch(self, epoch, start_step=0):
            pass

    return FitLoop("run", lambda b: {}, Batches(), LoopConfig(epochs=1, images_per_step=1, checkpoint_path=path),
                   device=torch.device("cpu"), meta=meta).fit()


def _damaged_checkpoint(t: Path, how: str) -> dict:
    import torch

    path = save_atomic({"w": torch.randn(1000)}, t / "checkpoint.pt")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] if how == "truncate" else b"\x00" * 64 + data[64:])
    return {"path": str(path)}


class _Evil:
    def __reduce__(self):
        import os

        return (os.system, ("true",))


def _pickled_checkpoint(t: Path) -> dict:
    import torch

    torch.save({"payload": _Evil()}, t / "evil.pt")
    return {"path": str(t / "evil.pt")}


def _write_on_full_disk(path: str):
    import errno
    import os
    from unittest import mock

    import torch

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with mock.patch("os.fsync", full):
        return save_atomic({"x": torch.zeros(2)}, path)


def _lock_twice(folder: str):
    with RunLock(folder, log=lambda m: None), RunLock(folder, log=lambda m: None):
        return None


CASES = [
    # -- SYSU-MM01 structure (load_sysu)
    Case("sysu missing root", lambda t: {"path": str(t / "nowhere")}, lambda c: load_sysu(c["path"]),
         DatasetError, ("{path}", "does not exist", "expected cam1..cam6/ and exp/")),
    Case("sysu missing camera folder", lambda t: _sysu_ctx(t, "cam4", shutil.rmtree),
         lambda c: load_sysu(c["root"]), DatasetError,
         ("{path}", "missing camera folder", "expected SYSU-MM01's cam1..cam6, each holding <PPPP>/ person folders")),
    Case("sysu person folder not a number", lambda t: _sysu_ctx(t, "cam2/bob", Path.mkdir),
         lambda c: load_sysu(c["root"]), DatasetError,
         ("{path}", "unexpected folder", "expected person folders named by 4-digit ids such as 0001")),
    Case("sysu missing exp folder", lambda t: _sysu_ctx(t, "exp", shutil.rmtree),
         lambda c: load_sysu(c["root"]), DatasetError, ("{path}", "missing split folder", "exp/train_id.txt")),
    Case("sysu missing split file", lambda t: _sysu_ctx(t, "exp/val_id.txt", Path.unlink),
         lambda c: load_sysu(c["root"]), DatasetError,
         ("{path}", "missing SYSU-MM01 split file", "one line of comma-separated person ids")),
    Case("sysu empty split file", lambda t: _sysu_ctx(t, "exp/test_id.txt", test=[]),
         lambda c: load_sysu(c["root"]), DatasetError,
         ("{path}", "empty SYSU-MM01 split file", "one line of comma-separated person ids")),
    Case("sysu malformed split file", lambda t: _sysu_ctx(t, "exp/train_id.txt", lambda p: p.write_text("1;2")),
         lambda c: load_sysu(c["root"]), DatasetError,
         ("{path}", "'1;2' is not a person id", "comma-separated positive integers")),
    Case("sysu split file that is binary (a .mat saved as .txt)",
         lambda t: _sysu_ctx(t, "exp/val_id.txt", lambda p: p.write_bytes(b"MATLAB 5.0\x00\xff\xfe")),
         lambda c: load_sysu(c["root"]), DatasetError,
         ("{path}", "malformed SYSU-MM01 split file", "is not a person id", "comma-separated positive integers")),
    Case("sysu split id listed twice", lambda t: _sysu_ctx(t, "exp/test_id.txt", test=[4, 5, 4]),
         lambda c: load_sysu(c["root"]), DatasetError, ("{path}", "person id 0004 twice", "each id once")),
    Case("sysu split id without images", lambda t: _sysu_ctx(t, "exp/test_id.txt", test=[4, 5, 77]),
         lambda c: load_sysu(c["root"]), DatasetError,
         ("{path}", "lists person id 0077", "no camera folder holds images", "camN/0077/*.jpg")),
    # -- one image file (read_image; a dataset's __getitem__; a DataLoader)
    Case("missing image file", lambda t: {"path": str(t / "cam1" / "0001" / "0001.jpg")},
         lambda c: read_image(c["path"]), DatasetError, ("{path}", "does not exist", "expected a JPEG or PNG image")),
    Case("zero-byte file", lambda t: _file(t, "0001.jpg", b""), lambda c: read_image(c["path"]), DatasetError,
         ("{path}", "empty (0 bytes)", "expected a JPEG or PNG image")),
    Case("truncated JPEG", lambda t: _file(t, "0001.jpg", _truncated_jpeg()), lambda c: read_image(c["path"]),
         DatasetError, ("{path}", "truncated JPEG file", "expected a complete image file")),
    Case("corrupt JPEG", lambda t: _file(t, "0001.jpg", _corrupt_jpeg()), lambda c: read_image(c["path"]),
         DatasetError, ("{path}", "corrupt JPEG data", "expected a JPEG or PNG image")),
    Case("non-image .jpg in an identity folder (dataset __getitem__)", _html_in_identity_folder, _getitem_of,
         DatasetError, ("{path}", "not an image file", "<!DOCTYPE", "expected a JPEG or PNG image")),
    Case("non-image .txt in an identity folder (ignored; a verify warning)", _stray_txt,
         lambda c: (load_sysu(c["root"]).train, verify_dataset(c["root"], workers=0, progress=False)),
         None, ("{path}", "warning", "ignored by the reader"), _stray_txt_ignored),
    Case("mode L (grey IR)", lambda t: _file(t, "cam3/0001/0001.png", _png_bytes(Image.fromarray(_grey()))),
         lambda c: np.asarray(read_image(c["path"], "ir")), None, (), _three_equal_channels),
    Case("mode RGBA", lambda t: _two(t, Image.fromarray(np.dstack([_colour(), np.full((64, 32), 90, np.uint8)]))),
         _read_both, ImageModeWarning, ("{path}", "mode RGBA", "alpha channel discarded", "without another warning"),
         _same_rgb_as_source),
    Case("mode P (palette)", lambda t: _two(t, Image.fromarray(_colour()).convert("P", palette=Image.Palette.ADAPTIVE)),
         _read_both, ImageModeWarning, ("{path}", "mode P", "palette image, expanded to RGB"), _same_rgb_as_source),
    Case("mode I;16 (16-bit thermal)",
         lambda t: _two(t, Image.fromarray((_grey().astype(np.uint16) * 37 + 20000).astype(np.uint16))),
         _read_both, ImageModeWarning, ("{path}", "mode I;16", "scaled to 8 bits by the image's own range"),
         _scaled_16bit),
    Case("mode CMYK", lambda t: _two(t, Image.fromarray(_colour()).convert("CMYK"), ext="jpg"),
         _read_both, ImageModeWarning, ("{path}", "mode CMYK", "converted to RGB"), _cmyk_to_rgb),
    Case("mode 1 (bilevel mask)", lambda t: _two(t, Image.fromarray(_grey()).convert("1")),
         lambda c: read_image(c["path"]), DatasetError,
         ("{path}", "unsupported image mode '1'", "expected RGB or grey L")),
    Case("IR image that is not grey", lambda t: _file(t, "cam3/0001/0001.jpg", _jpeg_bytes(_colour())),
         lambda c: read_image(c["path"], "ir"), DatasetError,
         ("{path}", "colour image in an IR camera", "expected a grey infrared image")),
    Case("IR image grey up to a colour cast and JPEG noise (accepted)",
         lambda t: _file(t, "cam3/0001/0001.jpg", _tinted_grey_jpeg()),
         lambda c: read_image(c["path"], "ir").size, None, ("(32, 64)",)),
    # -- RegDB lists
    Case("RegDB list names a missing file", _regdb, lambda c: load_regdb(c["root"], trial=1), DatasetError,
         ("{path}", "line 2 of {list}", "does not exist", "relative to the RegDB root")),
    # -- LLCM structure and lists (load_llcm)
    Case("llcm missing root", lambda t: {"path": str(t / "nowhere")}, lambda c: load_llcm(c["path"]),
         DatasetError, ("{path}", "LLCM root does not exist", "expected idx/, vis/, nir/, test_vis/cam1..cam9/")),
    Case("llcm missing training list", lambda t: _llcm_ctx(t, "idx/train_nir.txt", Path.unlink),
         lambda c: load_llcm(c["root"]), DatasetError,
         ("{path}", "missing LLCM training list", "expected lines '<relative/path> <label>'")),
    Case("llcm malformed list line", lambda t: _llcm_ctx(t, "idx/train_vis.txt", _append("vis/0000/x.jpg")),
         lambda c: load_llcm(c["root"]), DatasetError,
         ("{path}", "malformed line 4 of train_vis.txt", "expected lines '<relative/path> <label>'")),
    Case("llcm list file name without its camera",
         lambda t: _llcm_ctx(t, "idx/train_vis.txt", _append("vis/0000/0000_0009.jpg 0")),
         lambda c: load_llcm(c["root"]), DatasetError,
         ("{path}", "line 4 of train_vis.txt", "carries no camera", "expected '_c<N>'")),
    Case("llcm list names a missing image", lambda t: _llcm_ctx(t, "vis/0001/0001_c02_0001.jpg", Path.unlink),
         lambda c: load_llcm(c["root"]), DatasetError,
         ("{path}", "line 3 of {list}", "does not exist", "relative to the LLCM root")),
    Case("llcm missing test folder", lambda t: _llcm_ctx(t, "test_nir", shutil.rmtree),
         lambda c: load_llcm(c["root"]), DatasetError,
         ("{path}", "missing LLCM test folder", "test_nir/cam<N>/<PPPP>/", "1, 2, 4, 5, 6, 7, 8, 9")),
    Case("llcm missing camera folder", lambda t: _llcm_ctx(t, "test_nir/cam5", shutil.rmtree),
         lambda c: load_llcm(c["root"]), DatasetError,
         ("{path}", "missing LLCM camera folder", "cam1..cam9 (NIR: no cam3)")),
    Case("llcm person folder not a number", lambda t: _llcm_ctx(t, "test_vis/cam4/bob", Path.mkdir),
         lambda c: load_llcm(c["root"]), DatasetError,
         ("{path}", "unexpected folder", "person folders named by 4-digit ids")),
    Case("llcm missing test_id.txt", lambda t: _llcm_ctx(t, "idx/test_id.txt", Path.unlink),
         lambda c: load_llcm(c["root"]), DatasetError,
         ("{path}", "missing LLCM split file", "one line of comma-separated person ids")),
    Case("llcm test id without images", lambda t: _llcm_ctx(t, "idx/test_id.txt", test_ids=(7, 12, 77)),
         lambda c: load_llcm(c["root"]), DatasetError,
         ("{path}", "lists person id 0077", "no test camera folder holds images", "test_vis/camN/0077/*.jpg")),
    # -- dataset level: the sampler, training and evaluation loaders
    Case("fewer identities than P", lambda t: {"root": str(_real_sysu(t))},
         lambda c: build_train_loader(load_sysu(c["root"]).train, P=4, K=2, height=64, width=32), DatasetError,
         ("P=4", "only 3 identities have both RGB and IR", "expected at least P=4")),
    Case("truncated image in a DataLoader worker (evaluation set)", _truncated_test_image,
         lambda c: _iterate(DataLoader(ImageDataset(load_sysu(c["root"]).test), batch_size=4, num_workers=1,
                                       collate_fn=lambda b: b)),
         DatasetError, ("{path}", "truncated JPEG file", "expected a complete image file")),
    Case("zero-byte IR image in the training loader", _zero_ir_in_train,
         lambda c: next(iter(build_train_loader(load_sysu(c["root"]).train, P=3, K=2, height=64, width=32))),
         DatasetError, ("{path}", "empty (0 bytes)", "expected a JPEG or PNG image")),
    # -- settings, from Python, a YAML preset, the command line and papermill (one resolve_config behind all)
    Case("setting: unknown name (Python)", lambda t: {}, lambda c: resolve_config(None, {"ts.alpah_c": 0.01}),
         ConfigError, ("unknown setting 'ts.alpah_c'", "did you mean ts.alpha_c")),
    Case("setting: unknown name (YAML preset)", lambda t: _yaml(t, "schedule: {epochz: 1}\n"),
         lambda c: resolve_config(c["path"]), ConfigError,
         ("{path}", "unknown setting 'schedule.epochz'", "did you mean schedule.epochs")),
    Case("setting: an old flat name (command line)", lambda t: {}, lambda c: resolve_config(None, ["lambda1=3"]),
         ConfigError, ("unknown setting 'lambda1'", "did you mean reid.lambda_id")),
    Case("setting: wrong type (command line, -p epochs ten)", lambda t: {},
         lambda c: resolve_config(None, ["schedule.epochs=ten"]), ConfigError,
         ("schedule.epochs='ten'", "expected an integer")),
    Case("setting: unknown notebook parameter (papermill)", lambda t: {},
         lambda c: check_notebook_parameters({"preset": "demo", "overrides": {}, "epochs": 8}, ["preset", "overrides"]),
         ConfigError, ("unknown notebook parameter(s) ['epochs']", "overrides", "schedule.epochs")),
    Case("setting: unknown preset", lambda t: {}, lambda c: resolve_config("dmeo"), ConfigError,
         ("preset 'dmeo'", "did you mean demo")),
    Case("setting: unknown variant", lambda t: {}, lambda c: resolve_config(None, {"variant": "jd_al_ts"}),
         ConfigError, ("variant='jd_al_ts'", "Table II's rows", "did you mean 'jd_all_ts'")),
    Case("setting: K < 1", lambda t: {}, lambda c: resolve_config(None, {"data.K": 0}), ConfigError,
         ("data.K=0", "a positive integer")),
    Case("setting: P < 2", lambda t: {}, lambda c: resolve_config(None, {"data.P": 1}), ConfigError,
         ("data.P=1", "at least 2 (the triplet loss needs negatives)")),
    Case("setting: an image size the backbone cannot take", lambda t: {},
         lambda c: resolve_config(None, {"data.height": 100}), ConfigError, ("data.height=100", "a multiple of 16")),
    Case("setting: a milestone beyond the last epoch", lambda t: {},
         lambda c: resolve_config(None, {"schedule.epochs": 4, "schedule.milestones": [6]}), ConfigError,
         ("schedule.milestones=[6]", "epochs in 1..3", "would never happen")),
    Case("setting: pretrained with no weights reachable", lambda t: {"home": str(t)},
         lambda c: _no_imagenet(c["home"]), PretrainedWeightsError,
         ("ImageNet weights for ResNet-50 are not available", "put the file at exactly", "{home}")),
    # -- saved files
    Case("file: a checkpoint from another configuration", _checkpoint_with_meta,
         lambda c: _resume_with_meta(c["path"], {"lr": 0.002}), ValueError,
         ("{path}", "with other settings", "lr: 0.001 -> 0.002")),
    Case("file: a truncated checkpoint", lambda t: _damaged_checkpoint(t, "truncate"),
         lambda c: load_weights(c["path"]), FileFormatError, ("{path}", "truncated or corrupted")),
    Case("file: a corrupted checkpoint", lambda t: _damaged_checkpoint(t, "garbage"),
         lambda c: load_weights(c["path"]), FileFormatError, ("{path}", "truncated or corrupted")),
    Case("file: a checkpoint carrying a pickled object", _pickled_checkpoint,
         lambda c: load_weights(c["path"]), FileFormatError, ("{path}", "refused", "nothing in it was run")),
    Case("file: an invalid results.json", lambda t: _file(t, "run/results.json", b'{"metrics": '),
         lambda c: load_results(Path(c["path"]).parent), FileFormatError,
         ("{path}", "is not valid JSON", "results.json")),
    Case("file: an invalid config.json", lambda t: _file(t, "run/config.json", b"not json"),
         lambda c: load_config(c["path"]), FileFormatError, ("{path}", "is not valid JSON", "config.json")),
    Case("file: a full disk during a checkpoint write", lambda t: {"path": str(t / "checkpoint.pt")},
         lambda c: _write_on_full_disk(c["path"]), FileWriteError,
         ("{path}", "No space left on device", "The disk is full: free some space")),
    Case("file: a second run on one folder", lambda t: {"path": str(t)}, lambda c: _lock_twice(c["path"]),
         RunFolderBusy, ("{path} is in use by pid", "another run is writing there", "run.dir")),
]


@pytest.fixture(autouse=True)
def _fresh_mode_warnings(monkeypatch):
    """Each test starts as a fresh process would: no mode announced yet."""
    monkeypatch.setattr(datasets_module, "_ANNOUNCED", set())


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, tmp_path):
    ctx = case.build(tmp_path)
    words = [w.format(**ctx) for w in case.words]
    if case.expect is not None and issubclass(case.expect, Warning):
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            result = case.call(ctx)
        mine = [w for w in seen if issubclass(w.category, ImageModeWarning)]
        assert len(mine) == 1, f"one {case.expect.__name__} for two files, got {[str(w.message) for w in mine]}"
        assert issubclass(mine[0].category, case.expect)
        message = str(mine[0].message)
        assert ctx["path2"] not in message
    elif case.expect is not None:
        with pytest.raises(case.expect) as info:
            case.call(ctx)
        message = str(info.value)
        result = None
    else:
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            result = case.call(ctx)
        assert not [w for w in seen if issubclass(w.category, ImageModeWarning)]
        message = str(result)
    for w in words:
        assert w in message, f"{case.id}: {w!r} not in the message:\n{message}"
    if case.check is not None:
        case.check(result, ctx)


def test_truncation_is_an_error_even_if_pil_was_told_to_allow_it(tmp_path, monkeypatch):
    path = _file(tmp_path, "0001.jpg", _truncated_jpeg())["path"]
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(DatasetError, match="truncated JPEG file"):
        read_image(path)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # the caller's setting is restored


def test_error_keeps_path_and_what_through_pickling():
    import pickle
    e = pickle.loads(pickle.dumps(DatasetError("image file is empty", "/d/cam1/0001/0001.jpg")))
    assert (e.path, e.what, str(e)) == ("/d/cam1/0001/0001.jpg", "image file is empty",
                                        "/d/cam1/0001/0001.jpg: image file is empty")


def test_read_image_rejects_an_unknown_modality(tmp_path):
    path = _file(tmp_path, "0001.jpg", _jpeg_bytes(_colour()))["path"]
    with pytest.raises(ValueError, match="modality must be None or one of"):
        read_image(path, "thermal")
