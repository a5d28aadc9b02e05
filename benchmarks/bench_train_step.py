"""Speed of one training step of Algorithm 1 (tsgan_lib.train.steps.train_step) and of the backbone-only step.

Usage (from the repository root):

    PYTHONPATH=. python benchmarks/bench_train_step.py                  # CUDA: the paper's settings; CPU: --preset demo
    PYTHONPATH=. python benchmarks/bench_train_step.py --preset demo    # the CPU demo's step (params/demo.yaml)
    PYTHONPATH=. python benchmarks/bench_train_step.py --preset paper --amp bf16 --channels-last --compile
    PYTHONPATH=. python benchmarks/bench_train_step.py --depth 50 --height 288 --width 144 --P 8 --K 4 \\
        --ngf 64 --n-blocks 9 --ndf 64 --amp fp16 --fused --out runs/bench/train_step_fp16.json

For the full step (Table II's ``--variant``, default ``jd_all_ts``, the full
model) and the backbone-only step (``variant="backbone"``, Table II's first
row), with ``make_optimizers`` and random weights on N(0, 1) input batches of P
ids x K (RGB, IR) pairs:

- **images/s**: real images per step (2*P*K) over the median step time of
  ``--repeats`` back-to-back ``train_step`` calls after ``--warmup`` calls
  (CUDA events, no host sync between steps; ``perf_counter`` on the CPU);
- **time per phase** (G, backbone, D): the same three calls ``train_step``
  makes, timed separately, median per phase;
- **peak memory**: ``torch.cuda.max_memory_allocated`` (reset before each
  variant's models are built); on the CPU the process's peak RSS;
- **FLOPs per step**: ``torch.utils.flop_counter.FlopCounterMode`` over one
  eager step, forward and backward (convolutions and matrix products only);
- **MFU** = FLOPs per step / median step time / ``--peak-tflops`` (default
  989 TFLOP/s, the H100/H200 dense bf16/fp16 datasheet figure; 494.5 tf32 for
  ``--amp off``); null on the CPU, where achieved GFLOP/s is reported;
- **forward calls per module** in one step (forward hooks): calls per phase,
  images, grad mode, and every call that repeats an earlier call of the same
  module with the same weights on the same input values (a recomputation),
  with its forward FLOPs.

Options: ``--compile`` (``nn.Module.compile`` of each network; the warm-up
time is reported as compile time, apart from the step time), ``--amp
bf16|fp16|off`` (fp16: one GradScaler per optimiser), ``--channels-last``,
``--fused`` (fused Adam, built from ``make_optimizers``' parameter groups),
every size. Prints tables, writes JSON (``--out``, default
``runs/bench/train_step.json``).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import torch
from torch import Tensor

sys.path.insert(0, str(Path(__file__).resolve().parent))
import benchlib as bl  # noqa: E402

from tsgan_lib.train.steps import (backbone_step, discriminator_step, generator_step,  # noqa: E402
                                   make_optimizers, train_step)

SIZE_KEYS = ("depth", "height", "width", "P", "K", "ngf", "n_blocks", "ndf", "num_classes")


def fused_like(opt: torch.optim.Optimizer) -> torch.optim.Optimizer:
    """The same optimiser class and parameter groups (learning rates, betas,
    weight decay) with ``fused=True``. Proposed instead: a ``fused`` argument
    to ``steps.make_optimizers``."""
    groups = [{k: v for k, v in g.items() if k not in ("fused", "foreach")} for g in opt.param_groups]
    return type(opt)(groups, fused=True)


def compile_models(models, mode: str | None) -> None:
    """``nn.Module.compile`` (in place: names, state_dicts and the ``frozen``
    helper keep working) of the student, FE_T and the four GAN networks."""
    kw = {"mode": mode} if mode else {}
    mods = [models.student]
    if models.teacher is not None:
        mods.append(models.teacher.former)
    if models.cyclegan is not None:
        g = models.cyclegan
        mods += [g.gen_ir, g.gen_rgb, g.disc_ir, g.disc_rgb]
    for m in mods:
        m.compile(**kw)


class Step:
    """One variant's models, optimisers and batches; ``full(i)`` is
    ``train_step``, ``phases(i)`` the same three calls as (name, thunk) pairs."""

    def __init__(self, s: dict, variant: str, device: torch.device, fused: bool, seed: int = 0) -> None:
        self.models, self.cfg = bl.build_models(s, variant, device, seed=seed)
        opts = make_optimizers(self.models)
        self.opts = {k: fused_like(o) for k, o in opts.items()} if fused else opts
        self.amp = bl.amp_dtype(s["amp"])
        self.scalers = {k: torch.amp.GradScaler(device.type) for k in self.opts} if s["amp"] == "fp16" else None
        self.batches = bl.fake_batches(s, device, n=3, seed=seed)

    def _kw(self, key: str) -> dict:
        return {"amp_dtype": self.amp, "scaler": (self.scalers or {}).get(key), "as_float": False}

    def full(self, i: int) -> dict:
        x_rgb, x_ir, y = self.batches[i % len(self.batches)]
        return train_step(self.models, self.opts.get("g"), self.opts["b"], self.opts.get("d"), x_rgb, x_ir, y,
                          self.cfg, amp_dtype=self.amp, scalers=self.scalers, as_float=False)

    def phases(self, i: int) -> list:
        """What ``train_step`` does, phase by phase (same calls, same caches)."""
        x_rgb, x_ir, y = self.batches[i % len(self.batches)]
        m, o, cfg, st = self.models, self.opts, self.cfg, {}

        def g():
            st["g"] = generator_step(m, o["g"], x_rgb, x_ir, cfg, **self._kw("g"))

        def b():
            cache = st["g"].cache if "g" in st else None
            st["b"] = backbone_step(m, o["b"], x_rgb, x_ir, y, cfg, cache=cache, **self._kw("b"))

        def d():
            discriminator_step(m, o["d"], x_rgb, x_ir, cfg, cache={**st["g"].cache, **st["b"].cache}, **self._kw("d"))
        return [("G", g), ("backbone", b), ("D", d)] if cfg.use_gan else [("backbone", b)]


# --- forward calls per module -------------------------------------------------------------------------

def _same_values(a: list[Tensor], b: list[Tensor], tol: float) -> bool:
    if len(a) != len(b) or any(x.shape != y.shape for x, y in zip(a, b)):
        return False
    return all(torch.allclose(x.float(), y.float(), rtol=tol, atol=tol) for x, y in zip(a, b))


def forward_census(step: Step, s: dict, variant: str) -> dict:
    """Run one step phase by phase with forward pre-hooks on every network;
    list the calls and the recomputations (same module, unchanged weights,
    same input values up to the precision's rounding)."""
    from torch.utils.flop_counter import FlopCounterMode

    m = step.models
    nets = {"student": m.student, "teacher FE_T": m.teacher}
    if m.cyclegan is not None:
        nets.update({"G_I": m.cyclegan.gen_ir, "G_R": m.cyclegan.gen_rgb, "D_I": m.cyclegan.disc_ir,
                     "D_R": m.cyclegan.disc_rgb})
    nets = {k: v for k, v in nets.items() if v is not None}
    calls: list[dict] = []
    phase = {"name": None}

    def hook_for(name, module):
        weights = list((module.former if name == "teacher FE_T" else module).parameters())

        def hook(_mod, args):
            tensors = [a for a in args if isinstance(a, Tensor)]
            calls.append({"module": name, "phase": phase["name"], "images": int(tensors[0].shape[0]),
                          "grad_enabled": torch.is_grad_enabled(),
                          "input_requires_grad": any(t.requires_grad for t in tensors),
                          "_versions": tuple(p._version for p in weights),
                          "_inputs": [t.detach().clone() for t in tensors]})
        return hook

    handles = [mod.register_forward_pre_hook(hook_for(n, mod)) for n, mod in nets.items()]
    try:
        for name, thunk in step.phases(0):
            phase["name"] = name
            thunk()
    finally:
        for h in handles:
            h.remove()

    # forward FLOPs of each call, from meta copies of the networks (shapes only)
    with torch.device("meta"):
        meta_models, _ = bl.build_models({**s, "channels_last": False}, variant, "meta")
    meta = {"student": meta_models.student.eval(), "teacher FE_T": meta_models.teacher}  # eval: BN of batch 1
    if meta_models.cyclegan is not None:
        g = meta_models.cyclegan.eval()
        meta.update({"G_I": g.gen_ir, "G_R": g.gen_rgb, "D_I": g.disc_ir, "D_R": g.disc_rgb})
    tol = 2e-2 if s["amp"] != "off" else 1e-6
    for j, c in enumerate(calls):
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            meta[c["module"]](*[torch.empty(t.shape, device="meta") for t in c["_inputs"]])
        c["forward_gflops"] = counter.get_total_flops() / 1e9
        c["recomputes_call"] = next((i for i in range(j) if calls[i]["module"] == c["module"]
                                     and calls[i]["_versions"] == c["_versions"]
                                     and _same_values(calls[i]["_inputs"], c["_inputs"], tol)), None)
    table = []
    for j, c in enumerate(calls):
        table.append({"call": j, "module": c["module"], "phase": c["phase"], "images": c["images"],
                      "grad_enabled": c["grad_enabled"], "input_requires_grad": c["input_requires_grad"],
                      "forward_gflops": c["forward_gflops"], "recomputes_call": c["recomputes_call"]})
    per_module = {}
    for name in nets:
        mine = [c for c in table if c["module"] == name]
        per_module[name] = {"calls": len(mine),
                            "calls_per_phase": {p: sum(c["phase"] == p for c in mine) for p in ("G", "backbone", "D")},
                            "images": sum(c["images"] for c in mine),
                            "forward_gflops": sum(c["forward_gflops"] for c in mine)}
    recomputed = [c for c in table if c["recomputes_call"] is not None]
    return {"calls": table, "per_module": per_module, "recomputed_calls": recomputed,
            "recomputed_forward_gflops": sum(c["forward_gflops"] for c in recomputed),
            "total_forward_gflops": sum(c["forward_gflops"] for c in table),
            "note": "a recomputation = same module, unchanged weights (parameter versions), same input values "
                    f"(allclose, tol {tol}); forward FLOPs from FlopCounterMode on meta copies"}


def host_syncs(fn) -> int | None:
    """Host-device synchronisations in ``fn()`` (CUDA's sync debug mode warnings)."""
    if not torch.cuda.is_available():
        return None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            fn()
        finally:
            torch.cuda.set_sync_debug_mode("default")
    return sum("synchroniz" in str(w.message).lower() for w in caught)


# --- one variant --------------------------------------------------------------------------------------

def run_variant(s: dict, variant: str, device: torch.device, args, census: bool) -> dict:
    bl.reset_peak_memory(device)
    t_build = time.perf_counter()
    step = Step(s, variant, device, args.fused, seed=args.seed)
    build_s = time.perf_counter() - t_build
    images = 2 * s["P"] * s["K"]
    # one eager step, counted (also the first allocation and cuDNN autotuning)
    phase_flops = {name: bl.count_flops(thunk) for name, thunk in step.phases(0)}
    flops = sum(phase_flops.values())
    out = {"variant": variant, "images_per_step": images, "build_s": build_s}
    if census:
        out["forward_calls"] = forward_census(step, s, variant)
    out["host_syncs_per_step"] = host_syncs(lambda: step.full(1)) if device.type == "cuda" else None
    compile_s = None
    if args.compile:
        compile_models(step.models, args.compile_mode)
        bl.sync(device)
        t0 = time.perf_counter()
        for i in range(max(2, args.warmup)):
            step.full(i)
        bl.sync(device)
        compile_s = time.perf_counter() - t0
    times = bl.time_calls(step.full, device, args.warmup, args.repeats)
    step_s = bl.median(times)
    # the phases, timed one by one (same calls as train_step)
    bl.sync(device)
    marks = bl.Marks(device)
    names = [n for n, _ in step.phases(0)]
    for i in range(args.repeats):
        for _name, thunk in step.phases(args.warmup + args.repeats + i):
            if not marks.marks:
                marks.mark()
            thunk()
            marks.mark()
    iv = marks.intervals()
    phases = {n: bl.median(iv[k::len(names)]) for k, n in enumerate(names)}
    terms = step.full(0)
    peak = bl.peak_memory_gb(device)
    losses = {k: float(v) for k, v in terms.items()}
    peak_tflops = args.peak_tflops if args.peak_tflops is not None else bl.PEAK_TFLOPS[s["amp"]]
    achieved = flops / step_s / 1e12
    out.update({
        "images_per_s": images / step_s, "step_s_median": step_s, "step_s_min": min(times), "step_s_max": max(times),
        "step_s_all": times, "phases_s_median": phases, "phases_s_sum": sum(phases.values()),
        "flops_per_step": flops, "phase_flops": phase_flops, "achieved_tflops": achieved,
        "mfu": achieved / peak_tflops if device.type == "cuda" else None,
        "peak_mem_gb": peak, "compile_s": compile_s,
        "losses_finite": all(torch.isfinite(torch.tensor(v)) for v in losses.values()), "losses": losses,
    })
    del step
    return out


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--preset", choices=sorted(bl.PRESETS), default=None,
                    help="settings (default: paper on CUDA, demo on the CPU); flags below override")
    ap.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda, cuda:1")
    for k in SIZE_KEYS:
        ap.add_argument(f"--{k.replace('_', '-')}", dest=k, type=int, default=None)
    ap.add_argument("--variant", default="jd_all_ts", help="Table II row of the full step (default: the full model)")
    ap.add_argument("--amp", choices=("bf16", "fp16", "off"), default=None,
                    help="autocast dtype (default: the preset's: bf16 for paper, off for demo/tiny)")
    ap.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=None)
    ap.add_argument("--compile", action="store_true", help="nn.Module.compile each network")
    ap.add_argument("--compile-mode", default=None, help="torch.compile mode (default, max-autotune-no-cudagraphs, ...)")
    ap.add_argument("--fused", action="store_true", help="fused Adam (same groups as make_optimizers)")
    ap.add_argument("--warmup", type=int, default=None, help="untimed steps first (default 5 CUDA, 1 CPU)")
    ap.add_argument("--repeats", type=int, default=None, help="timed steps (default 20 CUDA, 3 CPU)")
    ap.add_argument("--peak-tflops", type=float, default=None,
                    help="the device's peak for MFU (default 989 = H100/H200 dense bf16/fp16; 494.5 tf32 with --amp off)")
    ap.add_argument("--skip-backbone", action="store_true", help="skip the backbone-only step")
    ap.add_argument("--no-census", action="store_true", help="skip the forward-call census")
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (CPU)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="runs/bench/train_step.json")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = bl.resolve_device(args.device)
    cuda = device.type == "cuda"
    preset = args.preset or ("paper" if cuda else "demo")
    s = dict(bl.PRESETS[preset])
    for k in SIZE_KEYS:
        if getattr(args, k) is not None:
            s[k] = getattr(args, k)
    if args.amp is not None:
        s["amp"] = args.amp
    if args.channels_last is not None:
        s["channels_last"] = args.channels_last
    args.warmup = args.warmup if args.warmup is not None else (5 if cuda else 1)
    args.repeats = args.repeats if args.repeats is not None else (20 if cuda else 3)
    if cuda:
        torch.backends.cudnn.benchmark = True
    peak_tflops = args.peak_tflops if args.peak_tflops is not None else bl.PEAK_TFLOPS[s["amp"]]
    settings = {"preset": preset, **s, "variant": args.variant, "compile": args.compile,
                "compile_mode": args.compile_mode, "fused_adam": args.fused, "warmup": args.warmup,
                "repeats": args.repeats, "seed": args.seed, "inputs": "N(0,1) images, 3 rotating batches",
                "weights": "random (speed does not depend on them)"}
    print(f"device: {bl.device_name(device)}, torch {torch.__version__}; settings: {settings}")

    full = run_variant(s, args.variant, device, args, census=not args.no_census)
    report = {"benchmark": "train_step", "device": bl.device_name(device), "torch": torch.__version__,
              "machine": bl.machine(device), "settings": settings,
              "images_per_s": full["images_per_s"], "peak_mem_gb": full["peak_mem_gb"],
              "flops_per_step": full["flops_per_step"], "mfu": full["mfu"],
              "peak_tflops": peak_tflops if cuda else None,
              "peak_tflops_note": (f"{peak_tflops} TFLOP/s dense ({'datasheet H100/H200 ' + s['amp'] if args.peak_tflops is None else 'given'});"
                                   " FLOPs: convolutions and matrix products, forward + backward"),
              "peak_mem_note": "torch.cuda.max_memory_allocated" if cuda else "process peak RSS (whole process)",
              "full_step": full}
    if not args.skip_backbone:
        bb = run_variant(s, "backbone", device, args, census=False)
        report["backbone_step"] = bb
        report["backbone_images_per_s"] = bb["images_per_s"]

    rows = []
    for key in ("full_step", "backbone_step"):
        r = report.get(key)
        if r is None:
            continue
        rows.append({"step": f"{key} ({r['variant']})", "images/s": r["images_per_s"], "step_ms": 1e3 * r["step_s_median"],
                     **{f"{n}_ms": 1e3 * v for n, v in r["phases_s_median"].items()},
                     "GFLOP/step": r["flops_per_step"] / 1e9, "TFLOP/s": r["achieved_tflops"],
                     "MFU": r["mfu"], "peak_GB": r["peak_mem_gb"],
                     "compile_s": r["compile_s"]})
    print()
    bl.print_table(rows, ["step", "images/s", "step_ms", "G_ms", "backbone_ms", "D_ms", "GFLOP/step", "TFLOP/s",
                          "MFU", "peak_GB", "compile_s"],
                   f"Algorithm-1 step, ResNet-{s['depth']} {s['height']}x{s['width']}, P={s['P']} x K={s['K']}, "
                   f"ngf {s['ngf']}/{s['n_blocks']} blocks, ndf {s['ndf']}, amp {s['amp']}, "
                   f"channels_last {s['channels_last']}, compile {args.compile}, fused {args.fused}")
    if cuda:
        print(f"MFU against {peak_tflops} TFLOP/s; peak memory = max_memory_allocated; "
              f"host syncs per step: {full['host_syncs_per_step']}")
    else:
        print("CPU: MFU not computed (no --peak-tflops meaning here); peak memory = process peak RSS")
    census = full.get("forward_calls")
    if census:
        print()
        bl.print_table(census["calls"], ["call", "phase", "module", "images", "grad_enabled", "input_requires_grad",
                                         "forward_gflops", "recomputes_call"],
                       "forward calls in one full step (forward pre-hooks)")
        share = census["recomputed_forward_gflops"] / (full["flops_per_step"] / 1e9)
        print(f"recomputed: {len(census['recomputed_calls'])} call(s), {census['recomputed_forward_gflops']:.3g} "
              f"forward GFLOP = {100 * share:.2f} % of the step's forward+backward FLOPs")
    path = bl.write_report(report, args.out, "bench_train_step.py", argv)
    print(f"wrote {path}")
    return report


if __name__ == "__main__":
    main()
