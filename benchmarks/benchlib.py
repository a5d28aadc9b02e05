"""Shared pieces of the benchmarks: the machine record, device-aware timing,
peak memory, FLOP counting, the networks at named settings (through the
trainer's builder), the JSON file and the printed table.

Timing follows ``/work/.library/device/METHOD.md``: warm-up first; on CUDA,
CUDA events around the timed region (read after one synchronize); on the CPU,
``time.perf_counter``; the median over repeats is the figure.
"""

from __future__ import annotations

import datetime
import json
import math
import os
import platform
import resource
import shlex
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch


REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tsgan_lib.utils import resolve_device  # noqa: E402,F401 (the benchmarks' --device)

#: Dense (no sparsity) tensor-core peaks from NVIDIA's datasheets, TFLOP/s. H100 SXM and H200 share
#: the compute: 989 bf16/fp16, 494.5 tf32. The practical ceiling is lower: gpu_check.sh's sanity part
#: measures a large bf16 matmul on the card at hand.
PEAK_TFLOPS = {"bf16": 989.0, "fp16": 989.0, "off": 494.5}
GB = 1e9

# The settings the benchmarks run at. "paper": the paper's (ResNet-50, last stride 1, 288x144,
# 8 ids x 4 pairs, CycleGAN ngf 64 / 9 blocks, PatchGAN ndf 64; SYSU-MM01's 395 train+val ids).
# "demo": params/demo.yaml (ResNet-18 from scratch, 64x32, ngf 8 / 2 blocks, ndf 32; the synthetic
# stand-in's 120 train+val ids). "tiny": the CI smoke tests' size.
PRESETS = {
    "paper": dict(depth=50, height=288, width=144, P=8, K=4, ngf=64, n_blocks=9, ndf=64, num_classes=395,
                  amp="bf16", channels_last=True),
    "demo": dict(depth=18, height=64, width=32, P=8, K=4, ngf=8, n_blocks=2, ndf=32, num_classes=120,
                 amp="off", channels_last=False),
    "tiny": dict(depth=18, height=64, width=32, P=2, K=2, ngf=4, n_blocks=1, ndf=8, num_classes=4,
                 amp="off", channels_last=False),
}


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def device_name(device: torch.device) -> str:
    """As torch names it: ``torch.cuda.get_device_name()``, or ``cpu (<model>)``."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({cpu_name()})"


def machine(device: torch.device) -> dict:
    info = {"device": device_name(device), "torch": torch.__version__, "python": platform.python_version(),
            "cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(), "platform": platform.platform()}
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        info.update(cuda=torch.version.cuda, cudnn=torch.backends.cudnn.version(),
                    gpu_memory_gb=round(props.total_memory / GB, 1), multiprocessors=props.multi_processor_count)
    return info


def amp_dtype(name: str) -> torch.dtype | None:
    return {"bf16": torch.bfloat16, "fp16": torch.float16, "off": None}[name]


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class Marks:
    """Time stamps in the device's own time line: CUDA events (no host sync
    while recording) or ``perf_counter`` on the CPU. :meth:`intervals` gives
    the seconds between consecutive marks."""

    def __init__(self, device: torch.device) -> None:
        self.cuda = device.type == "cuda"
        self.device = device
        self.marks: list = []

    def mark(self) -> None:
        if self.cuda:
            e = torch.cuda.Event(enable_timing=True)
            e.record()
            self.marks.append(e)
        else:
            self.marks.append(time.perf_counter())

    def intervals(self) -> list[float]:
        if self.cuda:
            torch.cuda.synchronize(self.device)
            return [a.elapsed_time(b) / 1e3 for a, b in zip(self.marks, self.marks[1:])]
        return [b - a for a, b in zip(self.marks, self.marks[1:])]


def time_calls(fn: Callable[[int], object], device: torch.device, warmup: int, repeats: int) -> list[float]:
    """Seconds per call of ``fn(i)`` for ``repeats`` back-to-back calls after
    ``warmup`` calls (calls are not separated by host syncs on CUDA)."""
    for i in range(warmup):
        fn(i)
    sync(device)
    marks = Marks(device)
    marks.mark()
    for i in range(repeats):
        fn(warmup + i)
        marks.mark()
    return marks.intervals()


def median(xs: Sequence[float]) -> float:
    return float(statistics.median(xs))


def reset_peak_memory(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def peak_memory_gb(device: torch.device) -> float:
    """``torch.cuda.max_memory_allocated`` since the last reset, or on the CPU the
    process's peak resident set (whole process, never reset)."""
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / GB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / GB


