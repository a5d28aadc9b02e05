"""Verify a SYSU-MM01, RegDB or LLCM tree before training on it.

Two levels of checking:

* :func:`check_structure` (cheap, before every run): the readers' own checks
  (folders, split and list files, ids without images, listed images that do
  not exist) plus one ``stat`` per image for zero-byte files. No image is
  decoded. Raises :class:`~tsgan_lib.data.records.DatasetError` on the first
  problem.
* :func:`verify_dataset` (thorough, once per copy of a dataset): the same
  structural checks, each turned into a :class:`Problem` instead of stopping
  at the first, then every image decoded once in parallel worker processes
  with :func:`~tsgan_lib.data.datasets.decode_image`: empty, truncated,
  corrupt and non-image files, unsupported modes, and colour images in IR
  cameras are errors; images in modes that are converted on reading (RGBA,
  palette, 16-bit, ...) and files the reader ignores (no image extension)
  are warnings. It cannot see damage that still decodes (a JPEG whose
  entropy-coded data was scrambled decodes to a wrong picture without error).
  It returns a :class:`VerifyReport`: the list of problems, with the kind,
  the number of images decoded and the time it took.

The command line is the project's: ``tsgan verify ROOT`` (:mod:`tsgan_lib.cli`).

:func:`damage_copy` makes a deliberately damaged copy of a SYSU-MM01-shaped
tree (the synthetic stand-in) and returns what it broke, to show the verifier
at work (notebook 00, ``tests/test_verify.py``).
"""

from __future__ import annotations

import math
import os
import shutil
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image
from tqdm import tqdm  # the text bar (a saved notebook keeps its last state)

from .datasets import EMPTY_FILE, check_ir_grey, decode_image
from .records import IR, DatasetError
from .llcm import TEST_ID_FILE, inspect_llcm
from .regdb import inspect_regdb
from .sysu import ALL_CAMERAS, IR_CAMERAS, RGB_CAMERAS, SPLIT_FILES, camera_modality, inspect_sysu

ERROR = "error"
WARNING = "warning"
KINDS = ("auto", "sysu", "regdb", "llcm")
TREES = ("a SYSU-MM01 tree (cam1..cam6/, exp/), a RegDB tree (Visible/, Thermal/, idx/) or an LLCM tree "
         "(idx/, vis/, nir/, test_vis/, test_nir/)")


@dataclass(frozen=True)
class Problem:
    """One problem found in a dataset: the file or folder at fault, what is
    wrong with it and what was expected, and its severity (``"error"``: the
    data cannot be used as it is; ``"warning"``: it is used, but not as it
    stands on disk, or part of it is ignored)."""

    path: str
    message: str
    severity: str = ERROR

    def __str__(self) -> str:
        return f"{self.path}: {self.severity}: {self.message}"

    @classmethod
    def from_error(cls, err: DatasetError, severity: str = ERROR, default_path: str = "-") -> "Problem":
        return cls(err.path or default_path, err.what, severity)


