"""RegDB list reader."""

from __future__ import annotations

import pytest

from tsgan_lib.data import DatasetError, load_regdb


def _tree(root, trial=1):
    for mod, folder in (("visible", "Visible"), ("thermal", "Thermal")):
        for split, pids in (("train", (10, 11)), ("test", (20, 21))):
            lines = []
            for pid in pids:
                d = root / folder / str(pid)
                d.mkdir(parents=True, exist_ok=True)
                for k in range(2):
                    (d / f"{k}.bmp").write_bytes(b"")
                    lines.append(f"{folder}/{pid}/{k}.bmp {pid}")
            (root / "idx").mkdir(exist_ok=True)
            (root / "idx" / f"{split}_{mod}_{trial}.txt").write_text("\n".join(lines) + "\n")
    return root


def test_reads_trial(tmp_path):
    r = load_regdb(_tree(tmp_path), trial=1)
    assert r.num_train_ids == 2 and {x.pid for x in r.train} == {0, 1}
    assert {x.pid for x in r.test_visible} == {20, 21} and all(x.modality == "rgb" for x in r.test_visible)
    assert all(x.modality == "ir" and x.camid == 2 for x in r.test_thermal) and len(r.test_thermal) == 4


def test_errors(tmp_path):
    root = _tree(tmp_path)
    with pytest.raises(DatasetError, match="train_visible_2.txt"):
        load_regdb(root, trial=2)
    (root / "idx" / "test_thermal_1.txt").write_text("Thermal/20/0.bmp\n")
    with pytest.raises(DatasetError, match="line 1 of .*test_thermal_1.txt"):
        load_regdb(root, trial=1)
    with pytest.raises(ValueError, match="1..10"):
        load_regdb(root, trial=11)
