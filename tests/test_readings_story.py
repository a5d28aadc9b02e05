"""Notebook 06's sentences around the readings table, on hand-made records and numbers."""

from __future__ import annotations

import pandas as pd

from tsgan_lib.report.readings_story import (first_reading_note, fmap_shares, live_probe_text, probe_text,
                                             seed_counts, seed_texts)


def _runs(rows: dict[tuple[str, str], int]) -> pd.DataFrame:
    """One record per run: (variant, reading) -> that many seeds, 0..n-1."""
    return pd.DataFrame([{"variant": v, "reading": r, "seed": s} for (v, r), n in rows.items() for s in range(n)])


def test_a_reading_counts_the_fewest_seeds_of_its_rows():
    df = _runs({("jd_all_ts", "default"): 6, ("backbone", "default"): 5, ("jd_all_ts", "ts_mean"): 5,
                ("jd_all_ts", "lambda_id_1"): 5, ("backbone", "lambda_id_1"): 3})
    assert seed_counts(df) == {"default": 5, "lambda_id_1": 3, "ts_mean": 5}


def test_the_seed_sentences_count_runs_rows_and_seeds_and_name_the_readings_without_a_claim():
    df = _runs({("jd_all_ts", "default"): 6, ("backbone", "default"): 5, ("jd_all_ts", "first_reading"): 4,
                ("jd_all_ts", "no_pool"): 2})
    texts = seed_texts(df)
    assert texts == ["17 runs: 4 rows × seeds 0, 1, 2, 3, 4, 5.",
                     "Rows on fewer than 5 seeds are shown but carry no claim: `first_reading` (4), `no_pool` (2)."]
    assert seed_texts(_runs({("jd_all_ts", "default"): 5})) == ["5 runs: 1 rows × seeds 0, 1, 2, 3, 4."]


def test_the_first_reading_note_appears_only_below_five_seeds():
    note = first_reading_note(4)
    assert note.startswith("The first reading stands on 4 seeds here, so its line is orientation, not a claim")
    assert "95 % CI [-5.1, -0.2]) is in the repository's history." in note
    assert first_reading_note(0).startswith("The first reading stands on 0 seeds")
    assert first_reading_note(5) == "" and first_reading_note(8) == ""


def test_the_fmap_shares_are_the_terms_at_f_map_in_percent():
    values = {"grad_share.fmap.reid_id": 0.9, "grad_share.fmap.ts": 0.0002, "grad_share.fmap_reid.ir_fake": 0.3,
              "fake_ir.teacher_acc": 0.01}
    shares = fmap_shares(values)
    assert shares.keys() == {"reid_id", "ts"}
    assert shares["reid_id"] == 90.0 and abs(shares["ts"] - 0.02) < 1e-12


def test_the_live_probe_sentence_gives_the_map_size_and_both_reductions():
    live = pd.DataFrame({"mean": [99.9, 0.0123], "sum": [60.0, 34.56]}, index=["reid_id", "ts"])
    text = live_probe_text(live, 2048)
    assert text.startswith("One map holds 2,048 elements here (256 channels × 4 × 2 at 64×32; 165,888 for ResNet-50")
    assert "the three TS terms carry **0.012 %** of the gradient at f_map,S" in text
    assert "summed per image as the equations write, **34.6 %**" in text
    assert text.endswith("the teacher would not act at all.")


def test_the_probe_sentence_states_the_default_full_model_s_probes():
    text = probe_text({"ts_share": 12.34, "teacher_acc": 1.25, "d_rejects_g": 97.6}, 5, 100 / 120)
    assert text.startswith("**What the probes of the default full model say** (means over its 5 runs).")
    assert "The teacher-student terms carry 12.3 % of the gradient at the student's middle map" in text
    assert "recognises only 1.2 % of the generated images X_I' as their source's person (chance 0.8 %;" in text
    assert "And D_I rejects 98 % of the generator's pairs (X_I', FE_T(X_I'))" in text
    assert "`docs/results/study_generator.json`" in text