def count_flops(fn: Callable[[], object]) -> int:
    """FLOPs of ``fn()`` counted by ``torch.utils.flop_counter.FlopCounterMode``
    (matrix products and convolutions, forward and backward; element-wise,
    normalisation and optimiser work are not counted)."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        fn()
    return int(counter.get_total_flops())


def count_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def build_models(s: dict, variant: str, device: torch.device | str, *, seed: int = 0):
    """(models, step config) for Table II's ``variant`` at settings ``s``, built by the trainer's own
    :func:`tsgan_lib.train.trainer.build_models` (random weights: speed does not depend on them; on CUDA
    channels-last when ``s["channels_last"]`` and the frozen teacher in bf16 when the step runs in bf16,
    as a training run has them), in training mode."""
    from tsgan_lib.models import build_backbone
    from tsgan_lib.train.config import needs_teacher, resolve_config, step_config
    from tsgan_lib.train.trainer import amp_dtype_for
    from tsgan_lib.train.trainer import build_models as build_run_models

    cfg = resolve_config(None, {"variant": variant, "model.depth": s["depth"], "model.pretrained": False,
                                "model.generator.ngf": s["ngf"], "model.generator.n_blocks": s["n_blocks"],
                                "model.discriminator.ndf": s["ndf"], "run.seed": seed,
                                "run.channels_last": bool(s.get("channels_last"))})
    device = torch.device(device)
    torch.manual_seed(seed)
    teacher = build_backbone(s["num_classes"], s["depth"]) if needs_teacher(cfg) else None
    models = build_run_models(cfg, s["num_classes"], teacher, device, amp_dtype_for(s.get("amp", "off"), device))
    models.student.train()
    if models.cyclegan is not None:
        models.cyclegan.train()
    return models, step_config(cfg)


def fake_batches(s: dict, device: torch.device, n: int = 3, seed: int = 0):
    """``n`` (x_rgb, x_ir, labels) batches of P ids x K pairs: N(0, 1) images
    (the scale of ImageNet-normalised pixels), labels of P distinct ids."""
    g = torch.Generator().manual_seed(seed)
    b = s["P"] * s["K"]
    fmt = torch.channels_last if s.get("channels_last") else torch.contiguous_format
    out = []
    for _ in range(n):
        ids = torch.randperm(s["num_classes"], generator=g)[: s["P"]].repeat_interleave(s["K"])
        x_rgb, x_ir = (torch.randn(b, 3, s["height"], s["width"], generator=g) for _ in range(2))
        out.append((x_rgb.to(device).contiguous(memory_format=fmt), x_ir.to(device).contiguous(memory_format=fmt),
                    ids.to(device)))
    return out


def finite(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def write_report(report: dict, out: str | os.PathLike, script: str, argv: Sequence[str] | None) -> Path:
    """Add the date and the command line (``script`` with ``argv``, or
    ``sys.argv``), write ``out`` (relative paths: from the working folder),
    return its path."""
    args = list(sys.argv[1:] if argv is None else argv)
    report = {**report, "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "command": "PYTHONPATH=. python " + " ".join(shlex.quote(a) for a in [f"benchmarks/{script}"] + args)}
    path = Path(out)
    path = path if path.is_absolute() else Path.cwd() / path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=str) + "\n")
    return path


def print_table(rows: list[dict], columns: Sequence[str], title: str | None = None) -> None:
    def fmt(v):
        if v is None:
            return "-"
        if isinstance(v, float):
            return f"{v:,.3g}" if abs(v) < 100 else f"{v:,.0f}"
        return str(v)
    cells = [[fmt(r.get(c)) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) if cells else len(c) for i, c in enumerate(columns)]
    if title:
        print(title)
    print("  ".join(c.rjust(w) for c, w in zip(columns, widths)))
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print("  ".join(v.rjust(w) for v, w in zip(row, widths)))
