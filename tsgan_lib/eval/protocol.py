"""The SYSU-MM01 test protocol: who is queried, which gallery, which trial.

Scope: turning the test records of :func:`tsgan_lib.data.load_sysu` into the
query and gallery lists of one evaluation run. Metrics live in
:mod:`tsgan_lib.eval.metrics`.

The protocol, in four facts (see ``SYSU_PROTOCOL.md`` of the project notes):

1. **Query** = every IR test image (cams 3 and 6): 3,803 images, the same
   in both modes.
2. **Gallery** = ``shots`` RGB images per (test identity, RGB camera of the
   mode), all of them when a camera holds fewer. All-search uses cams 1, 2,
   4, 5 and indoor-search cams 1, 2. That is why the single-shot all-search
   gallery has 301 images (the number of (id, camera) pairs that exist among
   the 96 test ids), 3,010 in multi-shot; indoor: 112 and 1,120.
3. **Trials**: the gallery is drawn 10 times; results are the mean over the
   10 draws. The official draws are stored in ``rand_perm_cam.mat``: trial
   ``t`` takes the first 1 or 10 entries of row ``t`` for each (camera,
   person), 1-based positions into the person's name-sorted image list.
4. **Location rule** (applied at evaluation time, not here): a cam3 query
   ignores every cam2 gallery image; see
   :func:`tsgan_lib.eval.metrics.sysu_location_rule`.
"""

from __future__ import annotations

import functools
import os
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..data.records import DatasetError, Record
from ..data.sysu import IR_CAMERAS, RGB_CAMERAS

#: RGB gallery cameras of each search mode.
MODE_CAMERAS = {"all": RGB_CAMERAS, "indoor": (1, 2)}  # indoor: the two RGB rooms
#: IR query cameras (both modes).
QUERY_CAMERAS = IR_CAMERAS
#: Allowed gallery sizes per (id, camera): single-shot and multi-shot.
SHOTS = (1, 10)
#: Number of official gallery draws.
NUM_TRIALS = 10


@dataclass(frozen=True)
class RandPerm:
    """The official gallery draws of ``rand_perm_cam.mat``.

    ``perms[(camid, pid)]`` is an int array of shape (10, n_images): row ``t``
    is trial ``t``'s order of that person's images in that camera, as 1-based
    positions into the name-sorted image list.
    """

    path: str
    perms: dict

    @property
    def num_trials(self) -> int:
        return min(p.shape[0] for p in self.perms.values())


@functools.lru_cache(maxsize=4)
def _load_rand_perm_cached(path: str) -> RandPerm:
    from scipy.io import loadmat

    mat = loadmat(path)
    if "rand_perm_cam" not in mat:
        raise DatasetError(f"{path} holds no 'rand_perm_cam' variable: is it the official rand_perm_cam.mat?")
    cells = mat["rand_perm_cam"]
    if cells.shape[0] != 6:
        raise DatasetError(f"{path}: rand_perm_cam should be a (6, 1) cell (one per camera), got {cells.shape}")
    perms = {}
    for cam in range(1, 7):
        per_id = cells[cam - 1, 0]
        for i in range(per_id.shape[0]):
            entry = np.asarray(per_id[i, 0])
            if entry.size:
                perms[(cam, i + 1)] = entry.astype(np.int64)
    return RandPerm(path=path, perms=perms)


