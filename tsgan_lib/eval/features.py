"""Test-time features: run the backbone only, and Euclidean distances.

Scope: :func:`extract_features` turns a dataset of images into one feature
row per image (batched, no gradients, on a chosen device, optionally
averaged with the horizontally flipped image and L2-normalised);
:func:`euclidean_distance` is the matmul-based distance, in float32 or in
float64 (:data:`EVAL_DTYPE`, what the evaluation ranks, as the official
code does).

Contracts. The dataset is any ``torch.utils.data.Dataset`` whose items start
with the image tensor (e.g. ``(image, pid, camid)`` from
``tsgan_lib.data.datasets.ImageDataset``). The model returns either a
tensor or a mapping; from a mapping, ``feature_key`` picks the feature:
``"feat"`` (default) is V, the 2048-d GAP vector the paper tests on;
``"bn_feat"`` is the vector after BNNeck.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch.utils.data import DataLoader, Dataset

from ..utils import resolve_device

#: dtype of evaluation distances: the official SYSU-MM01 code ranks double
#: precision distances (see :func:`euclidean_distance`).
EVAL_DTYPE = torch.float64


def _select(out, feature_key: str) -> torch.Tensor:
    if isinstance(out, Mapping):
        if feature_key not in out:
            raise KeyError(f"feature_key={feature_key!r} is not in the model's output keys {sorted(out)}")
        out = out[feature_key]
    if not isinstance(out, torch.Tensor):
        raise TypeError(f"the model must return a Tensor or a Mapping of tensors, got {type(out).__name__}")
    return out.flatten(1)


def _first(item):
    return item[0] if isinstance(item, (tuple, list)) else item


@torch.no_grad()
def extract_features(model: torch.nn.Module, dataset: Dataset, *, batch_size: int = 128,
                     device: str | torch.device = "auto", num_workers: int = 0, flip: bool = False,
                     normalize: bool = False, feature_key: str = "feat") -> torch.Tensor:
    """Features of every image of ``dataset``, in dataset order.

    The model is moved to ``device`` and put in eval mode for the call (its
    previous train/eval mode is restored). ``flip``: average the features of
    the image and its horizontal mirror. ``normalize``: L2-normalise each
    feature (after flip-averaging). Returns a float32 CPU tensor (N, D).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    device = resolve_device(device)
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=num_workers,
                        pin_memory=device.type == "cuda", collate_fn=None)
    was_training = model.training
    model.to(device).eval()
    feats = []
    try:
        for batch in loader:
            images = _first(batch).to(device, non_blocking=True)
            f = _select(model(images), feature_key).float()
            if flip:
                f = (f + _select(model(torch.flip(images, dims=[-1])), feature_key).float()) / 2
            if normalize:
                f = torch.nn.functional.normalize(f, dim=1)
            feats.append(f.cpu())
    finally:
        model.train(was_training)
    if not feats:
        raise ValueError("dataset is empty: no features to extract")
    return torch.cat(feats)


def euclidean_distance(x, y, *, device: str | torch.device | None = None, chunk: int = 4096,
                       dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Euclidean distances between the rows of ``x`` (m, D) and ``y`` (n, D):
    sqrt(|x|^2 + |y|^2 - 2 x.y), clamped at 0, computed in row chunks of
    ``x`` with one matmul each, in ``dtype``. Returns an (m, n) tensor of
    ``dtype`` on ``device`` (default: ``x``'s).

    ``dtype=torch.float32`` (training-side uses, figures, re-ranking input):
    both sets are first shifted by the mean of ``y`` (distances do not
    change), which keeps the cancellation error small for features with a
    large common part (non-negative GAP vectors).

    ``dtype=torch.float64`` (:data:`EVAL_DTYPE`, the protocol's): what the
    official SYSU-MM01 code ranks (MATLAB's double ``pdist2``). No shift:
    products of float32 features are exact in float64, and features on a
    coarse grid (quantised, small integers) give exact sums, so distances
    that are equal in exact arithmetic come out exactly equal and the
    stable sort breaks them by gallery index, as the official code does.
    (float32 splits such ties by rounding noise, or merges distinct
    distances into false ties.) Duplicated gallery rows always tie exactly.
    """
    x = torch.as_tensor(x)
    y = torch.as_tensor(y)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"x and y must be (m, D) and (n, D) with the same D, "
                         f"got {tuple(x.shape)} and {tuple(y.shape)}")
    if dtype not in (torch.float32, torch.float64):
        raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype}")
    if not isinstance(chunk, int) or chunk < 1:
        raise ValueError(f"chunk must be a positive integer, got {chunk!r}")
    device = torch.device(device) if device is not None else x.device
    x = x.to(device=device, dtype=dtype)
    y = y.to(device=device, dtype=dtype)
    if dtype == torch.float32 and y.shape[0]:
        center = y.mean(dim=0, keepdim=True)
        x, y = x - center, y - center
    yy = (y * y).sum(dim=1)
    out = torch.empty(x.shape[0], y.shape[0], dtype=dtype, device=device)
    for s in range(0, x.shape[0], chunk):
        xs = x[s:s + chunk]
        d2 = torch.addmm(yy[None, :], xs, y.T, alpha=-2.0).add_((xs * xs).sum(dim=1, keepdim=True))
        out[s:s + chunk] = d2.clamp_min_(0).sqrt_()
    return out
