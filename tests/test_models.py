"""Models: backbone parity with torchvision, pretrained-weights errors, the
frozen teacher, generators, discriminators, the range conversion."""

from __future__ import annotations

import copy
import urllib.error

import pytest
import torch
from torch import nn
from torchvision.models import resnet18

from tsgan_lib.models import (CycleGAN, CycleGANConfig, DiscriminatorConfig, FrozenTeacher, GeneratorConfig,
                              JointDiscriminator, PatchDiscriminator, PretrainedWeightsError, ReIDBackbone,
                              ResnetGenerator, build_backbone, discriminate_ir, gan_to_reid, reid_to_gan,
                              weights_cache_path)
from tsgan_lib.models import backbone as backbone_module

H, W = 64, 32


@pytest.fixture
def x() -> torch.Tensor:
    torch.manual_seed(0)
    return torch.randn(2, 3, H, W)


def _torchvision_layers_to_layer3(tv: nn.Module, x: torch.Tensor) -> torch.Tensor:
    x = tv.maxpool(tv.relu(tv.bn1(tv.conv1(x))))
    return tv.layer3(tv.layer2(tv.layer1(x)))


def test_trunk_parity_with_torchvision(x):
    torch.manual_seed(1)
    tv = resnet18(weights=None).eval()
    ours = ReIDBackbone(num_classes=5, depth=18).eval()
    ours.load_trunk_state_dict(tv.state_dict())
    # FE == torchvision conv1 .. layer3, same weights
    with torch.no_grad():
        fmap_tv = _torchvision_layers_to_layer3(tv, x)
        out = ours(x)
    torch.testing.assert_close(out["fmap"], fmap_tv, rtol=0, atol=0)
    # LE == torchvision layer4 with its stride set to 1 by hand
    tv.layer4[0].conv1.stride = (1, 1)
    tv.layer4[0].downsample[0].stride = (1, 1)
    with torch.no_grad():
        l4 = tv.layer4(fmap_tv)
        feat_tv = tv.avgpool(l4).flatten(1)
    assert l4.shape[-2:] == fmap_tv.shape[-2:], "last stride 1 keeps layer3's resolution"
    torch.testing.assert_close(out["feat"], feat_tv, rtol=0, atol=0)
    # every trunk tensor of ours equals torchvision's
    tv_sd = tv.state_dict()
    for key, value in ours.former.state_dict().items():
        assert torch.equal(value, tv_sd[key])
    for key, value in ours.latter.state_dict().items():
        assert torch.equal(value, tv_sd["layer4." + key])


def test_trunk_state_dict_is_strict():
    tv_sd = resnet18(weights=None).state_dict()
    del tv_sd["layer3.0.conv1.weight"]
    with pytest.raises(RuntimeError, match="layer3.0.conv1.weight"):
        ReIDBackbone(num_classes=3, depth=18).load_trunk_state_dict(tv_sd)


