"""The tensor input pipeline against the PIL/DataLoader path it replaces on a GPU:
exact pixels for a forced crop and flip, the same augmentation distribution,
the sampler's identities, the cache's reuse and refusals, determinism and resume."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from scipy import stats
from torchvision.transforms import functional as TF

from tsgan_lib.data import (IR, RGB, CrossModalityTrainSet, DatasetError, Record, build_train_loader,
                            build_transform, read_image)
from tsgan_lib.data.image_cache import HEADER_BYTES, ImageCacheError, cache_file, load_image_cache, open_image_cache
from tsgan_lib.data.tensor_pipeline import (AugmentParams, TensorTrainLoader, augment_batch, build_tensor_train_loader,
                                            draw_augment_params)

H, W, PAD = 16, 8, 2


def _write_records(root: Path, n_ids: int = 5, seed: int = 0) -> list[Record]:
    """Random PNGs of varied sizes (resized by the pipeline), 3-4 RGB and 2-3 IR per id."""
    rng = np.random.default_rng(seed)
    recs = []
    for pid in range(n_ids):
        for mod, cams, n in ((RGB, (1, 2, 4, 5), 3 + pid % 2), (IR, (3, 6), 2 + pid % 2)):
            for i in range(n):
                h, w = int(rng.integers(20, 48)), int(rng.integers(10, 24))
                arr = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
                if mod == IR:
                    arr[..., 1:] = arr[..., :1]  # 3 identical channels, as SYSU-MM01 stores IR
                path = root / mod / f"{pid:02d}_{i}.png"
                path.parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(arr).save(path)
                recs.append(Record(str(path), pid, cams[i % len(cams)], mod))
    rng.shuffle(recs)  # records in any order, modalities interleaved
    return recs


@pytest.fixture
def records(tmp_path) -> list[Record]:
    return _write_records(tmp_path / "img")


def _pil_augmented(img: Image.Image, dy: int, dx: int, flip: bool, height=H, width=W, pad=PAD) -> torch.Tensor:
    """The PIL path's steps with a forced crop offset and flip."""
    steps = build_transform(True, height, width, pad).transforms   # Resize, Pad, RandomCrop, Flip, ToTensor, Normalize
    x = steps[1](steps[0](img))
    x = TF.crop(x, dy, dx, height, width)
    if flip:
        x = TF.hflip(x)
    return steps[5](steps[4](x))


def _loader(records, tmp_path, **kw) -> TensorTrainLoader:
    kw = {"P": 3, "K": 2, "height": H, "width": W, "pad": PAD, "seed": 3, "device": "cpu",
          "cache_dir": tmp_path / "cache", **kw}
    return build_tensor_train_loader(records, **kw)


# (a) exactness -----------------------------------------------------------------------------------

def test_forced_crop_and_flip_equal_the_pil_path_bit_for_bit(records, tmp_path):
    ds = CrossModalityTrainSet(records)
    cache = load_image_cache(ds.rgb + ds.ir, H, W, cache_dir=tmp_path / "cache")
    for row, rec in enumerate((ds.rgb + ds.ir)[:6]):
        img = read_image(rec.path)
        # the cached pixels are what the PIL path sees after its resize
        assert torch.equal(cache.images[row], torch.from_numpy(np.array(build_transform(False, H, W).transforms[0](img))).permute(2, 0, 1))
        for dy, dx, flip in [(0, 0, False), (2 * PAD, 2 * PAD, True), (1, 3, True), (PAD, 0, False), (3, 4, False)]:
            params = AugmentParams(torch.tensor([dy]), torch.tensor([dx]), torch.tensor([flip]))
            ours = augment_batch(cache.images[row:row + 1].clone(), params, PAD)[0]
            assert torch.equal(ours, _pil_augmented(img, dy, dx, flip)), (rec.path, dy, dx, flip)


