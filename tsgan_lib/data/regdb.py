"""RegDB reader: 412 ids x (10 visible + 10 thermal) images, 10 trials.

Layout::

    root/Visible/..., root/Thermal/...
    root/idx/{train,test}_{visible,thermal}_{t}.txt   t = 1..10
    # each line: "<relative/path> <label>"

Each trial is a random 206/206 identity split with its own model. Camera ids
follow the modality: 1 for visible, 2 for thermal. Training labels are
relabelled to 0..N-1; test records keep the file's labels.

:func:`load_regdb` raises :class:`DatasetError` naming the list or image at
fault; :func:`inspect_regdb` runs the same checks over all trials and collects
every problem (used by :mod:`tsgan_lib.data.verify`). Images are not decoded.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .records import IR, RGB, DatasetError, Record

TRIALS = tuple(range(1, 11))


@dataclass
class RegDB:
    root: Path
    trial: int
    train: list[Record]
    test_visible: list[Record]
    test_thermal: list[Record]

    @property
    def num_train_ids(self) -> int:
        return len({r.pid for r in self.train})


def read_list(path: Path, root: Path, modality: str, errors: list[DatasetError] | None = None) -> list[Record]:
    """Parse one ``idx/*.txt`` list; each line ``relative/path label``.

    Raises :class:`DatasetError` for a missing or empty list, a malformed line
    or a line naming a missing image. With ``errors`` (a list), appends the
    line-level problems (malformed lines, missing images) to it instead and
    returns the records of the good lines.
    """
    path, root = Path(path), Path(root)
    if not path.is_file():
        raise DatasetError("missing RegDB list: expected lines '<relative/path> <label>'", path)
    recs, bad_lines = [], 0
    for n, line in enumerate(path.read_bytes().decode("utf-8", errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2 or not parts[1].lstrip("-").isdigit():
            err = DatasetError(f"malformed line {n} of {path.name}: {line[:80]!r}; "
                               "expected '<relative/path> <label>'", path)
        elif not (root / parts[0]).is_file():
            err = DatasetError(f"image named by line {n} of {path} does not exist: expected an image file there "
                               f"(list paths are relative to the RegDB root {root})", root / parts[0])
        else:
            recs.append(Record(str(root / parts[0]), int(parts[1]), 1 if modality == RGB else 2, modality))
            continue
        if errors is None:
            raise err
        errors.append(err)
        bad_lines += 1
    if not recs and not bad_lines:
        raise DatasetError("empty RegDB list: expected lines '<relative/path> <label>'", path)
    return recs


def list_files(trial: int) -> dict[str, str]:
    """The four list files of a trial and their modality:
    ``{"train_visible_1.txt": "rgb", ...}``."""
    return {f"{split}_{name}_{trial}.txt": mod
            for split in ("train", "test") for name, mod in (("visible", RGB), ("thermal", IR))}


def _check_root(root: Path) -> Path:
    if not root.is_dir():
        raise DatasetError("RegDB root does not exist or is not a folder: expected Visible/, Thermal/ and idx/", root)
    idx = root / "idx"
    if not idx.is_dir():
        raise DatasetError("missing RegDB list folder: expected idx/train_visible_<t>.txt ... for trials "
                           "t = 1..10", idx)
    return idx


def inspect_regdb(root: str | os.PathLike, trials=TRIALS) -> tuple[list[Record], list[DatasetError]]:
    """Check every list of ``trials`` and collect every problem instead of
    stopping at the first (no image is decoded). Returns the records of all
    good lines (an image listed by several lists appears several times) and
    the problems as :class:`DatasetError` s."""
    root = Path(root)
    try:
        idx = _check_root(root)
    except DatasetError as e:
        return [], [e]
    recs: list[Record] = []
    errors: list[DatasetError] = []
    for t in trials:
        for name, mod in list_files(t).items():
            try:
                recs += read_list(idx / name, root, mod, errors)
            except DatasetError as e:
                errors.append(e)
    return recs, errors


def load_regdb(root: str | os.PathLike, trial: int = 1) -> RegDB:
    """Read trial ``trial`` (1..10) of a RegDB tree. Raises
    :class:`DatasetError` for a missing root, list folder or list, a malformed
    line, or a line naming a missing image."""
    if trial not in TRIALS:
        raise ValueError(f"RegDB trial must be in 1..10, got {trial}")
    root = Path(root)
    idx = _check_root(root)
    tr_v = read_list(idx / f"train_visible_{trial}.txt", root, RGB)
    tr_t = read_list(idx / f"train_thermal_{trial}.txt", root, IR)
    label_of = {p: i for i, p in enumerate(sorted({r.pid for r in tr_v + tr_t}))}
    train = [Record(r.path, label_of[r.pid], r.camid, r.modality) for r in tr_v + tr_t]
    return RegDB(root, trial, train,
                 read_list(idx / f"test_visible_{trial}.txt", root, RGB),
                 read_list(idx / f"test_thermal_{trial}.txt", root, IR))
