"""Diagrams and explanatory figures for the notebooks.

Scope: plot helpers only. Each takes plain DataFrames, arrays or tensors and
returns a matplotlib Figure (labelled axes, a colorbar wherever colour carries
a value, no overlapping titles) and writes nothing to disk. Sizes suit a
notebook's width (about 10-12 inches). Sections by the notebooks that use them.

Notebooks 01-03: training curves (:func:`training_curves`), the paper's Fig. 5
(RGB <-> IR translations, :func:`translation_figure`) and teacher / student
feature maps side by side (:func:`feature_map_figure`).

Notebooks 04-05:

- :func:`plot_tsgan_diagram` -- the paper's Fig. 3: the networks, the
  images between them, every loss with its equation and the optimiser it
  feeds; the parts a Table II variant does not use are faded.
- :func:`rerank_toy_points`, :func:`rerank_neighbourhood`,
  :func:`plot_rerank_example` -- k-reciprocal re-ranking (Zhong et al. 2017)
  in one picture: a query, its k nearest neighbours, which of them are
  reciprocal, and how each distance changes.
- :func:`plot_gap_histograms` -- same- vs different-identity distances per
  pair type (RGB-RGB, IR-IR, IR-RGB), one row per backbone, with the separation.
- :func:`plot_distance_heatmaps` -- query x gallery distances sorted by
  identity, one panel per backbone, each with its colour bar.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch

FONT = 9  # tick labels and legends; titles one point larger


class Panel(NamedTuple):
    """One panel of :func:`training_curves`: its title, the history columns it
    draws, the y-axis label, a log y-axis or not, and optional y limits."""

    title: str
    columns: Sequence[str]
    ylabel: str
    log: bool = False
    ylim: tuple[float, float] | None = None


def training_curves(history: pd.DataFrame | Sequence[Mapping], panels: Sequence[Panel], *, x: str = "step",
                    smooth: int = 5, xlabel: str = "training step", title: str | None = None):
    """Curves of a training history (one row per step), one panel per
    :class:`Panel`, each column smoothed by a trailing running mean over
    ``smooth`` steps (``1``: raw). Columns absent from the history are skipped."""
    import matplotlib.pyplot as plt

    df = history if isinstance(history, pd.DataFrame) else pd.DataFrame(list(history))
    xs = df[x] if x in df else pd.Series(np.arange(len(df)))
    fig, axes = plt.subplots(1, len(panels), figsize=(min(max(3.7 * len(panels), 6.5), 11.5), 3.3), squeeze=False,
                             layout="constrained")
    for ax, panel in zip(axes[0], panels):
        for col in panel.columns:
            if col not in df:
                continue
            values = df[col].astype(float)
            if panel.log:
                values = values.where(values > 0)
            ax.plot(xs, values.rolling(smooth, min_periods=1).mean(), label=col, lw=1.3)
        ax.set_title(panel.title, fontsize=FONT + 1)
        ax.set_xlabel(xlabel, fontsize=FONT)
        ax.set_ylabel(panel.ylabel + (f" ({smooth}-step mean)" if smooth > 1 else ""), fontsize=FONT)
        if panel.log:
            ax.set_yscale("log")
        if panel.ylim is not None:
            ax.set_ylim(*panel.ylim)
        ax.tick_params(labelsize=FONT)
        ax.grid(alpha=0.3)
        if len(panel.columns) > 1:
            ax.legend(fontsize=FONT - 1)
    if title:
        fig.suptitle(title, fontsize=FONT + 2)
    return fig


def _as_image(x: torch.Tensor) -> np.ndarray:
    return x.detach().float().clamp(0, 1).permute(1, 2, 0).cpu().numpy()


def translation_figure(images: Mapping[str, torch.Tensor], row_labels: Sequence[str], *,
                       notes: Mapping[str, Sequence[str]] | None = None, title: str | None = None):
    """The paper's Fig. 5 layout: one row per person, one column per entry of
    ``images`` (name -> (N, 3, H, W) images in [0, 1], e.g. real RGB, fake IR,
    reconstructed RGB, real IR, fake RGB). ``notes``: per column name, one
    short text per row printed under the image (e.g. its reconstruction error)."""
    import matplotlib.pyplot as plt

    names = list(images)
    n = len(row_labels)
    fig, axes = plt.subplots(n, len(names), figsize=(1.45 * len(names) + 0.5, 2.55 * n), squeeze=False,
                             layout="constrained")
    for i, label in enumerate(row_labels):
        for j, name in enumerate(names):
            ax = axes[i, j]
            ax.imshow(_as_image(images[name][i]))
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(name, fontsize=FONT + 1)
            if notes and name in notes:
                ax.set_xlabel(notes[name][i], fontsize=FONT)
        axes[i, 0].set_ylabel(label, fontsize=FONT + 1)
    if title:
        fig.suptitle(title, fontsize=FONT + 2)
    return fig


def channel_mean(fmap: torch.Tensor) -> np.ndarray:
    """A (C, h, w) feature map as one (h, w) heatmap: the mean over channels."""
    return fmap.detach().float().mean(0).cpu().numpy()


def feature_map_figure(columns: Sequence[tuple[str, torch.Tensor, str]], rows: Sequence[int], *,
                       title: str | None = None, cmap: str = "magma"):
    """Images and feature maps side by side, one row per batch index in ``rows``.

    ``columns``: ``(name, tensor, kind)`` with ``kind`` ``"image"`` (an (N, 3,
    H, W) batch in [0, 1]) or ``"map"`` (an (N, C, h, w) batch of feature maps,
    drawn as the channel mean, :func:`channel_mean`). All maps of a row share
    one colour scale, from 0 to the row's largest value, and the row's colorbar
    (on the right) says what the colours mean."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(rows), len(columns), figsize=(1.1 * len(columns) + 1.2, 2.35 * len(rows)),
                             squeeze=False, layout="constrained")
    for r, i in enumerate(rows):
        heats = {name: channel_mean(t[i]) for name, t, kind in columns if kind == "map"}
        vmax = max(float(h.max()) for h in heats.values()) if heats else 1.0
        mappable = None
        for c, (name, tensor, kind) in enumerate(columns):
            ax = axes[r, c]
            if kind == "image":
                ax.imshow(_as_image(tensor[i]))
            elif kind == "map":
                mappable = ax.imshow(heats[name], cmap=cmap, vmin=0, vmax=vmax, interpolation="nearest")
            else:
                raise ValueError(f"column {name!r}: kind must be 'image' or 'map', got {kind!r}")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(name, fontsize=FONT)
        if mappable is not None:
            bar = fig.colorbar(mappable, ax=axes[r, :], shrink=0.85, pad=0.01)
            bar.set_label("mean activation\nover channels", fontsize=FONT - 1)
            bar.ax.tick_params(labelsize=FONT - 1)
    if title:
        fig.suptitle(title, fontsize=FONT + 1)
    return fig


