"""LLCM reader: the low-light cross-modality benchmark in its released layout.

LLCM (Zhang and Wang, CVPR 2023) has 1,064 identities (713 for training, 351
for testing) and 46,767 images from 9 cameras that film in colour when there
is light and switch to near-infrared (NIR) when it is dark; many visible
images are themselves taken in low light. Camera ``N`` of ``test_vis`` and
camera ``N`` of ``test_nir`` are the same camera in its two modes. Camera 3
has no NIR test images.

Layout (as DEEN's code reads it, ``DEEN/data_loader.py:LLCMData`` and
``DEEN/data_manager.py:process_query_llcm``)::

    root/idx/train_vis.txt  root/idx/train_nir.txt   # lines "<relative/path> <label>"
    root/idx/test_id.txt                             # ONE line "3,7,12,...": the test person ids
    root/vis/...  root/nir/...                       # the training images the lists name
    root/test_vis/cam1..cam9/<PPPP>/*.jpg            # visible test images, PPPP: 4-digit person id
    root/test_nir/cam{1,2,4..9}/<PPPP>/*.jpg         # NIR test images (no camera 3)

Training records: the two lists, paths relative to ``root``; the camera is
read from the file name's ``_c<N>`` (LLCM's names carry it); the lists'
labels (the training classes, 0..712 in the release) are relabelled to
``0..N-1`` over both lists. Test records: every image in a person folder of
an id listed in ``test_id.txt``, camera and modality from the folders, with
the dataset's own person ids. Person folders of unlisted ids are ignored, as
DEEN ignores them.

:func:`load_llcm` raises :class:`DatasetError` naming the first problem;
:func:`inspect_llcm` runs the same checks and collects every problem (used
by :mod:`tsgan_lib.data.verify`). Images are not decoded; files without an
image extension are ignored.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from .records import IR, RGB, DatasetError, Record
from .sysu import IMAGE_EXTENSIONS, read_id_file

VIS_CAMERAS = tuple(range(1, 10))
NIR_CAMERAS = (1, 2, 4, 5, 6, 7, 8, 9)  # camera 3 has no NIR test images
#: The test folder and its cameras, per modality.
TEST_FOLDERS = {RGB: ("test_vis", VIS_CAMERAS), IR: ("test_nir", NIR_CAMERAS)}
#: The training lists (in ``idx/``) and their modality.
TRAIN_LISTS = {"train_vis.txt": RGB, "train_nir.txt": IR}
TRAIN_FOLDERS = ("vis", "nir")
TEST_ID_FILE = "test_id.txt"
ROOT_MISSING = ("LLCM root does not exist or is not a folder: expected idx/, vis/, nir/, test_vis/cam1..cam9/ "
                "and test_nir/cam{1,2,4..9}/")
LIST_LINE = "expected lines '<relative/path> <label>'"
_CAMERA_IN_NAME = re.compile(r"_c(\d+)")


@dataclass
class LLCM:
    """A loaded LLCM tree: ``train`` (labels ``0..num_train_ids-1``), ``test``
    (both modalities, the dataset's person ids), the test ids, and
    ``train_label_map`` from a list label to its training label."""

    root: Path
    train: list[Record]
    test: list[Record]
    test_ids: list[int]
    train_label_map: dict[int, int]

    @property
    def num_train_ids(self) -> int:
        return len(self.train_label_map)


def camera_in_name(name: str) -> int | None:
    """The camera of an LLCM file name, from its ``_c<N>`` (``None`` if absent)."""
    m = _CAMERA_IN_NAME.search(os.path.basename(name))
    return int(m.group(1)) if m else None


def _list_line(line: str, n: int, path: Path, root: Path, modality: str) -> Record:
    """One line of a training list as a record (label not yet relabelled)."""
    parts = line.split()
    if len(parts) != 2 or not parts[1].lstrip("-").isdigit():
        raise DatasetError(f"malformed line {n} of {path.name}: {line[:80]!r}; {LIST_LINE}", path)
    cam = camera_in_name(parts[0])
    if cam is None:
        raise DatasetError(f"line {n} of {path.name} names {parts[0]!r}, whose file name carries no camera: "
                           "expected '_c<N>' in it, as LLCM's file names have", path)
    if not (root / parts[0]).is_file():
        raise DatasetError(f"image named by line {n} of {path} does not exist: expected an image file there "
                           f"(list paths are relative to the LLCM root {root})", root / parts[0])
    return Record(str(root / parts[0]), int(parts[1]), cam, modality)


def read_train_list(path: Path, root: Path, modality: str, errors: list[DatasetError] | None = None) -> list[Record]:
    """Parse ``idx/train_vis.txt`` or ``idx/train_nir.txt``.

    Raises :class:`DatasetError` for a missing or empty list, a malformed
    line, a file name without its camera, or a line naming a missing image.
    With ``errors`` (a list), appends the line-level problems to it instead
    and returns the records of the good lines.
    """
    path, root = Path(path), Path(root)
    if not path.is_file():
        raise DatasetError(f"missing LLCM training list: {LIST_LINE}", path)
    recs, bad_lines = [], 0
    for n, line in enumerate(path.read_bytes().decode("utf-8", errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            recs.append(_list_line(line, n, path, root, modality))
        except DatasetError as err:
            if errors is None:
                raise
            errors.append(err)
            bad_lines += 1
    if not recs and not bad_lines:
        raise DatasetError(f"empty LLCM training list: {LIST_LINE}", path)
    return recs


def _person_folders(cdir: Path, errors: list[DatasetError], ignored: list[str]) -> dict[int, list[str]]:
    """``{pid: name-sorted image paths}`` of one camera folder."""
    per_pid: dict[int, list[str]] = {}
    with os.scandir(cdir) as it:
        entries = sorted(it, key=lambda e: e.name)
    for e in entries:
        if not e.is_dir():
            ignored.append(e.path)
        elif not e.name.isdigit():
            errors.append(DatasetError("unexpected folder in an LLCM test camera folder: expected person folders "
                                       "named by 4-digit ids such as 0001", e.path))
        else:
            images = []
            with os.scandir(e.path) as files:
                for f in sorted(files, key=lambda f: f.name):
                    is_image = f.is_file() and f.name.lower().endswith(IMAGE_EXTENSIONS)
                    (images if is_image else ignored).append(f.path)
            if images:
                per_pid[int(e.name)] = images
    return per_pid


def _scan_test(root: Path, errors: list[DatasetError], ignored: list[str]) -> dict[tuple[str, int], dict]:
    """``{(modality, camid): {pid: [paths]}}`` of the test folders."""
    tree: dict[tuple[str, int], dict] = {}
    for modality, (folder, cams) in TEST_FOLDERS.items():
        if not (root / folder).is_dir():
            errors.append(DatasetError(f"missing LLCM test folder: expected {folder}/cam<N>/<PPPP>/ for cameras "
                                       f"{', '.join(map(str, cams))}", root / folder))
            continue
        extra = sorted(p for p in (root / folder).iterdir() if p.name not in {f"cam{c}" for c in cams})
        ignored += [str(p) for p in extra]
        for cam in cams:
            cdir = root / folder / f"cam{cam}"
            if not cdir.is_dir():
                errors.append(DatasetError(f"missing LLCM camera folder: expected {folder}/cam1..cam9 (NIR: no "
                                           "cam3), each holding <PPPP>/ person folders", cdir))
                continue
            tree[(modality, cam)] = _person_folders(cdir, errors, ignored)
    return tree


@dataclass
class LlcmScan:
    """What :func:`inspect_llcm` found: the training records of the good list
    lines (list labels), the test tree ``{(modality, camid): {pid: [paths]}}``,
    the test ids (empty if unreadable), every problem, and the entries the
    reader ignores."""

    root: Path
    train: list[Record]
    tree: dict[tuple[str, int], dict]
    test_ids: list[int]
    errors: list[DatasetError]
    ignored: list[str]

    def raise_first(self) -> None:
        if self.errors:
            raise self.errors[0]


def inspect_llcm(root: str | os.PathLike) -> LlcmScan:
    """Check an LLCM tree (directory listings, the lists and ``test_id.txt``;
    no image is decoded) and collect *every* problem: a missing root (then
    nothing else is checked), a missing ``idx/``, training folder, list, test
    folder or camera folder, a malformed list line or one naming a missing
    image, a person folder not named by a number, a missing or malformed
    ``test_id.txt``, and test ids without test images."""
    root = Path(root)
    errors: list[DatasetError] = []
    ignored: list[str] = []
    if not root.is_dir():
        return LlcmScan(root, [], {}, [], [DatasetError(ROOT_MISSING, root)], ignored)
    for folder in ("idx", *TRAIN_FOLDERS):
        if not (root / folder).is_dir():
            errors.append(DatasetError("missing LLCM folder: expected idx/ (the lists and test_id.txt), and vis/ "
                                       "and nir/ (the training images)", root / folder))
    train: list[Record] = []
    for name, modality in TRAIN_LISTS.items():
        try:
            train += read_train_list(root / "idx" / name, root, modality, errors)
        except DatasetError as e:
            errors.append(e)
    tree = _scan_test(root, errors, ignored)
    test_ids: list[int] = []
    try:
        test_ids = read_id_file(root / "idx" / TEST_ID_FILE, dataset="LLCM")
    except DatasetError as e:
        errors.append(e)
    present = set().union(*(set(per_pid) for per_pid in tree.values()))
    missing = [p for p in test_ids if p not in present]
    if missing:
        shown = ", ".join(f"{p:04d}" for p in missing[:10]) + (" ..." if len(missing) > 10 else "")
        errors.append(DatasetError(
            f"lists person id {missing[0]:04d} but no test camera folder holds images for it: expected "
            f"{root}/test_vis/camN/{missing[0]:04d}/*.jpg or test_nir/...; {len(missing)} such id(s): {shown}",
            root / "idx" / TEST_ID_FILE))
    return LlcmScan(root, train, tree, test_ids, errors, ignored)


def _test_records(scan: LlcmScan) -> list[Record]:
    """The test ids' records, ordered by modality, person id, camera, file name."""
    recs = []
    for modality, (_, cams) in TEST_FOLDERS.items():
        for pid in sorted(scan.test_ids):
            for cam in cams:
                recs += [Record(p, pid, cam, modality) for p in scan.tree[(modality, cam)].get(pid, ())]
    return recs


def load_llcm(root: str | os.PathLike) -> LLCM:
    """Read an LLCM tree (the real one or the synthetic stand-in of
    :mod:`tsgan_lib.data.synthetic_llcm`).

    Raises :class:`DatasetError` for the first problem :func:`inspect_llcm`
    finds. Training labels are relabelled to ``0..N-1`` (sorted list labels,
    both lists together); test records keep the dataset's person ids.
    """
    scan = inspect_llcm(root)
    scan.raise_first()
    label_of = {label: i for i, label in enumerate(sorted({r.pid for r in scan.train}))}
    train = [Record(r.path, label_of[r.pid], r.camid, r.modality) for r in scan.train]
    return LLCM(scan.root, train, _test_records(scan), sorted(scan.test_ids), label_of)
