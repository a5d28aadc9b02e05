"""RegDB reader: 412 ids x (10 visible + 10 thermal) images, 10 trials.

Layout::

    root/Visible/..., root/Thermal/...
    root/idx/{train,test}_{visible,thermal}_{t}.txt   t = 1..10
    # each line: "<relative/path> <label>"

Each trial is a random 206/206 identity split with its own model. Camera ids
follow the modality: 1 for visible, 2 for thermal. Training labels are
relabelled to 0..N-1; test records keep the file's labels.
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


def read_list(path: Path, root: Path, modality: str) -> list[Record]:
    """Parse one ``idx/*.txt`` list; each line ``relative/path label``."""
    if not path.is_file():
        raise DatasetError(f"Missing RegDB list {path}: expected lines '<relative/path> <label>'")
    recs = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2 or not parts[1].lstrip("-").isdigit():
            raise DatasetError(f"Malformed line {n} of {path}: {line!r}; expected '<relative/path> <label>'")
        img = root / parts[0]
        if not img.is_file():
            raise DatasetError(f"{path} line {n} names {img}, which does not exist")
        recs.append(Record(str(img), int(parts[1]), 1 if modality == RGB else 2, modality))
    if not recs:
        raise DatasetError(f"RegDB list {path} is empty")
    return recs


def load_regdb(root: str | os.PathLike, trial: int = 1) -> RegDB:
    """Read trial ``trial`` (1..10) of a RegDB tree."""
    if trial not in TRIALS:
        raise ValueError(f"RegDB trial must be in 1..10, got {trial}")
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"RegDB root {root} does not exist: expected Visible/, Thermal/ and idx/")
    idx = root / "idx"
    if not idx.is_dir():
        raise DatasetError(f"Missing RegDB list folder {idx}: expected idx/train_visible_{trial}.txt etc.")
    tr_v = read_list(idx / f"train_visible_{trial}.txt", root, RGB)
    tr_t = read_list(idx / f"train_thermal_{trial}.txt", root, IR)
    label_of = {p: i for i, p in enumerate(sorted({r.pid for r in tr_v + tr_t}))}
    train = [Record(r.path, label_of[r.pid], r.camid, r.modality) for r in tr_v + tr_t]
    return RegDB(root, trial, train,
                 read_list(idx / f"test_visible_{trial}.txt", root, RGB),
                 read_list(idx / f"test_thermal_{trial}.txt", root, IR))