# ------------------------------------------------------------------ structure
def detect_kind(root: str | os.PathLike) -> str:
    """``"llcm"`` (``test_vis/``, ``test_nir/``, ``vis/``, ``nir/`` or
    ``idx/train_vis.txt``), ``"regdb"`` (``idx/``, ``Visible/``,
    ``Thermal/``) or ``"sysu"`` (``cam1..cam6/``, ``exp/``);
    :class:`DatasetError` if ``root`` is missing or looks like none."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"dataset root does not exist or is not a folder: expected {TREES}", root)
    if (any((root / d).is_dir() for d in ("test_vis", "test_nir", "vis", "nir"))
            or (root / "idx" / "train_vis.txt").is_file()):
        return "llcm"
    if any((root / d).is_dir() for d in ("idx", "Visible", "Thermal")):
        return "regdb"
    if (root / "exp").is_dir() or any((root / f"cam{c}").is_dir() for c in ALL_CAMERAS):
        return "sysu"
    raise DatasetError(f"cannot tell the dataset kind: expected {TREES}; pass kind='sysu', 'regdb' or 'llcm'", root)


def _resolve_kind(root: Path, kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    return detect_kind(root) if kind == "auto" else kind


def _structure(root: Path, kind: str) -> tuple[list[Problem], list[tuple[str, str]]]:
    """Structural problems and the images to decode, ``[(path, modality)]``."""
    problems: list[Problem] = []
    if kind == "sysu":
        scan = inspect_sysu(root)
        problems += [Problem.from_error(e, default_path=str(root)) for e in scan.errors]
        images = [(p, camera_modality(cam)) for cam in ALL_CAMERAS for pid in sorted(scan.tree[cam])
                  for p in scan.tree[cam][pid]]
        if scan.ignored:
            problems.append(_ignored_warning(scan.ignored))
        if len(scan.ids) == len(SPLIT_FILES):  # unlisted ids only mean something when every split file was read
            listed = set().union(*map(set, scan.ids.values()))
            for pid in sorted(set().union(*(set(t) for t in scan.tree.values())) - listed):
                cam = min(c for c in ALL_CAMERAS if pid in scan.tree[c])
                problems.append(Problem(str(root / f"cam{cam}" / f"{pid:04d}"),
                                        f"person {pid:04d} has images but is in no split file "
                                        f"({', '.join(SPLIT_FILES)}): the reader ignores it", WARNING))
    elif kind == "llcm":
        problems, images = _llcm_structure(root)
    else:
        recs, errors = inspect_regdb(root)
        problems += [Problem.from_error(e, default_path=str(root)) for e in errors]
        seen: dict[str, str] = {}
        for r in recs:
            seen.setdefault(r.path, r.modality)
        images = sorted(seen.items())
    return problems, images


def _ignored_warning(ignored: list[str]) -> Problem:
    """One warning for the entries the reader ignores (files without an image extension, ...)."""
    exts = Counter(os.path.splitext(p)[1].lower() or "(no extension)" for p in ignored)
    n = len(ignored)
    return Problem(ignored[0], (
        f"{n} {'entry' if n == 1 else 'entries'} in camera or person folders without an image extension "
        f"(.jpg, .jpeg, .png) {'is' if n == 1 else 'are'} ignored by the reader "
        f"({', '.join(f'{ext}: {c}' for ext, c in sorted(exts.items()))}); the first is this one"), WARNING)


def _llcm_structure(root: Path) -> tuple[list[Problem], list[tuple[str, str]]]:
    """LLCM's structural problems (:func:`~tsgan_lib.data.llcm.inspect_llcm`), the
    ignored entries and unlisted test persons as warnings, and the images to decode."""
    scan = inspect_llcm(root)
    problems = [Problem.from_error(e, default_path=str(root)) for e in scan.errors]
    if scan.ignored:
        problems.append(_ignored_warning(scan.ignored))
    images = sorted({r.path: r.modality for r in scan.train}.items())
    listed = set(scan.test_ids)
    unlisted: dict[int, str] = {}
    for (modality, _cam), per_pid in sorted(scan.tree.items()):
        for pid, paths in sorted(per_pid.items()):
            images += [(p, modality) for p in paths]
            if scan.test_ids and pid not in listed:
                unlisted.setdefault(pid, os.path.dirname(paths[0]))
    for pid, folder in sorted(unlisted.items()):
        problems.append(Problem(folder, f"person {pid:04d} has test images but is not in idx/{TEST_ID_FILE}: "
                                        "the reader ignores it", WARNING))
    return problems, images


def check_structure(root: str | os.PathLike, kind: str = "auto") -> str:
    """The cheap check to run before every training run: the reader's
    structural checks and a ``stat`` of every image for zero-byte files, no
    decoding. Returns the dataset kind (``"sysu"``, ``"regdb"`` or ``"llcm"``); raises
    :class:`DatasetError` naming the first problem (only errors count, not
    warnings). For RegDB every trial's lists are checked."""
    root = Path(root)
    kind = _resolve_kind(root, kind)
    problems, images = _structure(root, kind)
    for p in problems:
        if p.severity == ERROR:
            raise DatasetError(p.message, p.path)
    for path, _ in images:
        if os.stat(path).st_size == 0:
            raise DatasetError(EMPTY_FILE, path)
    return kind


# ------------------------------------------------------------------- decoding
def _check_images(items: Sequence[tuple[str, str]]) -> list[tuple[str, str, str, str]]:
    """Decode ``items`` (``(path, modality)``); return only the notable ones as
    ``(path, severity, mode or "", message)``. Runs in a worker process."""
    out = []
    for path, modality in items:
        try:
            img, mode, note = decode_image(path)
            if modality == IR:
                check_ir_grey(img, path)
        except DatasetError as e:
            out.append((path, ERROR, "", e.what))
            continue
        except Exception as e:  # a bug or an exhausted machine: report it, keep verifying the rest
            out.append((path, ERROR, "", f"unexpected {type(e).__name__} while decoding: {e}"))
            continue
        if note is not None:
            out.append((path, WARNING, mode, note))
    return out


