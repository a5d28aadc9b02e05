"""The sentences and small tables of notebook 05 (evaluation), generated from the numbers.

Each function takes plain inputs (numbers, dicts, DataFrames, records) and
returns Markdown, a DataFrame or a few numbers; the notebook displays them.

- :func:`metric_versions_table` -- the worked example under the literal, the
  fast and the ordinary evaluation, side by side.
- :func:`chance_table` / :func:`chance_text` -- chance levels per setting on
  the first gallery draw, and what they mean beside ``results.json``'s means.
- :func:`rerank_toy_text` -- what k-reciprocal re-ranking did in the 2-D picture.
- :func:`multishot_text` -- why multi-shot moves Rank-1 and mAP the way it does.
- :func:`neighbour_pool` / :func:`rerank_text` -- whose neighbours re-ranking
  sees across the modality gap, and what it (and a k1 sweep) changed.
- :func:`ablation_header` -- the heading and compute line over an ablation's tables.
- :func:`table2_markdown` -- Table II beside the paper's.
- :func:`seed_range_text` -- this notebook's run against the ablation's seeds.
- :func:`sensor_table` / :func:`sensor_text` -- Rank-1 by IR sensor, and the gap told.
- :func:`protocol_table` -- SYSU-MM01's and RegDB's protocols side by side, each with chance.
- :func:`regdb_trial_table` / :func:`regdb_text` -- RegDB trained vs untrained per trial, told.
- :func:`comparison_section` -- one dataset's comparison table with its heading and sentences.
- :func:`camera_pair_table` / :func:`hubs_text` -- hubs by query and gallery camera, told.
- :func:`worst_query_text` -- how many queries succeed, and the worst one.
- :func:`unit_rows`, :func:`separation_table`, :func:`gap_text` -- the modality
  gap before and after training.
- :func:`distance_ratios` / :func:`distance_ratio_text` -- other people's
  distances over one's own, untrained and trained.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from tsgan_lib.eval import chance_levels, compare_with_paper, euclidean_distance, sysu_query_gallery
from tsgan_lib.eval.protocol import labels
from tsgan_lib.eval.tables import to_markdown

from .comparison import DATASET_NAMES, comparison_table, comparison_text
from .explorer import gallery_hubs
from .vocab import VARIANT_NAMES, VARIANTS, setting_key, setting_label

CHANCE_METRICS = ("R1", "R10", "R20", "mAP", "mINP")
#: what each RGB camera of the SYSU-MM01 stand-in shows behind the people
SCENES = {1: "a pale warm wall over a brown floor", 2: "a grey-blue wall over a grey floor",
          4: "grey paving behind dark bars (the gate)", 5: "green foliage (the garden)"}
#: the pairs of modality_gap_stats, in words
WHERE = {"RGB-RGB": "within RGB", "IR-IR": "within IR", "IR-RGB": "across modalities"}


def metric_versions_table(ref: Mapping, fast: Mapping, ordinary: Mapping) -> pd.DataFrame:
    """CMC, mAP and mINP of the literal reference, the fast evaluation and the ordinary CMC, one column each."""
    versions = {"reference (literal)": ref, "fast (evaluate_sysu)": fast, "ordinary CMC (rank_metrics)": ordinary}
    return pd.DataFrame({name: {"CMC k=1..5": r["cmc"], "mAP": r["mAP"], "mINP": r["mINP"]}
                         for name, r in versions.items()})


def chance_table(test: Sequence) -> pd.DataFrame:
    """Chance levels (percent) and gallery sizes of the first draw of each SYSU-MM01 setting of ``test``."""
    rows = {}
    for mode in ("all", "indoor"):
        for shots in (1, 10):
            q, g = sysu_query_gallery(test, mode, shots, 0)
            (qp, qc), (gp, gc) = labels(q), labels(g)
            lv = chance_levels(qp, gp, qc, gc)
            rows[setting_label(setting_key(mode, shots))] = {
                "queries (valid)": lv["num_valid"], "gallery images": len(g),
                "gallery identities": len(set(gp.tolist())), **{m: 100 * lv[m] for m in CHANCE_METRICS}}
    return pd.DataFrame(rows).T


def chance_text(table: pd.DataFrame, saved: Mapping) -> str:
    """All-search single-shot chance on the first draw beside the mean over the draws of ``results.json``."""
    first = table.loc[setting_label("all_single")]
    mean = saved["chance"]["all_single"]
    ids = int(first["gallery identities"])
    return (f"All-search single-shot: chance Rank-1 is {first['R1']:.1f} % on the first draw and "
            f"{mean['R1']:.1f} % averaged over the {saved['trials']} draws (`results.json`); chance mAP "
            f"{first['mAP']:.1f} % / {mean['mAP']:.1f} %. A gallery of {ids} "
            f"identities puts chance Rank-1 near 1/{ids} = "
            f"{100 / first['gallery identities']:.1f} %, and chance Rank-20 at "
            f"{first['R20']:.0f} %: on a small gallery Rank-10 and Rank-20 say little.")


def rerank_toy_text(rr_table: pd.DataFrame) -> str:
    """What re-ranking did to the toy query's nearest image, true matches and one-way neighbours."""
    nearest = rr_table.iloc[0]
    true = rr_table[rr_table["match"]]
    one_way = rr_table[rr_table["in_knn"] & ~rr_table["reciprocal"]]
    return (
        f"The nearest image belongs to identity {nearest['pid']}, a one-way neighbour: its Jaccard distance to the "
        f"query is {nearest['jaccard']:.2f} (no shared reciprocal neighbours), so it drops from rank 1 to "
        f"{nearest['new_rank']}. The query's true matches move from ranks "
        f"{', '.join(map(str, true['rank']))} to {', '.join(map(str, true['new_rank']))}: the nearer one is a "
        f"k-reciprocal neighbour, and the farther one shares it as a neighbour, so both sets overlap with the query's. "
        f"All {len(one_way)} one-way neighbours move down (ranks {', '.join(map(str, one_way['rank']))} → "
        f"{', '.join(map(str, one_way['new_rank']))}).")


