"""Notebook 00's tables, helpers and sentences, generated from the data and the numbers measured on it.

- :data:`CAMERA_LOCATIONS` -- where each of SYSU-MM01's six cameras stands.
- :func:`camera_table` -- per camera: modality, location, images, test identities seen.
- :func:`correlation_text` -- how much of the visible pattern NIR and thermal keep
  (the luminance correlations of :func:`tsgan_lib.eval.gap.luminance_correlation`).
- :func:`walk` -- a person's images of one camera, in file order (image i of the walk).
- :func:`walk_grid` -- rows of a few people's visible and thermal images i of their walk.
- :func:`with_regdb_chance` -- RegDB results in both directions with the chance levels beside them.
- :func:`regdb_text` -- what the learning-free embedding finds on RegDB, against chance.
- :func:`batch_text` -- the shapes and labels of a sampler batch and the steps of an epoch.
- :func:`gap_datasets` -- the three datasets whose modality gap is measured, with their descriptions.
- :func:`gap_records` -- at most a number of records, a seeded subset beyond.
- :func:`separation_table` -- the separation per dataset (rows) and pair type (columns).
- :func:`gap_text` -- the separations within and across modalities, NIR beside thermal.
- :func:`damage_table` / :func:`problem_table` -- what :func:`~tsgan_lib.data.verify.damage_copy`
  broke and what :func:`~tsgan_lib.data.verify.verify_dataset` found, paths relative to the copy.
- :func:`verify_text` -- the dataset check's verdict.

Each takes plain inputs (numbers, records, DataFrames) and writes nothing;
:func:`gap_records` prints one line when it takes a subset.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from tsgan_lib.data.records import Record
from tsgan_lib.data.sysu import IR_CAMERAS
from tsgan_lib.eval.chance import chance_levels

#: SYSU-MM01's cameras and where they stand (camera 3 shares camera 2's room).
CAMERA_LOCATIONS = {1: "indoor room 1", 2: "indoor room 2", 3: "indoor room 2 (dark)", 4: "outdoor gate",
                    5: "outdoor garden", 6: "outdoor passage"}


def camera_table(records: Sequence[Record], test: Sequence[Record]) -> pd.DataFrame:
    """Per camera (the index): its modality, location, images among ``records`` and the test identities it sees."""
    return pd.DataFrame([
        {"camera": c, "modality": "IR (near-infrared)" if c in IR_CAMERAS else "RGB", "location": CAMERA_LOCATIONS[c],
         "images": sum(r.camid == c for r in records),
         "test ids seen": len({r.pid for r in test if r.camid == c})}
        for c in CAMERA_LOCATIONS]).set_index("camera")


def correlation_text(corr: pd.DataFrame) -> str:
    """Sentences on the per-person correlations of RGB luminance with NIR and thermal (columns ``nir``, ``thermal``)."""
    nir_r, th_r = corr["nir"].mean(), corr["thermal"].mean()
    return (f"Over {len(corr)} people the mean correlation is **{nir_r:.2f}** for NIR and **{th_r:.2f}** for thermal: "
            f"a NIR image keeps {'some' if nir_r > 0.15 else 'a little'} of the visible light-and-dark pattern "
            f"(with a wide spread, {corr['nir'].std():.2f}: dyes differ), a thermal image "
            f"{'almost none' if abs(th_r) < 0.1 else 'little'}. Neither keeps colour.")


def walk(records: Iterable[Record], pid: int) -> list[Record]:
    """A person's images of one camera, in file order (image i of the walk)."""
    return sorted((r for r in records if r.pid == pid), key=lambda r: r.path)


def walk_grid(visible: Sequence[Record], thermal: Sequence[Record], pids: Sequence[int],
              images: Sequence[int] = (0, 5)) -> list[list[Record]]:
    """One row per person: for each i of ``images``, the visible then the thermal image i of the walk (the last
    image where the walk is shorter)."""
    rows = []
    for p in pids:
        walks = [walk(visible, p), walk(thermal, p)]
        rows.append([w[min(i, len(w) - 1)] for i in images for w in walks])
    return rows


def with_regdb_chance(results: pd.DataFrame, visible: Sequence[Record], thermal: Sequence[Record]) -> pd.DataFrame:
    """``results`` (indexed by ``direction``: ``visible->thermal``, ``thermal->visible``) with the exact chance
    levels of a random ranking beside them, in percent: columns ``chance R1`` and ``chance mAP``."""
    vis_pids, th_pids = [r.pid for r in visible], [r.pid for r in thermal]
    chance = {"visible->thermal": chance_levels(vis_pids, th_pids),
              "thermal->visible": chance_levels(th_pids, vis_pids)}
    out = results.copy()
    out["chance R1"] = [100 * chance[d]["R1"] for d in out.index]
    out["chance mAP"] = [100 * chance[d]["mAP"] for d in out.index]
    return out


def regdb_text(results: pd.DataFrame) -> str:
    """Sentences on a learning-free embedding's RegDB Rank-1 in both directions against chance
    (:func:`with_regdb_chance`'s table)."""
    v2t, t2v = results.loc["visible->thermal"], results.loc["thermal->visible"]
    return (f"Without any learning, visible→thermal Rank-1 is **{v2t.R1:.1f}%** and thermal→visible "
            f"**{t2v.R1:.1f}%**, against a chance level of {v2t['chance R1']:.1f}% ({v2t.R1 / v2t['chance R1']:.1f}× "
            f"and {t2v.R1 / t2v['chance R1']:.1f}× chance). The two directions differ because a ranking is not "
            "symmetric: each query ranks a different gallery. A grey, learning-free embedding knows nothing about a "
            "person's appearance across sensors (section 8: its cross-modality separation is close to 0); what it "
            "can match here is most likely the silhouette and pose that the co-located cameras share, image for "
            "image.")