def _decode_all(images: list[tuple[str, str]], workers: int, progress: bool, desc: str) -> list[tuple]:
    results: list[tuple] = []
    if workers <= 1 or len(images) < 2:
        with tqdm(total=len(images), unit="img", desc=desc, disable=not progress) as bar:
            for i in range(0, len(images), 64):
                chunk = images[i:i + 64]
                results += _check_images(chunk)
                bar.update(len(chunk))
        return results
    size = max(1, min(64, math.ceil(len(images) / (workers * 8))))
    chunks = [images[i:i + size] for i in range(0, len(images), size)]
    pool = ProcessPoolExecutor(max_workers=workers)  # the platform's default start method
    try:
        # Submit before the progress bar exists: with "fork" the workers start at
        # the first submit, before tqdm's monitor thread.
        futures = {pool.submit(_check_images, c): len(c) for c in chunks}
        with tqdm(total=len(images), unit="img", desc=desc, disable=not progress) as bar:
            for f in as_completed(futures):
                results += f.result()
                bar.update(futures[f])
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return results


class VerifyReport(list):
    """What :func:`verify_dataset` found: the problems (the list itself, errors first, each
    sorted by path; empty for a clean tree), the tree's ``root`` and ``kind``, how many
    images were decoded and how long it took (``seconds``)."""

    def __init__(self, root: str, kind: str, problems: list[Problem], num_images: int, seconds: float) -> None:
        super().__init__(problems)
        self.root, self.kind, self.num_images, self.seconds = root, kind, num_images, seconds

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self if p.severity == ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self if p.severity == WARNING]

    def summary(self) -> str:
        return (f"{len(self.errors)} error(s), {len(self.warnings)} warning(s) in {self.root} ({self.kind}; "
                f"{self.num_images} images decoded in {self.seconds:.1f} s)")


def verify_dataset(root: str | os.PathLike, *, kind: str = "auto", workers: int | None = None,
                   progress: bool = True) -> VerifyReport:
    """Check a SYSU-MM01 (``kind="sysu"``), RegDB (``"regdb"``) or LLCM
    (``"llcm"``; ``"auto"`` tells them apart) tree thoroughly and return every problem found, errors
    first, each sorted by path (a :class:`VerifyReport`; ``[]`` for a clean tree).

    Structural problems are those of :func:`~tsgan_lib.data.sysu.inspect_sysu`
    / :func:`~tsgan_lib.data.regdb.inspect_regdb` / :func:`~tsgan_lib.data.llcm.inspect_llcm` (all of them, not just the
    first); then every image is decoded once in ``workers`` processes
    (``None``: one per CPU core, at most 8; ``0`` or ``1``: in this process),
    with a tqdm progress bar unless ``progress=False``. Images converted on
    reading are reported once per mode (a warning naming the first file and
    the count), and so are the files the reader ignores. A missing or
    unrecognisable root is a problem, not an exception; a bad ``kind`` or
    ``workers`` raises :class:`ValueError`.
    """
    if workers is not None and (not isinstance(workers, int) or workers < 0):
        raise ValueError(f"workers must be None (one per CPU core, at most 8) or an integer >= 0, got {workers!r}")
    t0 = time.perf_counter()
    root = Path(root)
    try:
        kind = _resolve_kind(root, kind)
    except DatasetError as e:
        return VerifyReport(str(root), kind, [Problem.from_error(e)], 0, time.perf_counter() - t0)
    problems, images = _structure(root, kind)
    found = _decode_all(images, min(os.cpu_count() or 1, 8) if workers is None else workers, progress,
                        f"verify {kind}")
    rank = {ERROR: 0, WARNING: 1}
    problems = sorted(problems + _image_problems(found), key=lambda p: (rank[p.severity], p.path))
    return VerifyReport(str(root), kind, problems, len(images), time.perf_counter() - t0)


def _image_problems(found: list[tuple]) -> list[Problem]:
    """The decoding's findings as problems: each error, and one warning per image mode converted on reading."""
    first_of_mode: dict[str, str] = {}
    mode_count: Counter = Counter()
    mode_note: dict[str, str] = {}
    out = []
    for path, severity, mode, message in sorted(found):
        if severity == ERROR:
            out.append(Problem(path, message, ERROR))
        else:
            first_of_mode.setdefault(mode, path)
            mode_count[mode] += 1
            mode_note[mode] = message
    for mode, path in sorted(first_of_mode.items()):
        n = mode_count[mode]
        out.append(Problem(path, f"{n} image{'s' if n > 1 else ''} in mode {mode} ({mode_note[mode]}); "
                                 "the first is this one", WARNING))
    return out


# --------------------------------------------------------- a damaged copy
@dataclass(frozen=True)
class Damage:
    """One thing :func:`damage_copy` broke: the path :func:`verify_dataset`
    must report, what was done, the severity it must report, and a phrase its
    message contains."""

    path: str
    action: str
    severity: str
    expect: str