def multishot_text(s: pd.DataFrame, per_id_cam: pd.Series, multi_gallery: int, trials: int) -> str:
    """Multi-shot against single-shot. ``s``: the summary indexed by (mode, shots, rerank);
    ``per_id_cam``: images per (identity, RGB camera); ``multi_gallery``: all-search multi-shot gallery size."""
    multi, single = s.xs((10, False), level=("shots", "rerank")), s.xs((1, False), level=("shots", "rerank"))
    d_r1, d_map = multi["R1_mean"] - single["R1_mean"], multi["mAP_mean"] - single["mAP_mean"]
    return (f"**Multi-shot.** On this test set an (identity, RGB camera) holds {per_id_cam.min()}-{per_id_cam.max()} "
            f"images, " + (f"never more than 10, so every multi-shot gallery holds all of them: the {trials} draws "
                           f"give the same gallery ({multi_gallery} images in all-search), hence a standard "
                           f"deviation of {s.loc[('all', 10, False), 'R1_std']:.1f} over the draws. "
                           if per_id_cam.max() <= 10 else "so multi-shot galleries differ between draws. ")
            + f"Against single-shot, all-search Rank-1 changes by {d_r1['all']:+.1f} points and mAP by "
            f"{d_map['all']:+.1f} (indoor: {d_r1['indoor']:+.1f} and {d_map['indoor']:+.1f}). "
            + ("Rank-1 rises because a person now has several gallery images and only the closest has to come first; "
               if d_r1["all"] > 0 else
               "Rank-1 does not rise here, although only a person's closest image has to come first; ")
            + ("mAP falls because every image of the person must be ranked, the hard ones included. "
               if d_map["all"] < 0 else "mAP does not fall here, although every image of the person now counts. ")
            + "The paper shows the same pattern on SYSU-MM01: Rank-1 56.1 multi-shot vs 49.8 single-shot, mAP 38.5 "
            "vs 47.4.")


