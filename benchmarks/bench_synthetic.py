"""Time the synthetic SYSU-MM01 stand-in: generation with default arguments,
then the cached second call. Prints the figures and writes JSON.

    python benchmarks/bench_synthetic.py [--out runs/bench/synthetic.json] [--num-ids 160]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import torch

from tsgan_lib.data.synthetic import MARKER, make_synthetic_sysu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="runs/bench/synthetic.json")
    ap.add_argument("--num-ids", type=int, default=160)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "synthetic"
        t0 = time.perf_counter()
        make_synthetic_sysu(root, num_ids=args.num_ids)
        gen = time.perf_counter() - t0
        t0 = time.perf_counter()
        make_synthetic_sysu(root, num_ids=args.num_ids)
        cached = time.perf_counter() - t0
        info = json.loads((root / MARKER).read_text())
        size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    res = {"num_ids": args.num_ids, "num_images": info["num_images"], "generate_s": round(gen, 2),
           "cached_call_s": round(cached, 5), "megabytes": round(size / 2**20, 1),
           "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(), "machine": platform.platform()}
    print(f"generated {res['num_images']} images ({res['megabytes']} MB) for {args.num_ids} ids in {res['generate_s']} s; "
          f"cached call {res['cached_call_s'] * 1000:.2f} ms")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
