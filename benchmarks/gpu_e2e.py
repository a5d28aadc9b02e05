"""The paper's pipeline end to end on a GPU: train, interrupt, resume, evaluate (part 3 of gpu_check.sh).

    PYTHONPATH=. python benchmarks/gpu_e2e.py --out runs/bench/e2e.json [--steps 300] [--smoke]

On the synthetic SYSU-MM01 stand-in generated at the paper's 288x144 (no
ImageNet weights on the GPU machine: ResNet-50 from scratch), with the paper's
settings otherwise (``params/sysu_jd_all_ts.yaml``: joint D_I, all TS losses,
8 x 4 pairs, CycleGAN 64 filters / 9 blocks, bf16 autocast, channels-last, the
tensor input pipeline on CUDA): the IR teacher for a few epochs, about
``--steps`` steps of Algorithm 1, a Ctrl-C (SIGINT) halfway and a resume from
the checkpoint it leaves, then the SYSU-MM01 protocol with re-ranking on the GPU.
Checks (and records in the JSON): every logged loss finite, the run resumed
exactly where it stopped, the ID loss fell, and the trained backbone beats the
untrained one and chance. ``--smoke`` shrinks everything for a CPU test of the script.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tsgan_lib.report import evaluate_run, read_metrics  # noqa: E402
from tsgan_lib.train import resolve_config, train  # noqa: E402


def settings(args: argparse.Namespace) -> dict:
    if args.smoke:  # a CPU check of this script: the demo's sizes
        return {"data.root": None, "data.synthetic.num_ids": 30, "data.height": 64, "data.width": 32,
                "data.P": 4, "data.K": 2, "model.depth": 18, "model.pretrained": False,
                "model.generator.ngf": 4, "model.generator.n_blocks": 1, "model.discriminator.ndf": 8,
                "teacher.schedule.epochs": 1, "teacher.schedule.warmup_epochs": 0, "teacher.schedule.milestones": [],
                "run.threads": 1, "eval.trials": 2, "eval.rerank": True, "eval.shots": [1]}
    return {"data.root": None, "data.synthetic.num_ids": args.num_ids, "data.synthetic.height": 288,
            "data.synthetic.width": 144, "model.pretrained": False, "teacher.schedule.epochs": args.teacher_epochs,
            "teacher.schedule.warmup_epochs": 1, "teacher.schedule.milestones": [], "eval.shots": [1],
            "eval.rerank": True, "eval.trials": 10}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="runs/bench/e2e.json")
    ap.add_argument("--run-dir", default=None, help="default: <out folder>/e2e_run")
    ap.add_argument("--steps", type=int, default=300, help="about this many steps of Algorithm 1")
    ap.add_argument("--num-ids", type=int, default=100, help="identities of the stand-in")
    ap.add_argument("--teacher-epochs", type=int, default=3)
    ap.add_argument("--smoke", action="store_true", help="tiny CPU sizes (tests the script, not the GPU)")
    args = ap.parse_args()
    out = Path(args.out)
    run_dir = Path(args.run_dir) if args.run_dir else out.parent / "e2e_run"
    base = {**settings(args), "run.dir": str(run_dir), "teacher.path": None, "run.log_every": 10,
            "run.progress": False, "run.resume": True}
    probe = resolve_config("sysu_jd_all_ts", {**base, "schedule.epochs": 1, "schedule.milestones": [],
                                              "schedule.warmup_epochs": 0})
    from tsgan_lib.data.config import load_data

    t0 = time.perf_counter()
    steps_per_epoch = -(-sum(r.modality == "rgb" for r in load_data(probe.data).train) // (probe.data.P * probe.data.K))
    data_seconds = time.perf_counter() - t0
    epochs = max(2, math.ceil(args.steps / steps_per_epoch))
    cfg = resolve_config("sysu_jd_all_ts", {**base, "schedule.epochs": epochs, "schedule.warmup_epochs": 1,
                                            "schedule.milestones": [max(1, epochs - 1)]})
    stop_at = (epochs * steps_per_epoch) // 2

    def interrupt(global_step: int, info: dict) -> None:
        if global_step == stop_at:
            os.kill(os.getpid(), signal.SIGINT)  # what Ctrl-C sends

    record: dict = {"settings": {k: v for k, v in cfg.flat().items() if k.startswith(("data.", "model.", "run.amp"))},
                    "epochs": epochs, "steps_per_epoch": steps_per_epoch, "stop_at": stop_at,
                    "data_seconds": round(data_seconds, 1)}
    t0 = time.perf_counter()
    try:
        train(cfg, on_step=interrupt)
        record["interrupted"] = False
    except KeyboardInterrupt:
        record["interrupted"] = True
    first = time.perf_counter() - t0
    info = train(cfg)
    results, _ = evaluate_run(cfg.run_dir, device=cfg.run.device)
    log = read_metrics(cfg.run_dir)
    terms = [c for c in log.columns if c.startswith(("g_", "reid_", "ts_", "d_"))]
    finite = bool(log[terms].notna().all().all() and all(math.isfinite(v) for v in log[terms].to_numpy().ravel()))
    epochs_log = read_metrics(cfg.run_dir, "epoch")
    m, m0 = results["metrics"]["all_single"], results["untrained"]["all_single"]
    record.update({
        "device": info.device, "amp": info.amp, "torch": __import__("torch").__version__,
        "resumed_from_step": info.resumed_from_step, "global_step": info.global_step,
        "skipped_steps": info.skipped_steps, "first_session_seconds": round(first, 1),
        "train_seconds": round(info.train_seconds, 1), "teacher_seconds": round(info.teacher_seconds, 1),
        "images_per_s": round(info.images_per_second, 1), "peak_mem_gb": round(info.peak_memory_mb / 1024, 2),
        "teacher_quality": info.teacher_quality, "metrics": results["metrics"], "chance": results["chance"],
        "untrained": results["untrained"], "eval_seconds": results["eval_seconds"],
        "id_loss_first_last_epoch": [float(epochs_log["reid_id"].iloc[0]), float(epochs_log["reid_id"].iloc[-1])],
    })
    checks = {"losses_finite": finite, "interrupted_and_resumed": record["interrupted"]
              and info.resumed_from_step == stop_at, "finished": info.global_step == epochs * steps_per_epoch,
              "id_loss_fell": record["id_loss_first_last_epoch"][1] < record["id_loss_first_last_epoch"][0],
              "beats_untrained_mAP": m["mAP"] > m0["mAP"], "beats_chance_R1": m["R1"] > results["chance_R1"]}
    record["checks"] = checks
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=1, default=str) + "\n")
    print(f"end-to-end on {info.device} ({info.amp}): {info.global_step} steps ({epochs} epochs of {steps_per_epoch}), "
          f"interrupted at {stop_at} and resumed from {info.resumed_from_step}; {record['images_per_s']} img/s, "
          f"peak {record['peak_mem_gb']} GB; all-search R1 {m['R1']:.1f} mAP {m['mAP']:.1f} (untrained "
          f"{m0['R1']:.1f} / {m0['mAP']:.1f}, chance R1 {results['chance_R1']:.1f}); teacher IR->IR R1 "
          f"{info.teacher_quality.get('ir_R1', float('nan')):.1f}")
    for name, ok in checks.items():
        print(f"  {'PASS' if ok else 'FAIL'}  {name}")
    print(f"wrote {out}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
