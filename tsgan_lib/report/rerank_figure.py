"""k-reciprocal re-ranking (Zhong et al. 2017) in one picture, and the numbers behind it.

- :func:`rerank_toy_points` -- a small 2-D world in which re-ranking visibly helps;
- :func:`rerank_neighbourhood` -- what re-ranking does to one query, as a table:
  its k nearest neighbours, which are reciprocal, each distance before and after
  (:func:`tsgan_lib.eval.rerank.k_reciprocal_rerank`);
- :func:`plot_rerank_example` -- the same in two panels (notebook 05).

Plot helpers return a matplotlib Figure and write nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch

from tsgan_lib.eval.features import EVAL_DTYPE, euclidean_distance
from tsgan_lib.eval.figures import MATCH_COLOR, MISMATCH_COLOR, QUERY_COLOR
from tsgan_lib.eval.rerank import k_reciprocal_rerank


def rerank_toy_points(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A small 2-D world for :func:`plot_rerank_example` (with k1 = 4): row 0
    is the query (identity 0). A tight group of six images of another person
    sits about as close to it as its nearer true match: those images are each
    other's nearest neighbours, so the query is among *their* neighbours only
    one way. The query's two true matches lie on the other side, the second
    further out; six other people are scattered around.
    Returns ``(points (N, 2), pids (N,))``."""
    rng = np.random.default_rng(seed)
    query = np.array([[0.0, 0.0]])
    matches = np.array([[0.98, -0.18], [1.3, 0.55]])                 # identity 0, the query's
    angles = np.deg2rad(np.arange(0, 360, 60) + 180)
    crowd = np.array([-1.15, 0.0]) + 0.33 * np.stack([np.cos(angles), np.sin(angles)], 1)  # identity 1
    others = np.array([[1.9, 1.6], [-1.5, -1.7], [2.2, -1.3], [-2.4, -0.5], [0.4, -2.0], [-0.2, 2.1]])
    others = others + rng.normal(0, 0.1, others.shape)
    points = np.concatenate([query, matches, crowd, others])
    pids = np.array([0, 0, 0] + [1] * len(crowd) + list(range(2, 2 + len(others))))
    return points.astype(np.float32), pids


def _pairwise(x: np.ndarray) -> np.ndarray:
    """All pairwise Euclidean distances of the rows of ``x``, in float64 (the protocol's
    :func:`tsgan_lib.eval.features.euclidean_distance`)."""
    x = torch.as_tensor(np.asarray(x, dtype=np.float64))
    return euclidean_distance(x, x, dtype=EVAL_DTYPE).numpy()


def rerank_neighbourhood(features: np.ndarray, pids: Sequence[int], query: int = 0, *, k1: int = 4, k2: int = 1,
                         lambda_value: float = 0.3) -> pd.DataFrame:
    """What k-reciprocal re-ranking does to one query, as a table.

    ``features`` (N, D): the query (row ``query``) and the gallery (every
    other row), Euclidean distances. One row per gallery item, nearest first:
    ``pid``, ``match`` (the query's identity), ``distance``, ``rank``,
    ``in_knn`` (among the query's k1 nearest), ``reciprocal`` (and the
    query among *its* k1 nearest: the k-reciprocal test of step 2, over
    query and gallery together), ``scaled`` (the original term of step 6:
    squared distance / the query's largest), ``jaccard`` and ``reranked``
    = (1 - λ) · jaccard + λ · scaled (:func:`tsgan_lib.eval.k_reciprocal_rerank`),
    and ``new_rank``."""
    feats = np.asarray(features, dtype=np.float64)
    pids = np.asarray(pids)
    n = len(feats)
    if not 0 <= query < n:
        raise ValueError(f"query {query} is outside 0..{n - 1}")
    d = _pairwise(feats)
    g = np.array([i for i in range(n) if i != query])
    q_g, q_q, g_g = d[query:query + 1, g], d[query:query + 1, [query]], d[np.ix_(g, g)]
    reranked = k_reciprocal_rerank(q_g, q_q, g_g, k1=k1, k2=k2, lambda_value=lambda_value)[0]
    # the k-reciprocal test on the whole set: j in N(q, k1 + 1) and q in N(j, k1 + 1) (each list holds itself)
    order = np.argsort(d, axis=1, kind="stable")[:, :k1 + 1]
    in_knn = np.isin(g, order[query])
    reciprocal = in_knn & np.array([query in order[j] for j in g])
    scaled = q_g[0] ** 2 / (q_g[0] ** 2).max()
    out = pd.DataFrame({"item": g, "pid": pids[g], "match": pids[g] == pids[query], "distance": q_g[0],
                        "in_knn": in_knn, "reciprocal": reciprocal, "scaled": scaled,
                        "jaccard": (reranked - lambda_value * scaled) / (1 - lambda_value) if lambda_value < 1
                        else np.nan, "reranked": reranked})
    out["rank"] = out["distance"].rank(method="first").astype(int)
    out["new_rank"] = out["reranked"].rank(method="first").astype(int)
    return out.sort_values("rank").set_index("item")


