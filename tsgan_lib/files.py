"""Every file the project writes, written and read in one place.

Scope: checkpoints, trained networks (teacher, backbone, CycleGAN) and the
JSON files of a run (``config.json``, ``results.json``, ...).

- **One run folder, its files' names.** :class:`RunFolder` names every file
  of a run folder and the ablation's layout of run folders; every module that
  reads or writes one asks it.

- **Atomic writes.** :func:`save_atomic` (``torch.save``) and
  :func:`write_text_atomic` / :func:`write_json` go through a temporary file in
  the same folder, flushed to disk, then ``os.replace``: an interrupted or
  failed write (a kill, a full disk) leaves the previous file intact, and a
  failure is raised as :class:`FileWriteError` naming the file.
- **Safe reads.** :func:`load_weights` reads with ``torch.load(weights_only=True)``:
  a file holding pickled Python objects is refused and nothing in it runs; a
  truncated or corrupted file is a :class:`FileFormatError` naming it.
  :func:`read_json` does the same for JSON.
- **One record per saved network.** :func:`save_network` writes
  ``{"format", "state_dict", "record"}`` where :class:`NetworkRecord` says what
  the network is (``kind``, the architecture that rebuilds it), the settings it
  was trained with, the data it saw and, when measured, its quality.
  :func:`load_network` rebuilds it; :meth:`NetworkRecord.mismatch` is the one
  "does it fit this run?" check, used by the trainer and the notebooks.

Everything here holds tensors, numbers, strings, lists and dicts only.
"""

from __future__ import annotations

import errno
import json
import os
import pickle
import time
import zipfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from tsgan_lib.errors import MISSING_FILE, RUN_FOLDER, WRITE_FAILED, MissingFileError, TsganUserError

FORMAT = "tsgan-network-1"
KINDS = ("teacher", "backbone", "cyclegan")


class FileFormatError(ValueError, TsganUserError):
    """A file exists but is not what was expected (truncated, corrupted, the
    wrong kind, invalid JSON). The message names the file."""

    exit_code = MISSING_FILE


class FileWriteError(OSError, TsganUserError):
    """Writing a file failed (e.g. a full disk); the previous file, if any, is intact."""

    exit_code = WRITE_FAILED


# ---- writing ----------------------------------------------------------------------------------
def _write_atomic(path: str | os.PathLike, write) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as err:
        kept = "the previous file is intact" if path.exists() else "no file was written"
        raise FileWriteError(err.errno, f"could not write {path} ({err.strerror or err}); {kept}. "
                                        f"{_write_remedy(err, path.parent)}") from err
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def _write_remedy(err: OSError, folder: Path) -> str:
    """What to do about a failed write, by its cause (a full disk is not a read-only folder)."""
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        return "The disk is full: free some space and run again"
    if err.errno == errno.EROFS:
        return f"{folder} is on a read-only file system: write somewhere else"
    if err.errno in (errno.EACCES, errno.EPERM):
        return f"{folder} is not writable by this user: fix its permissions or write somewhere else"
    return "Check the folder and the disk, then run again"


def save_atomic(obj: Any, path: str | os.PathLike) -> Path:
    """``torch.save(obj)`` to ``path`` through a temporary file and a rename."""
    return _write_atomic(path, lambda f: torch.save(obj, f))


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write a text file (JSON, a log) through a temporary file and a rename."""
    return _write_atomic(path, lambda f: f.write(text.encode()))


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> Path:
    """Write a binary file (a figure) through a temporary file and a rename."""
    return _write_atomic(path, lambda f: f.write(data))


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """``obj`` as indented JSON, atomically."""
    return write_text_atomic(path, json.dumps(obj, indent=2) + "\n")


# ---- reading ----------------------------------------------------------------------------------
def read_json(path: str | os.PathLike, what: str = "a JSON file") -> Any:
    """Parse a JSON file; a missing file is ``FileNotFoundError`` and invalid
    JSON a :class:`FileFormatError`, both naming the file and what was expected."""
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"no file {path}: expected {what}")
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise FileFormatError(f"{path} is not valid JSON ({err}): expected {what}") from err


def load_weights(path: str | os.PathLike, device: torch.device | str = "cpu",
                 remedy: str = "Restore it from a copy, or delete it and make it again") -> Any:
    """``torch.load(path, weights_only=True)`` with errors that name the file.

    A file that holds pickled Python objects (anything but tensors and plain
    values) is refused before anything in it runs; a truncated or corrupted
    file says so, and what to do (``remedy``: the caller knows what deleting it means).
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"no file {path}: expected a weights file (torch.save)")
    try:
        return torch.load(path, map_location=device, weights_only=True)
    except pickle.UnpicklingError as err:
        if "global" not in str(err).lower():  # not a refused Python object: the bytes are damaged
            raise FileFormatError(f"{path}: not a readable weights-only checkpoint: truncated or corrupted "
                                  f"({_first_line(err)}). {remedy}") from err
        raise FileFormatError(f"{path}: refused: it holds pickled Python objects, not only tensors and plain "
                              f"values, so it is not a weights-only file and nothing in it was run ({_first_line(err)})") from err
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as err:
        raise FileFormatError(f"{path}: not a readable weights-only checkpoint: truncated or corrupted "
                              f"({type(err).__name__}: {_first_line(err)}). {remedy}") from err


