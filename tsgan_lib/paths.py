"""Where relative paths point: the repository root for the library, the current folder for the command line.

Scope: :data:`REPO_ROOT` and :func:`resolve_path` (a preset's or a notebook's
relative path means the same file whatever the working folder) and
:func:`user_path` (a path typed on the command line means what the shell
means by it). Standard library only, so the command line can answer
``--help`` without importing torch; :mod:`tsgan_lib.utils` re-exports both.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def resolve_path(path: str | os.PathLike | None, base: Path = REPO_ROOT) -> Path | None:
    """Resolve a relative path against the repository root (not the current
    working directory: papermill runs in the caller's folder, nbval in the
    notebook's). ``None`` stays ``None``; ``~`` is expanded."""
    if path is None:
        return None
    p = Path(path).expanduser()
    return p if p.is_absolute() else (base / p).resolve()


def user_path(path: str | os.PathLike) -> Path:
    """A path given on the command line, made absolute against the current folder (``~`` expanded)."""
    return Path(os.path.abspath(Path(path).expanduser()))
