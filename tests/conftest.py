"""Shared fixtures: SYSU-MM01- and LLCM-shaped trees built in temporary folders.

``sysu_exact_tree`` reproduces the real test split's structure (per-camera,
per-id image counts) from ``../shared/sysu_official/sysu_test_structure.json``
with empty placeholder files (structure checks never decode images). It skips
when that folder is absent, as it is in a user's clone.

Tests write only to temporary folders: the synthetic stand-ins they generate go
to one folder for the session (``$TSGAN_DATA_DIR``, which the programs a test
starts inherit), unless ``TSGAN_DATA_DIR`` already names a cache to reuse.

Markers (``pyproject.toml``): ``slow`` for a test that trains, starts another
program or runs a notebook (``pytest -m "not slow"``, ``make test-fast``, is
the tier to run on every change); ``cuda`` for one that needs a GPU.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from torch.utils.data import Dataset

REPO = Path(__file__).resolve().parents[1]
SHARED_OFFICIAL = REPO.parent / "shared" / "sysu_official"


def write_sysu_tree(root: Path, counts: dict[int, dict[int, int]], splits: dict[str, list[int]],
                    content: bytes = b"") -> Path:
    """Write ``root/camC/PPPP/IIII.jpg`` for ``counts[cam][pid]`` images and the
    ``exp/*_id.txt`` files of ``splits`` (keys train/val/test)."""
    for cam in range(1, 7):
        (root / f"cam{cam}").mkdir(parents=True, exist_ok=True)
        for pid, n in counts.get(cam, {}).items():
            d = root / f"cam{cam}" / f"{pid:04d}"
            d.mkdir(parents=True, exist_ok=True)
            for i in range(1, n + 1):
                (d / f"{i:04d}.jpg").write_bytes(content)
    (root / "exp").mkdir(parents=True, exist_ok=True)
    for name, ids in splits.items():
        (root / "exp" / f"{name}_id.txt").write_text(",".join(str(i) for i in ids))
    return root


def write_llcm_tree(root: Path, train: dict[str, dict[int, dict[int, int]]],
                    test: dict[str, dict[int, dict[int, int]]], test_ids: list[int], content: bytes = b"") -> Path:
    """Write an LLCM-shaped tree: ``train[mod][label][cam]`` training images
    (``mod`` "vis" or "nir", listed in ``idx/train_<mod>.txt``),
    ``test[folder][cam][pid]`` test images (``folder`` "test_vis" or
    "test_nir"; every camera folder is made), and ``idx/test_id.txt``. Files
    are named ``<PPPP>_c<CC>_<IIII>.jpg``."""
    (root / "idx").mkdir(parents=True, exist_ok=True)
    for mod, per_label in train.items():
        lines = []
        for label, per_cam in per_label.items():
            for cam, n in per_cam.items():
                for i in range(1, n + 1):
                    rel = f"{mod}/{label:04d}/{label:04d}_c{cam:02d}_{i:04d}.jpg"
                    (root / rel).parent.mkdir(parents=True, exist_ok=True)
                    (root / rel).write_bytes(content)
                    lines.append(f"{rel} {label}")
        (root / "idx" / f"train_{mod}.txt").write_text("\n".join(lines) + "\n")
    for folder, cams in (("test_vis", range(1, 10)), ("test_nir", (1, 2, 4, 5, 6, 7, 8, 9))):
        for cam in cams:
            (root / folder / f"cam{cam}").mkdir(parents=True, exist_ok=True)
            for pid, n in test.get(folder, {}).get(cam, {}).items():
                d = root / folder / f"cam{cam}" / f"{pid:04d}"
                d.mkdir(exist_ok=True)
                for i in range(1, n + 1):
                    (d / f"{pid:04d}_c{cam:02d}_{i:04d}.jpg").write_bytes(content)
    (root / "idx" / "test_id.txt").write_text(",".join(str(i) for i in test_ids))
    return root


def official_file(name: str) -> Path:
    p = SHARED_OFFICIAL / name
    if not p.exists():
        pytest.skip(f"{p} is absent (official SYSU-MM01 split files are not shipped with the project)")
    return p


@pytest.fixture(scope="session", autouse=True)
def stand_ins_in_a_temporary_folder(tmp_path_factory):
    """``$TSGAN_DATA_DIR`` for the session: a temporary folder, unless it is set already."""
    if os.environ.get("TSGAN_DATA_DIR"):
        yield Path(os.environ["TSGAN_DATA_DIR"])
        return
    folder = tmp_path_factory.mktemp("data")
    os.environ["TSGAN_DATA_DIR"] = str(folder)
    yield folder
    del os.environ["TSGAN_DATA_DIR"]


@pytest.fixture(scope="session")
def sysu_structure() -> dict:
    return json.loads(official_file("sysu_test_structure.json").read_text())


@pytest.fixture(scope="session")
def sysu_exact_tree(tmp_path_factory, sysu_structure) -> Path:
    """A tree whose test split has exactly the real SYSU-MM01 test structure
    (96 ids, 3,803 IR images), plus two tiny train/val ids, empty files."""
    root = tmp_path_factory.mktemp("sysu_exact")
    counts: dict[int, dict[int, int]] = {}
    for cam_key, per_id in sysu_structure["test_images_per_camera_and_id"].items():
        cam = int(cam_key.replace("cam", ""))
        counts[cam] = {int(pid): int(n) for pid, n in per_id.items() if int(n) > 0}
    test_ids = [int(i) for i in sysu_structure["test_ids"]]
    free = [i for i in range(1, 600) if i not in set(test_ids)]
    train_ids, val_ids = free[:2], free[2:3]
    for pid in train_ids + val_ids:
        counts.setdefault(1, {})[pid] = 2
        counts.setdefault(3, {})[pid] = 2
    return write_sysu_tree(root, counts, {"train": train_ids, "val": val_ids, "test": test_ids})


# --- GPU-only tests ---------------------------------------------------------------------------------
# `@pytest.mark.cuda` marks a test that needs a CUDA device; without one it is skipped (CI, laptops).
# On the GPU machine, `pytest -m cuda` runs exactly these (benchmarks/gpu_check.sh does).

class FeatureRows(Dataset):
    """A stand-in image dataset for the evaluation drivers: the 'image' of a
    record is its row of ``table`` (path -> feature tensor), transformed."""

    def __init__(self, records, transform, table):
        self.rows = [table[r.path] for r in records]
        self.transform = transform

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, i):
        return self.transform(self.rows[i]), 0, 0


def pytest_collection_modifyitems(config, items):
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU (torch.cuda.is_available() is False)")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def small_sysu(tmp_path):
    """A tiny SYSU-MM01 tree: test ids 4 and 5; id 4 has 3 cam2 images (< 10), 12 in cam1, and is in cams 1, 2, 4;
    id 5 is outdoor-only (cams 4, 5; IR cams 3, 6); one validation image of id 2 in cam1."""
    from tsgan_lib.data import load_sysu

    counts = {1: {1: 2, 4: 12}, 2: {4: 3}, 3: {1: 2, 4: 2}, 4: {4: 11, 5: 2}, 5: {5: 14}, 6: {4: 3, 5: 1}}
    root = write_sysu_tree(tmp_path / "sysu", counts, {"train": [1], "val": [2], "test": [4, 5]})
    (root / "cam1" / "0002").mkdir()
    (root / "cam1" / "0002" / "0001.jpg").write_bytes(b"")
    return load_sysu(root)


def record_names(records) -> list[tuple]:
    """(camera, identity, file name) of each record: what a protocol picked, readable in an assertion."""
    import os

    return [(r.camid, r.pid, os.path.basename(r.path)) for r in records]


#: The tiny Algorithm 1 batch of the step and readings tests: B (RGB, IR) pairs of H x W.
TINY_BATCH = (4, 64, 32)


def tiny_tsgan(joint: bool = True, seed: int = 0):
    """A ResNet-18 student and teacher (3 classes) and a small CycleGAN, with Adam for G, the backbone and D."""
    import torch

    from tsgan_lib.models import (CycleGAN, CycleGANConfig, DiscriminatorConfig, FrozenTeacher, GeneratorConfig,
                                  build_backbone)
    from tsgan_lib.train import TSGANModels

    torch.manual_seed(seed)
    student = build_backbone(num_classes=3, depth=18).train()
    teacher = FrozenTeacher(build_backbone(num_classes=3, depth=18))
    gan = CycleGAN(student.fmap_channels, CycleGANConfig(GeneratorConfig(ngf=8, n_blocks=1),
                                                         DiscriminatorConfig(ndf=8), joint_disc=joint))
    opts = {"g": torch.optim.Adam(gan.generator_parameters(), 1e-3),
            "b": torch.optim.Adam(student.parameters(), 1e-3),
            "d": torch.optim.Adam(gan.discriminator_parameters(), 1e-3)}
    return TSGANModels(student, teacher, gan), opts


@pytest.fixture
def batch():
    """X_R, X_I and labels of :data:`TINY_BATCH`: two identities, two pairs each."""
    import torch

    b, h, w = TINY_BATCH
    torch.manual_seed(42)
    return torch.randn(b, 3, h, w), torch.randn(b, 3, h, w), torch.tensor([0, 0, 1, 1])

