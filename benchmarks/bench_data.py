"""Images/s the training input pipeline delivers, beside what the training step consumes.

Usage (from the repository root):

    PYTHONPATH=. python benchmarks/bench_data.py                       # CPU: 64x32, workers 0,1,2
    PYTHONPATH=. python benchmarks/bench_data.py --height 288 --width 144 --workers 0,4,8,12 \\
        --step-json runs/bench/train_step.json --out runs/bench/data.json
    PYTHONPATH=. python benchmarks/bench_data.py --data-root /data/SYSU-MM01   # the real images

Paths measured, each as real images per second (2*P*K per batch) over
``--batches`` batches after ``--warmup`` batches, delivered on the device
(CUDA: copied there and synchronised):

- ``pil``: :func:`tsgan_lib.data.build_train_loader` (PIL decode, resize, pad,
  crop, flip, normalise per image) with 0..N DataLoader workers
  (``pin_memory`` on CUDA);
- ``tensor``: :func:`tsgan_lib.data.build_tensor_train_loader` (the uint8
  cache, augmentation in batch on the device), on the CPU and on CUDA when
  present, memory-mapped and ``resident``. The cache is built first in a
  temporary folder (``--cache-dir`` to keep it), and its build time is reported.

Consumption: the training step's images/s (full step and backbone-only) from
a ``bench_train_step.py`` JSON (``--step-json``) or ``--consume-images-per-s``;
the report gives delivered / consumed for each path (the target is >= 2).

Data: the training split of SYSU-MM01 at ``--data-root``, else the synthetic
stand-in (generated once, ``--synthetic-ids`` identities, 128x64 JPEGs: its
decode is cheaper than SYSU-MM01's larger photos, so the PIL figures are an
upper bound for the real data; the tensor path's per-batch work does not
depend on the source images).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib as bl  # noqa: E402

from tsgan_lib.data import (CrossModalityTrainSet, build_tensor_train_loader, build_train_loader,  # noqa: E402
                            load_image_cache, load_sysu, synthetic_sysu_root)

SYSU_TRAIN_IMAGES = 22258 + 11909  # SYSU-MM01 train+val: RGB + IR images


def _drain(loader, device: torch.device, warmup: int, batches: int) -> tuple[float, float]:
    """(seconds to the first batch, seconds for ``batches`` batches after ``warmup``)."""
    epoch = [0]

    def batches_forever():
        while True:
            loader.sampler.set_epoch(epoch[0])
            yield from loader
            epoch[0] += 1

    it = batches_forever()
    t0 = time.perf_counter()
    for k in range(max(1, warmup)):
        x_rgb, x_ir, y = next(it)
        if k == 0:
            bl.sync(device)
            first = time.perf_counter() - t0
    bl.sync(device)
    t0 = time.perf_counter()
    for _ in range(batches):
        x_rgb, x_ir, y = next(it)
        if x_rgb.device != device:
            x_rgb, x_ir, y = (t.to(device, non_blocking=True) for t in (x_rgb, x_ir, y))
    bl.sync(device)
    return first, time.perf_counter() - t0


def consumption(args) -> dict:
    out = {"full_step_images_per_s": None, "backbone_step_images_per_s": None, "source": None}
    if args.step_json:
        rep = json.loads(Path(args.step_json).read_text())
        out.update(full_step_images_per_s=rep.get("images_per_s"),
                   backbone_step_images_per_s=rep.get("backbone_images_per_s"),
                   source=f"{args.step_json} ({rep.get('device')}, {rep.get('settings', {}).get('preset')})")
    if args.consume_images_per_s:
        out.update(full_step_images_per_s=args.consume_images_per_s, source="--consume-images-per-s")
    return out


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="auto", help="where batches are delivered (auto: CUDA when present)")
    ap.add_argument("--data-root", default=None, help="SYSU-MM01 root (default: the synthetic stand-in)")
    ap.add_argument("--synthetic-ids", type=int, default=160, help="identities of the synthetic stand-in")
    ap.add_argument("--data-dir", default=None, help="where the stand-in is generated (default $TSGAN_DATA_DIR or runs/data)")
    ap.add_argument("--height", type=int, default=None, help="default: 288 on CUDA, 64 on the CPU")
    ap.add_argument("--width", type=int, default=None, help="default: 144 on CUDA, 32 on the CPU")
    ap.add_argument("--P", type=int, default=8)
    ap.add_argument("--K", type=int, default=4)
    ap.add_argument("--pad", type=int, default=None, help="crop padding (default: default_pad(width))")
    ap.add_argument("--workers", default=None, help="PIL path's DataLoader workers, comma list "
                                                    "(default: 0,4,8,12 on CUDA, 0,1,2 on the CPU)")
    ap.add_argument("--tensor-devices", default=None, help="tensor path's devices (default: cpu and cuda when present)")
    ap.add_argument("--warmup", type=int, default=2, help="batches before timing (the first also gives the start-up time)")
    ap.add_argument("--batches", type=int, default=None, help="timed batches per path (default 50 CUDA, 10 CPU)")
    ap.add_argument("--cache-dir", default=None, help="keep the tensor path's cache here (default: a temporary folder)")
    ap.add_argument("--step-json", default=None, help="a bench_train_step.py JSON: the step's consumption")
    ap.add_argument("--consume-images-per-s", type=float, default=None, help="the step's consumption, given")
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (CPU)")
    ap.add_argument("--out", default="runs/bench/data.json")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = bl.resolve_device(args.device)
    cuda = device.type == "cuda"
    h = args.height or (288 if cuda else 64)
    w = args.width or (144 if cuda else 32)
    workers = [int(x) for x in (args.workers or ("0,4,8,12" if cuda else "0,1,2")).split(",")]
    tensor_devices = [torch.device(d) for d in (args.tensor_devices or ("cpu,cuda" if cuda else "cpu")).split(",")]
    batches = args.batches or (50 if cuda else 10)
    per_batch = 2 * args.P * args.K

    t0 = time.perf_counter()
    if args.data_root:
        data = load_sysu(args.data_root)
        source = f"SYSU-MM01 at {args.data_root}"
    else:
        data = load_sysu(synthetic_sysu_root(args.data_dir, num_ids=args.synthetic_ids))
        source = f"synthetic stand-in, {args.synthetic_ids} ids, 128x64 JPEGs"
    data_s = time.perf_counter() - t0
    records = data.train
    ds = CrossModalityTrainSet(records)
    print(f"device: {bl.device_name(device)}, torch {torch.__version__}; data: {source}: {len(ds.rgb)} RGB + "
          f"{len(ds.ir)} IR training images ({data_s:.1f} s to load/generate); {h}x{w}, P={args.P} x K={args.K}")

    rows = []
    bl.reset_peak_memory(device)
    for nw in workers:
        loader = build_train_loader(records, P=args.P, K=args.K, height=h, width=w, pad=args.pad, workers=nw,
                                    pin_memory=cuda)
        first, t = _drain(loader, device, args.warmup, batches)
        rows.append({"path": "pil", "workers": nw, "device": str(device), "resident": None,
                     "first_batch_s": first, "seconds": t, "images_per_s": batches * per_batch / t})
        del loader

    cache_dir = Path(args.cache_dir) if args.cache_dir else Path(tempfile.mkdtemp(prefix="tsgan-cache-"))
    try:
        t0 = time.perf_counter()
        cache = load_image_cache(ds.rgb + ds.ir, h, w, cache_dir=cache_dir)
        cache_s = time.perf_counter() - t0
        cache_info = {"file": str(cache.path), "images": len(cache), "bytes": cache.nbytes, "seconds": cache_s,
                      "images_per_s": len(cache) / cache_s,
                      "sysu_mm01_train_gb_at_this_size": SYSU_TRAIN_IMAGES * 3 * h * w / bl.GB}
        for dev in tensor_devices:
            for resident in (False, True):
                loader = build_tensor_train_loader(records, P=args.P, K=args.K, height=h, width=w, pad=args.pad,
                                                   device=dev, resident=resident, cache_dir=cache_dir,
                                                   channels_last=dev.type == "cuda")
                first, t = _drain(loader, dev, args.warmup, batches)
                rows.append({"path": "tensor", "workers": 0, "device": str(dev), "resident": resident,
                             "first_batch_s": first, "seconds": t, "images_per_s": batches * per_batch / t})
                del loader
    finally:
        if not args.cache_dir:
            shutil.rmtree(cache_dir, ignore_errors=True)
    peak = bl.peak_memory_gb(device)

    consume = consumption(args)
    for r in rows:
        for key in ("full_step", "backbone_step"):
            c = consume[f"{key}_images_per_s"]
            r[f"x_{key}"] = r["images_per_s"] / c if c else None
    tensor_main = [r["images_per_s"] for r in rows if r["path"] == "tensor" and r["device"] == str(device)]
    pil = [r["images_per_s"] for r in rows if r["path"] == "pil"]
    best_tensor = max(tensor_main) if tensor_main else None
    fastest_consumer = max([c for c in (consume["full_step_images_per_s"], consume["backbone_step_images_per_s"]) if c],
                           default=None)
    report = {"benchmark": "data", "device": bl.device_name(device), "torch": torch.__version__,
              "machine": bl.machine(device),
              "settings": {"data": source, "rgb_images": len(ds.rgb), "ir_images": len(ds.ir), "height": h,
                           "width": w, "P": args.P, "K": args.K, "pad": args.pad, "workers": workers,
                           "tensor_devices": [str(d) for d in tensor_devices], "warmup": args.warmup,
                           "batches": batches},
              "images_per_s": best_tensor, "images_per_s_path": f"tensor, best on {device}",
              "pil_best_images_per_s": max(pil) if pil else None,
              "peak_mem_gb": peak, "cache_build": cache_info, "consumption": consume, "paths": rows,
              "meets_2x_fastest_step": (best_tensor / fastest_consumer >= 2) if (best_tensor and fastest_consumer) else None}

    bl.print_table(rows, ["path", "workers", "device", "resident", "first_batch_s", "images_per_s",
                          "x_full_step", "x_backbone_step"],
                   f"input pipeline, {h}x{w}, P={args.P} x K={args.K} ({per_batch} real images per batch)")
    print(f"cache build: {cache_info['images']} images in {cache_info['seconds']:.1f} s "
          f"({cache_info['images_per_s']:.0f} images/s), {cache_info['bytes'] / 1e6:.1f} MB; SYSU-MM01's "
          f"{SYSU_TRAIN_IMAGES} training images at {h}x{w}: {cache_info['sysu_mm01_train_gb_at_this_size']:.2f} GB")
    if consume["source"]:
        print(f"consumption from {consume['source']}: full step {consume['full_step_images_per_s']}, backbone step "
              f"{consume['backbone_step_images_per_s']} images/s; tensor path >= 2x the fastest: "
              f"{report['meets_2x_fastest_step']}")
    path = bl.write_report(report, args.out, "bench_data.py", argv)
    print(f"peak memory {peak:.2f} GB ({'max_memory_allocated' if cuda else 'process peak RSS'}); wrote {path}")
    return report


if __name__ == "__main__":
    main()
