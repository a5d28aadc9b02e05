"""Small shared helpers: device choice, seeding, repository-relative paths."""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import torch

REPO_ROOT = Path(__file__).resolve().parents[1]


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; anything else is passed to
    :class:`torch.device` (``"cpu"``, ``"cuda"``, ``"cuda:1"``)."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} was requested but CUDA is not available; use 'auto' or 'cpu'")
    return dev


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA) RNGs."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def resolve_path(path: str | os.PathLike | None, base: Path = REPO_ROOT) -> Path | None:
    """Resolve a relative path against the repository root (not the current
    working directory: papermill runs in the caller's folder, nbval in the
    notebook's). ``None`` stays ``None``; ``~`` is expanded."""
    if path is None:
        return None
    p = Path(path).expanduser()
    return p if p.is_absolute() else (base / p).resolve()