def neighbour_pool(q_feats, g_feats, g_pids: Sequence[int], k1: int = 20) -> dict:
    """Re-ranking's pool of queries and gallery together: its sizes, and the share of RGB gallery images
    among each query's ``k1`` nearest (itself excluded) beside their share of the pool."""
    pool = torch.cat([q_feats, g_feats])
    d_pool = euclidean_distance(pool, pool)
    d_pool.fill_diagonal_(float("inf"))
    nearest = d_pool[:len(q_feats)].topk(k1, largest=False).indices
    return {"queries": len(q_feats), "gallery": len(g_feats), "gallery_ids": len(set(g_pids)), "k1": k1,
            "rgb_share": float((nearest >= len(q_feats)).float().mean()),
            "pool_share": len(g_feats) / (len(q_feats) + len(g_feats) - 1)}


def rerank_text(s: pd.DataFrame, pool: Mapping, sweep: Mapping[int, float]) -> str:
    """Re-ranking's change per setting, why the pool's neighbourhoods say little, and the k1 sweep
    (``sweep``: k1 -> all-search single-shot Rank-1 change) against the spread of the draws."""
    rr_delta = {(m, sh): (s.loc[(m, sh, True), "R1_mean"] - s.loc[(m, sh, False), "R1_mean"],
                          s.loc[(m, sh, True), "mAP_mean"] - s.loc[(m, sh, False), "mAP_mean"])
                for m in ("all", "indoor") for sh in (1, 10)}
    best = max(sweep, key=sweep.get)
    spread = s.loc[("all", 1, False), "R1_std"]
    return (
        "**Re-ranking** (k1 = 20, k2 = 6, λ = 0.3) changes Rank-1 by "
        + ", ".join(f"{d[0]:+.1f} ({setting_label(setting_key(m, sh))})" for (m, sh), d in rr_delta.items())
        + f" and all-search single-shot mAP by {rr_delta[('all', 1)][1]:+.1f}; the paper gains +8.5 Rank-1 and "
        "+7.7 mAP. "
        f"Re-ranking compares *neighbourhoods*, computed over the queries and the gallery together ({pool['queries']} "
        f"IR queries and {pool['gallery']} RGB images of {pool['gallery_ids']} people here, about "
        f"{pool['gallery'] / pool['gallery_ids']:.1f} images per person). "
        f"Of each query's {pool['k1']} nearest neighbours in that pool only {pool['rgb_share']:.1%} are RGB gallery "
        f"images, although they make up {pool['pool_share']:.0%} of it: the modality gap fills an IR query's "
        "neighbourhood with other IR images, an RGB image's with RGB ones, so the two rarely share reciprocal "
        "neighbours and the Jaccard term (weight 1 − λ = 0.7) says little about who is who. On SYSU-MM01, with "
        "thousands of images and a model that narrows the gap, the paper's defaults helped (+8.5). Sweeping k1 on "
        "this gallery (all-search single-shot, k2 = k1/2 up to 6): " + ", ".join(f"k1 = {k}: {v:+.1f}"
                                                                               for k, v in sweep.items())
        + f" Rank-1 points; the best, k1 = {best}, "
        + (f"stays within the spread of the draws ({spread:.1f} points)."
           if abs(sweep[best]) <= spread else "helps beyond the spread of the draws."))


def ablation_header(sensor: str, source: str, df: pd.DataFrame) -> str:
    """The heading over one sensor's ablation tables: where the runs come from, how many, their compute."""
    seeds = sorted(df["seed"].unique())
    compute = df[["train_seconds", "teacher_seconds", "eval_seconds"]].fillna(0).to_numpy().sum()
    return (f"### {sensor.capitalize()} IR cameras: {source}\n\n{len(df)} runs: "
            f"{df['variant'].nunique()} rows × seeds "
            f"{', '.join(map(str, seeds))}; they took {compute / 60:.0f} min of compute in all "
            f"({compute / 60 / len(df):.1f} min per run: training, teacher pretraining and evaluation, "
            "as recorded in the results).")


