"""Notebook 04-05 figures and tables: Fig. 3, re-ranking in one picture, the gap
histograms and heatmaps, the loss curves, and the evaluation explorer."""

from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from tsgan_lib.data.records import Record  # noqa: E402
from tsgan_lib.eval import evaluate_sysu, k_reciprocal_rerank  # noqa: E402
from tsgan_lib.eval.gap import modality_gap_stats  # noqa: E402
from tsgan_lib.eval.reference import evaluate_reference, first_match_rank_reference, rank_list_reference  # noqa: E402
from tsgan_lib.report.curves import loss_summary, plot_loss_curves, read_metrics  # noqa: E402
from tsgan_lib.report.explorer import (gallery_hubs, plot_hubs, plot_query, query_table,  # noqa: E402
                                       worst_queries)
from tsgan_lib.report.diagram import plot_tsgan_diagram  # noqa: E402
from tsgan_lib.report.distances import plot_distance_heatmaps, plot_gap_histograms  # noqa: E402
from tsgan_lib.report.maps import feature_map_figure  # noqa: E402
from tsgan_lib.report.rerank_figure import plot_rerank_example, rerank_neighbourhood, rerank_toy_points  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def texts(fig) -> str:
    return "\n".join(t.get_text() for ax in fig.axes for t in ax.texts + [ax.title])


# ---- Fig. 3 ----------------------------------------------------------------------------------------
def test_diagram_has_every_network_loss_and_optimiser():
    fig = plot_tsgan_diagram()
    text = texts(fig)
    for label in ("X_R", "X_I\nreal IR", "X_I' = G_I(X_R)", "G_I", "G_R", "D_I (joint)", "D_R", "FE_S", "LE_S",
                  "FE_T (frozen)", "f_map,S", "f_map,T", "GAP → V", "FC → F", "O_G", "O_B", "O_D"):
        assert label in text, label
    for eq in ("Eq. 1", "Eq. 6", "Eq. 7", "Eq. 8", "ID (9-10)", "Tri (11)", "GAN (12)", "CD (15)", "RealIR (13)",
               "FakeIR (14)", "Eq. 16", "Eq. 2-5", "Eq. 5"):
        assert eq in text, eq
    # nothing faded for the full model
    assert all(p.get_alpha() in (None, 1.0) for p in fig.axes[0].patches)


def test_diagram_fades_what_a_variant_does_not_use():
    full = plot_tsgan_diagram("jd_all_ts")
    backbone = plot_tsgan_diagram("backbone")
    od = plot_tsgan_diagram("od_single_ts")
    faded = lambda fig: sum(1 for p in fig.axes[0].patches if p.get_alpha() is not None and p.get_alpha() < 1)
    assert faded(full) == 0 < faded(od) < faded(backbone)
    assert "D_I (ordinary)" in texts(od) and "GAN (12)" not in texts(od)
    assert "CD (15)" in texts(od) and "RealIR (13)" not in texts(od)
    alpha = {t.get_text(): t.get_alpha() for t in backbone.axes[0].texts}
    assert alpha["O_B\nupdates\nFE_S, LE_S"] == 1.0 and alpha["O_G\nupdates\nG_I, G_R"] < 1
    assert "not used by this variant" in backbone.axes[0].get_title()
    with pytest.raises(ValueError, match="variant"):
        plot_tsgan_diagram("no_such_row")


# ---- re-ranking in one picture ---------------------------------------------------------------------
def test_rerank_neighbourhood_matches_brute_force_and_the_library():
    points, pids = rerank_toy_points()
    k1, k2, lam = 4, 1, 0.3
    table = rerank_neighbourhood(points, pids, 0, k1=k1, k2=k2, lambda_value=lam)
    d = np.sqrt(((points[:, None, :].astype(float) - points[None].astype(float)) ** 2).sum(-1))
    knn = lambda i: set(np.argsort(d[i], kind="stable")[:k1 + 1].tolist())  # includes i itself
    for item, row in table.iterrows():
        assert row["in_knn"] == (item in knn(0))
        assert row["reciprocal"] == (item in knn(0) and 0 in knn(item))
    g = np.arange(1, len(points))
    expect = k_reciprocal_rerank(d[:1, g], d[:1, :1], d[np.ix_(g, g)], k1=k1, k2=k2, lambda_value=lam)[0]
    np.testing.assert_allclose(table.sort_index()["reranked"].to_numpy(), expect, rtol=1e-6)
    np.testing.assert_allclose(table["reranked"], (1 - lam) * table["jaccard"] + lam * table["scaled"], rtol=1e-6)
    assert list(table["rank"]) == list(range(1, len(g) + 1))  # sorted, nearest first
    assert sorted(table["new_rank"]) == list(range(1, len(g) + 1))