def test_replaying_build_transforms_own_draws_gives_the_same_tensor(records, tmp_path):
    """build_transform(True) itself (RandomCrop: two randint draws, flip: rand < 0.5)
    replayed from the same torch seed equals augment_batch with those draws."""
    ds = CrossModalityTrainSet(records)
    cache = load_image_cache(ds.rgb + ds.ir, H, W, cache_dir=tmp_path / "cache")
    tf = build_transform(True, H, W, PAD)
    flips = set()
    for seed in range(12):
        row = seed % len(cache)
        torch.manual_seed(seed)
        dy, dx = (torch.randint(0, 2 * PAD + 1, (1,)).item() for _ in range(2))
        flip = bool(torch.rand(1) < 0.5)
        flips.add(flip)
        torch.manual_seed(seed)
        ref = tf(read_image((ds.rgb + ds.ir)[row].path))
        ours = augment_batch(cache.images[row:row + 1].clone(),
                             AugmentParams(torch.tensor([dy]), torch.tensor([dx]), torch.tensor([flip])), PAD)[0]
        assert torch.equal(ours, ref)
    assert flips == {True, False}


def test_channels_last_and_batch_shapes(records, tmp_path):
    loader = _loader(records, tmp_path, channels_last=True)
    x_rgb, x_ir, y = loader.batch_at(0, 0)
    assert x_rgb.shape == x_ir.shape == (6, 3, H, W) and x_rgb.dtype == torch.float32
    assert x_rgb.is_contiguous(memory_format=torch.channels_last)
    plain = _loader(records, tmp_path).batch_at(0, 0)
    assert torch.equal(x_rgb, plain[0]) and torch.equal(x_ir, plain[1])


# (b) the same distribution -----------------------------------------------------------------------

def _coded_image(height=12, width=8) -> np.ndarray:
    """R = row + 10, G = col + 10, B = 200 (padding is 0 everywhere)."""
    yy, xx = np.mgrid[:height, :width]
    return np.stack([yy + 10, xx + 10, np.full_like(yy, 200)], axis=-1).astype(np.uint8)


def _decode(x: torch.Tensor, pad: int) -> tuple[int, int, bool]:
    """Crop offset and flip from an augmented coded image (C, H, W), normalised."""
    mean = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)
    u8 = ((x * std + mean) * 255).round().to(torch.int64)
    ys, xs = torch.nonzero(u8[2] == 200, as_tuple=True)
    y0 = int(ys[0])
    row_x = xs[ys == y0]
    g = u8[1, y0, row_x]
    flip = bool(g[1] < g[0])
    width = x.shape[-1]
    src_row, src_col, out_x = int(u8[0, y0, row_x[0]]) - 10, int(g[0]) - 10, int(row_x[0])
    dy = src_row - y0 + pad
    dx = src_col - (width - 1 - out_x if flip else out_x) + pad
    return dy, dx, flip


def _counts(draws, pad):
    dy, dx, fl = zip(*draws)
    return (np.bincount(dy, minlength=2 * pad + 1), np.bincount(dx, minlength=2 * pad + 1), int(sum(fl)))


