"""Notebook 05's sentences and small tables, generated from hand-made numbers: each states the numbers and
takes the branch they call for."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from tsgan_lib.data.records import Record
from tsgan_lib.report.comparison import comparison_table, comparison_text, load_comparison
from tsgan_lib.report.eval_story import (ablation_header, camera_pair_table, chance_table, chance_text,
                                         comparison_section, distance_ratio_text, distance_ratios, gap_text,
                                         hubs_text, metric_versions_table, multishot_text, neighbour_pool,
                                         protocol_table, regdb_text, regdb_trial_table, rerank_text,
                                         rerank_toy_text, seed_range_text, sensor_table, sensor_text,
                                         separation_table, table2_markdown, unit_rows, worst_query_text)
from tsgan_lib.report.vocab import VARIANT_NAMES
from tsgan_lib.utils import resolve_path


def summary(r1, mAP, r1_std=0.0):
    """A Table I summary indexed by (mode, shots, rerank); ``r1``/``mAP``: (mode, shots, rerank) -> value."""
    index = pd.MultiIndex.from_tuples(list(r1), names=["mode", "shots", "rerank"])
    return pd.DataFrame({"R1_mean": list(r1.values()), "mAP_mean": [mAP[k] for k in r1],
                         "R1_std": r1_std}, index=index)


PLAIN = {("all", 1, False): 20.0, ("all", 10, False): 25.0, ("indoor", 1, False): 30.0,
         ("indoor", 10, False): 32.0}
PLAIN_MAP = {("all", 1, False): 18.0, ("all", 10, False): 15.0, ("indoor", 1, False): 28.0,
             ("indoor", 10, False): 26.0}


def test_the_three_evaluations_of_the_worked_example_stand_side_by_side():
    ref = {"cmc": [0, 1], "mAP": 0.37, "mINP": 0.4}
    table = metric_versions_table(ref, {**ref, "mAP": 0.5}, {**ref, "cmc": [0, 0]})
    assert list(table.columns) == ["reference (literal)", "fast (evaluate_sysu)", "ordinary CMC (rank_metrics)"]
    assert table.loc["mAP", "fast (evaluate_sysu)"] == 0.5 and table.loc["mINP", "reference (literal)"] == 0.4
    assert table.loc["CMC k=1..5", "ordinary CMC (rank_metrics)"] == [0, 0]


def test_chance_table_gives_each_setting_its_gallery_and_chance():
    test = [Record(f"/x/{pid}_{cam}_{i}.jpg", pid, cam, "ir" if cam in (3, 6) else "rgb")
            for pid in (1, 2, 3) for cam in (1, 2, 3, 4, 5, 6) for i in range(2)]
    table = chance_table(test)
    assert list(table.index) == ["all-search, single-shot", "all-search, multi-shot", "indoor, single-shot",
                                 "indoor, multi-shot"]
    row = table.iloc[0]
    assert row["gallery images"] == 12 and row["gallery identities"] == 3 and row["queries (valid)"] == 12
    assert table.iloc[1]["gallery images"] == 24  # multi-shot: both images of each (person, camera)
    assert np.allclose(table["R1"], 100 / 3)  # three people, equally many images each: one in three comes first
    assert np.allclose(table["R20"].astype(float), 100)
    assert table.loc["indoor, single-shot", "gallery images"] == 6  # cameras 1 and 2 only


def test_chance_text_sets_the_first_draw_beside_the_mean_over_draws():
    table = pd.DataFrame({"R1": [12.34], "R20": [99.6], "mAP": [15.0], "gallery identities": [8.0]},
                         index=["all-search, single-shot"])
    text = chance_text(table, {"trials": 10, "chance": {"all_single": {"R1": 10.0, "mAP": 14.25}}})
    assert "chance Rank-1 is 12.3 % on the first draw and 10.0 % averaged over the 10 draws" in text
    assert "chance mAP 15.0 % / 14.2 %" in text
    assert "A gallery of 8 identities puts chance Rank-1 near 1/8 = 12.5 %" in text
    assert "chance Rank-20 at 100 %: on a small gallery" in text


def test_rerank_toy_text_follows_the_nearest_image_the_true_matches_and_the_one_way_neighbours():
    rr = pd.DataFrame({"pid": [7, 7, 1, 7, 1], "match": [False, False, True, False, True],
                       "rank": [1, 2, 3, 4, 5], "new_rank": [4, 3, 1, 5, 2],
                       "in_knn": [True, True, True, False, False], "reciprocal": [False, False, True, False, False],
                       "jaccard": [1.0, 1.0, 0.2, 1.0, 0.5]})
    text = rerank_toy_text(rr)
    assert text.startswith("The nearest image belongs to identity 7, a one-way neighbour")
    assert "Jaccard distance to the query is 1.00" in text and "drops from rank 1 to 4" in text
    assert "true matches move from ranks 3, 5 to 1, 2" in text
    assert "All 2 one-way neighbours move down (ranks 1, 2 → 4, 3)." in text


def test_multishot_text_explains_a_fixed_gallery_a_rank1_rise_and_an_map_fall():
    text = multishot_text(summary(PLAIN, PLAIN_MAP, 0.0), pd.Series([4, 10, 5]), 48, 10)
    assert "(identity, RGB camera) holds 4-10 images, never more than 10" in text
    assert "the 10 draws give the same gallery (48 images in all-search), hence a standard deviation of 0.0" in text
    assert "all-search Rank-1 changes by +5.0 points and mAP by -3.0 (indoor: +2.0 and -2.0)" in text
    assert "Rank-1 rises because" in text and "mAP falls because" in text
    assert text.endswith("mAP 38.5 vs 47.4.")


def test_multishot_text_says_when_galleries_differ_and_the_pattern_does_not_hold():
    r1 = {**PLAIN, ("all", 10, False): 18.0}
    mAP = {**PLAIN_MAP, ("all", 10, False): 19.0}
    text = multishot_text(summary(r1, mAP), pd.Series([4, 12]), 60, 10)
    assert "holds 4-12 images, so multi-shot galleries differ between draws" in text and "never more" not in text
    assert "Rank-1 does not rise here" in text and "mAP does not fall here" in text


def test_neighbour_pool_counts_how_many_of_a_querys_neighbours_are_gallery_images():
    q = torch.tensor([[0.0, 0.0], [0.1, 0.0], [0.0, 0.1], [0.1, 0.1]])
    apart = neighbour_pool(q, q + 10, [1, 1, 2, 3], k1=3)  # the modalities far apart: queries see only queries
    assert apart == {"queries": 4, "gallery": 4, "gallery_ids": 3, "k1": 3, "rgb_share": 0.0,
                     "pool_share": pytest.approx(4 / 7)}
    together = neighbour_pool(q, q + 0.001, [1, 2, 3, 4], k1=1)  # each query's nearest is its gallery twin
    assert together["rgb_share"] == 1.0


def test_rerank_text_gives_each_settings_change_the_pool_and_the_sweep_against_the_spread():
    r1 = {**PLAIN, **{(m, sh, True): v + 1.5 for (m, sh, _), v in PLAIN.items()}}
    mAP = {**PLAIN_MAP, **{(m, sh, True): v - 0.5 for (m, sh, _), v in PLAIN_MAP.items()}}
    pool = {"queries": 40, "gallery": 60, "gallery_ids": 20, "k1": 20, "rgb_share": 0.125, "pool_share": 60 / 99}
    text = rerank_text(summary(r1, mAP, 2.0), pool, {4: -1.0, 8: 1.5, 20: -3.0})
    assert "changes Rank-1 by +1.5 (all-search, single-shot), +1.5 (all-search, multi-shot)" in text
    assert "all-search single-shot mAP by -0.5" in text
    assert "(40 IR queries and 60 RGB images of 20 people here, about 3.0 images per person)" in text
    assert "only 12.5% are RGB gallery images, although they make up 61% of it" in text
    assert "k1 = 4: -1.0, k1 = 8: +1.5, k1 = 20: -3.0 Rank-1 points; the best, k1 = 8, stays within the spread of " \
           "the draws (2.0 points)." in text
    assert "helps beyond" not in text
    beyond = rerank_text(summary(r1, mAP, 0.5), pool, {4: -1.0, 8: 1.5})
    assert beyond.endswith("the best, k1 = 8, helps beyond the spread of the draws.")


ABLATION = pd.DataFrame({"variant": ["backbone", "backbone", "jd_all_ts", "jd_all_ts"], "seed": [1, 0, 1, 0],
                         "all_single.R1": [10.0, 14.0, 12.0, 16.0], "all_single.mAP": [9.0, 11.0, 10.0, 12.0],
                         "chance_R1": [2.0, 2.0, 2.0, 2.0], "train_seconds": [60.0, 60.0, 120.0, 120.0],
                         "teacher_seconds": [np.nan, np.nan, 60.0, 60.0], "eval_seconds": [30.0] * 4})


def test_ablation_header_names_the_source_the_runs_and_their_compute():
    text = ablation_header("thermal", "local runs in `runs/x`", ABLATION)
    assert text.startswith("### Thermal IR cameras: local runs in `runs/x`\n\n4 runs: 2 rows × seeds 0, 1;")
    assert "they took 10 min of compute in all (2.5 min per run" in text


def test_table2_puts_the_ablation_means_beside_the_papers_rows():
    text = table2_markdown(ABLATION, "near-infrared")
    assert text.startswith("**Table II** beside the paper's: our rows are the near-infrared ablation's means")
    ours = [line for line in text.splitlines() if line.startswith(f"| **{VARIANT_NAMES['jd_all_ts']}**")]
    assert len(ours) == 1 and "14.0" in ours[0] and "11.0" in ours[0]  # means over the two seeds
    assert "49.8" in text  # the paper's TS-GAN_JD^allTS Rank-1


def test_seed_range_text_says_whether_the_run_lies_in_the_seeds_range():
    inside = seed_range_text(ABLATION, "jd_all_ts", "runs/demo", 17.5)
    assert f"(runs/demo) reaches all-search Rank-1 17.5 in Table I; the ablation's {VARIANT_NAMES['jd_all_ts']} " \
           "row ranges 12.0-16.0 over its seeds. This run lies within 2 points of that range." in inside
    assert "every table here stands on several seeds." in inside
    outside = seed_range_text(ABLATION, "backbone", "runs/demo", 20.0)
    assert "ranges 10.0-14.0" in outside and "more than 2 points outside that range" in outside
    assert seed_range_text(ABLATION, "od_all_ts", "runs/demo", 20.0) is None


def test_sensor_text_tells_the_thermal_gap_and_flags_an_old_committed_table():
    thermal = ABLATION.assign(**{"all_single.R1": ABLATION["all_single.R1"] - 3, "chance_R1": 1.5})
    ablations = {"near-infrared": ABLATION, "thermal": thermal}
    table = sensor_table(ablations)
    assert table.loc[VARIANT_NAMES["backbone"], "thermal"] == 9.0 and table[["thermal"]].isna().sum().item() == 2
    text = sensor_text(ablations, {"thermal": "local runs in `x`"})
    assert text.startswith("With thermal IR cameras the rows' all-search Rank-1 is 3.0 points lower on average")
    assert "(chance: 1.5 vs 2.0 %)" in text and "predates" not in text
    higher = sensor_text({"near-infrared": thermal, "thermal": ABLATION}, {"thermal": "the committed `t.json`"})
    assert "3.0 points higher" in higher and "The committed thermal table predates" in higher
    assert sensor_text({"near-infrared": ABLATION}, {}).startswith("No thermal ablation yet")


REGDB = {"trials": [1, 2], "metrics": {"visible->thermal": {"R1": 8.0, "mAP": 6.0, "mINP": 3.0}},
         "metrics_std": {"visible->thermal": {"R1": 1.25, "mAP": 0.5, "mINP": 0.2}}}
TRIALS = [{"variant": "backbone", "train_seconds": 50.0, "teacher_seconds": 10.0,
           "chance": {"visible->thermal": {"R1": 1.0, "mAP": 2.0}},
           "metrics": {"visible->thermal": {"R1": 9.0, "mAP": 7.0}},
           "untrained": {"visible->thermal": {"R1": 2.0, "mAP": 1.0}}},
          {"variant": "backbone", "train_seconds": 70.0,
           "chance": {"visible->thermal": {"R1": 3.0, "mAP": 4.0}},
           "metrics": {"visible->thermal": {"R1": 7.0, "mAP": 5.0}},
           "untrained": {"visible->thermal": {"R1": 1.0, "mAP": 2.0}}}]


def test_protocol_table_sets_sysu_and_regdb_side_by_side_with_their_chance():
    table = protocol_table(summary(PLAIN, PLAIN_MAP, 1.5).assign(mINP_mean=5.0), "jd_all_ts",
                           {"R1": 2.5, "mAP": 3.5}, 48, REGDB, TRIALS, 206)
    sysu = f"SYSU-MM01 stand-in, IR→RGB all-search single-shot ({VARIANT_NAMES['jd_all_ts']})"
    regdb = f"RegDB stand-in, visible->thermal ({VARIANT_NAMES['backbone']}, 2 trials)"
    assert list(table.index) == [sysu, regdb]
    assert table.loc[sysu, ["R1", "mAP", "mINP", "± (over draws)", "chance R1", "test ids"]].tolist() == \
        [20.0, 18.0, 5.0, 1.5, 2.5, 48]
    assert table.loc[regdb, ["R1", "± (over trials)", "chance R1", "chance mAP", "test ids"]].tolist() == \
        [8.0, 1.25, 2.0, 3.0, 206]
    one = protocol_table(summary(PLAIN, PLAIN_MAP).assign(mINP_mean=5.0), "backbone", {"R1": 2.5, "mAP": 3.5}, 48,
                         {**REGDB, "trials": [1]}, TRIALS[:1], 206)
    assert one.index[1].endswith("(Backbone, 1 trial)")


def test_regdb_text_tells_time_spread_and_trained_against_untrained():
    per_trial = regdb_trial_table(REGDB, TRIALS)
    assert list(per_trial.index) == ["trial 1", "trial 2"]
    assert per_trial.loc["trial 2"].tolist() == [7.0, 1.0, 5.0, 2.0]
    text = regdb_text(REGDB, TRIALS, per_trial, 206)
    assert "(206 people × 10 images)" in text and "Each RegDB trial took 1.1 min to train here." in text
    assert "Across its 2 trials the visible→thermal Rank-1 has a standard deviation of 1.2 points" in text
    assert "visible→thermal mAP is 6.0 against 1.5 for its untrained initialisation" in text
    one = regdb_text({**REGDB, "trials": [1]}, TRIALS[:1], per_trial.iloc[:1], 206)
    assert "One trial gives no spread" in one and "standard deviation" not in one and "took 1.0 min" in one


def test_comparison_section_heads_the_table_and_its_sentences_with_the_dataset_and_file():
    file = "docs/results/comparison_sysu.json"
    dataset, df = load_comparison(resolve_path(file))
    text = comparison_section(df, dataset, file)
    assert text.startswith("### The SYSU-MM01 stand-in (`docs/results/comparison_sysu.json`)\n\n")
    assert text.endswith("\n\n" + comparison_text(df, dataset)) and comparison_table(df, dataset) in text


GALLERY = [Record("/g/1.jpg", 1, 1, "rgb"), Record("/g/2.jpg", 2, 2, "rgb"), Record("/g/3.jpg", 3, 4, "rgb")]
QUERY = [Record("/q/a.jpg", 1, 6, "ir"), Record("/q/b.jpg", 2, 6, "ir"), Record("/q/c.jpg", 3, 3, "ir")]


def test_camera_pair_table_divides_each_cameras_top_places_by_a_random_rankings():
    dist = np.array([[0.1, 0.5, 0.9], [0.2, 0.6, 0.8], [0.9, 0.1, 0.3]])  # camera 6 -> camera 1; camera 3 -> 4
    table = camera_pair_table(dist, QUERY, GALLERY, top_k=1)
    assert list(table.index) == ["camera-3 queries", "camera-6 queries"]
    assert table.loc["camera-6 queries"].tolist() == pytest.approx([3.0, 0.0, 0.0])  # 2 of 2 where 2/3 expected
    row3 = table.loc["camera-3 queries"]  # the location rule hides camera 2 from camera 3
    assert np.isnan(row3["gallery camera 2"]) and row3["gallery camera 4"] == pytest.approx(2.0)


def hubs_frame(in_top_k, camids):
    n = len(in_top_k)
    return pd.DataFrame({"in_top_k": in_top_k, "as_match": [1] + [0] * (n - 1), "expected": [2.0] * n,
                         "ratio": [k / 2.0 for k in in_top_k], "pid": range(100, 100 + n), "camid": camids,
                         "path": [f"/g/{i}.jpg" for i in range(n)]})  # gallery_hubs's columns


PAIRS = pd.DataFrame({"gallery camera 1": [0.5, 0.75], "gallery camera 4": [1.5, 2.5]},
                     index=["camera-3 queries", "camera-6 queries"])


def test_hubs_text_finds_a_hub_camera_that_both_ir_cameras_favour():
    hubs = hubs_frame([30] + [1] * 19, [4] * 6 + [1] * 14)
    text = hubs_text(hubs, PAIRS, 40, 10)
    assert text.startswith("The most frequent gallery image (identity 100, camera 4) is in the top 10 of 30 of the "
                           "40 queries, 15.0× what a random ranking gives, and a true match for 1 of them.")
    assert "The 1 most frequent images (5% of the gallery) take 61% of all top-10 places (a random ranking: 5%)" in text
    assert "camera 1's images appear 0.50×, camera 4's images appear 2.92× as often as at random" in text
    assert "the strongest pairing is camera-6 queries with gallery camera 4 (2.50×)" in text
    assert "6 of the 8 most frequent come from camera 4, whose scene is grey paving behind dark bars" in text
    assert "Both IR cameras' queries favour camera 4 (camera-3 queries: 1.50×, camera-6 queries: 2.50×)" in text
    assert text.endswith("true matches for few of the queries that rank them high.")
    one_ir = hubs_text(hubs, PAIRS.assign(**{"gallery camera 4": [0.9, 2.5]}), 40, 10)
    assert "Some images are clearly hubs" in one_ir and "Both IR cameras" not in one_ir


def test_hubs_text_says_so_when_the_top_places_spread_as_at_random():
    text = hubs_text(hubs_frame([2] * 20, [1, 4] * 10), PAIRS, 40, 10)
    assert text.endswith("The top places are spread over the gallery much as at random: no strong hubs in this run.")
    assert "clearly hubs" not in text


def test_worst_query_text_counts_successes_and_the_gallery_the_worst_query_sees():
    table = pd.DataFrame({"valid": [True, True, True, True, False], "first_rank_ids": [1, 1, 3, 9, 0],
                          "first_rank": [1, 1, 4, 30, 0], "AP": [100.0, 50.0, 8.0, 2.0, 0.0]})
    worst = pd.DataFrame({"pid": [5], "camid": [6], "first_rank": [30.0], "top1_pid": [8], "path": ["/q/5.jpg"]})
    cams = [1, 2, 2, 4, 5]
    text = worst_query_text(table, worst, cams)
    assert text.startswith("Of 4 valid queries, 50% find their person first, the median first true match is at rank "
                           "2 (in images) and 50% have AP below 10 %.")
    assert "The worst query (identity 5, camera 6) ranks its first true match at 30 of 5 gallery images; its " \
           "first-ranked image shows identity 8." in text
    assert "at 30 of 3 gallery images" in worst_query_text(table, worst.assign(camid=3), cams)  # camera 2 hidden


def test_unit_rows_puts_every_feature_on_the_unit_sphere():
    rows = unit_rows(torch.tensor([[3.0, 4.0], [0.0, -2.0]], dtype=torch.float64))
    assert isinstance(rows, np.ndarray) and rows.dtype == np.float32
    assert np.allclose(rows, [[0.6, 0.8], [0.0, -1.0]])


def gap_frame(untrained, trained):
    index = pd.MultiIndex.from_product([["untrained", "trained"], ["RGB-RGB", "IR-IR", "IR-RGB"]],
                                       names=["backbone", "pairs"])
    return pd.DataFrame({"separation": [*untrained, *trained]}, index=index)


def test_gap_text_orders_the_gains_and_says_what_remains_across_modalities():
    sep = separation_table(gap_frame([0.1, 0.2, 0.05], [1.1, 0.7, 0.35]))
    assert sep["gain"].round(2).to_dict() == {"IR-IR": 0.5, "IR-RGB": 0.3, "RGB-RGB": 1.0}
    assert list(sep.columns) == ["untrained", "trained", "gain"]
    text = gap_text(sep)
    assert text.startswith("Training raised the separation most **within RGB** (+1.00), then within IR (+0.50) and "
                           "across modalities (+0.30).")
    assert "Across modalities it went from 0.05 to 0.35, against 1.10 within RGB and 0.70 within IR: the " \
           "cross-modality gap is what remains" in text
    closed = gap_text(separation_table(gap_frame([0.1, 0.2, 0.05], [1.1, 0.7, 0.9])))
    assert closed.startswith("Training raised the separation most **within RGB**") and "across modalities (+0.85)" \
        in closed and closed.endswith("the features now separate people across modalities as well as within them.")


def test_distance_ratios_and_their_three_readings():
    d = {"trained": np.array([[1.0, 3.0], [4.0, 2.0]])}
    assert distance_ratios(d, [1, 2], [1, 2]) == {"trained": pytest.approx(3.5 / 1.5)}
    clear = distance_ratio_text({"untrained": 1.01, "trained": 1.6})
    assert clear.startswith("Mean distance of a query to other people's images ÷ to its own person's: 1.010 "
                            "untrained, 1.600 trained (1 would mean no structure).")
    assert clear.endswith("the diagonal blocks stand out.")
    assert "only a little" in distance_ratio_text({"untrained": 1.01, "trained": 1.05})
    assert distance_ratio_text({"untrained": 1.05, "trained": 1.01}).endswith(
        "Training did not make a person's own images nearer than other people's on average.")
