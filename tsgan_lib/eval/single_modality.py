"""Table III's protocol: single-modality retrieval, how good a backbone is within one modality.

The paper's Table III reports its IR teacher on SYSU-MM01's IR images alone
("SYSU-IR / SYSU-IR": R1 98.0, mAP 97.4) without stating the split. Ours
(:func:`table3_query_gallery`): among a modality's test images, the first
image (by path) of every (identity, camera) is a query and every other image
of that modality is the gallery, ranked without camera filtering (RegDB-style),
so every query has a true match whenever its identity has more than one image.

- :func:`table3_query_gallery` -- the split;
- :func:`evaluation_records` -- a dataset's test images (SYSU-MM01's, RegDB's two lists);
- :func:`teacher_quality` -- a backbone's R1, R10, R20, mAP, mINP on that split
  (recorded with every teacher, :mod:`tsgan_lib.train.teacher`).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from tsgan_lib.data.datasets import ImageDataset
from tsgan_lib.data.records import Record
from tsgan_lib.data.transforms import build_transform

from .driver import evaluate_features
from .features import extract_features


def table3_query_gallery(records: Sequence[Record], modality: str) -> tuple[list[Record], list[Record]]:
    """A single-modality query/gallery split for Table III-style retrieval.

    Among the test ``records`` of one ``modality`` (``"ir"`` or ``"rgb"``):
    the first image (by path) of every (identity, camera) is a query; every
    other image of that modality is the gallery. The paper does not state its
    single-modality protocol; this one has no camera filtering (RegDB-style
    ranking), so every query has at least one true match whenever its
    identity has more than one image.
    """
    own = sorted((r for r in records if r.modality == modality), key=lambda r: r.path)
    if not own:
        raise ValueError(f"no {modality!r} records to split")
    seen: set[tuple[int, int]] = set()
    query, gallery = [], []
    for r in own:
        if (r.pid, r.camid) in seen:
            gallery.append(r)
        else:
            seen.add((r.pid, r.camid))
            query.append(r)
    return query, gallery


def evaluation_records(dataset) -> list[Record]:
    """A dataset's test images (SYSU-MM01's ``test``; RegDB's two test lists)."""
    if hasattr(dataset, "test"):
        return list(dataset.test)
    return list(dataset.test_visible) + list(dataset.test_thermal)


def teacher_quality(model: torch.nn.Module, dataset, *, height: int, width: int, device: torch.device,
                    modality: str = "ir", batch_size: int = 128) -> dict:
    """Single-modality retrieval on the test identities (Table III's
    protocol, :func:`table3_query_gallery`): R1, R10, R20, mAP, mINP in percent."""
    query, gallery = table3_query_gallery(evaluation_records(dataset), modality)
    tf = build_transform(False, height, width)
    feats = extract_features(model, ImageDataset(query + gallery, tf), batch_size=batch_size, device=device)
    res = evaluate_features(feats[:len(query)], feats[len(query):], [r.pid for r in query],
                            [r.pid for r in gallery], device=device)
    return {f"{modality}_{k}": round(float(v), 2) for k, v in res.items() if k != "num_valid"}
