"""Feature extraction (backbone only) and Euclidean distances."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import Dataset

from tsgan_lib.eval import euclidean_distance, extract_features


class Images(Dataset):
    """Items shaped like ImageDataset's: (image, pid, camid)."""

    def __init__(self, n=7):
        g = torch.Generator().manual_seed(0)
        self.x = torch.randn(n, 3, 4, 2, generator=g)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i], i % 3, 1 + i % 6


class Backbone(torch.nn.Module):
    """Eval-mode outputs like the project's backbone: a mapping of tensors."""

    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(24, 5)
        self.bn = torch.nn.BatchNorm1d(5)

    def forward(self, x):
        feat = self.fc(x.flatten(1))
        return {"feat": feat, "bn_feat": self.bn(feat), "logits": feat[:, :2], "fmap": x}


def test_mapping_output_batched_in_order_and_no_grad():
    model, data = Backbone(), Images()
    model.train()
    feats = extract_features(model, data, batch_size=3, device="cpu")
    assert model.training  # mode restored
    with torch.no_grad():
        want = model.fc(data.x.flatten(1))
    torch.testing.assert_close(feats, want)
    assert not feats.requires_grad and feats.dtype == torch.float32
    model.bn.running_mean.fill_(1.0)
    bn = extract_features(model, data, batch_size=3, device="cpu", feature_key="bn_feat")
    torch.testing.assert_close(bn, (feats - 1.0) / (1 + model.bn.eps) ** 0.5)
    with pytest.raises(KeyError, match="nope"):
        extract_features(model, data, device="cpu", feature_key="nope")


def test_flip_average_and_normalisation():
    model, data = Backbone().eval(), Images()
    feats = extract_features(model, data, batch_size=4, device="cpu", flip=True, normalize=True)
    with torch.no_grad():
        a = model.fc(data.x.flatten(1))
        b = model.fc(torch.flip(data.x, dims=[-1]).flatten(1))
    want = torch.nn.functional.normalize((a + b) / 2, dim=1)
    torch.testing.assert_close(feats, want)
    torch.testing.assert_close(feats.norm(dim=1), torch.ones(len(data)))


def test_plain_tensor_model():
    lin = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(24, 3))
    feats = extract_features(lin, Images(5), batch_size=2, device="cpu")
    assert feats.shape == (5, 3)


def test_euclidean_distance_matches_cdist():
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(50, 16, generator=g) * 10, torch.randn(30, 16, generator=g)
    d = euclidean_distance(x, y, chunk=7)
    torch.testing.assert_close(d, torch.cdist(x.double(), y.double()).float(), rtol=1e-4, atol=1e-3)
    # a large common offset (GAP features are non-negative) does not cost precision
    shifted = euclidean_distance(x + 1000.0, x + 1000.0)
    assert shifted.diagonal().abs().max() < 0.05  # unshifted: up to 2.4
    torch.testing.assert_close(shifted, torch.cdist(x.double(), x.double()).float(), rtol=1e-4, atol=0.05)
    with pytest.raises(ValueError, match="same D"):
        euclidean_distance(x, torch.randn(3, 4))