def _first_line(err: Exception) -> str:
    lines = [ln for ln in str(err).splitlines() if ln.strip()]
    useful = [ln for ln in lines if "Unsupported" in ln or "GLOBAL" in ln]
    return (useful or lines or [type(err).__name__])[0].strip()


# ---- networks ---------------------------------------------------------------------------------
@dataclass
class NetworkRecord:
    """What a saved network is, and what it was made from.

    ``kind``: "teacher" (the IR teacher, a full backbone of which FE_T is
    used), "backbone" (a trained student) or "cyclegan". ``arch``: what
    rebuilds it (backbones: ``depth``, ``num_classes``; a CycleGAN: its
    ``config_dict``). ``settings``: the settings it was trained with (image
    size, crop padding, recipe, variant, seed, epochs). ``data``: the data it
    saw (:func:`tsgan_lib.data.config.data_tag`). ``quality``: what was
    measured on it (the teacher's IR->IR retrieval, for instance).
    """

    kind: str
    arch: dict
    settings: dict = field(default_factory=dict)
    data: dict = field(default_factory=dict)
    quality: dict = field(default_factory=dict)
    created: str = field(default_factory=lambda: time.strftime("%Y-%m-%d %H:%M:%S"))

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"NetworkRecord.kind={self.kind!r}: expected one of {KINDS}")

    def mismatch(self, **required: Any) -> str | None:
        """Why this network does not fit a run that needs ``required``
        (``None`` if it fits). Keys name a section and a field, e.g.
        ``arch__depth=50, settings__height=288, data={...}``; a key without
        ``__`` compares a whole section."""
        problems = []
        for key, want in required.items():
            section, _, name = key.partition("__")
            have_section = getattr(self, section)
            have = have_section.get(name, "<not recorded>") if name else have_section
            if have != want:
                label = f"{section}.{name}" if name else section
                problems.append(f"{label} is {have!r}, this run needs {want!r}")
        return "; ".join(problems) or None


def _build(record: NetworkRecord) -> nn.Module:
    from tsgan_lib.models import build_backbone, build_cyclegan_from_config
    from tsgan_lib.models.agw import build_agw_backbone

    if record.kind == "cyclegan":
        return build_cyclegan_from_config(record.arch)
    build = build_agw_backbone if record.arch.get("arch") == "agw" else build_backbone
    return build(int(record.arch["num_classes"]), int(record.arch["depth"]), pretrained=False)


def network_arch(module: nn.Module) -> dict:
    """The ``arch`` entry of a module's record (what :func:`load_network` rebuilds)."""
    if hasattr(module, "config_dict"):  # a CycleGAN
        return module.config_dict()
    arch = {"depth": int(module.depth), "num_classes": int(module.num_classes)}
    return {**arch, "arch": "agw"} if hasattr(module, "non_local_names") else arch  # AGW's network (models/agw.py)


def save_network(path: str | os.PathLike, module: nn.Module, record: NetworkRecord) -> Path:
    """Write ``module``'s weights (on the CPU, contiguous) with its record, atomically."""
    state = {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}
    return save_atomic({"format": FORMAT, "state_dict": state, "record": asdict(record)}, path)


def _legacy_record(path: Path, raw: Mapping) -> NetworkRecord:
    """Records of files written before this module existed: teachers and
    CycleGANs as ``{"state_dict", "config"}``, backbones as ``{"state_dict", "info"}``."""
    if "info" in raw:  # a backbone.pt
        info = dict(raw["info"])
        arch = {"depth": info.pop("depth"), "num_classes": info.pop("num_classes")}
        data = {k: info.pop(k) for k in ("data", "num_ids", "data_seed") if k in info}
        return NetworkRecord("backbone", arch, settings=info, data=data, created="")
    config = dict(raw["config"])
    if "generator" in config:  # a CycleGAN
        arch = {k: config.pop(k) for k in ("fmap_channels", "joint_disc", "generator", "discriminator")}
        return NetworkRecord("cyclegan", arch, settings=config, created="")
    arch = {"depth": config.pop("depth"), "num_classes": config.pop("num_classes")}
    data = {k: config.pop(k) for k in ("data", "num_ids", "data_seed") if k in config}
    from tsgan_lib.data.transforms import LEGACY_PAD

    config.setdefault("pad", LEGACY_PAD)  # before the padding was recorded, it was 10 px at any size
    return NetworkRecord("teacher", arch, settings=config, data=data, created=config.pop("saved_at", ""))


