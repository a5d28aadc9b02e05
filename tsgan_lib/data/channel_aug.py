r"""CAJ's channel augmentation: channel exchange, channel random erasing, channel-adaptive grey, and its three views.

CAJ (Ye et al., "Channel Augmented Joint Learning for Visible-Infrared
Recognition", ICCV 2021) makes colour useless for matching a visible image to
an infrared one by training on visible images reduced to one of their colour
channels. Checked against ``mangye16/Cross-Modal-Re-ID-baseline`` at commit
e817a26, folder ``ICCV21_CAJ``: ``ChannelAug.py`` (``ChannelAdapGray``
lines 51-93, ``ChannelRandomErasing`` lines 95-140), ``data_loader.py``
(``ChannelExchange`` lines 9-43, the three transforms lines 66-95 for
SYSU-MM01 and 152-181 for RegDB, identical) and ``train_ext.py``.

All three act on the *normalised* tensor (after ``T.Normalize``), in this order:

- **channel random erasing** (:class:`ChannelRandomErasing`): with probability
  0.5 a box of area s·H·W, s ~ U(0.02, 0.4), aspect ratio r ~ U(0.3, 1/0.3),
  h = round(√(s·H·W·r)), w = round(√(s·H·W / r)), the first of 100 draws with
  h < H and w < W, top-left uniform; channel c of the box is set to
  ``value[c]``. Unlike ``T.RandomErasing``: a larger maximum area, a uniform
  (not log-uniform) ratio, and a per-channel fill.
- **channel exchange** (:class:`ChannelExchange`): the image becomes its R, G
  or B channel copied to all three, each with probability 1/3
  (``ChannelExchange(gray=2)``: the grey outcome is never drawn).
- **channel-adaptive grey** (:class:`ChannelAdapGrey`): R, G or B copied to all
  three with probability 1/4 each; otherwise, with probability p = 0.5, the grey
  image 0.2989 R + 0.5870 G + 0.1140 B; otherwise unchanged (so 1/8 grey, 1/8
  unchanged).

**The views** (:data:`CAJ_VIEWS`, :func:`build_caj_transforms`): each sampled
visible image gives a *weak* view (pad, crop, flip, normalise, erasing) and a
*strong* view (the same with its own draws, then channel exchange); each
infrared image gets erasing and channel-adaptive grey. A step's batch is
``cat(weak, strong, ir)`` with labels ``cat(y, y, y)`` (:func:`caj_batch`;
``train_ext.py`` lines 288, 298): 8 identities x 4 images give 96 images,
and the ID and triplet losses see all of them.

**Where the code differs from the paper or from itself:**

- The erasing fill is ``(0.4914, 0.4822, 0.4465)`` (CIFAR-10's mean) written
  into the already normalised tensor; the paper describes filling with the
  ImageNet channel means. :data:`CAJ_ERASE_VALUE` follows the code.
- The paper lists a grey transformation for the visible images; the released
  loader never draws it (``gray=2``; issue #21 of the repository asks about it).
  ``ChannelExchange(with_grey=True)`` is the four-outcome version.
- ``train_ext.py`` builds a transform from ``--rande`` and ``--augc``
  (lines 136-157) and passes it to the dataset, which ignores it and uses
  its own three (above): the README's flags change nothing.
- The later PAMI 2023 version (``PAMI23_Supervised/data_loader.py``) uses 0.6
  for the erasing and grey probabilities and adds ``RandomGrayscale(0.1)`` to
  the weak view.

**Settings of the reference** (``ICCV21_CAJ/train_ext.py``; the same for
SYSU-MM01 and RegDB): the AGW network (identical ``model.py``: non-local
blocks, GeM p = 3) trained with cross-entropy + the squared-difference
triplet (:func:`tsgan_lib.losses.wrt.squared_difference_loss`, alpha = gamma
= 1; lines 229-230, 323; the KL term has weight ``--kl`` = 0, line 69);
input 288 x 144, Pad 10 (data_loader.py 66-95); 8 identities x 4 images per
modality (47, 55); SGD as AGW's, lr 0.1 (26, 239-249) with AGW's warm-up and
steps (252-267); 100 epochs (417); the test-set-best checkpoint of the BN
feature (439-455); ``testa.py`` averages each test feature with its
horizontal flip (lines 164-173). README lines 10-11 report SYSU-MM01
all-search 69.88 / 66.89 (Rank-1 / mAP), RegDB 85.03 / 79.14.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor
from torchvision import transforms as T

from .transforms import build_transform

CAJ_ERASE_VALUE = (0.4914, 0.4822, 0.4465)  # per-channel fill, in normalised units (ChannelAug.py line 107)
ERASE_SCALE = (0.02, 0.4)                   # box area / image area (sl, sh, line 107)
ERASE_MIN_RATIO = 0.3                       # aspect ratio ~ U(0.3, 1/0.3) (r1, line 107)
ERASE_ATTEMPTS = 100                        # draws before giving up (line 120)
GREY_WEIGHTS = (0.2989, 0.5870, 0.1140)     # ChannelAdapGray's grey (line 89)
ERASE_P = 0.5                               # ChannelRandomErasing(probability=0.5), data_loader.py 74, 85, 94
ADAP_GREY_P = 0.5                           # ChannelAdapGray(probability=0.5), data_loader.py 75

#: channel outcomes: copy channel R, G or B to all three, the grey image, or no change
RED, GREEN, BLUE, GREY, KEEP = range(5)
OUTCOMES = ("red", "green", "blue", "grey", "keep")
NO_CHANNEL_OP = (0.0, 0.0, 0.0, 0.0, 1.0)  # probabilities over OUTCOMES: always keep


def exchange_probs(with_grey: bool = False) -> tuple[float, ...]:
    """Outcome probabilities of channel exchange: R, G, B at 1/3 each
    (CAJ's ``gray=2``), or R, G, B, grey at 1/4 each (``gray=3``)."""
    return (0.25, 0.25, 0.25, 0.25, 0.0) if with_grey else (1 / 3, 1 / 3, 1 / 3, 0.0, 0.0)


def adap_grey_probs(p: float = ADAP_GREY_P) -> tuple[float, ...]:
    """Outcome probabilities of channel-adaptive grey: R, G, B at 1/4 each,
    grey at p/4, unchanged at (1-p)/4."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be a probability, got {p}")
    return (0.25, 0.25, 0.25, p / 4, (1 - p) / 4)


@dataclass(frozen=True)
class ChannelAugParams:
    """One draw of erasing + channel op for ``n`` images: ``boxes`` (n, 4) int64
    ``(top, left, h, w)`` (h = w = 0: not erased), ``choice`` (n,) int64 in
    ``RED .. KEEP``."""

    boxes: Tensor
    choice: Tensor

    def __len__(self) -> int:
        return len(self.choice)


def draw_erasing_boxes(n: int, height: int, width: int, p: float, generator: torch.Generator | None = None, *,
                       scale: tuple[float, float] = ERASE_SCALE, min_ratio: float = ERASE_MIN_RATIO,
                       attempts: int = ERASE_ATTEMPTS) -> Tensor:
    """CAJ's erasing boxes for ``n`` images of ``height`` x ``width`` (see the
    module docstring); (n, 4) ``(top, left, h, w)``, zeros where not erased."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be a probability, got {p}")
    on = torch.rand(n, generator=generator) < p
    area = height * width * torch.empty(n, attempts).uniform_(*scale, generator=generator)
    ratio = torch.empty(n, attempts).uniform_(min_ratio, 1 / min_ratio, generator=generator)
    h = torch.sqrt(area * ratio).round().long()
    w = torch.sqrt(area / ratio).round().long()
    top = (torch.rand(n, attempts, generator=generator) * (height - h + 1).clamp(min=1)).long()
    left = (torch.rand(n, attempts, generator=generator) * (width - w + 1).clamp(min=1)).long()
    fits = (h < height) & (w < width)
    first = fits.long().argmax(dim=1, keepdim=True)                   # the first attempt that fits
    ok = on & fits.any(dim=1)
    pick = [t.gather(1, first)[:, 0] for t in (top, left, h, w)]
    return torch.stack([torch.where(ok, t, torch.zeros_like(t)) for t in pick], dim=1)


