"""Image transforms of the strong baseline (and the peers' SYSU-MM01 code).

Training: resize to H x W, pad 10, random crop back to H x W, horizontal flip,
ImageNet normalisation. Testing: resize and normalise. IR images are read as
3 identical channels (``PIL.Image.convert("RGB")``), so both modalities share
one transform and one backbone input layout.
"""

from __future__ import annotations

from torchvision import transforms as T

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def build_transform(train: bool, height: int = 288, width: int = 144, pad: int = 10,
                    flip_p: float = 0.5) -> T.Compose:
    """The PIL -> normalised tensor transform (``train`` adds pad/crop/flip)."""
    if height <= 0 or width <= 0:
        raise ValueError(f"height and width must be positive, got {height}x{width}")
    steps = [T.Resize((height, width), interpolation=T.InterpolationMode.BILINEAR, antialias=True)]
    if train:
        steps += [T.Pad(pad), T.RandomCrop((height, width)), T.RandomHorizontalFlip(flip_p)]
    steps += [T.ToTensor(), T.Normalize(IMAGENET_MEAN, IMAGENET_STD)]
    return T.Compose(steps)
