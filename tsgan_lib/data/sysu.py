"""SYSU-MM01 reader: the official on-disk layout and split files.

Layout (after unzipping the official archive)::

    root/cam1 .. cam6/<PPPP>/<IIII>.jpg     # PPPP: 4-digit person id
    root/exp/train_id.txt val_id.txt test_id.txt   # ONE line "1,2,4,..."

Cameras 1, 2, 4, 5 are RGB; 3 and 6 are IR (stored as 3 identical channels).
Not every person appears in every camera, so person folders may be missing.

:func:`load_sysu` first checks the tree's structure (cheap: directory listings
only, no image decoding) and raises :class:`DatasetError` naming the missing or
malformed path. Person ids are relabelled to ``0..N-1`` only for the training
records; validation and test records keep the dataset's own ids.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .records import IR, RGB, DatasetError, Record

RGB_CAMERAS = (1, 2, 4, 5)
IR_CAMERAS = (3, 6)
ALL_CAMERAS = (1, 2, 3, 4, 5, 6)
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")
SPLIT_FILES = ("train_id.txt", "val_id.txt", "test_id.txt")


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


def read_id_file(path: Path) -> list[int]:
    """Read one ``exp/*_id.txt`` file: a single line of comma-separated ints."""
    if not path.is_file():
        raise DatasetError(f"Missing SYSU-MM01 split file {path}: expected one line of comma-separated person ids")
    text = path.read_text().strip()
    if not text:
        raise DatasetError(f"Empty SYSU-MM01 split file {path}: expected one line of comma-separated person ids")
    ids = []
    for tok in text.replace("\n", ",").split(","):
        tok = tok.strip()
        if not tok:
            continue
        if not tok.isdigit():
            raise DatasetError(f"Malformed SYSU-MM01 split file {path}: {tok!r} is not a person id "
                               "(expected comma-separated positive integers such as '1,2,4')")
        ids.append(int(tok))
    if not ids:
        raise DatasetError(f"SYSU-MM01 split file {path} holds no person ids")
    if len(set(ids)) != len(ids):
        raise DatasetError(f"SYSU-MM01 split file {path} lists a person id twice")
    return ids


def _list_images(folder: Path) -> list[str]:
    """Name-sorted image file names of one person folder (no decoding)."""
    with os.scandir(folder) as it:
        names = [e.name for e in it if e.is_file() and e.name.lower().endswith(IMAGE_EXTENSIONS)]
    return sorted(names)


def scan_sysu_tree(root: str | os.PathLike) -> dict[int, dict[int, list[str]]]:
    """Check the camera folders and list images: ``{camid: {pid: [abs paths]}}``.

    Paths within each (camera, person) are sorted by file name, which is the
    order the official ``rand_perm_cam.mat`` positions refer to.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"SYSU-MM01 root {root} does not exist or is not a folder: expected cam1..cam6/ and exp/")
    tree: dict[int, dict[int, list[str]]] = {}
    for cam in ALL_CAMERAS:
        cdir = root / f"cam{cam}"
        if not cdir.is_dir():
            raise DatasetError(f"Missing camera folder {cdir}: SYSU-MM01 has cam1..cam6, each holding <PPPP>/ person folders")
        per_pid: dict[int, list[str]] = {}
        with os.scandir(cdir) as it:
            for e in it:
                if not e.is_dir():
                    continue
                if not e.name.isdigit():
                    raise DatasetError(f"Unexpected folder {cdir / e.name}: person folders are 4-digit ids such as 0001")
                names = _list_images(Path(e.path))
                if names:
                    per_pid[int(e.name)] = [os.path.join(e.path, n) for n in names]
        tree[cam] = per_pid
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

    Raises :class:`DatasetError` for a missing root, camera folder or split
    file, a malformed id list, overlapping splits, or a listed id with no
    images in any camera.
    """
    root = Path(root)
    tree = scan_sysu_tree(root)
    exp = root / "exp"
    if not exp.is_dir():
        raise DatasetError(f"Missing split folder {exp}: expected exp/train_id.txt, val_id.txt, test_id.txt")
    ids = {name: read_id_file(exp / name) for name in SPLIT_FILES}
    train_ids, val_ids, test_ids = ids["train_id.txt"], ids["val_id.txt"], ids["test_id.txt"]
    for a, b in (("train_id.txt", "val_id.txt"), ("train_id.txt", "test_id.txt"), ("val_id.txt", "test_id.txt")):
        both = set(ids[a]) & set(ids[b])
        if both:
            raise DatasetError(f"SYSU-MM01 splits {exp / a} and {exp / b} overlap on ids {sorted(both)[:5]}: expected disjoint splits")
    present = set().union(*(set(t) for t in tree.values()))
    for name, lst in ids.items():
        missing = [p for p in lst if p not in present]
        if missing:
            raise DatasetError(f"{exp / name} lists person id {missing[0]:04d} but no camera folder holds images "
                               f"for it (expected {root}/camN/{missing[0]:04d}/*.jpg); {len(missing)} such id(s)")
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