def table2_markdown(df: pd.DataFrame, sensor: str) -> str:
    """Table II beside the paper's: the ablation's all-search single-shot means over seeds, as Markdown."""
    means = df.groupby("variant")[["all_single.R1", "all_single.mAP"]].mean()
    ours = {VARIANT_NAMES[v]: {"R1": means.loc[v, "all_single.R1"], "mAP": means.loc[v, "all_single.mAP"]}
            for v in VARIANTS if v in means.index}
    return (f"**Table II** beside the paper's: our rows are the {sensor} ablation's means over seeds "
            "(the ablation records Rank-1 and mAP only)\n\n" + to_markdown(compare_with_paper(ours, "II", show=False)))


def seed_range_text(df: pd.DataFrame, variant: str, label: str, r1: float) -> str | None:
    """This notebook's run (``label``, all-search Rank-1 ``r1``) against the range of the ablation's
    ``variant`` row over its seeds; ``None`` when the ablation has no such row."""
    rows = df[df["variant"] == variant]
    if not len(rows):
        return None
    lo, hi = rows["all_single.R1"].min(), rows["all_single.R1"].max()
    return (f"This notebook's own run ({label}) reaches all-search Rank-1 {r1:.1f} in Table I; the ablation's "
            f"{VARIANT_NAMES[variant]} row ranges {lo:.1f}-{hi:.1f} over its seeds. "
            + ("This run lies within 2 points of that range. " if lo - 2 <= r1 <= hi + 2 else
               "This run lies more than 2 points outside that range: an unusual draw, or settings that differ from "
               "the ablation's preset, or code that changed since the committed results (`make ablation` remakes "
               "them). ")
            + "A seed does not fix a run exactly: float sums differ across CPUs, thread counts and GPUs, so the same "
              "seed on another machine is another draw from the seeds' distribution, which is why every table here "
              "stands on several seeds.")