def test_rerank_toy_tells_the_story():
    """The toy's point: the nearest image is a one-way neighbour of another person; the reciprocal true
    match moves to the top and the far true match climbs past the crowd."""
    points, pids = rerank_toy_points()
    t = rerank_neighbourhood(points, pids)
    first = t.iloc[0]
    assert not first["match"] and first["in_knn"] and not first["reciprocal"]
    matches = t[t["match"]]
    assert matches["reciprocal"].any()
    assert sorted(matches["new_rank"]) == [1, 2] and matches["rank"].max() > 2
    crowd = t[t["in_knn"] & ~t["reciprocal"]]
    assert (crowd["new_rank"] > crowd["rank"]).all()


def test_plot_rerank_example_draws_both_panels():
    points, pids = rerank_toy_points()
    fig = plot_rerank_example(points, pids, top=6)
    ax, ax2 = fig.axes
    assert ax.get_xlabel() and ax.get_ylabel() and "distance" in ax2.get_xlabel()
    assert len(ax2.get_yticklabels()) == 6 and "reciprocal" in " ".join(t.get_text() for t in ax2.get_yticklabels())
    assert any("→" in t.get_text() for t in ax.texts)
    with pytest.raises(ValueError, match="2-D"):
        plot_rerank_example(np.zeros((5, 3)), [0, 0, 1, 1, 2])


# ---- the modality gap of learnt features ------------------------------------------------------------
@pytest.fixture
def gap_data():
    rng = np.random.default_rng(0)
    pids = np.repeat(np.arange(6), 4)
    mods = np.tile(["rgb", "rgb", "ir", "ir"], 6)
    centre = rng.normal(size=(6, 8))[pids]
    before = rng.normal(size=(24, 8))
    after = centre + 0.3 * rng.normal(size=(24, 8)) + np.where(mods == "ir", 0.5, 0.0)[:, None]
    return {"untrained": before, "trained": after}, pids, mods


def test_gap_histograms_label_axes_and_state_the_separation(gap_data):
    embs, pids, mods = gap_data
    fig = plot_gap_histograms(embs, pids, mods)
    axes = np.array(fig.axes).reshape(2, 3)
    assert all(ax.get_ylabel() == "density" and ax.get_xlabel() for ax in axes.flat)
    stats = modality_gap_stats(embs["trained"].astype(np.float32), pids, mods).set_index("pairs")["separation"]
    for ax, pair in zip(axes[1], ("RGB-RGB", "IR-IR", "IR-RGB")):
        assert ax.get_title().startswith(f"trained: {pair}")
        assert f"separation {stats[pair]:.2f}" in ax.get_title()
    assert not fig._suptitle


def test_distance_heatmaps_colour_bars(gap_data):
    embs, pids, _ = gap_data
    q = np.arange(0, 24, 2)
    g = np.arange(1, 24, 2)
    dist = {k: np.linalg.norm(v[q, None] - v[None, g], axis=-1) for k, v in embs.items()}
    dist["trained"] = dist["trained"] / 10  # another scale: each panel gets its own colour bar
    fig = plot_distance_heatmaps(dist, pids[q], pids[g])
    images = [im for ax in fig.axes for im in ax.get_images()]
    assert len(images) == 2 and len(fig.axes) == 4
    for im, d in zip(images, dist.values()):
        assert im.get_clim() == pytest.approx((d.min(), d.max()))
    assert [ax.get_ylabel() for ax in fig.axes[2:]] == ["distance", "distance"]  # the colour bars
    assert all(ax.get_xlabel() and ax.get_ylabel() for ax in fig.axes[:2])
    shared = plot_distance_heatmaps(dist, pids[q], pids[g], shared_scale=True)
    images = [im for ax in shared.axes for im in ax.get_images()]
    assert images[0].get_clim() == images[1].get_clim() and len(shared.axes) == 3


