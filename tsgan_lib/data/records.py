"""The data contract shared by every reader: plain image records.

A :class:`Record` is one image on disk with its person id, camera id and
modality. Readers (:mod:`tsgan_lib.data.sysu`, :mod:`tsgan_lib.data.regdb`)
return lists of records; datasets, samplers and the evaluation protocol
consume them. Nothing else is needed to describe a ReID split.
"""

from __future__ import annotations

from dataclasses import dataclass

RGB = "rgb"
IR = "ir"
MODALITIES = (RGB, IR)


class DatasetError(ValueError):
    """A dataset tree or image is missing or malformed.

    The message always names the offending path and says what was expected.
    """


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
