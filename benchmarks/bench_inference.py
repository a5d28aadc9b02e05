"""Test-time feature extraction speed, and what the test-time model costs beside the training system.

Usage (from the repository root):

    PYTHONPATH=. python benchmarks/bench_inference.py                    # CUDA: paper settings; CPU: demo size
    PYTHONPATH=. python benchmarks/bench_inference.py --preset paper --batch-sizes 64,128,256,512,1024 \\
        --precisions fp32,bf16 --channels-last --out runs/bench/inference.json

1. **Speed.** The student backbone alone (what ``tsgan_lib.eval.extract_features``
   runs: eval mode, no gradients, the GAP feature V), on N(0, 1) images of the
   given size, for each precision (``fp32``; ``bf16``: bf16 autocast;
   ``bf16-weights``: the model and input cast to bf16) and batch size: one
   warm-up, then the median over ``--repeats`` back-to-back calls (CUDA
   events; ``perf_counter`` on the CPU); images/s = batch / median.
2. **Census** (on the ``meta`` device: shapes only, no arithmetic, so the
   paper's size costs nothing on any machine): parameters and forward FLOPs
   per image (``FlopCounterMode``: convolutions and matrix products) of the
   test-time model (FE_S + LE_S + GAP, BNNeck, classifier) beside every
   network of the training-time system (student, teacher FE_T, G_I, G_R, D_I,
   D_R), at the bench's settings and at the paper's. The paper's claim that
   only the backbone runs at test time, in numbers.

Prints tables and writes JSON (``--out``, default ``runs/bench/inference.json``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib as bl  # noqa: E402

PRECISIONS = ("fp32", "bf16", "bf16-weights")


def census(s: dict) -> dict:
    """Parameters and forward FLOPs per image of each network at settings ``s``
    (computed on the meta device)."""
    from torch.utils.flop_counter import FlopCounterMode

    meta = {**s, "channels_last": False}
    with torch.device("meta"):
        models, _ = bl.build_models(meta, "jd_all_ts", "meta")
    student, teacher, gan = models.student.eval(), models.teacher, models.cyclegan.eval()
    h, w = s["height"], s["width"]
    x = torch.empty(1, 3, h, w, device="meta")
    fmap = torch.empty(1, student.fmap_channels, h // 16, w // 16, device="meta")

    def flops(fn) -> int:
        with torch.no_grad(), FlopCounterMode(display=False) as c:
            fn()
        return int(c.get_total_flops())

    test_time = torch.nn.ModuleDict({"former": student.former, "latter": student.latter})
    rows = {
        "test-time model (FE_S + LE_S + GAP -> V)": (bl.count_params(test_time),
                                                     flops(lambda: student.gap(student.latter(student.former(x))))),
        "student, whole (+ BNNeck + classifier)": (bl.count_params(student), flops(lambda: student(x))),
        "teacher FE_T (frozen)": (bl.count_params(teacher.former), flops(lambda: teacher(x))),
        "G_I (RGB -> IR)": (bl.count_params(gan.gen_ir), flops(lambda: gan.gen_ir(x))),
        "G_R (IR -> RGB)": (bl.count_params(gan.gen_rgb), flops(lambda: gan.gen_rgb(x))),
        "D_I (joint, image + f_map)": (bl.count_params(gan.disc_ir), flops(lambda: gan.disc_ir(x, fmap))),
        "D_R (PatchGAN)": (bl.count_params(gan.disc_rgb), flops(lambda: gan.disc_rgb(x))),
    }
    training = [k for k in rows if not k.startswith("test-time")]
    total_p = sum(rows[k][0] for k in training)
    total_f = sum(rows[k][1] for k in training)
    out = {name: {"params": p, "forward_gflops_per_image": f / 1e9} for name, (p, f) in rows.items()}
    out["training-time system (student + FE_T + G_I + G_R + D_I + D_R)"] = {
        "params": total_p, "forward_gflops_per_image": total_f / 1e9}
    tt = rows["test-time model (FE_S + LE_S + GAP -> V)"]
    out["_test_time_share"] = {"params": tt[0] / total_p, "forward_flops": tt[1] / total_f}
    out["_settings"] = {k: s[k] for k in ("depth", "height", "width", "ngf", "n_blocks", "ndf", "num_classes")}
    return out


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--preset", choices=sorted(bl.PRESETS), default=None,
                    help="settings (default: paper on CUDA, demo on the CPU)")
    ap.add_argument("--device", default="auto")
    for k in ("depth", "height", "width", "num_classes", "ngf", "n_blocks", "ndf"):
        ap.add_argument(f"--{k.replace('_', '-')}", type=int, default=None)
    ap.add_argument("--batch-sizes", default=None, help="comma list (default: 64..1024 on CUDA, 16,64 on the CPU)")
    ap.add_argument("--precisions", default=None,
                    help=f"comma list of {PRECISIONS} (default: all on CUDA; fp32,bf16 on the CPU)")
    ap.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=None)
    ap.add_argument("--compile", action="store_true", help="torch.compile the backbone (compile time reported)")
    ap.add_argument("--warmup", type=int, default=None, help="warm-up calls per point (default 3 CUDA, 1 CPU)")
    ap.add_argument("--repeats", type=int, default=None, help="timed calls per point (default 20 CUDA, 3 CPU)")
    ap.add_argument("--no-paper-census", action="store_true", help="skip the census at the paper's settings")
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (CPU)")
    ap.add_argument("--out", default="runs/bench/inference.json")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = bl.resolve_device(args.device)
    cuda = device.type == "cuda"
    s = dict(bl.PRESETS[args.preset or ("paper" if cuda else "demo")])
    for k in ("depth", "height", "width", "num_classes", "ngf", "n_blocks", "ndf"):
        if getattr(args, k) is not None:
            s[k] = getattr(args, k)
    s["channels_last"] = cuda if args.channels_last is None else args.channels_last
    batch_sizes = [int(b) for b in (args.batch_sizes or ("64,128,256,512,1024" if cuda else "16,64")).split(",")]
    precisions = (args.precisions or (",".join(PRECISIONS) if cuda else "fp32,bf16")).split(",")
    for p in precisions:
        if p not in PRECISIONS:
            raise SystemExit(f"--precisions: {p!r} is not one of {PRECISIONS}")
    warmup = args.warmup if args.warmup is not None else (3 if cuda else 1)
    repeats = args.repeats if args.repeats is not None else (20 if cuda else 3)
    if cuda:
        torch.backends.cudnn.benchmark = True

    from tsgan_lib.models import build_backbone

    fmt = torch.channels_last if s["channels_last"] else torch.contiguous_format
    bl.reset_peak_memory(device)
    torch.manual_seed(0)
    base = build_backbone(s["num_classes"], s["depth"]).eval().to(device=device, memory_format=fmt)
    rows, compile_s = [], {}
    for prec in precisions:
        model = base if prec != "bf16-weights" else build_backbone(s["num_classes"], s["depth"]).eval().to(
            device=device, dtype=torch.bfloat16, memory_format=fmt)
        if args.compile:
            model = torch.compile(model)
        in_dtype = torch.bfloat16 if prec == "bf16-weights" else torch.float32
        autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=prec == "bf16")
        first = True
        for bs in batch_sizes:
            row, inputs = {"precision": prec, "batch": bs}, None
            try:
                inputs = [torch.randn(bs, 3, s["height"], s["width"], device=device, dtype=in_dtype)
                          .contiguous(memory_format=fmt) for _ in range(2)]

                def call(i):
                    with torch.inference_mode(), autocast:
                        return model(inputs[i % 2])["feat"].float()

                if first and args.compile:
                    t0 = bl.Marks(device)
                    t0.mark()
                    call(0)
                    t0.mark()
                    compile_s[prec] = t0.intervals()[0]
                first = False
                feat = call(0)
                times = bl.time_calls(call, device, warmup, repeats)
                row.update(median_s=bl.median(times), images_per_s=bs / bl.median(times),
                           feat_dim=int(feat.shape[1]), finite=bool(torch.isfinite(feat).all()))
            except torch.cuda.OutOfMemoryError:
                row.update(error="out of memory")
                if cuda:
                    torch.cuda.empty_cache()
            rows.append(row)
            del inputs
    peak = bl.peak_memory_gb(device)

    def best(prec):
        vals = [r["images_per_s"] for r in rows if r["precision"] == prec and "images_per_s" in r]
        return max(vals) if vals else None

    main_prec = "bf16" if "bf16" in precisions else precisions[0]
    report = {"benchmark": "inference", "device": bl.device_name(device), "torch": torch.__version__,
              "machine": bl.machine(device),
              "settings": {**s, "batch_sizes": batch_sizes, "precisions": precisions, "compile": args.compile,
                           "warmup": warmup, "repeats": repeats, "model": "student backbone, eval, feature V"},
              "images_per_s": best(main_prec), "images_per_s_precision": main_prec,
              "images_per_s_by_precision": {p: best(p) for p in precisions},
              "peak_mem_gb": peak, "points": rows, "compile_s": compile_s or None,
              "census": census(s)}
    if not args.no_paper_census:
        report["census_paper"] = census(bl.PRESETS["paper"])

    print(f"device: {report['device']}, torch {torch.__version__}, settings: ResNet-{s['depth']} "
          f"{s['height']}x{s['width']}, channels_last={s['channels_last']}, compile={args.compile}")
    bl.print_table(rows, ["precision", "batch", "median_s", "images_per_s", "error"],
                   "test-time feature extraction (backbone only)")
    for key, title in (("census", "at the bench's settings"), ("census_paper", "at the paper's settings")):
        if key not in report:
            continue
        c = report[key]
        table = [{"network": k, "params_M": v["params"] / 1e6, "fwd_GFLOP_per_image": v["forward_gflops_per_image"]}
                 for k, v in c.items() if not k.startswith("_")]
        print()
        bl.print_table(table, ["network", "params_M", "fwd_GFLOP_per_image"], f"census {title} {c['_settings']}")
        sh = c["_test_time_share"]
        print(f"test-time model / training-time system: {100 * sh['params']:.1f} % of the parameters, "
              f"{100 * sh['forward_flops']:.1f} % of the forward FLOPs per image")
    path = bl.write_report(report, args.out, "bench_inference.py", argv)
    print(f"\npeak memory {peak:.2f} GB ({'max_memory_allocated' if cuda else 'process peak RSS'}); wrote {path}")
    return report


if __name__ == "__main__":
    main()
