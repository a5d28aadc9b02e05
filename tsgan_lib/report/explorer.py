"""Looking inside one evaluation: which queries fail, where their true match
sits, and which gallery images crowd the top of many lists (hubs).

Scope: functions of one query x gallery distance matrix and its records (the
SYSU-MM01 location rule applied as in :func:`tsgan_lib.eval.metrics.evaluate_sysu`,
whose per-query numbers they reuse), for notebook 05's explorer:

- :func:`query_table` -- per query: AP, INP, the rank of the first true match
  (in images, and in distinct identities, the rank the CMC counts), the top-1 identity;
- :func:`worst_queries` -- the valid queries with the lowest AP (the failures);
- :func:`plot_query` -- one query's ranked list, with its first true match
  added at the end when it lies below the cut;
- :func:`gallery_hubs` -- how often each gallery image appears in the queries'
  top-k, against what a random ranking would give; :func:`plot_hubs` shows
  the most frequent ones;
- :func:`query_explorer` -- the same in an ipywidgets interface (a live
  kernel); headless runs call :func:`plot_query` once instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from tsgan_lib.data.records import Record
from tsgan_lib.eval.figures import MATCH_COLOR, MISMATCH_COLOR, QUERY_COLOR, load_image
from tsgan_lib.eval.metrics import _to_numpy, evaluate_regdb, evaluate_sysu, ranked_gallery, sysu_location_rule


def _ignore(query: Sequence[Record], gallery: Sequence[Record], location_rule: bool) -> np.ndarray | None:
    if not location_rule:
        return None
    return sysu_location_rule([r.camid for r in query], [r.camid for r in gallery])


def _check(d: np.ndarray, query, gallery) -> None:
    if d.shape != (len(query), len(gallery)):
        raise ValueError(f"distmat has shape {d.shape}, expected (len(query), len(gallery)) = "
                         f"({len(query)}, {len(gallery)})")


def query_table(distmat, query: Sequence[Record], gallery: Sequence[Record], *,
                location_rule: bool = True) -> pd.DataFrame:
    """One row per query (index = the query's row in ``distmat``): ``pid``,
    ``camid``, ``matches`` (true matches left after the location rule),
    ``valid``, ``AP`` and ``INP`` (percent), ``first_rank`` (rank of the first
    true match among the gallery images), ``first_rank_ids`` (the same counted
    in distinct identities, as SYSU-MM01's CMC does; RegDB: equal to
    ``first_rank``), ``top1_pid`` and ``path``. Invalid queries have NaN metrics.
    The means of ``AP`` and of ``first_rank_ids == 1`` over valid queries are
    the evaluation's mAP and Rank-1."""
    d = _to_numpy(distmat, "distmat").astype(np.float64)
    _check(d, query, gallery)
    qp = np.array([r.pid for r in query])
    gp = np.array([r.pid for r in gallery])
    ignore = _ignore(query, gallery, location_rule)
    if location_rule:
        res = evaluate_sysu(d, qp, gp, [r.camid for r in query], [r.camid for r in gallery], per_query=True)
    else:
        res = evaluate_regdb(d, qp, gp, per_query=True)
    rows = []
    for i, q in enumerate(query):
        ranked = ranked_gallery(d[i], ignore_row=None if ignore is None else ignore[i])
        is_match = gp[ranked] == q.pid
        rows.append({"pid": q.pid, "camid": q.camid, "matches": int(is_match.sum()),
                     "first_rank": float(np.argmax(is_match) + 1) if is_match.any() else np.nan,
                     "top1_pid": int(gp[ranked[0]]) if len(ranked) else -1, "path": q.path})
    table = pd.DataFrame(rows)
    table.index.name = "query"
    table["valid"] = res["valid"]
    for col, values, scale in (("AP", res["AP"], 100.0), ("INP", res["INP"], 100.0),
                               ("first_rank_ids", res["first_rank"], 1.0)):
        table[col] = np.nan
        table.loc[table["valid"], col] = np.asarray(values, dtype=float) * scale
    return table[["pid", "camid", "matches", "valid", "AP", "INP", "first_rank", "first_rank_ids", "top1_pid",
                  "path"]]


def worst_queries(table: pd.DataFrame, n: int = 8, by: str = "AP") -> pd.DataFrame:
    """The ``n`` valid queries with the lowest ``by`` (ties: the later first true match first)."""
    valid = table[table["valid"]]
    return valid.sort_values([by, "first_rank"], ascending=[True, False]).head(n)


def plot_query(distmat, query: Sequence[Record], gallery: Sequence[Record], index: int, *, top_k: int = 10,
               location_rule: bool = True, loader: Callable[[str], np.ndarray] | None = None,
               cell_size: tuple[float, float] = (1.05, 2.3)):
    """One query (blue frame) and its top-``top_k`` gallery images (green:
    same identity, red: another). When the first true match lies below the
    cut, it is drawn after a gap with its rank, so every panel shows where
    the true match is. The header states AP and the first true match's rank.
    Returns the Figure."""
    import matplotlib.pyplot as plt

    d = _to_numpy(distmat, "distmat")
    _check(d, query, gallery)
    if not 0 <= index < len(query):
        raise ValueError(f"query index {index} is outside 0..{len(query) - 1}")
    loader = loader or load_image
    q = query[index]
    ignore = _ignore([q], gallery, location_rule)
    ranked = ranked_gallery(d[index], ignore_row=None if ignore is None else ignore[0])
    gp = np.array([r.pid for r in gallery])
    hits = np.flatnonzero(gp[ranked] == q.pid)
    first = int(hits[0]) + 1 if hits.size else None
    shown = list(range(min(top_k, len(ranked))))
    extra = first is not None and first > top_k
    n_cells = 1 + len(shown) + (2 if extra else 0)
    fig, axes = plt.subplots(1, n_cells, figsize=(cell_size[0] * n_cells, cell_size[1] + 0.5), squeeze=False)
    axes = axes[0]

    def framed(ax, path, color, title):
        ax.imshow(loader(path))
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_edgecolor(color)
            spine.set_linewidth(3.5)
        ax.set_title(title, fontsize=8, color=color)

    framed(axes[0], q.path, QUERY_COLOR, f"query {index}\nid {q.pid} cam {q.camid}")
    for col, pos in enumerate(shown, start=1):
        g = gallery[ranked[pos]]
        framed(axes[col], g.path, MATCH_COLOR if g.pid == q.pid else MISMATCH_COLOR,
               f"{pos + 1}: id {g.pid}\ncam {g.camid}")
    if extra:
        axes[-2].axis("off")
        axes[-2].text(0.5, 0.5, "…", ha="center", va="center", fontsize=16)
        g = gallery[ranked[first - 1]]
        framed(axes[-1], g.path, MATCH_COLOR, f"{first}: id {g.pid}\ncam {g.camid}")
    table = query_table(d[index:index + 1], [q], gallery, location_rule=location_rule) if hits.size else None
    if table is not None:
        row = table.iloc[0]
        head = (f"query {index}: AP {row['AP']:.1f}%, first true match at rank {first} of {len(ranked)} images "
                f"({int(row['first_rank_ids'])} in distinct identities), {len(hits)} true match(es)")
    else:
        head = f"query {index}: no true match in this gallery"
    fig.suptitle(head, fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 0.9))
    return fig


