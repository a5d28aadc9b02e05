r"""AGW: the field's standard cross-modality baseline, as changes to :class:`ReIDBackbone`.

AGW (Ye et al., "Deep Learning for Person Re-identification: A Survey and
Outlook", TPAMI 2021) is the strong baseline plus three components; two of
them live here, the third is a loss (:mod:`tsgan_lib.losses.wrt`):

- **non-local attention** (:class:`NonLocalBlock`) after the last two blocks of
  layer2 and the last three of layer3 (:func:`insert_non_local`);
- **generalized-mean pooling** (:class:`GeMPooling`) in place of GAP;
- the weighted regularized triplet (:func:`tsgan_lib.losses.wrt.wrt_loss`).

Checked against the authors' code, ``mangye16/Cross-Modal-Re-ID-baseline`` at
commit e817a26 (``model.py``): ``Non_local`` (lines 16-68), the indices of the
blocks it follows (lines 153-167), GeM with p = 3 (lines 231-235).

:func:`build_agw_backbone` returns an :class:`AGWBackbone`: a
:class:`ReIDBackbone` (torchvision's ResNet, last stride 1, BNNeck) with the
blocks inserted into FE and GeM as its pooling, so its outputs dict
(``fmap``, ``feat``, ``bn_feat``, ``logits``) and its FE/LE split are the
backbone's: ``fmap`` is layer3's output after its non-local block, ``feat`` is
the GeM-pooled V on which WRT is computed, ``logits`` feed the ID loss.

**Where the code differs from the paper** (both recorded, the code followed):

- ``Non_local`` sets ``inter_channels = reduc_ratio // reduc_ratio``, i.e. 1
  channel for θ, φ and g, where Wang et al.'s block uses C/2; the author
  called it unintended (mangye16/ReID-Survey issue #7) but the published
  numbers were made with it, so :data:`NL_INTER_CHANNELS` is 1 (pass
  ``inter_channels=C // 2`` for the original block).
- It is the dot-product form divided by N (the embedded-Gaussian softmax is
  commented out, line 59).
- The survey calls the GeM exponent learnable; the code fixes p = 3.
- AGW gives each modality its own stem (conv1, bn1, relu, maxpool:
  ``visible_module`` / ``thermal_module``, lines 93-124) before shared
  layer1-4. The library's backbone has one stem for both modalities and so
  does :class:`AGWBackbone`: the difference stays visible in a row's name.
- ``base_resnet`` always builds ResNet-50 (the ``arch`` argument is unused).
  For other depths :func:`insert_non_local` keeps the rule "after the last n
  blocks", n capped at the layer's length (ResNet-18: both blocks of each).

**Settings of the reference** (``train.py`` of the same commit; the same for
SYSU-MM01 and RegDB, which differ only in their data and test direction):
input 288 x 144 (lines 40-43); Pad 10, random crop, horizontal flip, ImageNet
normalisation, no random erasing (113-121); 8 identities x 4 visible + 4
thermal images per step (44, 52, 376-379); SGD, momentum 0.9, Nesterov,
weight decay 5e-4, lr 0.1 for the BN neck and classifier and 0.01 for the
rest (205-215); warm-up lr·(e+1)/10 for epochs 0-9, lr until 19, lr/10 until
49, lr/100 after (218-233); 81 epochs, 0-80 (362); loss = plain cross-entropy
(no label smoothing) + WRT, weights 1 and 1, no margin (194-196, 270); seed 0
(56). Test: L2-normalised pooled and BN-neck features, cosine similarity
(model.py 244-245, train.py 339-340); SYSU-MM01 IR query -> visible gallery,
RegDB visible -> thermal (71, 75); the checkpoint kept is the best test-set
Rank-1 of the BN feature, tested every 2 epochs (384-400). README lines 8-9
report SYSU-MM01 all-search 47.50 / 47.65 (Rank-1 / mAP), RegDB 70.05 / 66.37.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import Tensor, nn

from .backbone import ReIDBackbone, map_trunk_keys

#: blocks of each FE layer followed by a non-local block, counted from the layer's end (model.py 154-164)
NL_AFTER_LAST = {"layer2": 2, "layer3": 3}
NL_INTER_CHANNELS = 1   # channels of θ, φ, g in the released code (model.py line 21); Wang et al.: C/2
GEM_P = 3.0             # the GeM exponent, fixed (model.py line 234)
GEM_EPS = 1e-12         # added to the mean before the root (model.py line 235)


class NonLocalBlock(nn.Module):
    r"""The non-local block in AGW's dot-product form, a residual that starts as the identity.

    For the C x N positions x_j of a feature map (N = H·W):

    .. math:: y_i = \frac{1}{N}\sum_{j=1}^{N} \big(\theta(x_i)^\top \phi(x_j)\big)\, g(x_j), \qquad
              z_i = \mathrm{BN}(W_z\, y_i) + x_i

    θ, φ, g are 1x1 convolutions C -> ``inter_channels``; W_z is a 1x1
    convolution back to C followed by a BatchNorm whose scale and shift start
    at zero, so ``z = x`` at initialisation and a pretrained trunk is
    unchanged until the block learns.
    """

    def __init__(self, in_channels: int, inter_channels: int = NL_INTER_CHANNELS) -> None:
        super().__init__()
        if in_channels < 1 or inter_channels < 1:
            raise ValueError(f"channels must be >= 1, got {in_channels} and {inter_channels}")
        self.inter_channels = inter_channels
        self.theta = nn.Conv2d(in_channels, inter_channels, 1)
        self.phi = nn.Conv2d(in_channels, inter_channels, 1)
        self.g = nn.Conv2d(in_channels, inter_channels, 1)
        self.w_z = nn.Sequential(nn.Conv2d(inter_channels, in_channels, 1), nn.BatchNorm2d(in_channels))
        nn.init.zeros_(self.w_z[1].weight)
        nn.init.zeros_(self.w_z[1].bias)

    def forward(self, x: Tensor) -> Tensor:
        b, _, h, w = x.shape
        theta = self.theta(x).flatten(2).transpose(1, 2)     # (B, N, C')
        phi = self.phi(x).flatten(2)                         # (B, C', N)
        g = self.g(x).flatten(2).transpose(1, 2)             # (B, N, C')
        f = theta @ phi / phi.shape[-1]                      # (B, N, N): θ(x_i)ᵀφ(x_j) / N
        y = (f @ g).transpose(1, 2).reshape(b, self.inter_channels, h, w)
        return self.w_z(y) + x


class GeMPooling(nn.Module):
    r"""Generalized-mean pooling of each channel over the H·W positions X_k.

    .. math:: f_k = \Big(\frac{1}{|X_k|}\sum_{x \in X_k} x^{p}\Big)^{1/p}

    p = 1 is average pooling; p -> ∞ approaches max pooling. AGW fixes p = 3
    (``learnable=True`` makes p a parameter, as the survey describes). The
    input is clamped at 0 (a no-op on the ReLU output it pools; it keeps a
    fractional p defined) and ``eps`` is added before the root, as the
    reference does. Returns (B, C, 1, 1), like ``nn.AdaptiveAvgPool2d(1)``.
    """

    def __init__(self, p: float = GEM_P, learnable: bool = False, eps: float = GEM_EPS) -> None:
        super().__init__()
        if p <= 0:
            raise ValueError(f"the GeM exponent must be positive, got {p}")
        p_tensor = torch.tensor(float(p))
        if learnable:
            self.p = nn.Parameter(p_tensor)
        else:
            self.register_buffer("p", p_tensor)
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        mean = x.clamp(min=0).pow(self.p).mean(dim=(-2, -1), keepdim=True)
        return (mean + self.eps).pow(1.0 / self.p)


def block_out_channels(block: nn.Module) -> int:
    """Output channels of a torchvision ResNet block (Bottleneck: bn3, BasicBlock: bn2)."""
    return (block.bn3 if hasattr(block, "bn3") else block.bn2).num_features


def insert_non_local(backbone: ReIDBackbone, after_last: dict[str, int] | None = None,
                     inter_channels: int = NL_INTER_CHANNELS) -> list[str]:
    """Insert a :class:`NonLocalBlock` after the last ``after_last[layer]``
    blocks of each named FE layer (default :data:`NL_AFTER_LAST`: ResNet-50's
    layer2 blocks 2, 3 and layer3 blocks 3, 4, 5), in place.

    Each layer stays an ``nn.Sequential`` whose blocks keep torchvision's
    names (``former.layer2.2.conv1.weight``); a block is followed by
    ``nl<i>``. Returns the names of the inserted modules.
    """
    after_last = NL_AFTER_LAST if after_last is None else after_last
    inserted = []
    for layer_name, n_last in after_last.items():
        layer = getattr(backbone.former, layer_name)
        if any(name.startswith("nl") for name, _ in layer.named_children()):
            raise ValueError(f"{layer_name} already has non-local blocks")
        blocks = list(layer.named_children())
        first = len(blocks) - min(n_last, len(blocks))
        children = []
        for i, (name, block) in enumerate(blocks):
            children.append((name, block))
            if i >= first:
                children.append((f"nl{name}", NonLocalBlock(block_out_channels(block), inter_channels)))
                inserted.append(f"former.{layer_name}.nl{name}")
        setattr(backbone.former, layer_name, nn.Sequential(OrderedDict(children)))
    return inserted


class AGWBackbone(ReIDBackbone):
    """:class:`ReIDBackbone` with AGW's non-local blocks in FE and GeM pooling.

    Same arguments and outputs as :class:`ReIDBackbone`; the ImageNet weights
    are loaded into the trunk before the blocks are inserted.
    """

    def __init__(self, num_classes: int, depth: int = 50, pretrained: bool = False,
                 allow_download: bool = True, inter_channels: int = NL_INTER_CHANNELS,
                 gem_p: float = GEM_P) -> None:
        super().__init__(num_classes=num_classes, depth=depth, pretrained=pretrained,
                         allow_download=allow_download)
        self.non_local_names = insert_non_local(self, inter_channels=inter_channels)
        self.gap = GeMPooling(gem_p)

    def load_trunk_state_dict(self, tv_state_dict: dict[str, Tensor]) -> None:
        """Load a torchvision ResNet state_dict into FE + LE, leaving the
        non-local blocks as they are. Strict on every torchvision tensor."""
        missing, unexpected = self.trunk().load_state_dict(map_trunk_keys(tv_state_dict), strict=False)
        not_nl = [k for k in missing if ".nl" not in k]
        if not_nl or unexpected:
            raise RuntimeError(f"trunk state_dict mismatch: missing {not_nl}, unexpected {unexpected}")


def build_agw_backbone(num_classes: int, depth: int = 50, pretrained: bool = False,
                       allow_download: bool = True) -> AGWBackbone:
    """AGW's network on the library's backbone: ResNet-``depth``, last stride 1,
    non-local blocks in layer2/layer3, GeM (p = 3), BNNeck."""
    return AGWBackbone(num_classes=num_classes, depth=depth, pretrained=pretrained,
                       allow_download=allow_download)