def sensor_table(ablations: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """All-search Rank-1 per row (named) and IR sensor, the mean over seeds."""
    return pd.DataFrame({sensor: d.groupby("variant")["all_single.R1"].mean().reindex(list(VARIANTS))
                         for sensor, d in ablations.items()}).rename(index=VARIANT_NAMES)


def sensor_text(ablations: Mapping[str, pd.DataFrame], sources: Mapping[str, str]) -> str:
    """Thermal against near-infrared IR cameras (or that there is no thermal ablation yet)."""
    if not {"thermal", "near-infrared"} <= set(ablations):
        return ("No thermal ablation yet (`python -m tsgan_lib ablation --sensor thermal` makes one): only the "
                "near-infrared rows are shown.")
    cmp = sensor_table(ablations)
    gap = (cmp["thermal"] - cmp["near-infrared"]).mean()
    chance_r1 = {sensor: d["chance_R1"].mean() for sensor, d in ablations.items()}
    return (
        f"With thermal IR cameras the rows' all-search Rank-1 is {abs(gap):.1f} points "
        f"{'lower' if gap < 0 else 'higher'} on average than with near-infrared ones (chance: "
        f"{chance_r1['thermal']:.1f} vs {chance_r1['near-infrared']:.1f} %). A thermal camera sees temperature, so "
        "dye colours and textures vanish and colour twins collide; a near-infrared one sees each dye's reflectance, "
        "which keeps part of the pattern. Whether the paper's ordering holds is answered per sensor above."
        + (" The committed thermal table predates the current readings of the paper (docs/interpretations.md 7, "
           "12-15; two seeds): until `make ablation-thermal` remakes it, this gap mixes the sensor with the readings."
           if sources.get("thermal", "").startswith("the committed") else ""))


def protocol_table(s: pd.DataFrame, sysu_variant: str, sysu_chance: Mapping, sysu_ids: int, regdb: Mapping,
                   trial_results: Sequence[Mapping], regdb_ids: int) -> pd.DataFrame:
    """SYSU-MM01's all-search single-shot (``s``, the summary) and RegDB's directions (``regdb``, the trials'
    results; ``trial_results``, each trial's ``results.json``), each with its spread, chance and test ids."""
    rows = {f"SYSU-MM01 stand-in, IR→RGB all-search single-shot ({VARIANT_NAMES[sysu_variant]})": {
        **{m: s.loc[("all", 1, False), f"{m}_mean"] for m in ("R1", "mAP", "mINP")},
        "± (over draws)": s.loc[("all", 1, False), "R1_std"], "chance R1": sysu_chance["R1"],
        "chance mAP": sysu_chance["mAP"], "test ids": sysu_ids}}
    n = len(regdb["trials"])
    for direction in regdb["metrics"]:
        m, sd = regdb["metrics"][direction], regdb["metrics_std"][direction]
        rows[f"RegDB stand-in, {direction} ({VARIANT_NAMES[trial_results[0]['variant']]}, "
             f"{n} trial{'s' if n > 1 else ''})"] = {
            "R1": m["R1"], "mAP": m["mAP"], "mINP": m["mINP"], "± (over trials)": sd["R1"],
            "chance R1": np.mean([r["chance"][direction]["R1"] for r in trial_results]),
            "chance mAP": np.mean([r["chance"][direction]["mAP"] for r in trial_results]),
            "test ids": regdb_ids}
    return pd.DataFrame(rows).T


def regdb_trial_table(regdb: Mapping, trial_results: Sequence[Mapping],
                      direction: str = "visible->thermal") -> pd.DataFrame:
    """Per RegDB trial: the trained backbone's Rank-1 and mAP beside its untrained initialisation's."""
    return pd.DataFrame({f"trial {t}": {"trained R1": r["metrics"][direction]["R1"],
                                        "untrained R1": r["untrained"][direction]["R1"],
                                        "trained mAP": r["metrics"][direction]["mAP"],
                                        "untrained mAP": r["untrained"][direction]["mAP"]}
                         for t, r in zip(regdb["trials"], trial_results)}).T


def regdb_text(regdb: Mapping, trial_results: Sequence[Mapping], per_trial: pd.DataFrame, regdb_ids: int) -> str:
    """RegDB's chance, training time, spread over the trials and trained-vs-untrained mAP, told."""
    times = [r.get("train_seconds", 0) + r.get("teacher_seconds", 0) for r in trial_results]
    n = len(regdb["trials"])
    return (
        f"RegDB's test gallery holds every image of the other modality ({regdb_ids} people "
        f"× 10 images), with no camera to exclude, so chance is simply 1 / (test identities) for Rank-1. Each RegDB "
        f"trial took {np.mean(times) / 60:.1f} min to train here. "
        + (f"Across its {n} trials the visible→thermal Rank-1 has a standard deviation of "
           f"{regdb['metrics_std']['visible->thermal']['R1']:.1f} points: a trial's split decides which people are "
           "easy, which is why the protocol averages ten. " if n > 1 else
           "One trial gives no spread: the protocol averages ten, because a trial's split decides who is easy. ")
        + f"The trained backbone's visible→thermal mAP is {per_trial['trained mAP'].mean():.1f} against "
        f"{per_trial['untrained mAP'].mean():.1f} for its untrained initialisation, on every trial above it: it "
        "learns something that crosses the gap, but little. The RegDB stand-in's thermal camera keeps no dye colour "
        "and only faint emissivity texture (build, hair, skin and cut are what it shares with the visible camera), a "
        "harder gap than the near-infrared cameras of the SYSU-MM01 stand-in (notebook 00 measures both); like RegDB "
        "it has 412 people, 206 for training in each trial.")


def comparison_section(cmp_df: pd.DataFrame, dataset: str, file: str) -> str:
    """One dataset's comparison (``file``, read by :func:`~.comparison.load_comparison`): heading, table, sentences."""
    return (f"### The {DATASET_NAMES[dataset]} stand-in (`{file}`)\n\n" + comparison_table(cmp_df, dataset)
            + "\n\n" + comparison_text(cmp_df, dataset))


def camera_pair_table(distmat, query: Sequence, gallery: Sequence, top_k: int = 10) -> pd.DataFrame:
    """Top-``top_k`` appearances ÷ a random ranking's, one row per query camera, one column per gallery camera
    (NaN where that pair never meets)."""
    d = np.asarray(distmat)
    q_cams = np.array([r.camid for r in query])
    pairs = {}
    for qcam in sorted(set(q_cams.tolist())):
        sub = gallery_hubs(d[q_cams == qcam], [q for q in query if q.camid == qcam], gallery, top_k=top_k)
        g = sub.groupby("camid")[["in_top_k", "expected"]].sum()
        pairs[f"camera-{qcam} queries"] = g["in_top_k"] / g["expected"].where(g["expected"] > 0)
    return pd.DataFrame(pairs).T.rename(columns=lambda c: f"gallery camera {c}")


def hubs_text(hubs: pd.DataFrame, pair_table: pd.DataFrame, num_queries: int, top_k: int = 10) -> str:
    """The most frequent gallery image, the top 5 %'s share of the top places, each camera's ratio and
    whether one camera's scene pulls its images up (``hubs``: :func:`~.explorer.gallery_hubs`)."""
    n_top = max(1, int(round(0.05 * len(hubs))))
    share = hubs["in_top_k"].head(n_top).sum() / hubs["in_top_k"].sum()
    share_random = hubs["expected"].sort_values(ascending=False).head(n_top).sum() / hubs["expected"].sum()
    by_cam = hubs.groupby("camid")[["in_top_k", "expected"]].sum()
    by_cam["ratio"] = by_cam["in_top_k"] / by_cam["expected"]
    top = hubs.iloc[0]
    best_pair = pair_table.stack().idxmax()
    top_cams = hubs.head(8)["camid"].value_counts()
    hub_cam = int(top_cams.index[0])
    col = f"gallery camera {hub_cam}"
    both_ir = (f"Both IR cameras' queries favour camera {hub_cam} ("
               + ", ".join(f"{q}: {pair_table.loc[q, col]:.2f}×" for q in pair_table.index)
               + "), so the pull comes from those images themselves rather than from one IR scene resembling theirs. "
               if col in pair_table and (pair_table[col] > 1).all() else "")
    return (
        f"The most frequent gallery image (identity {top['pid']}, camera {top['camid']}) is in the top {top_k} of "
        f"{top['in_top_k']} of the {num_queries} queries, {top['ratio']:.1f}× what a random ranking gives, and a "
        f"true match for {top['as_match']} of them. The {n_top} most frequent images ({n_top / len(hubs):.0%} of the "
        f"gallery) take {share:.0%} of all top-{top_k} places (a random ranking: {share_random:.0%}). By camera, "
        + ", ".join(f"camera {c}'s images appear {r:.2f}×" for c, r in by_cam["ratio"].items())
        + f" as often as at random; the strongest pairing is {best_pair[0]} with {best_pair[1]} "
        f"({pair_table.stack().max():.2f}×). "
        + (f"Some images are clearly hubs, and {top_cams.iloc[0]} of the 8 most frequent come from camera {hub_cam}, "
           f"whose scene is {SCENES.get(hub_cam, 'its own')}: the features still carry the scene along with the "
           "person, and a scene that lies close to the IR queries in feature space pulls all its images up. "
           + both_ir
           + "The hubs' own people matter little: they are true matches for few of the queries that rank them high."
           if share > 2 * share_random else
           "The top places are spread over the gallery much as at random: no strong hubs in this run."))


def worst_query_text(table: pd.DataFrame, worst: pd.DataFrame, gallery_cams: Sequence[int]) -> str:
    """How many valid queries succeed (``table``: :func:`~.explorer.query_table`) and where the worst
    (``worst``'s first row) ranks its first true match among the gallery images it sees."""
    valid = table[table["valid"]]
    w = worst.iloc[0]
    seen = len(gallery_cams) - (0 if w["camid"] != 3 else sum(c == 2 for c in gallery_cams))
    return (f"Of {len(valid)} valid queries, {(valid['first_rank_ids'] == 1).mean():.0%} find their person first, "
            f"the median first true match is at rank {valid['first_rank'].median():.0f} (in images) and "
            f"{(valid['AP'] < 10).mean():.0%} have AP below 10 %. The worst query (identity {w['pid']}, camera "
            f"{w['camid']}) ranks its first true match at {int(w['first_rank'])} of {seen} gallery images; "
            f"its first-ranked image shows identity {w['top1_pid']}.")


def unit_rows(feats) -> np.ndarray:
    """Features L2-normalised row by row, as float32 numpy (one scale for untrained and trained networks)."""
    return torch.nn.functional.normalize(torch.as_tensor(feats).float(), dim=1).numpy()


def separation_table(gap: pd.DataFrame) -> pd.DataFrame:
    """Separation per pair kind (rows) for the untrained and trained backbone, and the gain
    (``gap``: :func:`~tsgan_lib.eval.gap.modality_gap_stats` per backbone, indexed by (backbone, pairs))."""
    sep = gap["separation"].unstack("backbone")[["untrained", "trained"]]
    sep["gain"] = sep["trained"] - sep["untrained"]
    return sep


def gap_text(sep: pd.DataFrame) -> str:
    """Where training raised the separation most, and whether the cross-modality gap remains."""
    order = sep["gain"].sort_values(ascending=False)
    return (
        f"Training raised the separation most **{WHERE[order.index[0]]}** ({order.iloc[0]:+.2f}), then "
        + " and ".join(f"{WHERE[k]} ({v:+.2f})" for k, v in order.iloc[1:].items())
        + f". Across modalities it went from {sep.loc['IR-RGB', 'untrained']:.2f} to "
        f"{sep.loc['IR-RGB', 'trained']:.2f}, against {sep.loc['RGB-RGB', 'trained']:.2f} within RGB and "
        f"{sep.loc['IR-IR', 'trained']:.2f} within IR: "
        + ("the cross-modality gap is what remains for the method to close."
           if sep.loc["IR-RGB", "trained"] < min(sep.loc["RGB-RGB", "trained"], sep.loc["IR-IR", "trained"]) else
           "the features now separate people across modalities as well as within them."))


def distance_ratios(d_pair: Mapping[str, np.ndarray], q_pids, g_pids) -> dict[str, float]:
    """Per network: mean query-gallery distance to other people's images ÷ to the query's own person's."""
    same = np.asarray(q_pids)[:, None] == np.asarray(g_pids)[None, :]
    return {k: v[~same].mean() / v[same].mean() for k, v in d_pair.items()}


def distance_ratio_text(ratio: Mapping[str, float]) -> str:
    """The untrained and trained distance ratios (:func:`distance_ratios`), and what the heatmaps show."""
    return (
        f"Mean distance of a query to other people's images ÷ to its own person's: {ratio['untrained']:.3f} "
        f"untrained, {ratio['trained']:.3f} trained (1 would mean no structure). "
        + ("Training made a person's own images clearly nearer than other people's: the diagonal blocks stand out."
           if ratio["trained"] > 1.5 and ratio["trained"] > 1.2 * ratio["untrained"] else
           "Training moved this ratio only a little, so the diagonal blocks are hard to see by eye: across "
           "modalities a person's own images are on average barely nearer than other people's, which is why Rank-1 "
           "stays far from the single-modality numbers." if ratio["trained"] > ratio["untrained"] else
           "Training did not make a person's own images nearer than other people's on average."))