def test_crop_offsets_and_flips_have_the_pil_paths_distribution(records, tmp_path):
    pad, n = 2, 2400
    coded = _coded_image()
    # the PIL path: build_transform(True) on the coded image (already 12x8, so the resize keeps it)
    tf = build_transform(True, 12, 8, pad)
    torch.manual_seed(1234)
    img = Image.fromarray(coded)
    pil = [_decode(tf(img), pad) for _ in range(n)]
    # the tensor path: the loader's own per-batch generators, over batches and epochs
    loader = _loader(records, tmp_path, pad=pad)
    params = [p for e in range(20) for s in range(n // 240) for p in loader.augment_params(e, s)]
    params = AugmentParams(*(torch.cat([getattr(p, f) for p in params]) for f in ("dy", "dx", "flip")))
    assert len(params) == 20 * (n // 240) * 2 * 6 == n
    batch = torch.from_numpy(coded).permute(2, 0, 1).expand(n, 3, 12, 8).contiguous()
    out = augment_batch(batch, params, pad)
    ten = [_decode(out[i], pad) for i in range(n)]
    # the decoder reads back what was drawn (the tensor path's params are known)
    assert ten == list(zip(params.dy.tolist(), params.dx.tolist(), params.flip.tolist()))
    (pdy, pdx, pfl), (tdy, tdx, tfl) = _counts(pil, pad), _counts(ten, pad)
    for counts in (pdy, pdx, tdy, tdx):
        assert len(counts) == 2 * pad + 1 and counts.min() > 0       # the same range 0..2*pad, all reached
        assert stats.chisquare(counts).pvalue > 1e-3                  # uniform (fixed seeds: deterministic)
    for a, b in ((pdy, tdy), (pdx, tdx)):                             # and the two paths alike
        assert stats.chi2_contingency(np.stack([a, b])).pvalue > 1e-3
    for flips in (pfl, tfl):
        assert stats.binomtest(flips, n, 0.5).pvalue > 1e-3


def test_flip_probability_and_zero_pad(records, tmp_path):
    p = draw_augment_params(4000, 0, 0.2, torch.Generator().manual_seed(0))
    assert p.dy.max() == 0 and p.dx.max() == 0
    assert stats.binomtest(int(p.flip.sum()), 4000, 0.2).pvalue > 1e-3
    loader = _loader(records, tmp_path, pad=0, flip_p=0.0)
    ds = CrossModalityTrainSet(records)
    x_rgb, _, _ = loader.batch_at(0, 0)
    i_rgb = loader.sampler.batches(0)[0][0][0]
    plain = build_transform(False, H, W)(read_image(ds.rgb[i_rgb].path))  # no pad, no flip: the test transform
    assert torch.equal(x_rgb[0], plain)


# (c) the sampler's identities and labels -----------------------------------------------------------

def test_batches_follow_the_sampler_pairs_and_labels(records, tmp_path):
    loader = _loader(records, tmp_path)
    ds = CrossModalityTrainSet(records)
    loader.set_epoch(1)
    batches = loader.sampler.batches(1)
    seen = 0
    for step, (x_rgb, x_ir, y) in enumerate(loader):
        pairs = batches[step]
        assert y.dtype == torch.int64 and y.tolist() == [ds.rgb[a].pid for a, _ in pairs] == [ds.ir[b].pid for _, b in pairs]
        p_rgb, p_ir = loader.augment_params(1, step)
        for k in (0, len(pairs) - 1):
            a, b = pairs[k]
            assert torch.equal(x_rgb[k], _pil_augmented(read_image(ds.rgb[a].path), int(p_rgb.dy[k]), int(p_rgb.dx[k]),
                                                        bool(p_rgb.flip[k])))
            assert torch.equal(x_ir[k], _pil_augmented(read_image(ds.ir[b].path), int(p_ir.dy[k]), int(p_ir.dx[k]),
                                                       bool(p_ir.flip[k])))
        seen += 1
    assert seen == len(loader) == loader.sampler.steps_per_epoch


def test_same_batches_as_build_train_loader(records, tmp_path):
    dl = build_train_loader(records, P=3, K=2, height=H, width=W, pad=PAD, seed=3)
    ours = _loader(records, tmp_path)
    ds = CrossModalityTrainSet(records)
    assert len(ours) == len(dl) and type(ours.sampler) is type(dl.sampler)
    grid = [(dy, dx, f) for dy in range(2 * PAD + 1) for dx in range(2 * PAD + 1) for f in (False, True)]
    for step, ((a_rgb, a_ir, a_y), (b_rgb, b_ir, b_y)) in enumerate(zip(dl, ours)):
        assert torch.equal(a_y, b_y)
        assert (a_rgb.shape, a_rgb.dtype, a_ir.shape, a_ir.dtype) == (b_rgb.shape, b_rgb.dtype, b_ir.shape, b_ir.dtype)
        if step == 0:  # the DataLoader's images are augmentations of the same records
            for k, (a, b) in enumerate(ours.sampler.batches(0)[0]):
                for x, rec in ((a_rgb[k], ds.rgb[a]), (a_ir[k], ds.ir[b])):
                    img = read_image(rec.path)
                    assert any(torch.equal(x, _pil_augmented(img, *g)) for g in grid)


def test_pair_of_two_identities_is_refused(records, tmp_path):
    loader = _loader(records, tmp_path)
    ds = CrossModalityTrainSet(records)
    a = next(i for i, r in enumerate(ds.ir) if r.pid != ds.rgb[0].pid)
    pairs = [(0, a)] * loader.batch_size
    with pytest.raises(ValueError, match="mixes identities"):
        loader.make_batch(pairs, 0, 0)


# (d) the cache ------------------------------------------------------------------------------------

def test_cache_is_reused_without_decoding(records, tmp_path, monkeypatch):
    cache_dir = tmp_path / "cache"
    first = load_image_cache(records, H, W, cache_dir=cache_dir)
    assert first.path == cache_file(records, H, W, cache_dir) and first.path.stat().st_size == HEADER_BYTES + len(records) * 3 * H * W
    assert [p.name for p in cache_dir.iterdir()] == [first.path.name]     # no temporary file left
    mtime = first.path.stat().st_mtime_ns

    def no_decoding(path):
        raise AssertionError(f"decoded {path} although the cache exists")
    monkeypatch.setattr("tsgan_lib.data.image_cache.read_image", no_decoding)
    again = load_image_cache(records, H, W, cache_dir=cache_dir, verify=True)
    assert again.path == first.path and again.path.stat().st_mtime_ns == mtime
    assert torch.equal(again.images, first.images)
    # the memory map is copy-on-write: writing to the tensor never changes the file
    again.images[0].zero_()
    assert not torch.equal(open_image_cache(first.path).images[0], again.images[0])


def test_cache_rebuilt_for_other_records_or_size(records, tmp_path):
    cache_dir = tmp_path / "cache"
    a = load_image_cache(records, H, W, cache_dir=cache_dir)
    b = load_image_cache(records[:-1], H, W, cache_dir=cache_dir)                 # other records
    c = load_image_cache(records, H + 8, W, cache_dir=cache_dir)                   # other size
    d = load_image_cache(list(reversed(records)), H, W, cache_dir=cache_dir)       # other order = other rows
    assert len({a.path, b.path, c.path, d.path}) == 4 and len(list(cache_dir.iterdir())) == 4
    assert c.images.shape == (len(records), 3, H + 8, W)
    assert torch.equal(d.images, a.images.flip(0))


def test_cache_from_other_records_or_size_is_refused(records, tmp_path):
    path = tmp_path / "explicit.u8"
    load_image_cache(records, H, W, path=path)
    with pytest.raises(ImageCacheError, match=f"{path}.*other records"):
        load_image_cache(records[:-1], H, W, path=path)
    with pytest.raises(ImageCacheError, match=f"{path}.*{H}x{W}"):
        load_image_cache(records, H + 8, W, path=path)
    rebuilt = load_image_cache(records[:-1], H, W, path=path, rebuild=True)      # unless asked to replace it
    assert len(rebuilt) == len(records) - 1


def test_corrupt_cache_is_named(records, tmp_path):
    path = load_image_cache(records, H, W, cache_dir=tmp_path / "c").path
    data = path.read_bytes()
    path.write_bytes(data[:-100])                                   # truncated
    with pytest.raises(ImageCacheError, match=f"{path} is corrupt.*bytes"):
        load_image_cache(records, H, W, cache_dir=tmp_path / "c")
    path.write_bytes(b"garbage" + data[7:])                          # bad magic
    with pytest.raises(ImageCacheError, match=f"{path} is corrupt.*header"):
        load_image_cache(records, H, W, cache_dir=tmp_path / "c")
    flipped = bytearray(data)
    flipped[HEADER_BYTES + 5] ^= 0xFF                                # one pixel changed: found by verify
    path.write_bytes(bytes(flipped))
    load_image_cache(records, H, W, cache_dir=tmp_path / "c")          # the quick checks pass
    with pytest.raises(ImageCacheError, match=f"{path} is corrupt.*checksum"):
        load_image_cache(records, H, W, cache_dir=tmp_path / "c", verify=True)
    fixed = load_image_cache(records, H, W, cache_dir=tmp_path / "c", rebuild=True, verify=True)
    assert fixed.path == path


def test_failed_build_leaves_nothing(records, tmp_path):
    broken = records + [Record(str(tmp_path / "missing.png"), 0, 1, RGB)]
    with pytest.raises(DatasetError, match="missing.png"):
        load_image_cache(broken, H, W, cache_dir=tmp_path / "c")
    assert list((tmp_path / "c").iterdir()) == []


# (e) determinism and resume -----------------------------------------------------------------------

def test_batch_k_is_the_same_with_or_without_earlier_batches(records, tmp_path):
    full = _loader(records, tmp_path)
    full.set_epoch(2)
    epoch = list(full)
    assert len(epoch) >= 3
    for k in (1, len(epoch) - 1):
        resumed = _loader(records, tmp_path)                  # a fresh process would build this
        resumed.set_epoch(2, start_step=k)
        first = next(iter(resumed))
        direct = resumed.batch_at(2, k)
        for a, b, c in zip(epoch[k], first, direct):
            assert torch.equal(a, b) and torch.equal(a, c)
    p0, p1 = full.augment_params(2, 0), full.augment_params(2, 1)
    assert not torch.equal(p0[0].dy, p1[0].dy) or not torch.equal(p0[0].flip, p1[0].flip)  # steps differ
    assert not torch.equal(p0[0].dy, p0[1].dy) or not torch.equal(p0[0].flip, p0[1].flip)  # RGB and IR differ
    other_epoch = full.batch_at(3, 1)
    assert not torch.equal(other_epoch[0], epoch[1][0])
    other_seed = _loader(records, tmp_path, seed=4).batch_at(2, 1)
    assert not torch.equal(other_seed[0], epoch[1][0])


def test_resident_and_mapped_give_the_same_batches(records, tmp_path):
    a = _loader(records, tmp_path).batch_at(0, 1)
    b = _loader(records, tmp_path, resident=True).batch_at(0, 1)
    assert all(torch.equal(x, y) for x, y in zip(a, b))


# on the GPU machine --------------------------------------------------------------------------------

@pytest.mark.cuda
@pytest.mark.parametrize("resident", [False, True])
def test_cuda_batches_equal_cpu_batches(records, tmp_path, resident):
    cpu = _loader(records, tmp_path)
    gpu = _loader(records, tmp_path, device="cuda", resident=resident, channels_last=True)
    for step in range(len(cpu)):
        for a, b in zip(cpu.batch_at(1, step), gpu.batch_at(1, step)):
            assert b.device.type == "cuda"
            torch.testing.assert_close(b.cpu(), a, rtol=0, atol=1e-6)
    gpu.set_epoch(1)
    first = next(iter(gpu))
    torch.testing.assert_close(first[0].cpu(), cpu.batch_at(1, 0)[0], rtol=0, atol=1e-6)


@pytest.mark.cuda
@pytest.mark.parametrize("resident", [False, True])
def test_cuda_batches_make_no_host_sync(records, tmp_path, resident):
    """Drawing a batch never waits for the GPU (so the CPU can queue the next
    step while the GPU runs this one): pinned, non-blocking copies only."""
    gpu = _loader(records, tmp_path, device="cuda", resident=resident)
    gpu.batch_at(0, 0)                                  # first use: allocations
    torch.cuda.set_sync_debug_mode("error")
    try:
        batches = [gpu.batch_at(0, step) for step in range(len(gpu))]
    finally:
        torch.cuda.set_sync_debug_mode("default")
    cpu = _loader(records, tmp_path)
    torch.testing.assert_close(batches[-1][0].cpu(), cpu.batch_at(0, len(gpu) - 1)[0], rtol=0, atol=1e-6)


# grey and random erasing (the optional augmentations) --------------------------------------------

def test_forced_grey_and_erasing_equal_the_pil_path(records, tmp_path):
    ds = CrossModalityTrainSet(records)
    cache = load_image_cache(ds.rgb + ds.ir, H, W, cache_dir=tmp_path / "cache")
    for row, rec in enumerate(ds.rgb[:4]):
        img = read_image(rec.path)
        for dy, dx, flip, box in [(0, 0, False, (0, 0, 0, 0)), (1, 3, True, (2, 1, 5, 3)), (3, 4, False, (10, 0, 6, 8))]:
            params = AugmentParams(torch.tensor([dy]), torch.tensor([dx]), torch.tensor([flip]), torch.tensor([True]),
                                   torch.tensor([box]))
            ours = augment_batch(cache.images[row:row + 1].clone(), params, PAD)[0]
            steps = build_transform(True, H, W, PAD).transforms
            x = TF.crop(steps[1](steps[0](img)), dy, dx, H, W)
            x = TF.rgb_to_grayscale(TF.hflip(x) if flip else x, num_output_channels=3)  # PIL's "L", three times
            ref = steps[5](steps[4](x))
            if box[2]:
                ref = TF.erase(ref, *box, v=torch.tensor(0.0))
            assert torch.equal(ours, ref), (rec.path, dy, dx, flip, box)
            unit = ours * torch.tensor([0.229, 0.224, 0.225])[:, None, None] + torch.tensor([0.485, 0.456, 0.406])[:, None, None]
            keep = ours.abs().sum(0) > 0  # outside the erased box, grey: three equal channels
            assert torch.allclose(unit[0][keep], unit[1][keep], atol=1e-6) and torch.allclose(unit[1][keep], unit[2][keep], atol=1e-6)


def test_grey_and_erasing_draws_have_the_pil_paths_distribution():
    g = torch.Generator().manual_seed(0)
    n, h, w = 4000, 64, 32
    p = draw_augment_params(n, PAD, 0.5, g, grey=0.3, erasing=0.5, height=h, width=w)
    assert stats.binomtest(int(p.grey.sum()), n, 0.3).pvalue > 1e-3
    erased = p.erase[:, 2] > 0
    area = (p.erase[erased, 2] * p.erase[erased, 3]).float() / (h * w)
    assert (p.erase[erased, 0] + p.erase[erased, 2] <= h).all() and (p.erase[erased, 1] + p.erase[erased, 3] <= w).all()
    # torchvision's own draws (T.RandomErasing.get_params) on the same image size, for comparison
    torch.manual_seed(1)
    from torchvision.transforms import RandomErasing

    ref = [RandomErasing.get_params(torch.zeros(3, h, w), scale=(0.02, 0.33), ratio=(0.3, 3.3), value=[0.0])
           for _ in range(n)]
    ref_on = torch.tensor([b[2] < h or b[3] < w for b in ref])  # a box that is the whole image = no erasing
    ref_area = torch.tensor([b[2] * b[3] / (h * w) for b, on in zip(ref, ref_on) if on])
    assert stats.binomtest(int(erased.sum()), n, 0.5 * float(ref_on.float().mean())).pvalue > 1e-3
    assert stats.ks_2samp(area.numpy(), ref_area.numpy()).pvalue > 1e-3
    without = draw_augment_params(n, PAD, 0.5, torch.Generator().manual_seed(0))
    assert torch.equal(without.dy, p.dy) and torch.equal(without.flip, p.flip)  # the crop draws do not move
    assert without.grey is None and without.erase is None


def test_loader_with_grey_and_erasing_is_deterministic(records, tmp_path):
    a = _loader(records, tmp_path, grey=0.5, erasing=0.5)
    b = _loader(records, tmp_path, grey=0.5, erasing=0.5)
    xa, ya = a.batch_at(1, 0)[0], a.batch_at(1, 0)[2]
    assert torch.equal(xa, b.batch_at(1, 0)[0]) and torch.equal(ya, b.batch_at(1, 0)[2])
    assert not torch.equal(xa, _loader(records, tmp_path).batch_at(1, 0)[0])