# ---- loss curves -----------------------------------------------------------------------------------
def fake_log(tmp_path, with_gan: bool = True):
    rows = []
    for i in range(1, 13):
        r = {"kind": "step", "epoch": (i - 1) // 6, "step": i, "global_step": 10 * i, "lr": 1e-3 if i < 10 else 3e-4,
             "img_per_s": 20.0, "reid_id": 14 - i * 0.3, "reid_tri": 1.0 / i}
        if with_gan:
            r.update(g_adv_ir=1.5 / i ** 1.5, g_cyc=10 - 0.4 * i, ts_cd=0.01 - 0.0002 * i, ts_real_ir=0.008,
                     d_ir_real=0.5 / i ** 2, d_ir_fake=0.4 / i ** 2, d_rgb_real=0.3, d_rgb_fake=0.3)
        rows.append(r)
    rows.append({"kind": "epoch", "epoch": 0, "global_step": 60, "lr": 1e-3, "steps": 6, "seconds": 1.0})
    path = tmp_path / "metrics.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_loss_curves_grid_one_panel_per_phase(tmp_path):
    fig = plot_loss_curves(fake_log(tmp_path).parent)
    visible = [ax for ax in fig.axes if ax.get_visible() and ax.get_legend() is not None]
    titles = [ax.get_title() for ax in visible]
    assert len(visible) == 4 and [t.split(":")[0] for t in titles] == ["Generators", "Backbone", "Backbone",
                                                                        "Discriminators"]
    assert all(ax.get_xlabel() == "training step" and ax.get_ylabel().startswith("weighted loss") for ax in visible)
    scale = {t.split("=")[0]: ax.get_yscale() for t, ax in zip(titles, visible)}
    assert list(scale.values()) == ["log", "log", "linear", "log"]  # the TS terms span less than LOG_SPAN
    twins = [ax for ax in fig.axes if ax.get_legend() is None]
    assert len(twins) == 1 and "learning rate" in twins[0].get_ylabel()  # the lr: a thin secondary axis
    w, h = fig.get_size_inches()
    assert w <= 10.5 and h <= 7.5  # readable at notebook width


def test_loss_curves_backbone_variant_and_summary(tmp_path):
    path = fake_log(tmp_path, with_gan=False)
    fig = plot_loss_curves(path, lr=False)
    assert len([ax for ax in fig.axes if ax.get_visible()]) == 1
    summary = loss_summary(path, window=2)
    assert list(summary.index) == ["reid_id", "reid_tri"] and set(summary["optimiser"]) == {"O_B"}
    steps = read_metrics(path)
    assert summary.loc["reid_id", "start"] == pytest.approx(steps["reid_id"].iloc[:2].mean())
    assert summary.loc["reid_tri", "end"] == pytest.approx(steps["reid_tri"].iloc[-2:].mean())
    assert summary.loc["reid_id", "ratio"] < 1
    with pytest.raises(ValueError, match="no step lines"):
        plot_loss_curves(pd.DataFrame())


# ---- the explorer ----------------------------------------------------------------------------------
@pytest.fixture
def toy_eval(tmp_path):
    rng = np.random.default_rng(3)

    def rec(pid, cam, i):
        path = tmp_path / f"c{cam}_{pid}_{i}.png"
        Image.fromarray(np.full((16, 8, 3), 30 * cam, dtype=np.uint8)).save(path)
        return Record(str(path), pid, cam, "ir" if cam in (3, 6) else "rgb")

    query = [rec(p, cam, i) for p in range(6) for cam, i in ((3, 0), (6, 0), (6, 1))]
    gallery = [rec(p, cam, 0) for p in range(6) for cam in (1, 2, 4, 5) if (p + cam) % 3]
    d = rng.random((len(query), len(gallery)))
    return d, query, gallery


def test_query_table_agrees_with_the_evaluation(toy_eval):
    d, query, gallery = toy_eval
    table = query_table(d, query, gallery)
    qp, qc = np.array([r.pid for r in query]), np.array([r.camid for r in query])
    gp, gc = np.array([r.pid for r in gallery]), np.array([r.camid for r in gallery])
    ref = evaluate_reference(d, qp, gp, qc, gc)
    fast = evaluate_sysu(d, qp, gp, qc, gc)
    valid = table[table["valid"]]
    assert len(valid) == ref["num_valid"] == fast["num_valid"]
    assert valid["AP"].mean() == pytest.approx(100 * ref["mAP"])
    assert valid["INP"].mean() == pytest.approx(100 * ref["mINP"])
    assert (valid["first_rank_ids"] == 1).mean() == pytest.approx(ref["cmc"][0])
    for i, row in valid.iterrows():  # image rank and distinct-identity rank, literally
        ignore = [qc[i] == 3 and c == 2 for c in gc]
        ranked = rank_list_reference(d[i], ignore)
        ranked_pids = [gp[j] for j in ranked]
        assert row["first_rank"] == first_match_rank_reference(ranked_pids, qp[i], False)
        assert row["first_rank_ids"] == first_match_rank_reference(ranked_pids, qp[i], True)
        assert row["top1_pid"] == ranked_pids[0]
    worst = worst_queries(table, n=3)
    assert len(worst) == 3 and worst["AP"].is_monotonic_increasing and worst["AP"].iloc[0] == valid["AP"].min()


