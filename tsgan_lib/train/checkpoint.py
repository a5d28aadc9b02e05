"""Checkpoints that resume exactly and load without executing pickled code.

Everything written here holds tensors, numbers, strings, lists and dicts
only, so every read uses ``torch.load(..., weights_only=True)``. Writes are
atomic: a temporary file in the same folder, flushed, then ``os.replace``,
so an interrupted write leaves the previous checkpoint intact.

- :func:`save_atomic` / :func:`load_weights` -- the two primitives, and
  :func:`write_text_atomic` for the run's JSON files.
- :class:`StopRequest` -- Ctrl-C finishes the step and checkpoints before stopping.
- :func:`rng_state` / :func:`set_rng_state` -- Python, NumPy and torch
  (CPU and CUDA) generators, as tensors.
- :func:`save_backbone` / :func:`load_backbone` -- the final backbone-only
  weights for testing (``backbone.pt`` in a run folder).
"""

from __future__ import annotations

import os
import random
import signal
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tsgan_lib.models import ReIDBackbone, build_backbone

BACKBONE_FILE = "backbone.pt"


class StopRequest:
    """A context in which SIGINT (Ctrl-C, Jupyter's interrupt) only sets ``requested``:
    the training loop finishes its step, writes a checkpoint, then raises
    ``KeyboardInterrupt``. A second SIGINT stops at once."""

    def __init__(self) -> None:
        self.requested = False
        self._previous = None

    def _handler(self, signum, frame) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self) -> StopRequest:
        try:
            self._previous = signal.signal(signal.SIGINT, self._handler)
        except ValueError:  # not the main thread: no handler, Ctrl-C behaves as usual
            self._previous = None
        return self

    def __exit__(self, *exc) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def describe_changes(differ: dict[str, tuple[Any, Any]]) -> str:
    """``{"lr": (0.001, 0.002)}`` -> ``"lr: 0.001 -> 0.002"``: what a resume refuses, field by field."""
    return ", ".join(f"{k}: {a!r} -> {b!r}" for k, (a, b) in differ.items())


def save_atomic(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save`` to ``path`` through a temporary file and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write a text file (JSON, a log) through a temporary file and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)
    return path


def load_weights(path: str | os.PathLike, device: torch.device | str = "cpu") -> Any:
    """``torch.load`` with ``weights_only=True``; a clear error for a missing or broken file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        return torch.load(path, map_location=device, weights_only=True)
    except Exception as err:  # unpickling errors come in several types
        raise RuntimeError(f"{path}: not a readable weights-only checkpoint ({type(err).__name__}: {err})") from err


def rng_state() -> dict[str, Any]:
    """The Python, NumPy and torch RNG states as weights-only-loadable values."""
    version, internal, gauss = random.getstate()
    np_name, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state()
    state = {
        "python": {"version": version, "internal": torch.tensor(internal, dtype=torch.int64), "gauss": gauss},
        "numpy": {"name": np_name, "keys": torch.from_numpy(np_keys.astype(np.int64)), "pos": int(np_pos),
                  "has_gauss": int(np_has_gauss), "gauss": float(np_gauss)},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` captured (CUDA states when both sides have CUDA)."""
    py = state["python"]
    random.setstate((py["version"], tuple(int(v) for v in py["internal"].tolist()), py["gauss"]))
    n = state["numpy"]
    np.random.set_state((n["name"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
    torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])


def save_backbone(path: str | os.PathLike, model: ReIDBackbone, info: dict[str, Any] | None = None) -> Path:
    """The student alone, for testing: ``{"state_dict", "info"}`` with
    ``info`` = depth, num_classes and the caller's plain values (image size,
    variant, data, seed, ...)."""
    info = {"depth": model.depth, "num_classes": model.num_classes, **(info or {})}
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    return save_atomic({"state_dict": state, "info": info}, path)


def load_backbone(path: str | os.PathLike, device: torch.device | str = "cpu") -> tuple[ReIDBackbone, dict]:
    """Rebuild a backbone from :func:`save_backbone`'s file, or from a run
    folder holding ``backbone.pt``. Returns ``(model in eval mode, info)``."""
    path = Path(path)
    if path.is_dir():
        path = path / BACKBONE_FILE
    ckpt = load_weights(path, device)
    if not isinstance(ckpt, dict) or "state_dict" not in ckpt or "info" not in ckpt:
        raise ValueError(f"{path}: expected a backbone file with 'state_dict' and 'info' (written by save_backbone)")
    info = ckpt["info"]
    model = build_backbone(int(info["num_classes"]), int(info["depth"]), pretrained=False)
    model.load_state_dict(ckpt["state_dict"])
    return model.to(device).eval(), info
