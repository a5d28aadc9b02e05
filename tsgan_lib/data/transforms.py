"""Image transforms of the strong baseline (and the peers' SYSU-MM01 code).

Training: resize to H x W, pad, random crop back to H x W, horizontal flip,
ImageNet normalisation. Testing: resize and normalise. IR images are read as
3 identical channels (``PIL.Image.convert("RGB")``), so both modalities share
one transform and one backbone input layout.

The padding is 10 px at the paper's 288x144 input (the strong baseline's
value). A smaller input gets the same *fraction* of its width
(:func:`default_pad`): at the CPU demo's 64x32, 10 px would shift the person by
up to a third of the image and the short run barely learns (measured in the
README: the backbone's all-search R1 on seed 1 was 2.6 with pad 10 and 7.5 with
pad 2 after 4 epochs).
"""

from __future__ import annotations

from torchvision import transforms as T

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
PAPER_PAD, PAPER_WIDTH = 10, 144  # the random-crop padding at the paper's input width
LEGACY_PAD = 10  # the padding of runs and teachers saved before it was recorded: 10 px at any size


def default_pad(width: int) -> int:
    """The paper's 10 px of crop padding at 144 px wide, scaled to ``width``
    (64x32 -> 2, 128x64 -> 4, 288x144 -> 10)."""
    if width <= 0:
        raise ValueError(f"width must be positive, got {width}")
    return round(PAPER_PAD * width / PAPER_WIDTH)


def build_transform(train: bool, height: int = 288, width: int = 144, pad: int | None = None,
                    flip_p: float = 0.5, *, grey: float = 0.0, erasing: float = 0.0) -> T.Compose:
    """The PIL -> normalised tensor transform (``train`` adds pad/crop/flip;
    ``pad=None``: :func:`default_pad` of ``width``).

    Two training augmentations beyond the paper's, off by default:
    ``grey``, the probability of turning an image grey (``T.RandomGrayscale``;
    an IR image is grey already, so it changes only RGB images: the channel
    augmentation the RGB-IR literature uses against the colour shortcut), and
    ``erasing``, the probability of random erasing (``T.RandomErasing`` after
    normalisation, the area filled with 0, i.e. the ImageNet mean colour; the
    strong baseline [34] uses 0.5)."""
    if height <= 0 or width <= 0:
        raise ValueError(f"height and width must be positive, got {height}x{width}")
    pad = default_pad(width) if pad is None else int(pad)
    if pad < 0:
        raise ValueError(f"pad must be a non-negative number of pixels (or None for default_pad), got {pad}")
    steps = [T.Resize((height, width), interpolation=T.InterpolationMode.BILINEAR, antialias=True)]
    for name, p in (("grey", grey), ("erasing", erasing)):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{name} must be a probability in [0, 1], got {p}")
    if train:
        steps += [T.Pad(pad), T.RandomCrop((height, width)), T.RandomHorizontalFlip(flip_p)]
        steps += [T.RandomGrayscale(grey)] if grey > 0 else []
    steps += [T.ToTensor(), T.Normalize(IMAGENET_MEAN, IMAGENET_STD)]
    if train and erasing > 0:
        steps.append(T.RandomErasing(p=erasing, value=0))
    return T.Compose(steps)