def load_rand_perm(path: str | os.PathLike) -> RandPerm:
    """Load the official ``rand_perm_cam.mat`` (cached per path)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise DatasetError(f"rand_perm file {path} does not exist (it ships with the official SYSU-MM01 "
                           "evaluation code, evaluation/data_split/rand_perm_cam.mat)")
    return _load_rand_perm_cached(str(path.resolve()))


def _test_records(dataset) -> list[Record]:
    recs = getattr(dataset, "test", dataset)
    recs = list(recs)
    if recs and not isinstance(recs[0], Record):
        raise TypeError("dataset must be a SYSUMM01 (from load_sysu) or a list of Record, "
                        f"got items of {type(recs[0])}")
    return recs


def check_setting(mode: str, shots: int) -> None:
    """Raise ``ValueError`` naming ``mode`` or ``shots`` when not a SYSU setting."""
    if mode not in MODE_CAMERAS:
        raise ValueError(f"mode must be one of {set(MODE_CAMERAS)}, got {mode!r}")
    if shots not in SHOTS:
        raise ValueError(f"shots must be 1 (single-shot) or 10 (multi-shot), got {shots!r}")


def gallery_positions(n_images: int, shots: int, trial: int, camid: int, pid: int, *,
                      rand_perm: RandPerm | None = None, seed: int = 0) -> np.ndarray:
    """0-based positions (into the name-sorted list) of one (camera, person)'s
    gallery images for one trial.

    Official: the first ``shots`` entries of row ``trial`` of the person's
    ``rand_perm_cam.mat`` matrix, minus 1. Seeded (no ``rand_perm``): the first
    ``shots`` entries of ``numpy.random.default_rng([seed, trial, camid,
    pid]).permutation(n_images)``, one independent generator per (trial,
    camera, person), so a draw never depends on the mode or on iteration
    order; like the official draws, the single-shot image is the first of the
    multi-shot ten and the indoor gallery is a subset of the all-search one.
    """
    if rand_perm is None:
        perm = np.random.default_rng([seed, trial, camid, pid]).permutation(n_images)
        return perm[:shots]
    perm = rand_perm.perms.get((camid, pid))
    if perm is None:
        raise DatasetError(f"{rand_perm.path} has no draw for camera {camid}, person {pid:04d}, which has "
                           f"{n_images} test image(s): the dataset does not match the official split")
    if perm.shape[1] != n_images:
        raise DatasetError(f"{rand_perm.path} expects {perm.shape[1]} images for camera {camid}, person "
                           f"{pid:04d}; the dataset holds {n_images}")
    return perm[trial, :shots] - 1


def peers_gallery(groups: dict[tuple[int, int], list[Record]], mode: str, shots: int,
                  trial: int) -> list[Record]:
    """The gallery as AGW, CAJ and DEEN draw it (``data_manager.process_gallery_sysu``):
    ``random.seed(trial)``, then for each test person in id order and each camera of
    the mode in order, ``random.choice`` of the person's name-sorted images there
    (multi-shot, which their code does not draw: ``random.sample`` of up to 10).
    One generator runs through all (person, camera) pairs, so a pair's draw depends on
    every pair before it; the official draws do not (:func:`gallery_positions`)."""
    import random

    rng = random.Random(trial)
    gallery = []
    for pid in sorted({p for _, p in groups}):
        for cam in MODE_CAMERAS[mode]:
            imgs = sorted(groups.get((cam, pid), ()), key=lambda r: os.path.basename(r.path))
            if imgs:
                gallery.extend([rng.choice(imgs)] if shots == 1 else rng.sample(imgs, min(shots, len(imgs))))
    return gallery


def sysu_query_gallery(dataset, mode: str = "all", shots: int = 1, trial: int = 0,
                       rand_perm: str | os.PathLike | RandPerm | None = None, *,
                       seed: int = 0, draw: str = "official") -> tuple[list[Record], list[Record]]:
    """Query and gallery records of one SYSU-MM01 evaluation run.

    Parameters
    ----------
    dataset: a :class:`~tsgan_lib.data.sysu.SYSUMM01` (its ``.test`` is used)
        or a list of test records with the dataset's own person ids.
    mode: ``"all"`` (gallery cams 1, 2, 4, 5) or ``"indoor"`` (cams 1, 2).
    shots: 1 (single-shot) or 10 (multi-shot) images per (id, RGB camera).
    trial: which draw, ``0..9`` with ``rand_perm``; any ``>= 0`` without.
    rand_perm: path of the official ``rand_perm_cam.mat`` (or its
        :func:`load_rand_perm`): reproduces the official galleries exactly.
        ``None``: the seeded draw of :func:`gallery_positions`.
    seed: base seed of the seeded draw (ignored with ``rand_perm``).
    draw: ``"official"`` (the above) or ``"peers"`` (:func:`peers_gallery`,
        the draws behind AGW's, CAJ's and DEEN's published numbers;
        ``rand_perm`` and ``seed`` unused).

    Returns ``(query, gallery)``: every IR test record (dataset order), and
    the gallery ordered by camera, then person id, then draw order (the
    peers' draw: by person id, then camera).
    """
    check_setting(mode, shots)
    if draw not in ("official", "peers"):
        raise ValueError(f"draw must be 'official' or 'peers', got {draw!r}")
    if isinstance(rand_perm, (str, os.PathLike)):
        rand_perm = load_rand_perm(rand_perm)
    limit = rand_perm.num_trials if rand_perm is not None else None
    if not isinstance(trial, (int, np.integer)) or trial < 0 or (limit is not None and trial >= limit):
        span = f"0..{limit - 1} (the rows of rand_perm)" if limit is not None else "a non-negative integer"
        raise ValueError(f"trial must be {span}, got {trial!r}")
    records = _test_records(dataset)
    query = [r for r in records if r.camid in QUERY_CAMERAS]
    groups: dict[tuple[int, int], list[Record]] = defaultdict(list)
    for r in records:
        if r.camid in MODE_CAMERAS[mode]:
            groups[(r.camid, r.pid)].append(r)
    if draw == "peers":
        return query, peers_gallery(groups, mode, shots, trial)
    gallery = []
    for (cam, pid) in sorted(groups):
        imgs = sorted(groups[(cam, pid)], key=lambda r: os.path.basename(r.path))
        pos = gallery_positions(len(imgs), shots, trial, cam, pid, rand_perm=rand_perm, seed=seed)
        gallery.extend(imgs[int(p)] for p in pos)
    return query, gallery


def labels(records: Sequence[Record]) -> tuple[np.ndarray, np.ndarray]:
    """``(pids, camids)`` of a record list as int64 arrays."""
    return (np.array([r.pid for r in records], dtype=np.int64),
            np.array([r.camid for r in records], dtype=np.int64))


def protocol_summary(dataset, rand_perm: str | os.PathLike | RandPerm | None = None, trial: int = 0,
                     seed: int = 0) -> pd.DataFrame:
    """One row per setting: queries, gallery images, gallery identities and
    valid queries (with a true match left after the location rule)."""
    from .metrics import sysu_location_rule

    rows = []
    for mode in MODE_CAMERAS:
        for shots in SHOTS:
            query, gallery = sysu_query_gallery(dataset, mode, shots, trial, rand_perm, seed=seed)
            qp, qc = labels(query)
            gp, gc = labels(gallery)
            same_id = qp[:, None] == gp[None, :]
            valid = (same_id & ~sysu_location_rule(qc, gc)).any(axis=1)
            rows.append({"mode": mode, "shots": shots, "queries": len(query), "gallery": len(gallery),
                         "gallery_ids": len(set(gp.tolist())), "valid_queries": int(valid.sum())})
    return pd.DataFrame(rows)
