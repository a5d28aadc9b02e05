"""Ranked-list figures, as the paper's Fig. 4.

Scope: :func:`plot_ranked_lists` draws, for a few queries, the query image
followed by its top-k gallery images, with a green border for a true match
and a red border otherwise. The ranking is the evaluation's: stable sort by
distance, after the SYSU-MM01 location rule (a cam3 query never sees cam2).
Returns a matplotlib Figure; nothing is written to disk.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..data.records import Record
from .metrics import _to_numpy, ranked_gallery, sysu_location_rule

MATCH_COLOR = "#2ca02c"  # green: same identity as the query
MISMATCH_COLOR = "#d62728"  # red: another identity
QUERY_COLOR = "#1f77b4"


def load_image(path: str, size: tuple[int, int] = (128, 64)) -> np.ndarray:
    """An image as an (H, W, 3) uint8 array, resized to ``size`` = (H, W)."""
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB").resize((size[1], size[0])))


def _framed(ax, image, color: str, title: str, width: float) -> None:
    ax.imshow(image)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_edgecolor(color)
        spine.set_linewidth(width)
    ax.set_title(title, fontsize=8, color=color)


def plot_ranked_lists(distmat, query: Sequence[Record], gallery: Sequence[Record],
                      query_indices: Sequence[int], *, top_k: int = 10, location_rule: bool = True,
                      loader: Callable[[str], np.ndarray] | None = None, border_width: float = 4.0,
                      cell_size: tuple[float, float] = (1.1, 2.2)):
    """Fig. 4: each row a query and its top-``top_k`` gallery images.

    Parameters
    ----------
    distmat: (num_query, num_gallery) distances, aligned with ``query`` and ``gallery``.
    query_indices: which queries (rows of ``distmat``) to draw, one figure row each.
    location_rule: drop same-location gallery images first (SYSU-MM01), as
        :func:`~tsgan_lib.eval.metrics.evaluate_sysu` does; ``False`` for RegDB.
    loader: path -> (H, W, 3) image array (default :func:`load_image`).
    cell_size: (width, height) in inches of one image cell.

    Returns the ``matplotlib.figure.Figure``.
    """
    import matplotlib.pyplot as plt

    d = _to_numpy(distmat, "distmat")
    if d.shape != (len(query), len(gallery)):
        raise ValueError(f"distmat has shape {d.shape}, expected (len(query), len(gallery)) = "
                         f"({len(query)}, {len(gallery)})")
    if not query_indices:
        raise ValueError("query_indices is empty: give at least one query row to draw")
    if top_k < 1:
        raise ValueError(f"top_k must be positive, got {top_k}")
    loader = loader or load_image
    g_cams = np.array([r.camid for r in gallery])
    fig, axes = plt.subplots(len(query_indices), top_k + 1, squeeze=False,
                             figsize=(cell_size[0] * (top_k + 1), cell_size[1] * len(query_indices)))
    for row, qi in enumerate(query_indices):
        if not 0 <= qi < len(query):
            raise ValueError(f"query index {qi} is outside 0..{len(query) - 1}")
        q = query[qi]
        ignore = sysu_location_rule([q.camid], g_cams)[0] if location_rule else None
        ranked = ranked_gallery(d[qi], ignore_row=ignore, top_k=top_k)
        _framed(axes[row, 0], loader(q.path), QUERY_COLOR, f"query\nid {q.pid} cam {q.camid}", border_width)
        for col in range(1, top_k + 1):
            ax = axes[row, col]
            if col > len(ranked):
                ax.axis("off")
                continue
            g = gallery[ranked[col - 1]]
            color = MATCH_COLOR if g.pid == q.pid else MISMATCH_COLOR
            _framed(ax, loader(g.path), color, f"{col}: id {g.pid}\ncam {g.camid}", border_width)
    fig.tight_layout()
    return fig