# =============================================================================================
# Notebooks 04-05
# =============================================================================================

#: Colours of Fig. 3's dotted rectangles (the paper's): the GAN green, the student red, the teacher blue.
GAN_COLOR, STUDENT_COLOR, TEACHER_COLOR = "#2e8b57", "#c0392b", "#2c6fbb"
LOSS_COLOR, OPTIM_COLOR, IMAGE_COLOR = "#f2f2f2", "#fbe7a1", "#ffffff"


def _diagram_flags(variant: str | None) -> dict[str, bool]:
    from tsgan_lib.train.steps import table2_config

    s = table2_config(variant or "jd_all_ts")
    return {"gan": s.use_gan, "joint": s.use_gan and s.joint_disc,
            "teacher": s.ts.use_cross_domain or s.ts.use_same_domain or (s.use_gan and s.joint_disc),
            "cd": s.use_gan and s.ts.use_cross_domain, "same": s.ts.use_same_domain}


def plot_tsgan_diagram(variant: str | None = None, *, figsize: tuple[float, float] = (12.0, 7.2),
                       fontsize: float = 9.0):
    """The paper's Fig. 3 as boxes and arrows.

    Images (white): X_R, X_I and X_I' = G_I(X_R) (whose detached copy feeds
    the student and the teacher). Networks: G_I, G_R, D_I (joint: it judges
    an IR image *with* a layer-3 feature map), D_R (green rectangle); the
    student FE_S -> f_map,S -> LE_S -> GAP (V) -> FC (F) (red); the frozen
    teacher FE_T -> f_map,T (blue). Losses (grey) with their equations: L_G
    (Eq. 1, 6, 7), L_ReID (Eq. 8-12), L_TS (Eq. 13-16), L_D (Eq. 2-5); each
    feeds one optimiser (yellow): O_G, O_B, O_D. Dashed: a detached tensor
    (no gradient flows back along it).

    ``variant``: a Table II row (``"backbone"``, ``"od_single_ts"``,
    ``"od_all_ts"``, ``"jd_all_ts"``; ``None`` = the full model); what the row
    does not use is faded. Returns the Figure.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle

    on = _diagram_flags(variant)
    gan, joint, teacher = on["gan"], on["joint"], on["teacher"]
    ts = on["cd"] or on["same"]
    fig, ax = plt.subplots(figsize=figsize)
    ax.set_xlim(0, 21)
    ax.set_ylim(0.3, 12.4)
    ax.axis("off")
    boxes: dict[str, tuple[float, float, float, float]] = {}
    faded = 0.18

    def box(name, x, y, text, *, w=2.2, h=1.0, color=IMAGE_COLOR, used=True, bold=False, dashed=False):
        boxes[name] = (x, y, w, h)
        alpha = 1.0 if used else faded
        ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.05,rounding_size=0.15",
                                    fc=color, ec="0.25", lw=1.3, alpha=alpha, zorder=2,
                                    ls=(0, (3, 2)) if dashed else "-"))
        ax.text(x, y, text, ha="center", va="center", fontsize=fontsize, zorder=3, alpha=alpha,
                fontweight="bold" if bold else "normal")

    def anchor(name, side):
        x, y, w, h = boxes[name]
        if isinstance(side, float):
            return (x - w / 2 + side * w, y - h / 2 - 0.05)
        return {"l": (x - w / 2 - 0.05, y), "r": (x + w / 2 + 0.05, y), "t": (x, y + h / 2 + 0.05),
                "b": (x, y - h / 2 - 0.05), "tl": (x - w / 4, y + h / 2 + 0.05), "tr": (x + w / 4, y + h / 2 + 0.05),
                "bl": (x - w / 4, y - h / 2 - 0.05), "br": (x + w / 4, y - h / 2 - 0.05)}[side]

    def arrow(a, sa, b, sb, *, label=None, dashed=False, used=True, rad=0.0, lpos=0.5, loff=(0.0, 0.0)):
        """From box ``a`` to box ``b``; a side is "l", "r", "t", "b", a corner-ish
        "tl", "tr", "bl", "br", or a fraction (0..1) along the box's bottom edge."""
        p, q = anchor(a, sa), anchor(b, sb)
        alpha = 1.0 if used else faded
        ax.add_patch(FancyArrowPatch(p, q, arrowstyle="-|>", mutation_scale=11, lw=1.1, color="0.2", alpha=alpha,
                                     linestyle=(0, (4, 3)) if dashed else "-",
                                     connectionstyle=f"arc3,rad={rad}", zorder=1))
        if label:
            mx, my = p[0] + lpos * (q[0] - p[0]) + loff[0], p[1] + lpos * (q[1] - p[1]) + loff[1]
            ax.text(mx, my, label, ha="center", va="center", fontsize=fontsize - 0.5, color="0.15", alpha=alpha,
                    zorder=4, bbox={"fc": "white", "ec": "none", "alpha": 0.85 * alpha, "pad": 0.6})

    def region(x0, y0, x1, y1, color, label, used=True):
        ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, ec=color, lw=1.6, ls=(0, (3, 3)),
                               alpha=1.0 if used else faded, zorder=0))
        ax.text(x0 + 0.12, y1 - 0.12, label, ha="left", va="top", fontsize=fontsize, color=color,
                fontweight="bold", alpha=1.0 if used else faded)

    region(2.9, 7.75, 13.0, 12.2, GAN_COLOR, "RGB-IR image generation (CycleGAN)", gan)
    region(2.9, 4.75, 14.95, 7.4, STUDENT_COLOR, "Student ReID backbone (trained)")
    region(2.9, 0.45, 9.4, 3.85, TEACHER_COLOR, "IR Teacher (pretrained, frozen)", teacher)

    # images (the left column) and the generated one
    box("XR", 1.2, 9.6, "X_R\nreal RGB", w=1.8)
    box("XIc", 1.2, 6.5, "X_I'\n(detached)", w=1.8, dashed=True, used=gan)
    box("XI", 1.2, 3.0, "X_I\nreal IR", w=1.8)
    box("XIf", 7.6, 10.9, "X_I' = G_I(X_R)\nfake IR", w=2.5, used=gan)
    # the generation module
    box("GI", 4.5, 10.9, "G_I\nRGB → IR", color="#d8efe0", used=gan)
    box("GR", 4.5, 8.6, "G_R\nIR → RGB", color="#d8efe0", used=gan)
    box("DR", 7.6, 8.6, "D_R: X_R\nvs G_R(X_I)", color="#d8efe0", used=gan)
    box("DI", 11.1, 10.9, "D_I " + ("(joint)\nIR image + f_map" if joint else "(ordinary)\nIR image only"),
        w=2.8, color="#d8efe0", used=gan, bold=True)
    # the student
    box("FES", 5.0, 6.0, "FE_S\nconv1 + layers 1-3", w=2.6, color="#f6d5d1")
    box("fmS", 7.6, 6.0, "f_map,S", w=1.4, h=0.8, color="#f6d5d1")
    box("LES", 10.1, 6.0, "LE_S\nlayer 4", w=1.4, color="#f6d5d1")
    box("V", 11.95, 6.0, "GAP → V\n(test feature)", w=1.7, color="#f6d5d1")
    box("F", 13.85, 6.0, "FC → F\n(logits)", w=1.4, color="#f6d5d1")
    # the teacher
    box("FET", 5.0, 2.2, "FE_T (frozen)\nconv1 + layers 1-3", w=2.6, color="#d6e4f5", used=teacher)
    box("fmT", 7.9, 2.2, "f_map,T", w=1.4, h=0.8, color="#d6e4f5", used=teacher)
    # losses and optimisers
    box("LG", 16.7, 10.9, "L_G (Eq. 7)\n= L_G^adv (Eq. 1)\n+ ω·L_cyc (Eq. 6)", w=2.6, h=1.35, color=LOSS_COLOR,
        used=gan)
    box("LD", 16.7, 8.6, "L_D (Eq. 2-5)\nreal vs fake\n" + ("(the set M, Eq. 5)" if joint else "(X_I vs X_I')"),
        w=2.6, h=1.35, color=LOSS_COLOR, used=gan)
    box("LR", 16.7, 6.0, "L_ReID (Eq. 8)\nID (9-10), Tri (11)" + ("\nGAN (12)" if joint else ""), w=2.4, h=1.35,
        color=LOSS_COLOR)
    parts = [t for t, use in (("CD (15)", on["cd"]), ("RealIR (13)", on["same"]), ("FakeIR (14)", on["same"] and gan))
             if use]
    box("LT", 12.9, 2.2, "L_TS (Eq. 16)\n" + (", ".join(parts) if parts else "Eq. 13-15"), w=3.9, h=1.2,
        color=LOSS_COLOR, used=ts)
    box("OG", 19.7, 10.9, "O_G\nupdates\nG_I, G_R", w=1.6, h=1.35, color=OPTIM_COLOR, used=gan)
    box("OD", 19.7, 8.6, "O_D\nupdates\nD_I, D_R", w=1.6, h=1.35, color=OPTIM_COLOR, used=gan)
    box("OB", 19.7, 4.3, "O_B\nupdates\nFE_S, LE_S", w=1.6, h=1.35, color=OPTIM_COLOR)

    # generation
    arrow("XR", "r", "GI", "l", used=gan, rad=-0.1)
    arrow("GI", "r", "XIf", "l", used=gan)
    arrow("XIf", "bl", "GR", "tr", label="cycle (Eq. 6)", used=gan, lpos=0.45)
    arrow("XI", 0.9, "GR", "l", used=gan, rad=-0.12)
    arrow("GR", "r", "DR", "l", used=gan)
    arrow("XIf", "r", "DI", "l", used=gan)
    arrow("DI", "r", "LG", "l", label="Eq. 1", used=gan, loff=(0.0, 0.22))
    arrow("DR", "r", "LD", "l", label="D_R's terms", used=gan, lpos=0.8)
    arrow("DI", "br", "LD", "t", label="Eq. 3-5", used=gan, rad=-0.15, lpos=0.55, loff=(0.1, 0.15))
    # the student
    arrow("XR", "br", "FES", "tl", rad=0.05)
    arrow("XIc", "r", "FES", "l", dashed=True, used=gan)
    arrow("XI", "tr", "FES", "bl", rad=-0.1)
    arrow("FES", "r", "fmS", "l")
    arrow("fmS", "r", "LES", "l")
    arrow("LES", "r", "V", "l")
    arrow("V", "r", "F", "l")
    arrow("F", "r", "LR", "l")
    arrow("V", "b", "LR", "b", label="triplet", rad=0.3, lpos=0.5, loff=(0.0, -0.62))
    arrow("fmS", "tr", "DI", 0.62, label="fake set M\n(Eq. 5)", used=joint, lpos=0.3, loff=(0.55, 0.0))
    arrow("DI", 0.85, "LR", "tl", label="Eq. 12", used=joint, rad=0.1, lpos=0.6, loff=(0.15, 0.1))
    # the teacher
    arrow("XI", "r", "FET", "l", used=teacher)
    arrow("XIc", "br", "FET", "tl", dashed=True, used=teacher and gan)
    arrow("FET", "r", "fmT", "l", used=teacher)
    arrow("fmT", "t", "DI", 0.15, label="real pairs\n(X_I, f_map,T)", used=joint, lpos=0.12, loff=(1.0, 0.0))
    arrow("fmT", "r", "LT", "l", label="targets", used=ts, loff=(0.0, 0.2))
    arrow("fmS", "br", "LT", "tl", used=ts, rad=0.1)
    # optimisers
    arrow("LG", "r", "OG", "l", used=gan)
    arrow("LD", "r", "OD", "l", used=gan)
    arrow("LR", "r", "OB", "t", rad=-0.3)
    arrow("LT", "r", "OB", "l", used=ts, rad=0.15)
    name = "the full model" if variant in (None, "jd_all_ts") else f"variant {variant}"
    ax.set_title(f"TS-GAN (the paper's Fig. 3), {name}: networks, losses and optimisers"
                 + ("; faded: not used by this variant" if not all(on.values()) else ""), fontsize=fontsize + 2)
    fig.tight_layout()
    return fig


