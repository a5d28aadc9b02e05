"""Notebook 00's tables, helpers and sentences, on hand-made records and numbers."""

from __future__ import annotations

import pandas as pd
import pytest

from tsgan_lib.data.records import Record
from tsgan_lib.data.verify import Damage, Problem
from tsgan_lib.report.data_story import (CAMERA_LOCATIONS, batch_text, camera_table, correlation_text, damage_table,
                                         gap_datasets, gap_records, gap_text, problem_table, regdb_text,
                                         separation_table, verify_text, walk, walk_grid, with_regdb_chance)


def _rec(pid: int, cam: int, name: str, root: str = "/data") -> Record:
    return Record(f"{root}/{name}.jpg", pid, cam, "ir" if cam in (3, 6) else "rgb")


def test_the_camera_table_counts_images_and_test_identities_per_camera():
    train = [_rec(1, 1, "a"), _rec(1, 3, "b"), _rec(1, 3, "c")]
    test = [_rec(7, 6, "d"), _rec(8, 6, "e"), _rec(7, 4, "f")]
    cams = camera_table(train + test, test)
    assert list(cams.index) == [1, 2, 3, 4, 5, 6]
    assert list(cams["modality"]) == ["RGB", "RGB", "IR (near-infrared)", "RGB", "RGB", "IR (near-infrared)"]
    assert cams.loc[3, "location"] == "indoor room 2 (dark)" == CAMERA_LOCATIONS[3]
    assert list(cams["images"]) == [1, 0, 2, 1, 0, 2]
    assert list(cams["test ids seen"]) == [0, 0, 0, 1, 0, 2]


def test_the_correlation_sentence_states_the_means_and_grades_them():
    corr = pd.DataFrame({"nir": [0.2, 0.4], "thermal": [0.0, 0.1]})
    text = correlation_text(corr)
    assert text.startswith("Over 2 people the mean correlation is **0.30** for NIR and **0.05** for thermal")
    assert "a NIR image keeps some of the visible" in text and "a wide spread, 0.14" in text
    assert "a thermal image almost none. Neither keeps colour." in text
    text = correlation_text(pd.DataFrame({"nir": [0.1, 0.1], "thermal": [-0.3, -0.1]}))
    assert "keeps a little of the visible" in text and "a thermal image little." in text


def test_a_walk_is_one_person_s_images_in_file_order(tmp_path):
    files = [tmp_path / n for n in ("p1_03.jpg", "p1_01.jpg", "p2_00.jpg", "p1_02.jpg")]
    for f in files:
        f.write_bytes(b"")
    records = [Record(str(f), int(f.name[1]), 1, "rgb") for f in files]
    assert [r.path for r in walk(records, 1)] == [str(tmp_path / f"p1_0{i}.jpg") for i in (1, 2, 3)]
    assert [r.path for r in walk(records, 2)] == [str(tmp_path / "p2_00.jpg")]
    assert walk(records, 9) == []


def test_the_walk_grid_alternates_visible_and_thermal_and_stops_at_the_last_image():
    vis = [Record(f"/v/{p}_{i}.jpg", p, 1, "rgb") for p in (1, 2) for i in range(3)]
    th = [Record(f"/t/{p}_{i}.jpg", p, 2, "ir") for p in (1, 2) for i in range(6)]
    grid = walk_grid(vis, th, [2, 1], images=(0, 5))
    assert [[r.path for r in row] for row in grid] == [
        ["/v/2_0.jpg", "/t/2_0.jpg", "/v/2_2.jpg", "/t/2_5.jpg"],
        ["/v/1_0.jpg", "/t/1_0.jpg", "/v/1_2.jpg", "/t/1_5.jpg"]]


def test_the_regdb_chance_levels_stand_beside_the_results_in_percent():
    vis = [Record(f"/v/{p}_{i}.jpg", p, 1, "rgb") for p in (1, 2) for i in range(2)]
    th = [Record(f"/t/{p}.jpg", p, 2, "ir") for p in (1, 2, 3, 4)]
    res = pd.DataFrame({"direction": ["visible->thermal", "thermal->visible"], "R1": [40.0, 30.0]})
    res = res.set_index("direction")
    out = with_regdb_chance(res, vis, th)
    assert "chance R1" not in res  # the input is left as it is
    # visible->thermal: one true match among 4 thermal images; thermal->visible: 2 of 4 for ids 1 and 2, none beyond
    assert out.loc["visible->thermal", "chance R1"] == pytest.approx(25.0)
    assert out.loc["visible->thermal", "chance mAP"] == pytest.approx(100 * (1 + 1 / 2 + 1 / 3 + 1 / 4) / 4)
    assert out.loc["thermal->visible", "chance R1"] == pytest.approx(50.0)
    assert list(out["R1"]) == [40.0, 30.0]


def test_the_regdb_sentence_compares_both_directions_with_chance():
    res = pd.DataFrame({"R1": [10.2, 5.2], "chance R1": [0.5, 0.5]}, index=["visible->thermal", "thermal->visible"])
    text = regdb_text(res)
    assert text.startswith("Without any learning, visible→thermal Rank-1 is **10.2%** and thermal→visible **5.2%**")
    assert "against a chance level of 0.5% (20.4× and 10.4× chance)" in text
    assert "each query ranks a different gallery" in text and text.endswith("image for image.")


