"""The data contract shared by every reader: plain image records, and the
library's own data errors and warnings.

A :class:`Record` is one image on disk with its person id, camera id and
modality. Readers (:mod:`tsgan_lib.data.sysu`, :mod:`tsgan_lib.data.regdb`)
return lists of records; datasets, samplers and the evaluation protocol
consume them. Nothing else is needed to describe a ReID split.

:class:`DatasetError` is raised for every malformed dataset tree, list file or
image; :class:`ImageModeWarning` is issued (once per image mode and process)
when an image in an unusual mode is converted on reading.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from tsgan_lib.errors import DATASET, TsganUserError

RGB = "rgb"
IR = "ir"
MODALITIES = (RGB, IR)


class DatasetError(ValueError, TsganUserError):
    """A dataset tree, list file or image is missing or malformed.

    The message names the offending path (or parameter) and says what was
    expected. Built as ``DatasetError(what, path)``, the message reads
    ``"<path>: <what>"`` and the two parts stay available as :attr:`path`
    (``None`` when no single file is at fault) and :attr:`what`, which is how
    :mod:`tsgan_lib.data.verify` turns errors into problem reports.
    """

    exit_code = DATASET

    def __init__(self, what: str, path: str | os.PathLike | None = None):
        self.what = str(what)
        self.path = None if path is None else str(path)
        super().__init__(self.what if self.path is None else f"{self.path}: {self.what}")

    def __reduce__(self):  # keep path and what through pickling (DataLoader workers, process pools)
        return type(self), (self.what, self.path)


class ImageModeWarning(UserWarning):
    """An image in an unusual mode (RGBA, palette, CMYK, 16-bit ...) was
    converted to 8-bit RGB on reading. Issued once per mode and process,
    naming the first such file."""


@dataclass(frozen=True)
class Record:
    """One image: ``path`` (absolute, str), ``pid`` (person id), ``camid``
    (1-based camera number), ``modality`` (``"rgb"`` or ``"ir"``)."""

    path: str
    pid: int
    camid: int
    modality: str

    def __post_init__(self) -> None:
        if self.modality not in MODALITIES:
            raise ValueError(f"Record.modality must be one of {MODALITIES}, got {self.modality!r} for {self.path}")
