"""The paper's Tables I-III as constants, and ours printed beside them."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from tsgan_lib.eval import TABLE_I, TABLE_II, TABLE_III, compare_with_paper, paper_table
from tsgan_lib.eval.tables import setting_means

PAPER = Path(__file__).resolve().parents[1].parent / "shared" / "paper" / "ts-gan-paper.txt"


@pytest.fixture(scope="module")
def paper_lines():
    if not PAPER.exists():
        pytest.skip(f"{PAPER} is absent (the paper text is not shipped with the project)")
    return PAPER.read_text().splitlines()


def _numbers(lines, name):
    for line in lines:
        cells = line.split("\t")
        if cells[0].strip() == name:
            return [float(c) for c in cells[1:] if c.strip()]
    raise AssertionError(f"{name!r} not found in the paper text")


def test_table_i_transcribed(paper_lines):
    for method, values in TABLE_I.items():
        assert list(values) == _numbers(paper_lines, method), method
    assert TABLE_I["TS-GAN (w/ rerank)"][0] == 58.3 and TABLE_I["Dist.based[35]"][15] == 33.93


def test_tables_ii_and_iii_transcribed(paper_lines):
    names = {"Backbone": "Backbone", "TS-GAN_OD^singleTS": "TS-GAN _{OD} ^{singleTS}",
             "TS-GAN_OD^allTS": "TS-GAN _{OD} ^{allTS}", "TS-GAN_JD^allTS": "TS-GAN _{JD} ^{allTS}",
             "TS-GAN_JD^allTS + rerank": "TS-GAN _{JD} ^{allTS} _{rerank}"}
    for ours, theirs in names.items():
        assert list(TABLE_II[ours]) == _numbers(paper_lines, theirs)
    rows = [line.split("\t") for line in paper_lines if line.startswith("Baseline\tSYSU")]
    assert [(r[1], r[2], *map(float, r[3:])) for r in rows] == list(TABLE_III.values())


def _driver_like():
    rows = []
    for mode, shots in (("all", 1), ("all", 10), ("indoor", 1)):  # indoor multi-shot not run
        for rerank in (False, True):
            for trial, r1 in enumerate((50.0, 52.0)):
                rows.append({"mode": mode, "shots": shots, "trial": trial, "rerank": rerank,
                             "R1": r1 + 10 * rerank, "R10": 88.04, "R20": 94.0, "mAP": 47.25, "mINP": 30.0})
    return pd.DataFrame(rows)


def test_table_i_ours_beside_theirs(tmp_path, capsys):
    table = compare_with_paper(_driver_like(), "I", label="Ours", out=tmp_path / "table1")
    assert list(table.index.get_level_values("source")) == ["paper"] * 10 + ["ours"] * 2
    ours = table.loc["ours"]
    assert ours.loc["Ours (w/o rerank)", "All/Single R1"] == 51.0  # mean over trials
    assert ours.loc["Ours (w/ rerank)", "All/Multi R1"] == 61.0
    assert math.isnan(ours.loc["Ours (w/o rerank)", "Indoor/Multi mAP"])
    assert table.loc[("paper", "TS-GAN (w/o rerank)"), "Indoor/Single mAP"] == 63.1
    printed = capsys.readouterr().out
    md = (tmp_path / "table1.md").read_text()
    assert md.strip() in printed
    ours_line = next(line for line in md.splitlines() if "Ours (w/o rerank)" in line)
    assert "| 51.0 | 88.0 | 94.0 | 47.2 |" in ours_line and ours_line.rstrip().endswith("| – | – | – | – |")
    assert "| HOG | 2.76 | 18.3 | 32.0 | 4.24 |" in md
    csv = pd.read_csv(tmp_path / "table1.csv", index_col=[0, 1])
    assert csv.loc[("ours", "Ours (w/ rerank)"), "All/Single R1"] == 61.0


def test_tables_ii_iii_with_mappings():
    res = _driver_like()
    t2 = compare_with_paper({"Ours": setting_means(res, "all", 1, False),
                             "Ours + rerank": setting_means(res, "all", 1, True)}, "II", show=False)
    assert t2.loc[("ours", "Ours + rerank"), "R1"] == 61.0
    assert list(t2.columns) == ["R1", "R10", "R20", "mAP"]
    t3 = compare_with_paper({"Ours (IR)": {"Trainset": "SYSU-IR", "Testset": "SYSU-IR", "R1": 97.0,
                                           "R10": 98.0, "mAP": 96.0}}, "III", show=False)
    assert t3.loc[("paper", "Baseline (RGB)"), "mAP"] == 98.5
    assert t3.loc[("ours", "Ours (IR)"), "R1"] == 97.0
    with pytest.raises(ValueError, match="which"):
        paper_table("IV")
    with pytest.raises(ValueError, match="mode='indoor', shots=10"):
        setting_means(res, "indoor", 10)