def plot_rerank_example(features: np.ndarray, pids: Sequence[int], query: int = 0, *, k1: int = 4, k2: int = 1,
                        lambda_value: float = 0.3, top: int = 8, figsize: tuple[float, float] = (12.0, 4.8)):
    """k-reciprocal re-ranking of one query in one picture (two panels).

    Left, the 2-D ``features`` themselves (the distances the method sees): the
    query (star), the gallery (green: the query's identity, red: others), a
    line from the query to each of its k1 nearest neighbours, solid when the
    neighbour is k-reciprocal, dotted when it is a one-way neighbour, and
    each item's rank before → after re-ranking. Right, for the ``top``
    nearest items, the distance before (the scaled original term) and after
    re-ranking. Returns the Figure (the numbers: :func:`rerank_neighbourhood`)."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    feats = np.asarray(features, dtype=np.float64)
    if feats.ndim != 2 or feats.shape[1] != 2:
        raise ValueError(f"plot_rerank_example draws 2-D features, got shape {feats.shape}")
    table = rerank_neighbourhood(feats, pids, query, k1=k1, k2=k2, lambda_value=lambda_value)
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=figsize, gridspec_kw={"width_ratios": [1.0, 1.15]})
    qx, qy = feats[query]
    span = float(np.ptp(feats, axis=0).max())
    for item, row in table.iterrows():
        x, y = feats[item]
        if row["in_knn"]:
            ax.plot([qx, x], [qy, y], color="0.3", lw=1.6 if row["reciprocal"] else 1.0,
                    ls="-" if row["reciprocal"] else ":", zorder=1)
        color = MATCH_COLOR if row["match"] else MISMATCH_COLOR
        ax.scatter([x], [y], s=70, color=color, edgecolor="k", lw=0.6, zorder=3)
        near = feats[np.linalg.norm(feats - feats[item], axis=1) < 0.2 * span]
        away = feats[item] - near.mean(0)  # push the label away from the point's close neighbours
        away = away / np.linalg.norm(away) if np.linalg.norm(away) > 1e-9 else np.array([0.7, 0.7])
        ax.annotate(f"{row['rank']}→{row['new_rank']}", (x, y), xytext=(14 * away[0], 12 * away[1]),
                    textcoords="offset points", fontsize=8, ha="center", va="center")
    ax.scatter([qx], [qy], s=260, marker="*", color=QUERY_COLOR, edgecolor="k", zorder=4)
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlabel("feature 1")
    ax.set_ylabel("feature 2")
    ax.set_title(f"the query's k1 = {k1} nearest neighbours; labels: rank before → after", fontsize=9)
    ax.legend(handles=[Line2D([], [], marker="*", ls="", color=QUERY_COLOR, ms=12, label="query"),
                       Line2D([], [], marker="o", ls="", color=MATCH_COLOR, label="same identity"),
                       Line2D([], [], marker="o", ls="", color=MISMATCH_COLOR, label="other identity"),
                       Line2D([], [], color="0.3", lw=1.6, label="k-reciprocal neighbour"),
                       Line2D([], [], color="0.3", lw=1.0, ls=":", label="one-way neighbour")],
              fontsize=7.5, loc="upper left", framealpha=0.85)
    ax.grid(alpha=0.2)

    near = table.head(top)
    y = np.arange(len(near))[::-1]
    for yi, (item, row) in zip(y, near.iterrows()):
        color = MATCH_COLOR if row["match"] else MISMATCH_COLOR
        ax2.annotate("", xy=(row["reranked"], yi), xytext=(row["scaled"], yi),
                     arrowprops={"arrowstyle": "-|>", "color": color, "lw": 1.4})
        ax2.scatter([row["scaled"]], [yi], color="white", edgecolor=color, s=40, zorder=3)
        ax2.scatter([row["reranked"]], [yi], color=color, s=40, zorder=3)
    labels = [f"rank {int(r['rank'])}: id {r['pid']}" + (" (reciprocal)" if r["reciprocal"] else
                                                          " (one-way)" if r["in_knn"] else "")
              for _, r in near.iterrows()]
    ax2.set_yticks(y, labels, fontsize=8)
    ax2.set_xlim(-0.03, 1.08)
    ax2.set_xlabel(f"distance to the query: open = original (d² / max), filled = re-ranked "
                   f"(λ = {lambda_value})", fontsize=8.5)
    ax2.set_title(f"distance before → after (k1 = {k1}, k2 = {k2})", fontsize=9)
    ax2.grid(alpha=0.3, axis="x")
    fig.tight_layout()
    return fig