@pytest.mark.parametrize("depth,c3,dim", [(18, 256, 512), (50, 1024, 2048)])
def test_backbone_outputs_and_shapes(depth, c3, dim, x):
    model = build_backbone(num_classes=7, depth=depth)
    assert (model.fmap_channels, model.feat_dim) == (c3, dim)
    out = model(x)
    assert set(out) == {"fmap", "feat", "bn_feat", "logits"}
    assert out["fmap"].shape == (2, c3, H // 16, W // 16)
    assert out["feat"].shape == out["bn_feat"].shape == (2, dim)
    assert out["logits"].shape == (2, 7)
    assert model.classifier.bias is None
    assert not model.bnneck.bias.requires_grad
    # LE keeps f_map's resolution (last stride 1)
    assert model.latter(out["fmap"]).shape[-2:] == out["fmap"].shape[-2:]


def test_forward_latter_matches_forward(x):
    model = build_backbone(num_classes=3, depth=18).eval()
    with torch.no_grad():
        full = model(x)
        part = model.forward_latter(model.former(x))
    for key in ("feat", "bn_feat", "logits"):
        torch.testing.assert_close(full[key], part[key])


def test_pretrained_without_weights_names_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    expected = tmp_path / "hub" / "checkpoints" / "resnet18-f37072fd.pth"
    assert weights_cache_path(18) == expected
    with pytest.raises(PretrainedWeightsError) as err:
        build_backbone(num_classes=3, depth=18, pretrained=True)
    assert str(expected) in str(err.value)
    assert "resnet18-f37072fd.pth" in str(err.value) and "download.pytorch.org" in str(err.value)
    with pytest.raises(PretrainedWeightsError, match="put the file at exactly"):
        build_backbone(num_classes=3, depth=18, pretrained=True, allow_download=False)


def test_pretrained_reads_the_cached_file(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(backbone_module.torch.hub, "load_state_dict_from_url",
                        lambda *a, **k: pytest.fail("must not download when the file is cached"))
    torch.manual_seed(3)
    tv_sd = resnet18(weights=None).state_dict()
    path = weights_cache_path(18)
    path.parent.mkdir(parents=True)
    torch.save(tv_sd, path)
    model = build_backbone(num_classes=3, depth=18, pretrained=True)
    assert torch.equal(model.former.conv1.weight, tv_sd["conv1.weight"])
    assert torch.equal(model.latter[1].bn2.running_var, tv_sd["layer4.1.bn2.running_var"])


def test_teacher_is_frozen(x):
    torch.manual_seed(0)
    backbone = build_backbone(num_classes=4, depth=18)
    backbone.train()
    backbone(torch.randn(4, 3, H, W) * 3 + 1)  # move the source's BN stats away from init
    teacher = FrozenTeacher(backbone)
    before = copy.deepcopy(teacher.former.state_dict())
    assert all(not p.requires_grad for p in teacher.former.parameters())

    teacher.train()  # asked for training mode: ignored
    assert not teacher.training and not teacher.former.training
    assert all(not m.training for m in teacher.former.modules())
    x_in = (torch.randn(4, 3, H, W) * 5 + 2).requires_grad_(True)  # a fresh, very different batch
    out = teacher(x_in)
    out.pow(2).mean().backward()
    assert x_in.grad is not None and x_in.grad.abs().sum() > 0, "gradient flows to the input (Eq. 1)"
    assert all(p.grad is None for p in teacher.former.parameters())
    after = teacher.former.state_dict()
    for key, value in before.items():
        assert torch.equal(value, after[key]), f"{key} moved"
    # the same forward through the *source* backbone in train mode would have moved them
    bn_before = backbone.former.bn1.running_mean.clone()
    backbone.train()
    backbone(x_in.detach())
    assert not torch.equal(bn_before, backbone.former.bn1.running_mean)
    # the teacher is a deep copy: later student updates do not reach it
    assert torch.equal(before["bn1.running_mean"], teacher.former.bn1.running_mean)


def test_teacher_is_outside_state_dict_and_parameters():
    student = build_backbone(num_classes=4, depth=18)
    holder = nn.Module()
    holder.student = student
    holder.teacher = FrozenTeacher(build_backbone(num_classes=4, depth=18))
    assert list(holder.teacher.parameters()) == []
    assert set(holder.state_dict()) == {"student." + k for k in student.state_dict()}
    holder.to(torch.float64)
    assert holder.teacher.former.conv1.weight.dtype == torch.float64
    assert holder.teacher(torch.randn(1, 3, H, W, dtype=torch.float64)).dtype == torch.float64


def test_generator_shapes_and_range(x):
    gen = ResnetGenerator(GeneratorConfig(ngf=8, n_blocks=2))
    y = gen(x.clamp(-1, 1))
    assert y.shape == x.shape
    assert y.min() >= -1 and y.max() <= 1
    with pytest.raises(ValueError, match="divisible by 4"):
        gen(torch.randn(1, 3, 30, 16))


def test_patch_discriminator_shape(x):
    disc = PatchDiscriminator(cfg=DiscriminatorConfig(ndf=8, n_layers=3))
    # 3 stride-2 convs: 64x32 -> 8x4, then two 4x4 stride-1 convs with padding 1: -> 6x2
    assert disc(x).shape == (2, 1, 6, 2)


def test_joint_discriminator_reads_image_and_map(x):
    backbone = build_backbone(num_classes=3, depth=18).eval()
    fmap = backbone.former(x).detach()
    disc = JointDiscriminator(fmap_channels=256, cfg=DiscriminatorConfig(ndf=8)).eval()
    logits = disc(x, fmap)
    assert logits.shape == (2, 1, H // 16, W // 16)
    # the score depends on the map: same image, another map -> another score
    assert not torch.allclose(disc(x, fmap.flip(0)), logits)
    # and on the image
    assert not torch.allclose(disc(x.flip(0), fmap), logits)
    assert torch.equal(discriminate_ir(disc, x, fmap), logits)
    with pytest.raises(ValueError, match="needs a feature map"):
        discriminate_ir(disc, x, None)


def test_cyclegan_container_parameter_groups():
    gan = CycleGAN(256, CycleGANConfig(GeneratorConfig(ngf=8, n_blocks=1), DiscriminatorConfig(ndf=8)))
    assert gan.joint and isinstance(gan.disc_ir, JointDiscriminator)
    g = {id(p) for p in gan.generator_parameters()}
    d = {id(p) for p in gan.discriminator_parameters()}
    assert g.isdisjoint(d) and g | d == {id(p) for p in gan.parameters()}
    od = CycleGAN(256, CycleGANConfig(GeneratorConfig(ngf=8, n_blocks=1), DiscriminatorConfig(ndf=8), joint_disc=False))
    assert not od.joint and isinstance(od.disc_ir, PatchDiscriminator)


def test_range_conversion_values_and_round_trip(x):
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    black = -torch.ones(1, 3, 2, 2)  # -1 in GAN range = 0 in [0, 1]
    torch.testing.assert_close(gan_to_reid(black), (-mean / std).expand(1, 3, 2, 2))
    white = torch.ones(1, 3, 2, 2)
    torch.testing.assert_close(gan_to_reid(white), ((1 - mean) / std).expand(1, 3, 2, 2))
    torch.testing.assert_close(reid_to_gan(gan_to_reid(x)), x, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(gan_to_reid(x[0]), gan_to_reid(x)[0])  # also (3, H, W)


def test_cyclegan_checkpoint_round_trip(tmp_path):
    from tsgan_lib.files import NetworkRecord, load_network, network_arch, save_network
    cfg = CycleGANConfig(GeneratorConfig(ngf=8, n_blocks=1), DiscriminatorConfig(ndf=8), joint_disc=False)
    gan = CycleGAN(256, cfg)
    path = save_network(tmp_path / "g" / "cyclegan.pt", gan, NetworkRecord("cyclegan", network_arch(gan),
                                                                            settings={"height": 64}))
    loaded, record = load_network(path, kind="cyclegan")
    assert record.settings["height"] == 64 and not loaded.joint and loaded.cfg.generator.ngf == 8
    for k, v in gan.state_dict().items():
        assert torch.equal(v, loaded.state_dict()[k])