# ---- k-reciprocal re-ranking in one picture ----------------------------------------------------
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
    from tsgan_lib.eval.features import EVAL_DTYPE, euclidean_distance

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
    from tsgan_lib.eval.rerank import k_reciprocal_rerank

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

    from tsgan_lib.eval.figures import MATCH_COLOR, MISMATCH_COLOR, QUERY_COLOR

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


# ---- the modality gap of learnt features -------------------------------------------------------
def _pair_blocks(pids: Sequence[int], modalities: Sequence[str]):
    from tsgan_lib.data.viz import PAIR_TYPES

    pids, mods = np.asarray(pids), np.asarray(modalities)
    same = pids[:, None] == pids[None, :]
    for name, ma, mb in PAIR_TYPES:
        block = np.outer(mods == ma, mods == mb)
        if ma == mb:
            block &= ~np.eye(len(pids), dtype=bool)
        yield name, block, same


def plot_gap_histograms(embeddings: Mapping[str, np.ndarray], pids: Sequence[int], modalities: Sequence[str], *,
                        bins: int = 40, panel_size: tuple[float, float] = (3.7, 2.6)):
    """Histograms of same- vs different-identity distances within RGB, within
    IR and across modalities (columns), one row per embedding (e.g.
    ``{"untrained": ..., "trained": ...}``). Each panel has its own bins (a
    trained network's distances may live on another scale) and its title gives
    its separation (mean different − mean same) / std different, as
    :func:`tsgan_lib.data.viz.modality_gap_stats`. y: density. Returns the Figure."""
    import matplotlib.pyplot as plt

    blocks = list(_pair_blocks(pids, modalities))
    dists = {name: _pairwise(emb) for name, emb in embeddings.items()}
    fig, axes = plt.subplots(len(dists), len(blocks), squeeze=False,
                             figsize=(panel_size[0] * len(blocks), panel_size[1] * len(dists) + 0.2))
    for c, (pair, block, same) in enumerate(blocks):
        for r, (name, d) in enumerate(dists.items()):
            ax = axes[r, c]
            ds, dd = d[block & same], d[block & ~same]
            edges = np.linspace(float(d[block].min()), float(d[block].max()), bins + 1)
            ax.hist(dd, bins=edges, density=True, alpha=0.55, color="#d62728", label="different id")
            ax.hist(ds, bins=edges, density=True, alpha=0.55, color="#2ca02c", label="same id")
            sep = (dd.mean() - ds.mean()) / (dd.std() + 1e-12)
            ax.set_title(f"{name}: {pair} (separation {sep:.2f})", fontsize=9)
            ax.set_xlabel("distance", fontsize=8.5)
            ax.set_ylabel("density", fontsize=8.5)
            ax.tick_params(labelsize=7.5)
    axes[0, 0].legend(fontsize=7.5)
    fig.tight_layout()
    return fig


