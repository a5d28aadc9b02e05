"""AGW's network components: the non-local block (its formula on a hand-made
case and a literal loop, identity at initialisation), where the blocks go,
GeM pooling (p = 1 is average pooling, large p approaches max pooling), and
the AGW backbone against torchvision's trunk and the library's outputs dict."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torchvision.models import resnet18

from tsgan_lib.models import (AGWBackbone, GeMPooling, NonLocalBlock, ReIDBackbone, build_agw_backbone,
                              weights_cache_path)
from tsgan_lib.models.agw import GEM_P, NL_INTER_CHANNELS, insert_non_local

H, W = 64, 32


def _set_eval_bn(bn: nn.BatchNorm2d, weight: float, bias: float) -> None:
    nn.init.constant_(bn.weight, weight)
    nn.init.constant_(bn.bias, bias)
    bn.eval()


# ---- non-local block -------------------------------------------------------------------------------

def test_non_local_by_hand():
    # one channel, two positions x = (1, 2); θ = φ = g = identity, W_z = 1, BN = identity (eval)
    block = NonLocalBlock(1, inter_channels=1)
    for conv in (block.theta, block.phi, block.g, block.w_z[0]):
        nn.init.ones_(conv.weight)
        nn.init.zeros_(conv.bias)
    _set_eval_bn(block.w_z[1], 1.0, 0.0)
    x = torch.tensor([[[[1.0, 2.0]]]])
    # y_i = 1/2 * sum_j x_i x_j x_j = x_i * (1 + 4) / 2 -> (2.5, 5.0); z = x + y / sqrt(1 + eps)
    z = block(x)
    bn_scale = 1 / math.sqrt(1 + block.w_z[1].eps)
    torch.testing.assert_close(z, torch.tensor([[[[1 + 2.5 * bn_scale, 2 + 5.0 * bn_scale]]]]))


def test_non_local_against_literal_loop():
    torch.manual_seed(0)
    block = NonLocalBlock(4, inter_channels=2)
    _set_eval_bn(block.w_z[1], 0.7, 0.1)
    x = torch.randn(2, 4, 3, 2)
    with torch.no_grad():
        z = block(x)
        theta, phi, g = (m(x).flatten(2) for m in (block.theta, block.phi, block.g))   # (B, C', N)
        n = x.shape[2] * x.shape[3]
        y = torch.zeros_like(g)
        for b in range(x.shape[0]):
            for i in range(n):
                for j in range(n):
                    y[b, :, i] += (theta[b, :, i] @ phi[b, :, j]) / n * g[b, :, j]
        expected = block.w_z(y.view(2, 2, 3, 2)) + x
    torch.testing.assert_close(z, expected)


@pytest.mark.parametrize("train", [True, False])
def test_non_local_starts_as_identity(train):
    torch.manual_seed(1)
    block = NonLocalBlock(8).train(train)
    x = torch.randn(3, 8, 4, 2)
    assert torch.equal(block(x), x)
    assert block.inter_channels == NL_INTER_CHANNELS == 1


def test_non_local_positions_keep_torchvision_names():
    plain, agw = ReIDBackbone(3, depth=50), ReIDBackbone(3, depth=50)
    names = insert_non_local(agw)
    # AGW (model.py 153-164): after layer2 blocks 2, 3 and layer3 blocks 3, 4, 5 of ResNet-50
    assert names == ["former.layer2.nl2", "former.layer2.nl3", "former.layer3.nl3", "former.layer3.nl4",
                     "former.layer3.nl5"]
    order = [n for n, _ in agw.former.layer3.named_children()]
    assert order == ["0", "1", "2", "3", "nl3", "4", "nl4", "5", "nl5"]
    assert [m.w_z[1].num_features for m in agw.former.layer2 if isinstance(m, NonLocalBlock)] == [512, 512]
    trunk_keys = {k for k in agw.state_dict() if ".nl" not in k}
    assert trunk_keys == set(plain.state_dict())
    with pytest.raises(ValueError, match="already"):
        insert_non_local(agw)


def test_non_local_positions_resnet18_capped_at_the_layer_length():
    names = insert_non_local(ReIDBackbone(3, depth=18))
    assert names == ["former.layer2.nl0", "former.layer2.nl1", "former.layer3.nl0", "former.layer3.nl1"]


# ---- GeM pooling -----------------------------------------------------------------------------------

def test_gem_by_hand():
    x = torch.tensor([[[[1.0, 2.0]]]])
    # ((1^3 + 2^3) / 2 + 1e-12)^(1/3), as model.py line 235 writes it
    assert GeMPooling(3.0)(x).item() == pytest.approx(((1 + 8) / 2 + 1e-12) ** (1 / 3))


def test_gem_p1_is_average_pooling():
    torch.manual_seed(2)
    x = torch.rand(2, 5, 6, 3)
    torch.testing.assert_close(GeMPooling(1.0, eps=0.0)(x), nn.AdaptiveAvgPool2d(1)(x))


def test_gem_large_p_approaches_max_pooling():
    torch.manual_seed(3)
    x = torch.rand(2, 5, 8, 4, dtype=torch.float64) + 0.1
    mx = nn.AdaptiveMaxPool2d(1)(x)
    n = 8 * 4
    values = [GeMPooling(p, eps=0.0).double()(x) for p in (1.0, 2.0, 3.0, 8.0, 32.0, 128.0)]
    for lo, hi in zip(values, values[1:]):
        assert torch.all(hi >= lo - 1e-12), "the power mean grows with p"
    assert torch.all(values[-1] <= mx + 1e-12)
    assert torch.all(values[-1] >= mx * n ** (-1 / 128))   # mean >= max^p / N
    assert torch.all(values[0] < 0.97 * mx)                 # p = 1 is far from max on this input


def test_gem_fixed_or_learnable():
    fixed, learnable = GeMPooling(), GeMPooling(learnable=True)
    assert fixed.p.item() == GEM_P == 3.0 and not list(fixed.parameters())
    learnable(torch.rand(2, 3, 4, 4)).sum().backward()
    assert learnable.p.grad is not None and learnable.p.grad.abs() > 0
    with pytest.raises(ValueError):
        GeMPooling(0.0)


# ---- the AGW backbone ------------------------------------------------------------------------------

def test_agw_trunk_parity_with_torchvision():
    torch.manual_seed(4)
    tv = resnet18(weights=None).eval()
    ours = AGWBackbone(num_classes=5, depth=18).eval()
    ours.load_trunk_state_dict(tv.state_dict())
    x = torch.randn(2, 3, H, W)
    with torch.no_grad():
        out = ours(x)
        fmap_tv = tv.layer3(tv.layer2(tv.layer1(tv.maxpool(tv.relu(tv.bn1(tv.conv1(x)))))))
        tv.layer4[0].conv1.stride = (1, 1)
        tv.layer4[0].downsample[0].stride = (1, 1)
        l4 = tv.layer4(fmap_tv)
    # the non-local blocks start as the identity: FE is torchvision's conv1 .. layer3
    torch.testing.assert_close(out["fmap"], fmap_tv, rtol=0, atol=0)
    gem = (l4.pow(3).mean(dim=(2, 3)) + 1e-12).pow(1 / 3)
    torch.testing.assert_close(out["feat"], gem)
    with pytest.raises(RuntimeError, match="missing"):
        ours.load_trunk_state_dict({k: v for k, v in tv.state_dict().items() if k != "layer3.0.conv1.weight"})


@pytest.mark.parametrize("depth,fmap_c,feat_d", [(18, 256, 512), (50, 1024, 2048)])
def test_agw_backbone_outputs_dict(depth, fmap_c, feat_d):
    torch.manual_seed(5)
    model = build_agw_backbone(num_classes=7, depth=depth, pretrained=False)
    assert isinstance(model, ReIDBackbone) and isinstance(model.gap, GeMPooling)
    out = model(torch.randn(4, 3, H, W))
    assert set(out) == {"fmap", "feat", "bn_feat", "logits"}
    assert out["fmap"].shape == (4, fmap_c, H // 16, W // 16)
    assert out["feat"].shape == out["bn_feat"].shape == (4, feat_d)
    assert out["logits"].shape == (4, 7)
    out["logits"].sum().backward()
    nl_bn = [m.w_z[1] for m in model.modules() if isinstance(m, NonLocalBlock)]
    assert nl_bn and all(bn.weight.grad is not None and bn.weight.grad.abs().sum() > 0 for bn in nl_bn)


def test_agw_pretrained_loads_the_trunk_before_the_blocks(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    torch.manual_seed(6)
    tv_sd = resnet18(weights=None).state_dict()
    path = weights_cache_path(18)
    path.parent.mkdir(parents=True)
    torch.save(tv_sd, path)
    model = build_agw_backbone(num_classes=3, depth=18, pretrained=True)
    assert torch.equal(model.former.layer3[0].conv1.weight, tv_sd["layer3.0.conv1.weight"])
    assert torch.equal(model.former.layer2.nl1.w_z[1].weight, torch.zeros(128))
