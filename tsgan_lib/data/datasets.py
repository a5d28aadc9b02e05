"""Torch datasets over :class:`~tsgan_lib.data.records.Record` lists.

Both classes live in the library (not in a notebook) so that DataLoader
workers can pickle them. An image that cannot be decoded raises
:class:`DatasetError` naming the file.
"""

from __future__ import annotations

from typing import Callable, Sequence

from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset

from .records import IR, RGB, DatasetError, Record


def read_image(path: str) -> Image.Image:
    """Open an image as 3-channel RGB (IR files hold 3 identical channels)."""
    try:
        with Image.open(path) as im:
            return im.convert("RGB")
    except FileNotFoundError as e:
        raise DatasetError(f"Image file {path} is missing: expected a readable JPEG/PNG") from e
    except (UnidentifiedImageError, OSError) as e:
        raise DatasetError(f"Image file {path} cannot be decoded ({e}): expected a readable JPEG/PNG") from e


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