def test_the_batch_lines_give_shapes_labels_and_steps():
    train = [_rec(1, 1, "a"), _rec(1, 2, "b"), _rec(1, 3, "c"), _rec(2, 4, "d")]
    text = batch_text((4, 3, 8, 4), [4, 3, 8, 4], [0, 0, 1, 1], 2, train, 2)
    assert text == ("batch: x_rgb (4, 3, 8, 4), x_ir (4, 3, 8, 4), labels [0, 0, 1, 1]\n"
                    "2 steps per epoch (3 RGB training images / 2)")


def test_the_gap_datasets_name_the_stand_in_or_the_real_copy():
    a, b, c = [_rec(1, 1, "a")], [_rec(1, 3, "b")], [_rec(2, 1, "c")]
    sets = gap_datasets(a, b, c)
    assert list(sets) == ["SYSU NIR", "SYSU thermal", "RegDB thermal"]
    assert sets["SYSU NIR"] == ("SYSU-MM01 stand-in, NIR cameras", a)
    assert sets["RegDB thermal"] == ("RegDB stand-in, trial 1 test split", c)
    real = gap_datasets(a, b, c, synthetic=False)
    assert list(real)[0] == "SYSU-MM01" and real["SYSU-MM01"][0] == "your SYSU-MM01"


def test_gap_records_keeps_small_sets_and_takes_a_seeded_ordered_subset_of_large_ones(tmp_path, capsys):
    records = []
    for i in range(10):
        (tmp_path / f"{i:02d}.jpg").write_bytes(b"")
        records.append(Record(str(tmp_path / f"{i:02d}.jpg"), i, 1, "rgb"))
    assert gap_records(records, "small", 10) == records and capsys.readouterr().out == ""
    sub = gap_records(records, "big", 4, seed=0)
    assert capsys.readouterr().out == "big: a seeded subset of 4 of 10 test images\n"
    assert len(sub) == 4 and len(set(sub)) == 4 and sub == sorted(sub, key=lambda r: r.path)
    assert gap_records(records, "big", 4, seed=0) == sub
    assert any(gap_records(records, "big", 4, seed=s) != sub for s in range(1, 5))


def _sep(nir_x: float, th_x: float) -> pd.DataFrame:
    pairs = ["RGB-RGB", "IR-IR", "IR-RGB"]
    gaps = {"SYSU NIR": pd.DataFrame({"pairs": pairs, "separation": [1.21, 0.83, nir_x]}).set_index("pairs"),
            "SYSU thermal": pd.DataFrame({"pairs": pairs, "separation": [1.21, 0.64, th_x]}).set_index("pairs"),
            "RegDB thermal": pd.DataFrame({"pairs": pairs, "separation": [0.9, 0.7, 0.12]}).set_index("pairs")}
    sets = gap_datasets([], [], [])
    return separation_table(gaps, sets)


def test_the_separation_table_has_a_row_per_dataset_with_its_description():
    sep = _sep(0.05, 0.02)
    assert list(sep.index) == ["SYSU NIR", "SYSU thermal", "RegDB thermal"]
    assert list(sep.columns) == ["data", "RGB-RGB", "IR-IR", "IR-RGB"]
    assert sep.loc["SYSU thermal", "data"] == "the same people and poses through thermal cameras"
    assert sep.loc["RegDB thermal", "IR-RGB"] == 0.12


def test_the_gap_sentence_gives_the_separations_and_says_whether_nir_keeps_more():
    text = gap_text(_sep(0.05, 0.02), "SYSU NIR", "SYSU thermal")
    assert text.startswith("Within RGB the separation is **1.21**; within IR it is **0.83** for NIR and **0.64**")
    assert "drops to **0.05** with NIR cameras and **0.02** with thermal ones" in text
    assert "(NIR keeps a little more of the visible pattern, as section 2 measured)" in text
    assert "the cross separation is 0.12" in text
    text = gap_text(_sep(0.01, 0.03), "SYSU NIR", "SYSU thermal")
    assert "(here NIR does not keep more of it than thermal)" in text


def test_the_damage_and_problem_tables_give_paths_relative_to_the_copy(tmp_path):
    damages = [Damage(str(tmp_path / "cam1" / "0001" / "0001.jpg"), "truncated", "error", "cannot be decoded")]
    problems = [Problem(str(tmp_path / "cam1" / "0001" / "0001.jpg"), "cannot be decoded"),
                Problem(str(tmp_path / "exp"), "odd", "warning")]
    assert damage_table(damages, tmp_path).to_dict("records") == [
        {"what was done": "truncated", "file or folder": "cam1/0001/0001.jpg"}]
    assert problem_table(problems, tmp_path).to_dict("records") == [
        {"severity": "error", "path": "cam1/0001/0001.jpg", "problem": "cannot be decoded"},
        {"severity": "warning", "path": "exp", "problem": "odd"}]


def test_the_verify_sentence_counts_errors_warnings_and_damages():
    text = verify_text(3.14159, 6, 2, 8)
    assert text.startswith("The check took 3.1 s and found **6 errors and 2 warnings**: each of the 8 damages")
    assert "(the command exits with status 1)" in text and text.endswith("has no problem at all.")