def draw_channel_aug(n: int, height: int, width: int, erasing: float, channel_probs: tuple[float, ...],
                     generator: torch.Generator | None = None) -> ChannelAugParams:
    """Erasing boxes (probability ``erasing``) and channel outcomes (drawn from
    ``channel_probs`` over ``RED .. KEEP``) for ``n`` images."""
    if len(channel_probs) != len(OUTCOMES):
        raise ValueError(f"channel_probs needs {len(OUTCOMES)} entries ({', '.join(OUTCOMES)})")
    boxes = draw_erasing_boxes(n, height, width, erasing, generator)
    choice = torch.multinomial(torch.tensor(channel_probs, dtype=torch.float64), n, replacement=True,
                               generator=generator)
    return ChannelAugParams(boxes, choice)


def erase_boxes(x: Tensor, boxes: Tensor, value: tuple[float, ...] = CAJ_ERASE_VALUE) -> Tensor:
    """Set channel c of each image's box to ``value[c]``; ``x``: (B, C, H, W) float."""
    b, c, h, w = x.shape
    top, left, bh, bw = boxes.to(x.device).unbind(1)
    ys, xs = torch.arange(h, device=x.device), torch.arange(w, device=x.device)
    rows = (ys[None] >= top[:, None]) & (ys[None] < (top + bh)[:, None])          # (B, H)
    cols = (xs[None] >= left[:, None]) & (xs[None] < (left + bw)[:, None])        # (B, W)
    inside = (rows[:, :, None] & cols[:, None, :])[:, None]                       # (B, 1, H, W)
    fill = torch.as_tensor(value, dtype=x.dtype, device=x.device).view(1, c, 1, 1)
    return torch.where(inside, fill, x)