def gallery_hubs(distmat, query: Sequence[Record], gallery: Sequence[Record], *, top_k: int = 10,
                 location_rule: bool = True) -> pd.DataFrame:
    """One row per gallery image (index = its column in ``distmat``), most
    frequent first: ``in_top_k`` (in how many queries' top ``top_k`` it
    appears), ``as_match`` (of those, how many queries share its identity),
    ``expected`` (the same count for a random ranking: the sum over the
    queries that may see it of top_k / the number of images they see),
    ``ratio`` = in_top_k / expected, ``pid``, ``camid``, ``path``."""
    d = _to_numpy(distmat, "distmat")
    _check(d, query, gallery)
    ignore = _ignore(query, gallery, location_rule)
    gp = np.array([r.pid for r in gallery])
    counts = np.zeros(len(gallery), dtype=np.int64)
    as_match = np.zeros(len(gallery), dtype=np.int64)
    expected = np.zeros(len(gallery))
    for i, q in enumerate(query):
        row_ignore = None if ignore is None else ignore[i]
        top = ranked_gallery(d[i], ignore_row=row_ignore, top_k=top_k)
        counts[top] += 1
        as_match[top[gp[top] == q.pid]] += 1
        seen = np.ones(len(gallery), dtype=bool) if row_ignore is None else ~row_ignore
        expected[seen] += min(top_k, int(seen.sum())) / max(int(seen.sum()), 1)
    out = pd.DataFrame({"in_top_k": counts, "as_match": as_match, "expected": expected,
                        "ratio": counts / np.maximum(expected, 1e-12), "pid": gp,
                        "camid": [r.camid for r in gallery], "path": [r.path for r in gallery]})
    out.index.name = "gallery"
    return out.sort_values(["in_top_k", "ratio"], ascending=False)


def plot_hubs(hubs: pd.DataFrame, n: int = 8, *, top_k: int = 10, loader: Callable[[str], np.ndarray] | None = None,
              cell_size: tuple[float, float] = (1.2, 2.4)):
    """The ``n`` most frequent gallery images of :func:`gallery_hubs`, each
    titled with its identity, camera and how often it appears in a top-``top_k``
    (and × what a random ranking gives). Returns the Figure."""
    import matplotlib.pyplot as plt

    loader = loader or load_image
    top = hubs.head(n)
    fig, axes = plt.subplots(1, len(top), figsize=(cell_size[0] * len(top), cell_size[1] + 0.4), squeeze=False)
    for ax, (_, row) in zip(axes[0], top.iterrows()):
        ax.imshow(loader(row["path"]))
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"id {row['pid']} cam {row['camid']}\nin {row['in_top_k']} top-{top_k}s\n"
                     f"({row['ratio']:.1f}× random)", fontsize=8)
    fig.tight_layout()
    return fig


def query_explorer(distmat, query: Sequence[Record], gallery: Sequence[Record], *, location_rule: bool = True,
                   top_k: int = 10):
    """An ipywidgets explorer for a live kernel: a drop-down of every valid
    query, worst AP first (each labelled with its AP and the rank of its first
    true match), and a slider for the list length; each choice draws
    :func:`plot_query`. Returns the widget."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt
    from IPython.display import display

    table = query_table(distmat, query, gallery, location_rule=location_rule)
    order = table[table["valid"]].sort_values(["AP", "first_rank"], ascending=[True, False])
    options = [(f"AP {r.AP:5.1f} · first match at {int(r.first_rank)} · query {i} (id {r.pid}, cam {r.camid})", i)
               for i, r in order.iterrows()]
    pick = widgets.Dropdown(options=options, description="query", layout=widgets.Layout(width="95%"))
    length = widgets.IntSlider(min=5, max=20, value=top_k, description="top k")
    out = widgets.Output()

    def draw(*_):
        with out:
            out.clear_output(wait=True)
            plot_query(distmat, query, gallery, pick.value, top_k=length.value, location_rule=location_rule)
            plt.show()

    pick.observe(draw, "value")
    length.observe(draw, "value")
    box = widgets.VBox([pick, length, out])
    display(box)
    draw()
    return box
