"""The dataset verifier: a damaged copy of a small stand-in is reported
exactly, a clean copy not at all; the command line; the cheap pre-run check."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tsgan_lib.cli import main as tsgan
from tsgan_lib.data import DatasetError, load_sysu, make_synthetic_sysu
from tsgan_lib.data.verify import Problem, check_structure, damage_copy, detect_kind, verify_dataset


def main(argv: list[str]) -> int:
    """``tsgan verify ARGV...``: the project's command line."""
    return tsgan(["verify", *argv])

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def standin(tmp_path_factory) -> Path:
    return make_synthetic_sysu(tmp_path_factory.mktemp("verify") / "syn", num_ids=12, height=64, width=32)


@pytest.fixture(scope="module")
def damaged(standin, tmp_path_factory):
    dst = tmp_path_factory.mktemp("damaged") / "copy"
    return dst, damage_copy(standin, dst, seed=0)


def test_clean_copy_has_no_problems(standin, capsys):
    assert verify_dataset(standin, workers=0, progress=False) == []
    assert main([str(standin), "--workers", "0", "--no-progress"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("0 error(s), 0 warning(s)")
    assert check_structure(standin) == "sysu"


def test_damage_copy_did_what_it_says(standin, damaged):
    dst, damages = damaged
    by = {d.expect.split()[0]: Path(d.path) for d in damages}
    src_of = lambda p: standin / p.relative_to(dst)  # noqa: E731
    assert 0 < by["truncated"].stat().st_size < src_of(by["truncated"]).stat().st_size
    assert by["empty"].stat().st_size == 0
    assert by["not"].read_bytes().startswith(b"<!DOCTYPE html>")
    ir = np.asarray(Image.open(by["colour"]).convert("RGB")).astype(int)
    assert by["colour"].parts[-3] in ("cam3", "cam6") and np.abs(ir[..., 0] - ir[..., 2]).max() > 100
    assert Image.open(by["mode"]).mode == "RGBA" and by["ignored"].suffix == ".txt"
    assert not (dst / "cam2").exists() and (standin / "cam2").is_dir()
    gone = int(next(d for d in damages if d.expect.startswith("lists")).expect.split()[-1])
    assert gone in load_sysu(standin).test_ids and not list(dst.glob(f"cam*/{gone:04d}"))
    assert len(damages) == 8 and len({d.path for d in damages}) == 8


@pytest.mark.parametrize("workers", [0, 2])
def test_damaged_copy_reports_exactly_the_damage(damaged, workers):
    dst, damages = damaged
    problems = verify_dataset(dst, workers=workers, progress=False)
    assert sorted((p.path, p.severity) for p in problems) == sorted((d.path, d.severity) for d in damages)
    for d in damages:
        (p,) = [p for p in problems if p.path == d.path]
        assert d.expect in p.message, (d, p)
        assert p.severity == "warning" or "expected" in p.message, p
    assert [p.severity for p in problems] == sorted(p.severity for p in problems)  # errors first


@pytest.mark.slow
def test_cli_prints_the_problems_path_first_and_exits_1(damaged):
    dst, damages = damaged
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    res = subprocess.run([sys.executable, "-m", "tsgan_lib", "verify", str(dst), "--workers", "0"],
                         capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 1, res.stderr
    lines = res.stdout.strip().splitlines()
    assert len(lines) == len(damages) + 1
    for d in damages:
        assert sum(line.startswith(f"{d.path}: {d.severity}: ") for line in lines) == 1
    assert lines[-1].startswith("6 error(s), 2 warning(s) in ")
    assert "verify sysu" in res.stderr  # the progress bar


def test_cli_help_strict_and_arguments(standin, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0 and "--workers" in capsys.readouterr().out
    with pytest.raises(SystemExit) as e:
        main([str(standin), "--kind", "coco"])
    assert e.value.code == 2
    assert main([str(standin), "--workers", "-1"]) == 2
    copy = tmp_path / "copy"
    shutil.copytree(standin, copy)
    (copy / "cam1" / "notes.txt").write_text("hello")
    assert main([str(copy), "--workers", "0", "--no-progress"]) == 0  # a warning only
    assert main([str(copy), "--workers", "0", "--no-progress", "--strict"]) == 1
    out = capsys.readouterr().out
    assert f"{copy / 'cam1' / 'notes.txt'}: warning: 1 entry" in out
    assert main([str(tmp_path / "nowhere"), "--no-progress"]) == 1
    assert "does not exist" in capsys.readouterr().out


def test_report_counts_images_and_kind(standin):
    r = verify_dataset(standin, workers=0, progress=False)
    assert r.kind == "sysu" and r.num_images == sum(1 for _ in standin.glob("cam*/*/*.jpg")) and r == []
    with pytest.raises(ValueError, match="kind must be one of"):
        verify_dataset(standin, kind="market")
    with pytest.raises(ValueError, match="workers must be None"):
        verify_dataset(standin, workers=-2)


def test_unlisted_id_and_missing_root(standin, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(standin, copy)
    test_ids = (copy / "exp" / "test_id.txt").read_text().strip().split(",")
    (copy / "exp" / "test_id.txt").write_text(",".join(test_ids[1:]))
    (p,) = verify_dataset(copy, workers=0, progress=False)
    assert p.severity == "warning" and f"person {int(test_ids[0]):04d} has images but is in no split file" in p.message
    assert Path(p.path).name == f"{int(test_ids[0]):04d}"
    assert verify_dataset(tmp_path / "nowhere", progress=False) == [
        Problem(str(tmp_path / "nowhere"),
                "dataset root does not exist or is not a folder: expected a SYSU-MM01 tree (cam1..cam6/, exp/), a "
                "RegDB tree (Visible/, Thermal/, idx/) or an LLCM tree (idx/, vis/, nir/, test_vis/, test_nir/)")]


def test_check_structure_raises_on_the_first_error(standin, damaged, tmp_path):
    dst, _ = damaged
    with pytest.raises(DatasetError, match="cam2: missing camera folder"):
        check_structure(dst)
    copy = tmp_path / "copy"
    shutil.copytree(standin, copy)
    zero = sorted(copy.glob("cam6/*/*.jpg"))[3]
    zero.write_bytes(b"")
    with pytest.raises(DatasetError, match=f"{zero}: image file is empty"):
        check_structure(copy, "sysu")
    (tmp_path / "neither").mkdir()
    with pytest.raises(DatasetError, match="cannot tell the dataset kind"):
        check_structure(tmp_path / "neither")
    with pytest.raises(ValueError, match="kind must be one of"):
        check_structure(copy, "SYSU")


def _regdb(root: Path) -> Path:
    grey = np.tile(np.arange(0, 256, 8, dtype=np.uint8), (64, 1))
    colour = np.dstack([grey, grey[::-1], np.full_like(grey, 128)])
    for folder, mod, arr in (("Visible", "visible", colour), ("Thermal", "thermal", grey)):
        for t in range(1, 11):
            for split, pids in (("train", (1, 2)), ("test", (3, 4))):
                lines = []
                for pid in pids:
                    d = root / folder / str(pid)
                    d.mkdir(parents=True, exist_ok=True)
                    Image.fromarray(arr).save(d / "0.bmp")
                    lines.append(f"{folder}/{pid}/0.bmp {pid}")
                (root / "idx").mkdir(exist_ok=True)
                (root / "idx" / f"{split}_{mod}_{t}.txt").write_text("\n".join(lines) + "\n")
    return root


def test_regdb_verification(tmp_path):
    root = _regdb(tmp_path / "regdb")
    assert detect_kind(root) == "regdb" and check_structure(root) == "regdb"
    assert verify_dataset(root, workers=0, progress=False) == []
    visible = np.asarray(Image.open(root / "Visible" / "1" / "0.bmp"))
    Image.fromarray(visible).save(root / "Thermal" / "3" / "0.bmp")  # a visible image among the thermal ones
    (root / "Visible" / "2" / "0.bmp").unlink()
    (root / "idx" / "test_visible_7.txt").write_text("Visible/3/0.bmp\n")
    problems = verify_dataset(root, kind="regdb", workers=0, progress=False)
    got = {(Path(p.path).relative_to(root).as_posix(), p.message.split(":")[0].split(" (")[0]) for p in problems}
    assert got == {("Thermal/3/0.bmp", "colour image in an IR camera"),
                   ("idx/test_visible_7.txt", "malformed line 1 of test_visible_7.txt")} | {
        ("Visible/2/0.bmp", f"image named by line 2 of {root / 'idx' / f'train_visible_{t}.txt'} does not exist")
        for t in range(1, 11)}
    assert len(problems) == 12
    with pytest.raises(DatasetError, match="Visible/2/0.bmp: image named by line 2 of .*train_visible_1.txt"):
        check_structure(root)
