"""Running a trained backbone on your own pictures: rank a folder of images for each query image.

``python -m tsgan_lib search RUN_DIR --query a.jpg b.jpg --gallery photos/`` loads the run's
``backbone.pt`` (the student alone, as at test time), extracts the GAP feature V of every image
(resized to the run's input size, ImageNet-normalised, exactly the test transform), ranks the
gallery by Euclidean distance and prints the top matches; ``--out`` saves the ranked lists as a
figure. Query and gallery may be of either modality: that is the point of the method.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from tsgan_lib.data.sysu import IMAGE_EXTENSIONS
from tsgan_lib.errors import MissingFileError, UsageError
from tsgan_lib.eval.features import EVAL_DTYPE, euclidean_distance, extract_features
from tsgan_lib.eval.figures import QUERY_COLOR, _framed, load_image

NEUTRAL_COLOR = "#7f7f7f"


class _Images(torch.utils.data.Dataset):
    def __init__(self, paths: list[Path], transform) -> None:
        self.paths, self.transform = paths, transform

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int):
        from tsgan_lib.data.datasets import read_image

        return self.transform(read_image(str(self.paths[i])))


def gallery_images(folder: str | os.PathLike) -> list[Path]:
    """Every image under ``folder`` (recursively), sorted; an error naming the folder if there is none."""
    folder = Path(folder)
    if folder.is_file():
        raise MissingFileError(f"gallery {folder} is a file: expected a folder of images")
    if not folder.is_dir():
        raise MissingFileError(f"gallery folder {folder} does not exist: expected a folder of images")
    paths = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())
    if not paths:
        raise MissingFileError(f"gallery folder {folder} holds no image ({', '.join(IMAGE_EXTENSIONS)})")
    return paths


def search(model: torch.nn.Module, queries: list[str | os.PathLike], gallery: list[Path], *, height: int,
           width: int, top_k: int = 10, device: str | torch.device = "cpu", batch_size: int = 64) -> list[dict]:
    """For each query image: ``{"query": path, "matches": [(gallery path, distance), ...]}``, nearest first."""
    from tsgan_lib.data.transforms import build_transform

    queries = [Path(q) for q in queries]
    if top_k < 1:
        raise UsageError(f"top_k={top_k}: expected a positive number of matches to show")
    for q in queries:
        if q.is_dir():
            raise MissingFileError(f"query {q} is a folder: expected an image file (the folder to search is the "
                                   "gallery)")
        if not q.is_file():
            raise MissingFileError(f"query image {q} does not exist")
        if q.suffix.lower() not in IMAGE_EXTENSIONS:
            raise MissingFileError(f"query {q} is not an image: expected one of {', '.join(IMAGE_EXTENSIONS)}")
    tf = build_transform(False, height, width)
    feats = extract_features(model, _Images(queries + list(gallery), tf), batch_size=batch_size, device=device)
    dist = euclidean_distance(feats[:len(queries)], feats[len(queries):], dtype=EVAL_DTYPE)
    order = torch.argsort(dist, dim=1, stable=True)[:, :top_k]
    return [{"query": str(q), "matches": [(str(gallery[j]), float(dist[i, j])) for j in order[i].tolist()]}
            for i, q in enumerate(queries)]


def plot_search(results: list[dict], cell_size: tuple[float, float] = (1.1, 2.2)):
    """Each row a query (blue frame) and its nearest gallery images with their distances."""
    import matplotlib.pyplot as plt

    top_k = max(len(r["matches"]) for r in results)
    fig, axes = plt.subplots(len(results), top_k + 1, squeeze=False,
                             figsize=(cell_size[0] * (top_k + 1), cell_size[1] * len(results)))
    for row, r in enumerate(results):
        _framed(axes[row, 0], load_image(r["query"]), QUERY_COLOR, f"query\n{Path(r['query']).name}", 4.0)
        for col in range(1, top_k + 1):
            ax = axes[row, col]
            if col > len(r["matches"]):
                ax.axis("off")
                continue
            path, d = r["matches"][col - 1]
            _framed(ax, load_image(path), NEUTRAL_COLOR, f"{col}: {Path(path).name}\nd={d:.2f}", 2.0)
    fig.tight_layout()
    return fig