def plot_distance_heatmaps(distances: Mapping[str, np.ndarray], q_pids: Sequence[int], g_pids: Sequence[int], *,
                           shared_scale: bool = False, panel_size: tuple[float, float] = (4.6, 4.0),
                           cmap: str = "viridis"):
    """Query x gallery distance matrices, rows and columns sorted by identity
    (a person's own block lies on the diagonal), one panel per entry of
    ``distances``, each with its colour bar (``shared_scale``: one scale and
    one colour bar for all, when the distances are comparable). Returns the Figure."""
    import matplotlib.pyplot as plt

    qo = np.argsort(np.asarray(q_pids), kind="stable")
    go = np.argsort(np.asarray(g_pids), kind="stable")
    mats = {k: np.asarray(v, dtype=float)[np.ix_(qo, go)] for k, v in distances.items()}
    lo = min(float(m.min()) for m in mats.values())
    hi = max(float(m.max()) for m in mats.values())
    fig, axes = plt.subplots(1, len(mats), squeeze=False,
                             figsize=(panel_size[0] * len(mats) + (0.8 if shared_scale else 0.9 * len(mats)),
                                      panel_size[1]))
    im = None
    for ax, (name, m) in zip(axes[0], mats.items()):
        vmin, vmax = (lo, hi) if shared_scale else (float(m.min()), float(m.max()))
        im = ax.imshow(m, aspect="auto", cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("gallery images (RGB), sorted by identity", fontsize=8.5)
        ax.set_ylabel("queries (IR), sorted by identity", fontsize=8.5)
        ax.tick_params(labelsize=7.5)
        if not shared_scale:
            bar = fig.colorbar(im, ax=ax, fraction=0.05, pad=0.03)
            bar.set_label("distance", fontsize=8.5)
            bar.ax.tick_params(labelsize=7.5)
    if shared_scale:
        bar = fig.colorbar(im, ax=list(axes[0]), fraction=0.03, pad=0.02)
        bar.set_label("distance", fontsize=8.5)
    else:
        fig.tight_layout()
    return fig