def read_network_file(path: str | os.PathLike, device: torch.device | str = "cpu") -> tuple[dict, NetworkRecord]:
    """The state dict and the record of a saved network, without building it."""
    path = Path(path)
    raw = load_weights(path, device)
    if not isinstance(raw, Mapping) or "state_dict" not in raw:
        raise FileFormatError(f"{path}: expected a saved network (a 'state_dict' and its record), "
                              f"found {sorted(raw) if isinstance(raw, Mapping) else type(raw).__name__}")
    if raw.get("format") == FORMAT:
        return raw["state_dict"], NetworkRecord(**raw["record"])
    if "config" in raw or "info" in raw:
        return raw["state_dict"], _legacy_record(path, raw)
    raise FileFormatError(f"{path}: a state_dict without a record of what network it is")


def load_network(path: str | os.PathLike, device: torch.device | str = "cpu",
                 kind: str | None = None) -> tuple[nn.Module, NetworkRecord]:
    """Rebuild a saved network (eval mode, on ``device``) and return it with
    its record; ``kind`` (if given) must match the file's."""
    state, record = read_network_file(path, device)
    if kind is not None and record.kind != kind:
        raise FileFormatError(f"{path} holds a {record.kind}, expected a {kind}")
    module = _build(record)
    try:
        module.load_state_dict(state)
    except RuntimeError as err:
        raise FileFormatError(f"{path}: its weights do not fit the {record.kind} its record describes ({err})") from err
    return module.to(device).eval(), record


def load_backbone(path: str | os.PathLike, device: torch.device | str = "cpu") -> tuple[nn.Module, NetworkRecord]:
    """A trained student (``backbone.pt``, or a run folder holding it), ready for testing."""
    path = Path(path)
    folder = RunFolder(path)
    if path.is_dir() and not folder.backbone.is_file():
        raise MissingFileError(f"{path} holds no {RunFolder.BACKBONE}: its training has not finished (run the same "
                               "`tsgan train` again to finish it)")
    if not path.exists():
        raise MissingFileError(f"no run folder or backbone file {path}: expected a folder written by `tsgan train`")
    return load_network(folder.backbone if path.is_dir() else path, device, kind="backbone")


