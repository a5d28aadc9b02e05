"""Ranked-list figure (the paper's Fig. 4): borders, order, location rule."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402
from PIL import Image  # noqa: E402

from tsgan_lib.data.records import Record  # noqa: E402
from tsgan_lib.eval import plot_ranked_lists  # noqa: E402
from tsgan_lib.eval.figures import MATCH_COLOR, MISMATCH_COLOR  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture
def toy(tmp_path):
    def rec(pid, cam, i):
        path = tmp_path / f"c{cam}_{pid}_{i}.png"
        Image.fromarray(np.full((16, 8, 3), 40 * cam, dtype=np.uint8)).save(path)
        return Record(str(path), pid, cam, "ir" if cam in (3, 6) else "rgb")

    query = [rec(1, 3, 0), rec(2, 6, 0)]
    gallery = [rec(1, 2, 0), rec(2, 1, 0), rec(1, 1, 0), rec(2, 4, 0), rec(1, 5, 0)]
    d = np.array([[0.0, 0.1, 0.2, 0.3, 0.4],
                  [0.5, 0.1, 0.3, 0.3, 0.0]], dtype=np.float32)
    return query, gallery, d


def _border(ax):
    return to_hex(ax.spines["top"].get_edgecolor())


def test_fig4_colours_order_and_location_rule(toy):
    query, gallery, d = toy
    fig = plot_ranked_lists(d, query, gallery, [0, 1], top_k=4, loader=None)
    axes = np.array(fig.axes).reshape(2, 5)
    # query 0 (cam3, id 1): the cam2 image is dropped -> g1 (id 2), g2 (id 1), g3 (id 2), g4 (id 1)
    assert [_border(ax) for ax in axes[0, 1:]] == [MISMATCH_COLOR, MATCH_COLOR, MISMATCH_COLOR, MATCH_COLOR]
    assert "cam 2" not in " ".join(ax.get_title() for ax in axes[0, 1:])
    # query 1 (cam6, id 2) sees everything: g4 (0.0), g1 (0.1), g2 then g3 (tie 0.3, stable)
    assert [ax.get_title().split(":")[0] for ax in axes[1, 1:]] == ["1", "2", "3", "4"]
    assert [_border(ax) for ax in axes[1, 1:]] == [MISMATCH_COLOR, MATCH_COLOR, MISMATCH_COLOR, MATCH_COLOR]
    assert "id 1 cam 5" in axes[1, 1].get_title().replace("\n", " ")


def test_short_lists_and_custom_loader(toy):
    query, gallery, d = toy
    fig = plot_ranked_lists(d, query, gallery, [0], top_k=6, loader=lambda p: np.zeros((4, 2, 3), np.uint8))
    axes = fig.axes
    assert len(axes) == 7
    assert not axes[-1].axison and not axes[-2].axison  # only 4 gallery images remain after the rule
    fig_all = plot_ranked_lists(d, query, gallery, [0], top_k=6, location_rule=False,
                                loader=lambda p: np.zeros((4, 2, 3), np.uint8))
    assert not fig_all.axes[-1].axison and fig_all.axes[-2].axison


def test_errors(toy):
    query, gallery, d = toy
    with pytest.raises(ValueError, match="distmat"):
        plot_ranked_lists(d[:, :3], query, gallery, [0])
    with pytest.raises(ValueError, match="query index 5"):
        plot_ranked_lists(d, query, gallery, [5])