def test_plot_query_shows_the_first_true_match(toy_eval):
    d, query, gallery = toy_eval
    table = query_table(d, query, gallery)
    deep = table[table["valid"]].sort_values("first_rank").index[-1]
    k = int(table.loc[deep, "first_rank"]) - 1
    loader = lambda p: np.zeros((4, 2, 3), np.uint8)
    fig = plot_query(d, query, gallery, deep, top_k=k, loader=loader)
    assert len(fig.axes) == 1 + k + 2  # the query, the top k, a gap, the first true match
    assert fig.axes[-1].get_title().startswith(f"{k + 1}:")
    assert f"first true match at rank {k + 1}" in fig._suptitle.get_text()
    fig = plot_query(d, query, gallery, deep, top_k=k + 1, loader=loader)
    assert len(fig.axes) == 2 + k
    with pytest.raises(ValueError, match="outside"):
        plot_query(d, query, gallery, len(query), loader=loader)


def test_gallery_hubs_count_the_top_k(toy_eval):
    d, query, gallery = toy_eval
    top_k = 3
    hubs = gallery_hubs(d, query, gallery, top_k=top_k)
    assert hubs["in_top_k"].sum() == top_k * len(query)
    assert hubs["expected"].sum() == pytest.approx(top_k * len(query))  # a random ranking fills the same slots
    assert hubs["in_top_k"].is_monotonic_decreasing
    assert (hubs["as_match"] <= hubs["in_top_k"]).all()
    cam2 = hubs[hubs["camid"] == 2].index
    cam3 = [i for i, q in enumerate(query) if q.camid == 3]
    for i in cam3:  # the location rule: a cam3 query never counts a cam2 image
        top = np.argsort(np.where([g.camid == 2 for g in gallery], np.inf, d[i]), kind="stable")[:top_k]
        assert not set(top) & set(cam2)
    fig = plot_hubs(hubs, n=4, top_k=top_k, loader=lambda p: np.zeros((4, 2, 3), np.uint8))
    assert len(fig.axes) == 4 and f"top-{top_k}s" in fig.axes[0].get_title()


def test_query_explorer_lists_every_valid_query_worst_first(toy_eval, monkeypatch):
    pytest.importorskip("ipywidgets")
    from tsgan_lib.report import explorer

    d, query, gallery = toy_eval
    drawn = []
    monkeypatch.setattr(explorer, "plot_query", lambda *a, **k: drawn.append((a[3], k["top_k"])))
    box = explorer.query_explorer(d, query, gallery, top_k=7)
    pick, length, _ = box.children
    table = query_table(d, query, gallery)
    aps = [table.loc[i, "AP"] for _, i in pick.options]
    assert len(aps) == table["valid"].sum() and aps == sorted(aps)
    assert drawn == [(pick.options[0][1], 7)]  # the worst query, drawn at once
    pick.value = pick.options[-1][1]
    length.value = 12
    assert drawn[-1] == (pick.options[-1][1], 12)


# ---- notebooks 02-03: images and feature maps side by side -----------------------------------------
def test_feature_map_figure_returns_its_figure_with_a_colour_bar_per_row():
    import torch

    images, maps = torch.rand(4, 3, 32, 16), torch.rand(4, 8, 4, 2)
    fig = feature_map_figure([("X", images, "image"), ("F", maps, "map")], [0, 2], title="t")
    assert fig is not None and len(fig.axes) == 2 * 2 + 2  # 2 rows x 2 columns, one colour bar per row
    assert any("mean activation" in ax.get_ylabel() for ax in fig.axes)
    with pytest.raises(ValueError, match="kind"):
        feature_map_figure([("X", images, "picture")], [0])