# ---- a run's folder ---------------------------------------------------------------------------
@dataclass(frozen=True)
class RunFolder:
    """A run's folder: the names of its files, and the ablation's layout of run folders.

    A run folder (``tsgan train``) holds::

        config.json            the resolved configuration
        metrics.jsonl          one JSON line per logging interval, epoch and probe
        teacher.pt             the frozen teacher this run uses (its own copy)
        teacher_checkpoint.pt  the teacher's pretraining, resumable (gone once teacher.pt exists)
        checkpoint.pt          the last checkpoint of Algorithm 1
        backbone.pt            the final student alone, for testing
        loss_curves.png        the loss terms over training
        train_info.json        what the run measured (times, speed, memory, the teacher's quality)
        results.json           the test's results
        results_trials.json    RegDB: the mean ± std over the trials, each a run folder trial_<t>/

    The ablation keeps one run folder per (row, seed) in its runs folder,
    ``<variant>[~<reading>]_s<seed>`` (:meth:`row`; a reading flipped from the
    defaults after the ``~``), beside one teacher per seed, ``teacher_s<seed>.pt``
    (:meth:`row_teacher`), shared by that seed's rows.
    """

    path: Path

    CONFIG = "config.json"
    METRICS = "metrics.jsonl"
    TEACHER = "teacher.pt"
    TEACHER_CHECKPOINT = "teacher_checkpoint.pt"
    CHECKPOINT = "checkpoint.pt"
    BACKBONE = "backbone.pt"
    CURVES = "loss_curves.png"
    TRAIN_INFO = "train_info.json"
    RESULTS = "results.json"
    TRIALS = "results_trials.json"

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))

    config = property(lambda self: self.path / self.CONFIG, doc="config.json")
    metrics = property(lambda self: self.path / self.METRICS, doc="metrics.jsonl")
    teacher = property(lambda self: self.path / self.TEACHER, doc="teacher.pt")
    teacher_checkpoint = property(lambda self: self.path / self.TEACHER_CHECKPOINT, doc="teacher_checkpoint.pt")
    checkpoint = property(lambda self: self.path / self.CHECKPOINT, doc="checkpoint.pt")
    backbone = property(lambda self: self.path / self.BACKBONE, doc="backbone.pt")
    curves = property(lambda self: self.path / self.CURVES, doc="loss_curves.png")
    train_info = property(lambda self: self.path / self.TRAIN_INFO, doc="train_info.json")
    results = property(lambda self: self.path / self.RESULTS, doc="results.json")
    trials_results = property(lambda self: self.path / self.TRIALS, doc="results_trials.json")

    def run_files(self) -> list[Path]:
        """The files a training run and its test write here (what starting the run over deletes)."""
        return [self.checkpoint, self.teacher_checkpoint, self.metrics, self.config, self.teacher, self.backbone,
                self.curves, self.results, self.train_info]

    def trial(self, trial: int) -> RunFolder:
        """RegDB: the run folder of one trial, ``trial_<t>``."""
        return RunFolder(self.path / f"trial_{trial}")

    # ---- the ablation's layout ------------------------------------------------------------------
    @staticmethod
    def row_name(variant: str, reading: str | None = None, seed: int | None = None) -> str:
        """``jd_all_ts`` (the defaults) or ``jd_all_ts~ts_mean`` (a reading flipped); with ``seed``, ``..._s<seed>``."""
        name = variant if reading is None else f"{variant}~{reading}"
        return name if seed is None else f"{name}_s{seed}"

    @classmethod
    def row(cls, runs_dir: str | os.PathLike, variant: str, seed: int, reading: str | None = None) -> RunFolder:
        """The run folder of one (row, seed) of the ablation: ``<runs_dir>/<variant>[~<reading>]_s<seed>``."""
        return cls(Path(runs_dir) / cls.row_name(variant, reading, seed))

    @staticmethod
    def row_teacher(runs_dir: str | os.PathLike, seed: int) -> Path:
        """The teacher shared by one seed's rows of the ablation: ``<runs_dir>/teacher_s<seed>.pt``."""
        return Path(runs_dir) / f"teacher_s{seed}.pt"

    @property
    def row_key(self) -> tuple[str, str | None, int] | None:
        """``(variant, reading or None, seed)`` of an ablation row's folder; ``None`` for another folder."""
        stem, sep, seed = self.path.name.rpartition("_s")
        if not sep or not stem or not seed.isdigit():
            return None
        variant, _, reading = stem.partition("~")
        return variant, reading or None, int(seed)

    @classmethod
    def finished_rows(cls, runs_dir: str | os.PathLike) -> list[RunFolder]:
        """The ablation rows in ``runs_dir`` whose test has run (their ``results.json`` exists), by name."""
        runs_dir = Path(runs_dir)
        found = (cls(p.parent) for p in sorted(runs_dir.glob(f"*_s*/{cls.RESULTS}"))) if runs_dir.is_dir() else ()
        return [f for f in found if f.row_key is not None]


# ---- one run per folder -----------------------------------------------------------------------
class RunFolderBusy(RuntimeError, TsganUserError):
    """Another live process holds the run folder's lock."""

    exit_code = RUN_FOLDER


class RunMismatch(ValueError, TsganUserError):
    """A run folder holds a run made with other settings than the ones asked for; the message names each."""

    exit_code = RUN_FOLDER


class RunLock:
    """One folder, one run: an exclusive ``fcntl.flock`` on ``<folder>/.lock``.

    The lock file records the holder (pid, host, start time). A second run on
    the folder is refused naming that process. The kernel drops the lock when
    its process dies, so a lock left by a killed run is found free and taken
    over (the takeover is reported). On a network file system ``flock`` may
    only hold within one machine.
    """

    def __init__(self, folder: str | os.PathLike, log=print) -> None:
        self.path = Path(folder) / ".lock"
        self.log = log
        self._fd: int | None = None

    def __enter__(self) -> RunLock:
        import fcntl
        import socket

        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 4096, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise RunFolderBusy(f"{self.path.parent} is in use by {holder}: another run is writing there. Wait for it "
                                "to finish, stop it (Ctrl-C, or kill that pid), or give this run another folder "
                                "(run.dir)") from None
        previous = os.pread(fd, 4096, 0).decode(errors="replace").strip()
        if previous:
            self.log(f"{self.path.parent}: the lock of {previous} was left by a run that no longer exists "
                     "(killed?); taking it over")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}, started {time.strftime('%Y-%m-%d %H:%M:%S')}"
                  .encode(), 0)
        self._fd = fd
        return self

    def __exit__(self, *exc) -> None:
        if self._fd is not None:
            self.path.unlink(missing_ok=True)
            os.close(self._fd)  # closing the descriptor releases the lock
            self._fd = None
