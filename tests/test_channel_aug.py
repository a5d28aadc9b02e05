"""CAJ's channel augmentation: each channel outcome on a hand-made image, the
outcome frequencies over many seeded draws, erasing confined to one box of
the stated size, the per-image transforms equal to the batched path, and the
weak/strong/infrared views with their repeated labels."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
import torch
from PIL import Image
from scipy import stats

from tsgan_lib.data.channel_aug import (BLUE, CAJ_ERASE_VALUE, CAJ_VIEWS, ERASE_SCALE, GREEN, GREY, KEEP, RED,
                                        ChannelAdapGrey, ChannelExchange, ChannelRandomErasing, adap_grey_probs,
                                        apply_channel_choice, build_caj_transforms, caj_batch, channel_augment_batch,
                                        draw_channel_aug, draw_erasing_boxes, erase_boxes, exchange_probs)

H, W = 16, 8


def _image(n: int = 1, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, H, W, generator=g)


def _outcome(x: torch.Tensor, y: torch.Tensor) -> int:
    """Which channel outcome turned ``x`` (3, H, W) into ``y``."""
    if torch.equal(y, x):
        return KEEP
    assert torch.equal(y[0], y[1]) and torch.equal(y[1], y[2]), "a changed image has three equal channels"
    for c in (RED, GREEN, BLUE):
        if torch.equal(y[0], x[c]):
            return c
    torch.testing.assert_close(y[0], 0.2989 * x[0] + 0.5870 * x[1] + 0.1140 * x[2])
    return GREY


def test_channel_outcomes_by_hand():
    x = torch.tensor([[[[1.0]], [[2.0]], [[4.0]]]]).repeat(5, 1, 1, 1)   # R = 1, G = 2, B = 4
    y = apply_channel_choice(x, torch.tensor([RED, GREEN, BLUE, GREY, KEEP]))
    grey = 0.2989 * 1 + 0.5870 * 2 + 0.1140 * 4
    expected = torch.tensor([[1.0] * 3, [2.0] * 3, [4.0] * 3, [grey] * 3, [1.0, 2.0, 4.0]]).view(5, 3, 1, 1)
    torch.testing.assert_close(y, expected)


@pytest.mark.parametrize("probs", [exchange_probs(False), exchange_probs(True), adap_grey_probs(0.5),
                                   adap_grey_probs(0.2)])
def test_outcome_frequencies(probs):
    n = 4000
    x = _image(n)
    params = draw_channel_aug(n, H, W, erasing=0.0, channel_probs=probs, generator=torch.Generator().manual_seed(1))
    y = channel_augment_batch(x, params)
    counts = np.bincount([_outcome(x[i], y[i]) for i in range(n)], minlength=5)
    assert np.array_equal(counts, np.bincount(params.choice.numpy(), minlength=5)), "outcome = drawn choice"
    support = np.array(probs) > 0
    assert counts[~support].sum() == 0, "an outcome of probability 0 never happens"
    assert stats.chisquare(counts[support], n * np.array(probs)[support]).pvalue > 1e-3


def test_caj_probabilities():
    # data_loader.py: ChannelExchange(gray=2) never keeps the colours nor draws grey
    assert exchange_probs() == pytest.approx((1 / 3, 1 / 3, 1 / 3, 0, 0))
    # ChannelAdapGray(0.5): R, G, B 1/4 each, grey 1/8, unchanged 1/8
    assert adap_grey_probs() == pytest.approx((0.25, 0.25, 0.25, 0.125, 0.125))
    assert sum(adap_grey_probs(0.3)) == pytest.approx(1.0)


def test_erasing_changes_one_box_to_the_fill():
    n = 2000
    x = _image(n, seed=2)
    boxes = draw_erasing_boxes(n, H, W, p=0.5, generator=torch.Generator().manual_seed(3))
    y = erase_boxes(x, boxes)
    fill = torch.tensor(CAJ_ERASE_VALUE).view(3, 1, 1)
    erased = 0
    for i in range(n):
        top, left, h, w = boxes[i].tolist()
        changed = (y[i] != x[i]).any(0)
        if h == 0:
            assert not changed.any()
            continue
        erased += 1
        assert 0 <= top and top + h <= H and 0 <= left and left + w <= W and h < H and w < W
        inside = torch.zeros(H, W, dtype=torch.bool)
        inside[top:top + h, left:left + w] = True
        assert not changed[~inside].any(), "nothing changes outside the box"
        assert torch.equal(y[i][:, inside], fill.expand(3, H, W)[:, inside])
        assert ERASE_SCALE[0] * H * W / 2 <= h * w <= ERASE_SCALE[1] * H * W * 1.5   # area, up to rounding
    assert stats.binomtest(erased, n, 0.5).pvalue > 1e-3


def _literal_erasing_box(rng: random.Random, height: int, width: int) -> tuple[int, int, int, int]:
    """CAJ's erasing draw for one image, step by step (p = 1): up to 100 tries of
    area ~ U(0.02, 0.4)·H·W and ratio ~ U(0.3, 1/0.3); the first box that fits."""
    for _ in range(100):
        area = rng.uniform(0.02, 0.4) * height * width
        ratio = rng.uniform(0.3, 1 / 0.3)
        h, w = int(round(math.sqrt(area * ratio))), int(round(math.sqrt(area / ratio)))
        if w < width and h < height:
            return rng.randint(0, height - h), rng.randint(0, width - w), h, w
    return 0, 0, 0, 0


def test_erasing_boxes_follow_the_literal_draw():
    n, height, width = 3000, 288, 144
    ours = draw_erasing_boxes(n, height, width, p=1.0, generator=torch.Generator().manual_seed(4)).numpy()
    rng = random.Random(4)
    ref = np.array([_literal_erasing_box(rng, height, width) for _ in range(n)])
    for k, name in enumerate(("top", "left", "h", "w")):
        assert stats.ks_2samp(ours[:, k], ref[:, k]).pvalue > 1e-3, name
    area = ours[:, 2] * ours[:, 3] / (height * width)
    assert area.min() > 0.019 and area.max() < 0.41


@pytest.mark.parametrize("op", [ChannelExchange(), ChannelAdapGrey(), ChannelRandomErasing()])
def test_per_image_transform_equals_batched_path(op):
    x = _image(1, seed=5)[0]
    op.generator = torch.Generator().manual_seed(6)
    y = op(x.clone())
    params = draw_channel_aug(1, H, W, op.erasing, op.channel_probs, torch.Generator().manual_seed(6))
    torch.testing.assert_close(y, channel_augment_batch(x[None], params)[0], rtol=0, atol=0)
    assert repr(op).startswith(type(op).__name__)


def test_caj_views_on_a_visible_and_an_infrared_image():
    rng = np.random.default_rng(7)
    rgb = Image.fromarray(rng.integers(0, 256, (40, 20, 3), dtype=np.uint8))
    ir = Image.fromarray(np.repeat(rng.integers(0, 256, (40, 20, 1), dtype=np.uint8), 3, axis=2))
    views = build_caj_transforms(H, W)
    torch.manual_seed(8)
    for _ in range(20):
        weak, strong, x_ir = views(rgb, ir)
        assert weak.shape == strong.shape == x_ir.shape == (3, H, W)
        assert torch.equal(strong[0], strong[1]) and torch.equal(strong[1], strong[2]), "strong: one channel"
        assert not torch.equal(weak[0], weak[1]), "weak: the colours stay"
    assert CAJ_VIEWS["rgb_weak"].erasing == CAJ_VIEWS["rgb_strong"].erasing == CAJ_VIEWS["ir"].erasing == 0.5


def test_caj_batch_repeats_the_labels():
    weak, strong, ir = _image(4, 9), _image(4, 10), _image(4, 11)
    labels = torch.tensor([3, 3, 5, 5])
    x, y = caj_batch(weak, strong, ir, labels)
    assert torch.equal(x, torch.cat([weak, strong, ir]))
    assert y.tolist() == [3, 3, 5, 5] * 3
    with pytest.raises(ValueError):
        caj_batch(weak, strong[:2], ir, labels)
