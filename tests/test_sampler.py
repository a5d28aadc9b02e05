"""Cross-modality identity sampler, datasets and transforms."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
import torch

from tsgan_lib.data import (CrossModalityIdentitySampler, CrossModalityTrainSet, DatasetError, ImageDataset,
                            Record, build_train_loader, build_transform, make_synthetic_sysu, load_sysu)


def _pids():
    rgb = [p for p in range(10) for _ in range(5)]  # 50 RGB images
    ir = [p for p in range(10) for _ in range(3)]
    return rgb, ir


def test_batch_structure_and_epoch_length():
    rgb, ir = _pids()
    s = CrossModalityIdentitySampler(rgb, ir, P=4, K=3, seed=1)
    assert s.steps_per_epoch == math.ceil(50 / 12) and len(s) == s.steps_per_epoch * 12
    for batch in s.batches():
        ids = [rgb[a] for a, _ in batch]
        assert [ir[b] for _, b in batch] == ids  # pairs share the identity
        assert len(set(ids)) == 4 and all(ids.count(i) == 3 for i in set(ids))
        assert ids == sorted(ids, key=lambda x: ids.index(x))  # K consecutive per identity


def test_reproducible_and_epoch_dependent():
    rgb, ir = _pids()
    a = CrossModalityIdentitySampler(rgb, ir, P=4, K=2, seed=7)
    b = CrossModalityIdentitySampler(rgb, ir, P=4, K=2, seed=7)
    assert list(a) == list(b)
    b.set_epoch(1)
    assert list(a) != list(b)
    c = CrossModalityIdentitySampler(rgb, ir, P=4, K=2, seed=0)
    c.load_state_dict(b.state_dict())
    assert list(c) == list(b)


def test_identities_visited_evenly():
    rgb, ir = _pids()
    s = CrossModalityIdentitySampler(rgb, ir, P=5, K=1, seed=0)
    counts = np.bincount([rgb[a] for e in range(4) for batch in s.batches(e) for a, _ in batch], minlength=10)
    assert counts.max() - counts.min() <= 2


def test_sampler_errors():
    with pytest.raises(ValueError, match="P must be"):
        CrossModalityIdentitySampler([0, 1], [0, 1], P=1, K=1)
    with pytest.warns(UserWarning, match="1 identities lack one modality"), \
            pytest.raises(ValueError, match="only 2 identities"):
        CrossModalityIdentitySampler([0, 1, 2], [0, 1], P=3, K=1)


def test_transforms_shapes():
    from PIL import Image
    img = Image.new("RGB", (50, 100), (255, 0, 0))
    tr, te = build_transform(True, 96, 48), build_transform(False, 96, 48)
    assert tr(img).shape == te(img).shape == (3, 96, 48)
    assert te(img)[0].mean() == pytest.approx((1 - 0.485) / 0.229, abs=1e-3)
    with pytest.raises(ValueError, match="height"):
        build_transform(False, 0, 10)


def test_crop_padding_scales_with_the_width():
    from torchvision import transforms as T

    from tsgan_lib.data import default_pad
    # the paper's 10 px at 288x144, the same fraction of a smaller input's width
    assert [default_pad(w) for w in (144, 128, 64, 48, 32)] == [10, 9, 4, 3, 2]
    pads = lambda tf: [t.padding for t in tf.transforms if isinstance(t, T.Pad)]
    assert pads(build_transform(True, 64, 32)) == [2] and pads(build_transform(True, 288, 144)) == [10]
    assert pads(build_transform(True, 64, 32, pad=0)) == [0] and pads(build_transform(False, 64, 32)) == []
    with pytest.raises(ValueError, match="pad must be a non-negative"):
        build_transform(True, 64, 32, pad=-1)


def test_loader_with_workers_and_pickle(tmp_path):
    root = make_synthetic_sysu(tmp_path / "syn", num_ids=16, images_per_camera=(2, 2))
    ds = load_sysu(root)
    loader = build_train_loader(ds.train, P=3, K=2, height=64, width=32, workers=2, seed=0)
    x_rgb, x_ir, y = next(iter(loader))
    assert x_rgb.shape == x_ir.shape == (6, 3, 64, 32) and y.shape == (6,)
    assert torch.equal(y.view(3, 2)[:, 0], y.view(3, 2)[:, 1])
    pickle.dumps(loader.dataset)
    ev = ImageDataset(ds.test, build_transform(False, 64, 32))
    img, pid, cam = ev[0]
    assert img.shape == (3, 64, 32) and pid == ds.test[0].pid and cam == ds.test[0].camid


def test_undecodable_image_names_the_file(tmp_path):
    bad = tmp_path / "0001.jpg"
    bad.write_bytes(b"not a jpeg")
    ds = ImageDataset([Record(str(bad), 1, 1, "rgb")])
    with pytest.raises(DatasetError, match="0001.jpg"):
        ds[0]
    with pytest.raises(DatasetError, match="needs RGB and IR"):
        CrossModalityTrainSet([Record(str(bad), 1, 1, "rgb")])