def apply_channel_choice(x: Tensor, choice: Tensor) -> Tensor:
    """Each image of ``x`` (B, 3, H, W) becomes its channel ``choice`` (RED,
    GREEN, BLUE) on all three channels, its grey image (GREY), or stays (KEEP)."""
    b = x.shape[0]
    choice = choice.to(x.device).view(b, 1, 1, 1)
    single = x.gather(1, choice.clamp(max=BLUE).expand(b, 1, *x.shape[2:]))       # the chosen channel
    weights = torch.as_tensor(GREY_WEIGHTS, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    mono = torch.where(choice == GREY, (weights * x).sum(dim=1, keepdim=True), single)
    return torch.where(choice == KEEP, x, mono.expand_as(x))


def channel_augment_batch(x: Tensor, params: ChannelAugParams, value: tuple[float, ...] = CAJ_ERASE_VALUE) -> Tensor:
    """Erasing, then the channel op, on a normalised batch (B, 3, H, W), on its
    device, with no per-image loop (the tensor pipeline's path)."""
    if x.dim() != 4 or x.shape[1] != 3 or not x.is_floating_point():
        raise ValueError(f"x must be a float (B, 3, H, W) batch, got {x.dtype} {tuple(x.shape)}")
    if len(params) != x.shape[0]:
        raise ValueError(f"{len(params)} augmentation draws for {x.shape[0]} images")
    return apply_channel_choice(erase_boxes(x, params.boxes, value), params.choice)


# --- the per-image transforms, for T.Compose after T.Normalize -----------------------------------------

class ChannelAugment:
    """Erasing with probability ``erasing``, then a channel outcome drawn from
    ``channel_probs`` (over ``RED .. KEEP``), on one normalised image (3, H, W),
    through :func:`channel_augment_batch`. ``generator=None`` draws from torch's
    global RNG, as torchvision's transforms do."""

    def __init__(self, erasing: float = 0.0, channel_probs: tuple[float, ...] = NO_CHANNEL_OP,
                 value: tuple[float, ...] = CAJ_ERASE_VALUE, generator: torch.Generator | None = None) -> None:
        self.erasing, self.channel_probs, self.value = float(erasing), tuple(channel_probs), tuple(value)
        self.generator = generator

    def __call__(self, img: Tensor) -> Tensor:
        params = draw_channel_aug(1, img.shape[-2], img.shape[-1], self.erasing, self.channel_probs, self.generator)
        return channel_augment_batch(img[None], params, self.value)[0]

    def __repr__(self) -> str:
        outcomes = ", ".join(f"{name}={p:.3g}" for name, p in zip(OUTCOMES, self.channel_probs) if p > 0)
        return f"{type(self).__name__}(erasing={self.erasing:g}, {outcomes})"


class ChannelRandomErasing(ChannelAugment):
    """CAJ's erasing alone, with probability ``p``, per-channel fill ``value``."""

    def __init__(self, p: float = ERASE_P, value: tuple[float, ...] = CAJ_ERASE_VALUE,
                 generator: torch.Generator | None = None) -> None:
        super().__init__(erasing=p, value=value, generator=generator)


class ChannelExchange(ChannelAugment):
    """The image becomes its R, G or B channel on all three (1/3 each);
    ``with_grey``: R, G, B or grey, 1/4 each."""

    def __init__(self, with_grey: bool = False, generator: torch.Generator | None = None) -> None:
        super().__init__(channel_probs=exchange_probs(with_grey), generator=generator)


class ChannelAdapGrey(ChannelAugment):
    """R, G or B on all three channels (1/4 each), else grey with probability
    ``p``, else unchanged."""

    def __init__(self, p: float = ADAP_GREY_P, generator: torch.Generator | None = None) -> None:
        super().__init__(channel_probs=adap_grey_probs(p), generator=generator)


# --- CAJ's views ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ViewSpec:
    """What one CAJ view adds after normalisation: erasing probability and channel outcomes."""

    erasing: float
    channel_probs: tuple[float, ...]


#: data_loader.py lines 66-95: transform_color (weak), transform_color1 (strong), transform_thermal (ir)
CAJ_VIEWS = {
    "rgb_weak": ViewSpec(ERASE_P, NO_CHANNEL_OP),
    "rgb_strong": ViewSpec(ERASE_P, exchange_probs(with_grey=False)),
    "ir": ViewSpec(ERASE_P, adap_grey_probs(ADAP_GREY_P)),
}


@dataclass
class CAJTransforms:
    """CAJ's three training transforms (PIL image -> normalised tensor).
    Calling it on a visible and an infrared image returns
    ``(x_rgb_weak, x_rgb_strong, x_ir)``; the two visible views are drawn independently."""

    rgb_weak: T.Compose
    rgb_strong: T.Compose
    ir: T.Compose

    def __call__(self, rgb_image, ir_image) -> tuple[Tensor, Tensor, Tensor]:
        return self.rgb_weak(rgb_image), self.rgb_strong(rgb_image), self.ir(ir_image)


def build_caj_transforms(height: int = 288, width: int = 144, pad: int | None = None,
                         flip_p: float = 0.5) -> CAJTransforms:
    """The library's training transform (resize, pad, crop, flip, normalise;
    :func:`~tsgan_lib.data.transforms.build_transform`) followed by each view's
    steps of :data:`CAJ_VIEWS`."""
    base = build_transform(True, height, width, pad, flip_p).transforms
    views = {name: T.Compose([*base, ChannelAugment(spec.erasing, spec.channel_probs)])
             for name, spec in CAJ_VIEWS.items()}
    return CAJTransforms(**views)


def caj_views(x_rgb: Tensor, x_ir: Tensor, generator: torch.Generator | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """CAJ's three views of an already augmented (cropped, flipped, normalised) step batch, on its device:
    ``(weak, strong, ir)`` with :data:`CAJ_VIEWS`' erasing and channel draws (``reid.channel_aug``; the
    trainer's path). Unlike the per-image :class:`CAJTransforms`, the strong view shares the weak view's crop
    and flip (CAJ draws them again): both views come from the one sampled tensor."""
    h, w = x_rgb.shape[-2:]
    views = []
    for x, spec in ((x_rgb, CAJ_VIEWS["rgb_weak"]), (x_rgb, CAJ_VIEWS["rgb_strong"]), (x_ir, CAJ_VIEWS["ir"])):
        views.append(channel_augment_batch(x, draw_channel_aug(len(x), h, w, spec.erasing, spec.channel_probs,
                                                               generator)))
    return views[0], views[1], views[2]


def caj_batch(x_rgb_weak: Tensor, x_rgb_strong: Tensor, x_ir: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
    """One step's images and labels in CAJ's order: ``cat(weak, strong, ir)``
    and ``cat(y, y, y)`` (each visible image counts twice, train_ext.py line 288)."""
    if not len(x_rgb_weak) == len(x_rgb_strong) == len(x_ir) == len(labels):
        raise ValueError("the three views and the labels must have the same length")
    return torch.cat([x_rgb_weak, x_rgb_strong, x_ir]), labels.repeat(3)