def damage_copy(src: str | os.PathLike, dst: str | os.PathLike, seed: int = 0) -> list[Damage]:
    """Copy the SYSU-MM01-shaped tree ``src`` (e.g. the synthetic stand-in) to
    the new folder ``dst`` and damage the copy in eight ways, each the kind
    of thing a real copy suffers: a truncated JPEG, a zero-byte file, an HTML
    error page saved as ``.jpg``, a colour image in an IR camera, a missing
    camera folder (``cam2``), a test identity whose images are all gone, an
    RGBA PNG (converted on reading: a warning) and a stray ``notes.txt``
    (ignored: a warning). Returns what was broken, one :class:`Damage` per
    problem :func:`verify_dataset` must report on ``dst``. ``seed`` picks the
    files. ``src`` needs at least 2 test ids, and is not modified."""
    src, dst = Path(src), Path(dst)
    scan = inspect_sysu(src)
    scan.raise_first()
    if dst.exists():
        raise DatasetError("already exists: expected a new folder for the damaged copy", dst)
    test_ids = sorted(scan.ids["test_id.txt"])
    if len(test_ids) < 2:
        raise DatasetError(f"test_id.txt lists {len(test_ids)} ids: damage_copy expects at least 2",
                           src / "exp" / "test_id.txt")
    rng = np.random.default_rng(seed)
    dropped_cam = 2
    gone = int(rng.choice(test_ids))
    only_there = sorted(set(scan.tree[dropped_cam]) - set().union(*(set(scan.tree[c]) for c in ALL_CAMERAS
                                                                     if c != dropped_cam)))
    if only_there:
        raise DatasetError(f"person {only_there[0]:04d} has images in cam{dropped_cam} only: damage_copy deletes "
                           f"cam{dropped_cam} and expects every person to be seen by another camera",
                           src / f"cam{dropped_cam}" / f"{only_there[0]:04d}")

    def pick(cams, exclude: set[str]) -> str:
        cands = [p for c in cams if c != dropped_cam for pid, ps in sorted(scan.tree[c].items()) if pid != gone
                 for p in ps if p not in exclude]
        return cands[int(rng.integers(len(cands)))]

    used: set[str] = set()
    chosen = {}
    for role, cams in (("truncate", RGB_CAMERAS), ("zero", RGB_CAMERAS), ("html", RGB_CAMERAS), ("colour", IR_CAMERAS),
                       ("colour_src", RGB_CAMERAS), ("rgba", RGB_CAMERAS), ("notes", ALL_CAMERAS)):
        chosen[role] = pick(cams, used)
        used.add(chosen[role])
    shutil.copytree(src, dst)
    (dst / "SYNTHETIC.json").unlink(missing_ok=True)  # a damaged copy is no longer the cached stand-in
    at = lambda p: dst / Path(p).relative_to(src)  # noqa: E731
    out: list[Damage] = []

    data = at(chosen["truncate"]).read_bytes()
    at(chosen["truncate"]).write_bytes(data[:len(data) * 6 // 10])
    out.append(Damage(str(at(chosen["truncate"])), "cut to 60 % of its bytes", ERROR, "truncated"))
    at(chosen["zero"]).write_bytes(b"")
    out.append(Damage(str(at(chosen["zero"])), "emptied (0 bytes)", ERROR, "empty (0 bytes)"))
    at(chosen["html"]).write_bytes(b"<!DOCTYPE html><html><body>404 Not Found</body></html>\n")
    out.append(Damage(str(at(chosen["html"])), "replaced by an HTML error page", ERROR, "not an image file"))
    with Image.open(chosen["colour"]) as ir, Image.open(chosen["colour_src"]) as rgb:
        rgb.convert("RGB").resize(ir.size).save(at(chosen["colour"]), "JPEG", quality=90)
    out.append(Damage(str(at(chosen["colour"])),
                      f"replaced by the RGB image {Path(chosen['colour_src']).relative_to(src)}",
                      ERROR, "colour image in an IR camera"))
    rgba_src = at(chosen["rgba"])
    with Image.open(rgba_src) as im:
        rgba = im.convert("RGBA")
    rgba.putalpha(200)
    rgba_path = rgba_src.with_name("9999.png")
    rgba.save(rgba_path)
    out.append(Damage(str(rgba_path), "an extra RGBA PNG (converted on reading)", WARNING, "mode RGBA"))
    notes = at(chosen["notes"]).with_name("notes.txt")
    notes.write_text("camera calibration notes\n")
    out.append(Damage(str(notes), "a stray text file (ignored by the reader)", WARNING, "ignored by the reader"))
    shutil.rmtree(dst / f"cam{dropped_cam}")
    out.append(Damage(str(dst / f"cam{dropped_cam}"), "camera folder deleted", ERROR, "missing camera folder"))
    for c in ALL_CAMERAS:
        shutil.rmtree(dst / f"cam{c}" / f"{gone:04d}", ignore_errors=True)
    out.append(Damage(str(dst / "exp" / "test_id.txt"), f"every image of test person {gone:04d} deleted", ERROR,
                      f"lists person id {gone:04d}"))
    return out
