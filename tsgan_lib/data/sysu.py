"""SYSU-MM01 reader: the official on-disk layout and split files.

Layout (after unzipping the official archive)::

    root/cam1 .. cam6/<PPPP>/<IIII>.jpg     # PPPP: 4-digit person id
    root/exp/train_id.txt val_id.txt test_id.txt   # ONE line "1,2,4,..."

Cameras 1, 2, 4, 5 are RGB; 3 and 6 are IR (stored as 3 identical channels).
Not every person appears in every camera, so person folders may be missing.

:func:`load_sysu` first checks the tree's structure (cheap: directory listings
only, no image decoding) and raises :class:`DatasetError` naming the missing or
malformed path. :func:`inspect_sysu` runs the same checks and collects every
problem instead of stopping at the first (used by
:mod:`tsgan_lib.data.verify`). Files without an image extension (``.txt``
notes, ``Thumbs.db``) are ignored. Person ids are relabelled to ``0..N-1``
only for the training records; validation and test records keep the
dataset's own ids.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .records import IR, RGB, DatasetError, Record

RGB_CAMERAS = (1, 2, 4, 5)
IR_CAMERAS = (3, 6)
ALL_CAMERAS = (1, 2, 3, 4, 5, 6)
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")
SPLIT_FILES = ("train_id.txt", "val_id.txt", "test_id.txt")
ROOT_MISSING = "SYSU-MM01 root does not exist or is not a folder: expected cam1..cam6/ and exp/"


def camera_modality(camid: int) -> str:
    """``"rgb"`` for cameras 1, 2, 4, 5 and ``"ir"`` for cameras 3, 6."""
    if camid in RGB_CAMERAS:
        return RGB
    if camid in IR_CAMERAS:
        return IR
    raise ValueError(f"SYSU-MM01 has cameras 1..6, got camid={camid}")


@dataclass
class SYSUMM01:
    """A loaded SYSU-MM01 tree.

    ``train``: records of the training identities with ``pid`` relabelled to
    ``0..num_train_ids-1`` (train+val ids by default, see ``hold_out_val``).
    ``val`` and ``test``: records with the dataset's own person ids.
    ``train_pid_map`` maps an original person id to its training label.
    """

    root: Path
    train: list[Record]
    val: list[Record]
    test: list[Record]
    train_ids: list[int]
    val_ids: list[int]
    test_ids: list[int]
    hold_out_val: bool
    train_pid_map: dict[int, int] = field(default_factory=dict)

    @property
    def num_train_ids(self) -> int:
        return len(self.train_pid_map)

    def summary(self) -> list[dict]:
        """One row per split: ids, RGB images, IR images (for a table)."""
        rows = []
        for name, recs, ids in (("train", self.train, self.train_pid_map),
                                ("val", self.val, self.val_ids),
                                ("test", self.test, self.test_ids)):
            rows.append({
                "split": name,
                "ids": len(ids),
                "rgb": sum(r.modality == RGB for r in recs),
                "ir": sum(r.modality == IR for r in recs),
            })
        return rows


def read_id_file(path: Path, dataset: str = "SYSU-MM01") -> list[int]:
    """Read one ``exp/*_id.txt`` file (or LLCM's ``idx/test_id.txt``, naming
    ``dataset`` in errors): a single line of comma-separated ints."""
    path = Path(path)
    expected = "expected one line of comma-separated person ids such as '1,2,4'"
    if not path.is_file():
        raise DatasetError(f"missing {dataset} split file: {expected}", path)
    text = path.read_bytes().decode("utf-8", errors="replace").strip()  # binary junk: malformed, not a crash
    if not text:
        raise DatasetError(f"empty {dataset} split file: {expected}", path)
    ids = []
    for tok in text.replace("\n", ",").split(","):
        tok = tok.strip()
        if not tok:
            continue
        if not tok.isdigit():
            raise DatasetError(f"malformed {dataset} split file: {tok[:40]!r} is not a person id; "
                               "expected comma-separated positive integers such as '1,2,4'", path)
        ids.append(int(tok))
    if not ids:
        raise DatasetError(f"{dataset} split file holds no person ids: {expected}", path)
    dup = sorted(i for i, n in Counter(ids).items() if n > 1)
    if dup:
        raise DatasetError(f"{dataset} split file lists person id {dup[0]:04d} twice: expected each id once", path)
    return ids


def _list_person_folder(folder: str) -> tuple[list[str], list[str]]:
    """Name-sorted image file names of one person folder, and the paths of
    everything else in it (ignored by the reader). No decoding."""
    images, other = [], []
    with os.scandir(folder) as it:
        for e in it:
            if e.is_file() and e.name.lower().endswith(IMAGE_EXTENSIONS):
                images.append(e.name)
            else:
                other.append(e.path)
    return sorted(images), sorted(other)


@dataclass
class SysuScan:
    """What :func:`inspect_sysu` found: the image tree ``{camid: {pid: [abs
    paths]}}`` (cameras that could be read), the split ids of each readable
    split file, every structural problem as a :class:`DatasetError`, and the
    files the reader ignores (non-image files in camera and person folders)."""

    root: Path
    tree: dict[int, dict[int, list[str]]]
    ids: dict[str, list[int]]
    errors: list[DatasetError]
    ignored: list[str]

    def raise_first(self) -> None:
        if self.errors:
            raise self.errors[0]


def _scan_cameras(root: Path, errors: list[DatasetError], ignored: list[str]) -> dict[int, dict[int, list[str]]]:
    tree: dict[int, dict[int, list[str]]] = {}
    for cam in ALL_CAMERAS:
        cdir = root / f"cam{cam}"
        tree[cam] = per_pid = {}
        if not cdir.is_dir():
            errors.append(DatasetError("missing camera folder: expected SYSU-MM01's cam1..cam6, each holding "
                                       "<PPPP>/ person folders", cdir))
            continue
        with os.scandir(cdir) as it:
            entries = sorted(it, key=lambda e: e.name)
        for e in entries:
            if not e.is_dir():
                ignored.append(e.path)
                continue
            if not e.name.isdigit():
                errors.append(DatasetError("unexpected folder in a camera folder: expected person folders named by "
                                           "4-digit ids such as 0001", e.path))
                continue
            names, other = _list_person_folder(e.path)
            ignored += other
            if names:
                per_pid[int(e.name)] = [os.path.join(e.path, n) for n in names]
    return tree


def inspect_sysu(root: str | os.PathLike) -> SysuScan:
    """Check a SYSU-MM01 tree's structure (directory listings and the split
    files; no image is decoded) and collect *every* problem instead of stopping
    at the first: a missing root (then nothing else is checked), a missing
    camera folder, a person folder not named by a number, a missing ``exp/``,
    a missing, empty or malformed split file, overlapping splits, and split ids
    without images in any camera."""
    root = Path(root)
    errors: list[DatasetError] = []
    ignored: list[str] = []
    if not root.is_dir():
        errors.append(DatasetError(ROOT_MISSING, root))
        return SysuScan(root, {cam: {} for cam in ALL_CAMERAS}, {}, errors, ignored)
    tree = _scan_cameras(root, errors, ignored)
    exp = root / "exp"
    ids: dict[str, list[int]] = {}
    if not exp.is_dir():
        errors.append(DatasetError("missing split folder: expected exp/train_id.txt, val_id.txt, test_id.txt", exp))
    else:
        for name in SPLIT_FILES:
            try:
                ids[name] = read_id_file(exp / name)
            except DatasetError as e:
                errors.append(e)
    for a, b in (("train_id.txt", "val_id.txt"), ("train_id.txt", "test_id.txt"), ("val_id.txt", "test_id.txt")):
        both = set(ids.get(a, ())) & set(ids.get(b, ()))
        if both:
            errors.append(DatasetError(f"overlaps {exp / b} on person ids {sorted(both)[:5]}: expected disjoint "
                                       "train/val/test splits", exp / a))
    present = set().union(*(set(t) for t in tree.values()))
    for name, lst in ids.items():
        missing = [p for p in lst if p not in present]
        if missing:
            shown = ", ".join(f"{p:04d}" for p in missing[:10]) + (" ..." if len(missing) > 10 else "")
            errors.append(DatasetError(
                f"lists person id {missing[0]:04d} but no camera folder holds images for it: "
                f"expected {root}/camN/{missing[0]:04d}/*.jpg; {len(missing)} such id(s): {shown}", exp / name))
    return SysuScan(root, tree, ids, errors, ignored)


def scan_sysu_tree(root: str | os.PathLike) -> dict[int, dict[int, list[str]]]:
    """Check the camera folders and list images: ``{camid: {pid: [abs paths]}}``.

    Paths within each (camera, person) are sorted by file name, which is the
    order the official ``rand_perm_cam.mat`` positions refer to. Raises
    :class:`DatasetError` for a missing root or camera folder or a person
    folder not named by a number (the split files are not read).
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(ROOT_MISSING, root)
    errors: list[DatasetError] = []
    tree = _scan_cameras(root, errors, [])
    if errors:
        raise errors[0]
    return tree


def _records_for(tree, pids, label_of=None) -> list[Record]:
    recs = []
    for cam in ALL_CAMERAS:
        mod = camera_modality(cam)
        for pid in sorted(pids):
            for p in tree[cam].get(pid, ()):
                recs.append(Record(p, label_of[pid] if label_of else pid, cam, mod))
    return recs


def load_sysu(root: str | os.PathLike, *, hold_out_val: bool = False) -> SYSUMM01:
    """Read a SYSU-MM01 tree (the real one or the synthetic stand-in).

    Parameters
    ----------
    root:
        Folder holding ``cam1..cam6`` and ``exp/``.
    hold_out_val:
        ``False`` (default, as the peer repositories do): train on train+val
        (395 ids on the real set). ``True``: train on ``train_id.txt`` only and
        keep the ``val_id.txt`` ids for model selection.

    Raises :class:`DatasetError` for the first problem :func:`inspect_sysu`
    finds: a missing root, camera folder or split file, a malformed id list,
    overlapping splits, or a listed id with no images in any camera. Images
    are not decoded here (see :mod:`tsgan_lib.data.verify`); files without an
    image extension (``.jpg``, ``.jpeg``, ``.png``) are ignored.
    """
    scan = inspect_sysu(root)
    scan.raise_first()
    root, tree = scan.root, scan.tree
    train_ids, val_ids, test_ids = (scan.ids[name] for name in SPLIT_FILES)
    fit_ids = sorted(train_ids) if hold_out_val else sorted(train_ids + val_ids)
    label_of = {pid: i for i, pid in enumerate(fit_ids)}
    return SYSUMM01(
        root=root,
        train=_records_for(tree, fit_ids, label_of),
        val=_records_for(tree, val_ids),
        test=_records_for(tree, test_ids),
        train_ids=sorted(train_ids),
        val_ids=sorted(val_ids),
        test_ids=sorted(test_ids),
        hold_out_val=hold_out_val,
        train_pid_map=label_of,
    )
