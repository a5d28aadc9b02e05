"""Small shared helpers: device choice, seeding, repository-relative paths."""

from __future__ import annotations

import random

import numpy as np
import torch

from tsgan_lib.errors import UsageError
from tsgan_lib.paths import REPO_ROOT, resolve_path  # noqa: F401 (re-exported: the torch-free home of both)


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; anything else is passed to
    :class:`torch.device` (``"cpu"``, ``"cuda"``, ``"cuda:1"``)."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise UsageError(f"device={device!r}: expected 'auto', 'cpu', 'cuda' or 'cuda:N'") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise UsageError(f"device={device!r} was requested but CUDA is not available; use 'auto' or 'cpu'")
    return dev


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA) RNGs."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)