def batch_text(rgb_shape: Sequence[int], ir_shape: Sequence[int], labels: Sequence[int], steps_per_epoch: int,
               train: Sequence[Record], batch_pairs: int) -> str:
    """Two lines: a batch's tensor shapes and labels; the steps per epoch (RGB training images / pairs per batch)."""
    n_rgb = sum(r.modality == "rgb" for r in train)
    return (f"batch: x_rgb {tuple(rgb_shape)}, x_ir {tuple(ir_shape)}, labels {list(labels)}\n"
            f"{steps_per_epoch} steps per epoch ({n_rgb} RGB training images / {batch_pairs})")


def gap_datasets(sysu_test: Sequence[Record], thermal_test: Sequence[Record], regdb_test: Sequence[Record],
                 synthetic: bool = True) -> dict[str, tuple[str, list[Record]]]:
    """Short name: (description, test records) for the modality gap: SYSU-MM01 (its NIR stand-in or a real copy),
    the same people and poses through thermal cameras, the RegDB stand-in. Each image once under its own id."""
    return {
        "SYSU NIR" if synthetic else "SYSU-MM01":
            ("SYSU-MM01 stand-in, NIR cameras" if synthetic else "your SYSU-MM01", list(sysu_test)),
        "SYSU thermal": ("the same people and poses through thermal cameras", list(thermal_test)),
        "RegDB thermal": ("RegDB stand-in, trial 1 test split", list(regdb_test))}


def gap_records(records: Sequence[Record], name: str, max_images: int, seed: int = 0) -> list[Record]:
    """At most ``max_images`` of the records, a seeded subset (in the records' order) beyond; says so when it cuts."""
    if len(records) <= max_images:
        return list(records)
    keep = np.random.default_rng(seed).choice(len(records), max_images, replace=False)
    print(f"{name}: a seeded subset of {max_images} of {len(records)} test images")
    return [records[i] for i in sorted(keep)]


def separation_table(gaps: Mapping[str, pd.DataFrame], datasets: Mapping[str, tuple[str, object]]) -> pd.DataFrame:
    """The ``separation`` column of each dataset's :func:`~tsgan_lib.eval.gap.modality_gap_stats` (indexed by
    ``pairs``) as a row, after a ``data`` column with the description from :func:`gap_datasets`."""
    sep = pd.DataFrame({name: g["separation"] for name, g in gaps.items()}).T
    sep.insert(0, "data", [datasets[name][0] for name in sep.index])
    return sep


def gap_text(sep: pd.DataFrame, nir_name: str, th_name: str, regdb_name: str = "RegDB thermal") -> str:
    """Sentences on :func:`separation_table`: within RGB, within IR and across, NIR beside thermal and RegDB."""
    x_nir, x_th = sep.loc[nir_name, "IR-RGB"], sep.loc[th_name, "IR-RGB"]
    x_regdb = sep.loc[regdb_name, "IR-RGB"]
    nir_more = ("NIR keeps a little more of the visible pattern, as section 2 measured" if x_nir > x_th
                else "here NIR does not keep more of it than thermal")
    return (f"Within RGB the separation is **{sep.loc[nir_name, 'RGB-RGB']:.2f}**; within IR it is "
            f"**{sep.loc[nir_name, 'IR-IR']:.2f}** for NIR and **{sep.loc[th_name, 'IR-IR']:.2f}** for thermal. Across "
            f"modalities it drops to **{x_nir:.2f}** with NIR cameras and **{x_th:.2f}** with thermal ones "
            f"({nir_more}): "
            "under a learning-free embedding a person's IR image is about as far from their own RGB images as from "
            f"anyone else's. On the co-located RegDB stand-in the cross separation is {x_regdb:.2f}. That gap is what "
            "TS-GAN's generator, teacher and teacher-student losses are built to close.")


def damage_table(damages: Sequence, root: str | os.PathLike) -> pd.DataFrame:
    """What was done to which file or folder (relative to ``root``), one row per damage."""
    return pd.DataFrame([{"what was done": d.action, "file or folder": str(Path(d.path).relative_to(root))}
                         for d in damages])


def problem_table(problems: Sequence, root: str | os.PathLike) -> pd.DataFrame:
    """Severity, path (relative to ``root``) and message of each problem found."""
    return pd.DataFrame([{"severity": p.severity, "path": str(Path(p.path).relative_to(root)), "problem": p.message}
                         for p in problems])


def verify_text(seconds: float, n_errors: int, n_warnings: int, n_damages: int) -> str:
    """The verdict on a damaged copy: how long the check took and what it found."""
    return (f"The check took {seconds:.1f} s and found **{n_errors} errors and {n_warnings} warnings**: each of the "
            f"{n_damages} damages, at its path, with what was expected. Errors mean the data cannot be used as it is "
            "(the command exits with status 1); warnings mean it is used, but not exactly as it stands on disk. The "
            "undamaged stand-in has no problem at all.")
